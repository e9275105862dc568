"""Accuracy, open-set and retraining figures on real photos, with a linear probe as baseline.

    python -m benchmarks accuracy --data ../shared/data [--backbone efficientnet_lite0] [--seeds 5]
        [--sections cameraroll,flowers,hymenoptera,retrain]

cameraroll: trained on train/ (20 per category), with and without the 20 none_examples/ as "none
of these" examples. val/ (members + _none) is split once (stratified, fixed seed) into two halves:
each half in turn is the stored background at training time (the photos the app saw before), and
the model is judged on the *other* half, sorted as a first sort of a new folder (that half joins a
copy of the background). Training learns from background photos (reliable_negatives.py), so
judging it on those same photos would flatter it: every photo is judged by a model whose training
never saw it. Each figure is the mean and spread over --seeds training seeds × both halves; the
quality estimate the Train tab shows is compared with the precision measured on the judged half.
The linear probe (multinomial logistic regression on the same features, with a "none" class when
none-examples exist) is the baseline in the same run, judged on all of val/.

Uses a private PHOTOSORTER_HOME (feature cache included) under --work, so the first run
measures cold feature extraction and later runs reuse it. Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ._report import emit


def linear_probe(train_f, train_y, test_f) -> np.ndarray:
    """Multinomial logistic regression on clean features: the plain baseline."""
    x = torch.as_tensor(train_f)
    mu, sd = x.mean(0), x.std(0).clamp_min(1e-4)
    lin = torch.nn.Linear(x.shape[1], train_y.max() + 1)
    opt = torch.optim.LBFGS(lin.parameters(), max_iter=200)
    y = torch.as_tensor(train_y)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(lin((x - mu) / sd), y) + 1e-3 * lin.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return lin((torch.as_tensor(test_f) - mu) / sd).argmax(1).numpy()


def clean_features(embedder, photos):
    res = embedder.embed(photos.paths, views=1)
    return np.stack([r.features[0] for r in res]), photos.labels.argmax(1)


def mean_sd(values) -> dict:
    v = np.array([x for x in values if x is not None], dtype=float)
    return {"mean": round(float(v.mean()), 4), "sd": round(float(v.std()), 4), "n": len(v)} if len(v) else None


def probe_open_metrics(pred: np.ndarray, truth: np.ndarray, categories: list[str]) -> dict:
    """Precision/recall per category and the share of no-category photos kept out, for a probe
    whose class index len(categories) means "none" (truth rows all zero = none)."""
    none_rows = truth.sum(1) == 0
    out = {"none_correct": float((pred[none_rows] == len(categories)).mean()) if none_rows.any() else None}
    for j, c in enumerate(categories):
        tp = int(((pred == j) & (truth[:, j] > 0.5)).sum())
        fp = int(((pred == j) & (truth[:, j] <= 0.5)).sum())
        fn = int(((pred != j) & (truth[:, j] > 0.5)).sum())
        out[c] = {"precision": tp / (tp + fp) if tp + fp else 0.0, "recall": tp / (tp + fn) if tp + fn else 0.0}
    return out


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def split_in_halves(photos, work: Path) -> dict[int, Path]:
    """Two labelled folders, each holding half of every category's photos (and of _none), chosen
    once with a fixed seed; a photo with two labels goes where its first label's share sends it."""
    rng = np.random.default_rng(123)
    key = ["_none" if y.sum() == 0 else photos.categories[int(np.argmax(y))] for y in photos.labels]
    half = np.zeros(len(key), dtype=int)
    for k in sorted(set(key)):
        idx = np.array([i for i, x in enumerate(key) if x == k])
        rng.shuffle(idx)
        half[idx[: len(idx) // 2]] = 1
    shutil.rmtree(work, ignore_errors=True)
    for i, h in enumerate(half):
        for src in (photos.sources[i] if photos.sources and photos.sources[i] else [photos.paths[i]]):
            dst = work / str(h) / src.parent.name / src.name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    return {0: work / "0", 1: work / "1"}


def cameraroll_section(args, embedder, seeds) -> dict:
    from photosorter.ml.background import StoredBackground
    from photosorter.ml.dataset import scan_labeled_folder
    from photosorter.ml.features import Embedding
    from photosorter.ml.scoring import Scorer
    from photosorter.ml.training import TrainOptions, train_from_photos

    root = args.data / "cameraroll"
    train_p = scan_labeled_folder(root / "train")
    cats = train_p.categories
    val_p = scan_labeled_folder(root / "val", cats)
    roll = embedder.embed(val_p.paths, views=1)
    roll_feats = np.stack([r.features[0] for r in roll])
    halves = split_in_halves(val_p, args.work / "cameraroll_halves")
    half_roll = {h: embedder.embed(scan_labeled_folder(d, cats).paths, views=1) for h, d in halves.items()}
    with_none = args.work / "cameraroll_with_none"
    shutil.rmtree(with_none, ignore_errors=True)
    with_none.mkdir(parents=True)
    for c in cats:
        shutil.copytree(root / "train" / c, with_none / c)  # copies: example folders that are links are refused
    shutil.copytree(root / "none_examples", with_none / "_none")
    out: dict = {}
    for variant, folder in (("no_none_examples", root / "train"), ("with_none_examples", with_none)):
        photos = scan_labeled_folder(folder, cats)
        runs = []
        for seed, h in ((seed, h) for seed in seeds for h in (0, 1)):
            seen = [r for r in half_roll[h] if isinstance(r, Embedding)]
            res = train_from_photos(photos, embedder,
                                    TrainOptions(seed=seed, background_negatives=not args.without_background_negatives),
                                    background=np.stack([r.features[0] for r in seen]))
            clf = res.classifier
            bg = StoredBackground(None, embedder.model.weights_id, embedder.spec.feature_dim)
            bg.add((r.sha256, r.features[0]) for r in seen)
            m = Scorer(clf, embedder, bg).evaluate_folder(halves[1 - h], background="auto")
            q = {d.name: d.as_dict() for d in clf.description.quality or ()}
            runs.append({
                "seed": seed, "background_half": h,
                "background_negatives": clf.description.background_negatives,
                "none_correct": m["none_correct"],
                "precision": {c: m["per_category"][c]["precision"] for c in cats},
                "recall": {c: m["per_category"][c]["recall"] for c in cats},
                "estimated_precision": {c: q[c]["precision"] for c in cats},
                "estimate_error": {c: (None if q[c]["precision"] is None else
                                       q[c]["precision"] - m["per_category"][c]["precision"]) for c in cats},
                "thresholds": {c: round(float(t), 4) for c, t in zip(cats, clf.thresholds)},
            })
            print(f"cameraroll {variant} seed {seed} background half {h}: {runs[-1]}", file=sys.stderr, flush=True)
        # linear probe on the same clean features (a "none" class when there are none-examples)
        f_tr = np.stack([r.features[0] for r in embedder.embed(photos.paths, views=1)])
        y_tr = np.where(photos.labels.sum(1) > 0, photos.labels.argmax(1), len(cats))
        pm = probe_open_metrics(linear_probe(f_tr, y_tr, roll_feats), val_p.labels, cats)
        out[variant] = {
            "kept_out": mean_sd(r["none_correct"] for r in runs),
            "precision": {c: mean_sd(r["precision"][c] for r in runs) for c in cats},
            "recall": {c: mean_sd(r["recall"][c] for r in runs) for c in cats},
            "min_precision": mean_sd(min(r["precision"].values()) for r in runs),
            "min_recall": mean_sd(min(r["recall"].values()) for r in runs),
            "estimated_precision": {c: mean_sd(r["estimated_precision"][c] for r in runs) for c in cats},
            "estimate_minus_measured": {c: mean_sd(r["estimate_error"][c] for r in runs) for c in cats},
            "estimate_within_0.10": mean_sd(np.mean([abs(e) <= 0.10 for e in r["estimate_error"].values() if e is not None])
                                            for r in runs),
            "unrelated_per_1000_in_a_category": round(1000 * (1 - float(np.mean([r["none_correct"] for r in runs])))),
            "macro_f1": mean_sd(np.mean([_f1(r["precision"][c], r["recall"][c]) for c in cats]) for r in runs),
            "min_f1": mean_sd(min(_f1(r["precision"][c], r["recall"][c]) for c in cats) for r in runs),
            "background_negatives": mean_sd(r["background_negatives"] for r in runs),
            "linear_probe": {"kept_out": pm["none_correct"],
                             "precision": {c: round(pm[c]["precision"], 3) for c in cats},
                             "recall": {c: round(pm[c]["recall"], 3) for c in cats}},
        }
        print(f"cameraroll {variant}: {out[variant]['kept_out']}", file=sys.stderr, flush=True)
    return out


def _prf(m: dict, cat: str) -> dict:
    v = m["per_category"][cat]
    return {"precision": round(v["precision"], 3), "recall": round(v["recall"], 3), "none_correct": m["none_correct"]}


def faces_section(data: Path, embedder, seeds: int, dev_sets: tuple[str, ...] = ("flowers", "hymenoptera", "cameraroll"),
                  dev_train: bool = True, seed_start: int = 0) -> dict:
    """Issue 17: a person category on LFW faces, with faces as evidence vs the image features alone,
    over several seeds; the dev sets without people with faces on vs off; time per photo."""
    from PIL import Image

    from photosorter.ml.faces import FaceAnalyzer, FaceStore, find_faces
    from photosorter.ml.scoring import Scorer
    from photosorter.ml.training import TrainOptions, train_from_folder

    out: dict = {"seeds": seeds}
    train, val = data / "faces" / "train", data / "faces" / "val"
    cat = next(p.name for p in train.iterdir() if p.is_dir())
    runs: dict = {"image_features_alone": [], "with_faces": []}
    for seed in range(seed_start, seed_start + seeds):
        for mode, faces in (("image_features_alone", False), ("with_faces", True)):
            clf = train_from_folder(train, embedder, TrainOptions(seed=seed, faces=faces)).classifier
            m = Scorer(clf, embedder).evaluate_folder(val)  # background "auto", as the app sorts a folder
            runs[mode].append({"seed": seed, **_prf(m, cat), "kind": (clf.description.people or {}).get(cat)})
            print(f"faces seed {seed} {mode}: {runs[mode][-1]}", file=sys.stderr, flush=True)  # long on a busy machine
    for mode, rows in runs.items():
        if not rows:
            continue
        out[mode] = {"per_seed": rows, **{k: round(float(np.mean([r[k] for r in rows])), 3)
                                          for k in ("precision", "recall", "none_correct")}}
    # Dev sets: which categories training takes to be about people. Where none is, training with
    # faces gives the very model it gives without (the same code path; tests/test_faces.py checks
    # it bit for bit), so only sets where some category is about people are trained twice.
    from photosorter.ml.dataset import scan_labeled_folder
    from photosorter.ml.person import analyzer_for, examine

    for name in dev_sets:
        if not (data / name).is_dir():
            continue
        photos = scan_labeled_folder(data / name / "train")
        fa = analyzer_for(embedder)
        t = time.perf_counter()
        ev = examine(lambda i, fa=fa, photos=photos: fa.for_path(photos.paths[i]), photos.labels, photos.categories)
        row: dict = {"examine_seconds": round(time.perf_counter() - t, 1),
                     "about_people": {} if ev is None else {c: k for c, k in zip(photos.categories, ev.kinds) if k}}
        if ev is not None:
            row["about"] = ev.about
        print(f"dev {name}: {row}", file=sys.stderr, flush=True)
        if ev is not None and dev_train:
            for mode, faces in (("image_features_alone", False), ("with_faces", True)):
                clf = train_from_folder(data / name / "train", embedder, TrainOptions(seed=0, faces=faces)).classifier
                m = Scorer(clf, embedder).evaluate_folder(data / name / "val")
                row[mode] = {"macro_f1": round(m["macro_f1"], 4), "micro_f1": round(m["micro_f1"], 4),
                             "none_correct": m["none_correct"],
                             "per_category": {c: {k: round(v[k], 3) for k in ("precision", "recall")}
                                              for c, v in m["per_category"].items()}}
        out[f"dev_{name}"] = row
    # Time per photo for face analysis (cold: nothing cached), on photos with and without faces.
    def timed(paths):
        fa = FaceAnalyzer(FaceStore(None))
        t = time.perf_counter()
        found = [fa.for_path(p).found for p in paths]
        return {"photos": len(paths), "ms_per_photo": round(1000 * (time.perf_counter() - t) / len(paths), 1),
                "with_a_face": sum(f > 0 for f in found)}
    out["time_faces_lfw_150px"] = timed(sorted(val.glob("*/*"))[:40])
    out["time_no_faces_flowers_500x665"] = timed(sorted((data / "flowers" / "val").glob("*/*"))[:40])
    big = Image.open(sorted(train.glob("*/*"))[0]).convert("RGB").resize((4000, 3000))
    t = time.perf_counter(); n = find_faces(big).found; big_s = time.perf_counter() - t
    t = time.perf_counter(); find_faces(Image.new("RGB", (4000, 3000), (90, 120, 150))); blank_s = time.perf_counter() - t
    out["time_12mp_decoded"] = {"face_ms": round(1000 * big_s, 1), "faces": n, "no_face_ms": round(1000 * blank_s, 1)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--backbone", default="efficientnet_lite0")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "photosorter-bench")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--numeric-mode", default="fp32", help="fp32 (default: the README's figures), bf16, int8 or auto")
    ap.add_argument("--seeds", type=int, default=5, help="training seeds to average over (default 5)")
    ap.add_argument("--sections", default="cameraroll,hymenoptera,flowers,retrain,faces",
                    help="comma list of: cameraroll, hymenoptera, flowers, retrain, faces")
    ap.add_argument("--without-background-negatives", action="store_true",
                    help="cameraroll: train without learning from the background's photos (what they add)")
    ap.add_argument("--face-seeds", type=int, default=5)
    ap.add_argument("--face-seed-start", type=int, default=0, help="first seed (to spread seeds over processes)")
    ap.add_argument("--face-dev", default="flowers,hymenoptera,cameraroll", help="dev sets checked for categories about people ('' for none)")
    ap.add_argument("--face-dev-examine-only", action="store_true", help="say which categories are about people; train no dev set twice")
    args = ap.parse_args()
    sections = set(args.sections.split(","))
    seeds = list(range(args.seeds))
    os.environ["PHOTOSORTER_HOME"] = str(args.work / "home")
    from photosorter.config import app_paths
    from photosorter.ml.dataset import scan_labeled_folder
    from photosorter.ml.features import Embedder, FeatureCache
    from photosorter.ml.scoring import Scorer
    from photosorter.ml.training import TrainOptions, train_from_folder

    embedder = Embedder(args.backbone, cache=FeatureCache(app_paths().feature_cache_file), numeric_mode=args.numeric_mode)
    report: dict = {"backbone": args.backbone, "seeds": seeds}
    if "cameraroll" in sections:
        report["cameraroll"] = cameraroll_section(args, embedder, seeds)
    for name in [n for n in ("hymenoptera", "flowers") if n in sections]:
        train_dir, val_dir = args.data / name / "train", args.data / name / "val"
        runs, runs_bg, train_s, clfs = [], [], [], []
        for seed in seeds:
            t = time.perf_counter()
            clf = train_from_folder(train_dir, embedder, TrainOptions(seed=seed)).classifier
            train_s.append(time.perf_counter() - t)
            clfs.append(clf)
            runs.append(Scorer(clf, embedder).evaluate_folder(val_dir, background="off"))
            runs_bg.append(Scorer(clf, embedder).evaluate_folder(val_dir, background="auto"))
        tp, vp = scan_labeled_folder(train_dir), scan_labeled_folder(val_dir, clf.categories)
        (ftr, ytr), (fva, yva) = clean_features(embedder, tp), clean_features(embedder, vp)
        pred = linear_probe(ftr, ytr, fva)
        probe_acc = float((pred == yva).mean())
        probe_f1 = float(np.mean([2 * ((pred == j) & (yva == j)).sum() / max(1, (pred == j).sum() + (yva == j).sum())
                                  for j in range(len(clf.categories))]))
        report[name] = {
            "top1": mean_sd(m["top1"] for m in runs), "macro_f1": mean_sd(m["macro_f1"] for m in runs),
            "micro_f1": mean_sd(m["micro_f1"] for m in runs), "exact_match": mean_sd(m["exact_match"] for m in runs),
            "with_background_auto": {"top1": mean_sd(m["top1"] for m in runs_bg),
                                     "macro_f1": mean_sd(m["macro_f1"] for m in runs_bg)},
            "train_seconds": mean_sd(train_s),
            "linear_probe_top1": round(probe_acc, 4), "linear_probe_macro_f1": round(probe_f1, 4),
        }
        if name == "hymenoptera":  # the open-set check: flowers are photos of no category
            open_dir = args.work / "openset"
            shutil.rmtree(open_dir, ignore_errors=True)
            for c in clf.categories:
                shutil.copytree(val_dir / c, open_dir / c)
            (open_dir / "_none").mkdir(parents=True)
            for f in (args.data / "flowers" / "val").glob("*/*"):
                shutil.copy(f, open_dir / "_none" / f"{f.parent.name}_{f.name}")
            for mode in ("off", "auto"):
                opens = []
                for c_seed in clfs:
                    opens.append(Scorer(c_seed, embedder).evaluate_folder(open_dir, background=mode))
                report[f"openset_hymenoptera_vs_flowers_background_{mode}"] = {
                    "none_correct": mean_sd(o["none_correct"] for o in opens),
                    "top1": mean_sd(o["top1"] for o in opens),
                    "background_photos": opens[0]["background_photos"],
                }
        if name == "hymenoptera" and "retrain" in sections:
            # Retraining after adding one example, in-process (the app keeps the backbone loaded).
            ex = args.work / "retrain"
            shutil.rmtree(ex, ignore_errors=True)
            shutil.copytree(train_dir, ex)
            extra = sorted((ex / clf.categories[-1]).iterdir())[0]
            held = args.work / extra.name
            shutil.move(extra, held)
            # Cold: a fresh feature cache for this copy is not needed: content hashes match the
            # cached ones, so measure first training with an empty cache explicitly.
            cold = Embedder(args.backbone, cache=FeatureCache(None), numeric_mode=args.numeric_mode)
            t = time.perf_counter(); before = train_from_folder(ex, cold).classifier; first = time.perf_counter() - t
            shutil.move(held, extra)
            # as the app and `photosorter train` do: continue from the model being replaced
            t = time.perf_counter(); train_from_folder(ex, cold, previous=before); again = time.perf_counter() - t
            report["retrain_one_more_example"] = {"first_seconds": round(first, 2), "retrain_seconds": round(again, 2), "ratio": round(again / first, 3)}
    if "faces" in sections and (args.data / "faces").is_dir():
        report["faces"] = faces_section(args.data, embedder, args.face_seeds, tuple(filter(None, args.face_dev.split(","))),
                                        not args.face_dev_examine_only, args.face_seed_start)
    emit(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
