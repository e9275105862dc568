"""Backbone comparison and fine-tuning (issue 13 item 6) against the frozen default, on the dev sets.

    python -m benchmarks finetune --data ../shared/data [--seeds 3] [--sets flowers,hymenoptera,cameraroll]
        [--work DIR] [--compare efficientnet_lite0,efficientnet_lite2]

Per data set and training seed, trained on train/ and judged on val/ (val/ as the familiarity
background, as the app would after a first sort of it; no stored background at training, since a
fine-tuned model starts its own):

* frozen: the default training on efficientnet_lite0;
* compare: ``compare_backbones`` over --compare (the winner by cross-validated macro-F1 on the
  training examples), its val figures and its time (every backbone trained);
* fine-tune: ``fine_tune_stage`` on the frozen lite0 model. It is run with the keep rule
  switched off so the fine-tuned model is always built and judged on val/; "kept by the rule" is
  the frozen or the fine-tuned model according to the stage's own cross-validated macro-F1 (what
  the app would keep), so the figures show both what fine-tuning does and what the rule picks.

Figures: macro-F1 on val (members only for the closed sets), top-1, for cameraroll the share of
val/_none kept out of every category; seconds (features cached except the fine-tuning stage's own
activations, computed for the first seed and reused for the others; "seconds" adds the first
seed's activation time to every seed, as the app would spend it). Wall seconds and this process's
CPU seconds (run it pinned to one core, e.g. ``taskset -c 0``, for single-core work figures on a
shared machine). Numeric mode fp32 throughout (the fine-tuning stage's
arithmetic). Mean and spread over --seeds. Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import copy
import os
import time
from pathlib import Path

import numpy as np

from ._report import emit


def mean_sd(values) -> dict | None:
    v = np.array([x for x in values if x is not None], dtype=float)
    return {"mean": round(float(v.mean()), 4), "sd": round(float(v.std()), 4), "n": len(v)} if len(v) else None


def val_figures(scorer, val_dir: Path) -> dict:
    m = scorer.evaluate_folder(val_dir, background="auto")
    return {"macro_f1": m["macro_f1"], "top1": m.get("top1"), "none_kept_out": m.get("none_correct")}


def val_activations(val_dir: Path, emb) -> tuple[list[str], object]:
    from photosorter import imaging
    from photosorter.ml.dataset import scan_labeled_folder
    from photosorter.ml.finetune import frozen_activations

    paths = [str(p) for p in scan_labeled_folder(val_dir).paths]
    shas = [imaging.content_hash(imaging.read_file_bytes(Path(p))) for p in paths]
    return shas, frozen_activations(paths, emb, views=1)


def prefill(val_act, clf, emb) -> None:
    """Put the fine-tuned model's val features (its top over the stored frozen-part output) into
    the feature cache, so judging each seed's model does not run the whole network over val/ again."""
    import torch

    from photosorter.ml.finetune import embedder_for, split_body

    tuned = embedder_for(clf, emb)
    if tuned is emb:
        return
    top = split_body(tuned.model.body, tuned.spec.name)[1]
    shas, act = val_act
    with torch.no_grad():
        for sha, a in zip(shas, act):
            tuned.cache.put(tuned.cache_key, sha, top(a.float()).mean(dim=(2, 3)).numpy())


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks finetune", description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--sets", default="flowers,hymenoptera,cameraroll")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--backbone", default="efficientnet_lite0", help="the frozen default (and the one fine-tuned)")
    ap.add_argument("--compare", default="efficientnet_lite0,efficientnet_lite2")
    ap.add_argument("--no-compare", action="store_true")
    ap.add_argument("--no-fine-tune", action="store_true")
    ap.add_argument("--out", type=Path, default=None, help="also write the JSON summary here")
    ap.add_argument("--work", type=Path, default=Path("/tmp/photosorter-finetune-bench"))
    args = ap.parse_args()
    os.environ.setdefault("PHOTOSORTER_HOME", str(args.work / "home"))
    os.environ["PHOTOSORTER_NUMERIC_MODE"] = "fp32"  # every backbone of the comparison too
    from photosorter.config import app_paths
    from photosorter.ml.compare import compare_backbones
    from photosorter.ml.dataset import scan_labeled_folder
    from photosorter.ml.features import Embedder, FeatureCache
    from photosorter.ml.finetune import FineTuneOptions, fine_tune_stage
    from photosorter.ml.scoring import Scorer
    from photosorter.ml.training import TrainOptions, train_from_photos

    app_paths().feature_cache_file.parent.mkdir(parents=True, exist_ok=True)
    cache = FeatureCache(app_paths().feature_cache_file)
    emb = Embedder(args.backbone, cache=cache, numeric_mode="fp32")
    names = [n for n in args.compare.split(",") if n]
    report: dict = {"seeds": args.seeds, "protocol": "train/ → val/, val/ as background, fp32"}
    for name in args.sets.split(","):
        root = args.data / name
        photos = scan_labeled_folder(root / "train")
        runs: dict[str, list] = {"frozen": [], "compare": [], "fine_tuned": [], "kept_by_rule": []}
        memo: dict = {}
        first_activation = (0.0, 0.0)
        val_act = None  # the frozen part's output for every val photo, once: each fine-tuned model only adds its top
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            opts = TrainOptions(seed=seed)
            t, c = time.perf_counter(), time.process_time()
            frozen = train_from_photos(photos, emb, opts)
            frozen_s, frozen_cpu = time.perf_counter() - t, time.process_time() - c
            fz = {**val_figures(Scorer(frozen.classifier, emb), root / "val"), "seconds": frozen_s, "cpu": frozen_cpu,
                  "cv_macro_f1": frozen.classifier.metrics["macro_f1"]}
            runs["frozen"].append(fz)
            print(name, seed, "frozen", fz, flush=True)
            if not args.no_compare:
                t, c = time.perf_counter(), time.process_time()
                won = compare_backbones(photos, names, opts, cache=cache)
                secs, cpu = time.perf_counter() - t, time.process_time() - c
                row = {**val_figures(Scorer(won.result.classifier, won.embedder), root / "val"), "seconds": secs, "cpu": cpu,
                       "winner": won.embedder.spec.name, "rows": won.rows}
                runs["compare"].append(row)
                print(name, seed, "compare", row, flush=True)
            if not args.no_fine_tune:
                t, c = time.perf_counter(), time.process_time()
                tuned = fine_tune_stage(photos, emb, copy.deepcopy(frozen), opts, FineTuneOptions(min_gain=-np.inf),
                                        memo=memo)
                secs, cpu = time.perf_counter() - t, time.process_time() - c
                if seed == args.first_seed:
                    share = (tuned.classifier.description.fine_tune or {}).get("activation_seconds", 0.0) / max(secs, 1e-9)
                    first_activation = (secs * share, cpu * share)
                else:
                    secs, cpu = secs + first_activation[0], cpu + first_activation[1]
                info = tuned.classifier.description.fine_tune or {}
                if val_act is None:
                    val_act = val_activations(root / "val", emb)
                prefill(val_act, tuned.classifier, emb)
                ft = {**val_figures(Scorer(tuned.classifier, emb), root / "val"), "seconds": secs, "cpu": cpu,
                      "cv_frozen": info.get("frozen_macro_f1"), "cv_fine_tuned": info.get("fine_tuned_macro_f1"),
                      "best_epochs": info.get("best_epochs")}
                runs["fine_tuned"].append(ft)
                keep = (info.get("fine_tuned_macro_f1") or 0) > (info.get("frozen_macro_f1") or 0)
                runs["kept_by_rule"].append({**(ft if keep else fz), "kept": "fine-tuned" if keep else "frozen",
                                             # opting in costs the frozen training and the stage, whatever is kept
                                             "seconds": fz["seconds"] + ft["seconds"], "cpu": fz["cpu"] + ft["cpu"]})
                print(name, seed, "fine-tune", ft, "rule keeps", "fine-tuned" if keep else "frozen", flush=True)
        summary = {}
        for kind, rs in runs.items():
            if not rs:
                continue
            summary[kind] = {k: mean_sd(r.get(k) for r in rs) for k in ("macro_f1", "top1", "none_kept_out", "seconds", "cpu")}
            if kind == "compare":
                summary[kind]["winners"] = [r["winner"] for r in rs]
            if kind == "kept_by_rule":
                summary[kind]["kept"] = [r["kept"] for r in rs]
            if kind == "fine_tuned":
                summary[kind]["cv_frozen"] = mean_sd(r["cv_frozen"] for r in rs)
                summary[kind]["cv_fine_tuned"] = mean_sd(r["cv_fine_tuned"] for r in rs)
        report[name] = summary
        print(name, summary, flush=True)
    emit(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
