"""Do the fast numeric modes (bf16, int8) change what photosorter decides? Measured on real photos.

    python -m benchmarks numerics_check --data ../shared/data [--resnet50-weights FILE] [--out FILE]

For each backbone and each fast mode this CPU offers, on hymenoptera and flowers (train → val):

* ``end_to_end``: everything in that mode (examples and photos embedded in it, as the app does
  when the mode is chosen), compared with everything in fp32: top-1 and macro-F1 in points, and
  the share of validation photos whose set of categories changed;
* ``score_only``: the fp32-trained model scoring features computed in that mode (a model
  trained before the mode was switched on);
* the cosine between each photo's features in that mode and in fp32 (min, mean);
* ``seed_mean_top1_macro_f1``: end-to-end top-1 and macro-F1 averaged over ``--seeds`` training
  seeds, per mode — the comparison the ≤ 0.5-point rule is applied to (single runs differ by about
  a point from seed to seed, in every mode).

The issue's rule for int8 — and this project's for any mode it picks by itself — is: metrics drop
by at most 0.5 points. ResNet50's real ImageNet weights cannot be downloaded on the machine these
figures were produced on; without ``--resnet50-weights`` it uses random weights (a weaker proxy:
the features are not ImageNet features) and says so in the report.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from .._report import emit


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--resnet50-weights", type=Path)
    ap.add_argument("--backbones", nargs="+", default=["efficientnet_lite0", "resnet50"])
    ap.add_argument("--out", type=Path)
    ap.add_argument("--seeds", type=int, default=6, help="training seeds averaged for the end-to-end metrics")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="photosorter-numerics-"))
    os.environ["PHOTOSORTER_HOME"] = str(work / "home")

    import torch

    from photosorter.ml import numerics
    from photosorter.ml.features import Embedder, FeatureCache
    from photosorter.ml.scoring import Scorer
    from photosorter.ml.training import TrainOptions, train_from_folder

    report: dict = {"note": "views=1 training (the comparison, not the absolute figures, is the point)"}
    for name in args.backbones:
        weights = args.resnet50_weights if name == "resnet50" else None
        if name == "resnet50" and weights is None:
            from torchvision.models import resnet50

            torch.manual_seed(0)
            weights = work / "resnet50-random.pth"
            torch.save(resnet50(weights=None).state_dict(), weights)
            report["resnet50_weights"] = "random (real ImageNet weights not available here)"
        modes = numerics.available_modes(name)
        cache = FeatureCache(work / f"{name}.sqlite3")
        embedders = {m: Embedder(name, weights=weights, cache=cache, numeric_mode=m) for m in modes}
        opts = TrainOptions(views=1)
        for dataset in ("hymenoptera", "flowers"):
            train_dir, val_dir = args.data / dataset / "train", args.data / dataset / "val"
            models = {m: train_from_folder(train_dir, e, opts).classifier for m, e in embedders.items()}
            results = {m: Scorer(models[m], e).evaluate_folder(val_dir, background="off") for m, e in embedders.items()}
            ref = results["fp32"]
            ref_dec = [tuple(i["predicted"]) for i in ref["images"]]
            out: dict = {"fp32": {"top1": ref["top1"], "macro_f1": round(ref["macro_f1"], 4)}}
            for m in modes:
                if m == "fp32":
                    continue
                e2e = results[m]
                mixed = Scorer(models["fp32"], embedders[m]).evaluate_folder(val_dir, background="off")
                feats = {k: np.stack([r.features[0] for r in embedders[k].embed(sorted(val_dir.rglob("*.jpg")))])
                         for k in ("fp32", m)}
                a, b = feats["fp32"], feats[m]
                cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)

                def summary(res: dict, ref: dict = ref, ref_dec: list = ref_dec) -> dict:
                    dec = [tuple(i["predicted"]) for i in res["images"]]
                    return {"top1_points": round(100 * (res["top1"] - ref["top1"]), 2),
                            "macro_f1_points": round(100 * (res["macro_f1"] - ref["macro_f1"]), 2),
                            "decisions_changed": round(float(np.mean([x != y for x, y in zip(dec, ref_dec)])), 4)}

                out[m] = {"end_to_end": summary(e2e), "score_only": summary(mixed),
                          "cosine_min": round(float(cos.min()), 5), "cosine_mean": round(float(cos.mean()), 5)}
                if m == "int8":
                    out[m]["int8_check"] = embedders[m].int8.report
            # One training seed moves macro-F1 by about a point either way: compare means over seeds.
            for m, e in embedders.items():
                runs = []
                for seed in range(args.seeds):
                    clf = train_from_folder(train_dir, e, TrainOptions(views=1, seed=seed)).classifier
                    ev = Scorer(clf, e).evaluate_folder(val_dir, background="off")
                    runs.append((100 * ev["top1"], 100 * ev["macro_f1"]))
                mean, sd = np.mean(runs, axis=0), np.std(runs, axis=0)
                out.setdefault(m, {})["seed_mean_top1_macro_f1"] = [round(float(v), 2) for v in mean]
                out[m]["seed_sd_top1_macro_f1"] = [round(float(v), 2) for v in sd]
            report[f"{name}/{dataset}"] = out
            print(name, dataset, json.dumps(out), flush=True)
    emit(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
