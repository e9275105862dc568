"""Accuracy, open-set and retraining figures on real photos, with a linear probe as baseline.

    python benchmarks/accuracy.py --data ../shared/data [--backbone efficientnet_lite0]

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
from _report import emit  # benchmarks/ is on sys.path when a script here runs


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


def _prf(m: dict, cat: str) -> dict:
    v = m["per_category"][cat]
    return {"precision": round(v["precision"], 3), "recall": round(v["recall"], 3), "none_correct": m["none_correct"]}


def faces_section(data: Path, embedder, seeds: int, dev_sets: tuple[str, ...] = ("flowers", "hymenoptera", "cameraroll"),
                  dev_train: bool = True, seed_start: int = 0) -> dict:
    """Issue 17: a person category on LFW faces, with faces as evidence vs the image features alone,
    over several seeds; the dev sets without people with faces on vs off; time per photo."""
    from photosorter.ml.faces import FaceAnalyzer, FaceStore, find_faces
    from photosorter.ml.scoring import Scorer
    from photosorter.ml.training import TrainOptions, train_from_folder
    from PIL import Image

    out: dict = {"seeds": seeds}
    train, val = data / "faces" / "train", data / "faces" / "val"
    cat = next(p.name for p in train.iterdir() if p.is_dir())
    runs: dict = {"image_features_alone": [], "with_faces": []}
    for seed in range(seed_start, seed_start + seeds):
        for mode, faces in (("image_features_alone", False), ("with_faces", True)):
            clf = train_from_folder(train, embedder, TrainOptions(seed=seed, faces=faces)).classifier
            m = Scorer(clf, embedder).evaluate_folder(val)  # background "auto", as the app sorts a folder
            runs[mode].append({"seed": seed, **_prf(m, cat), "kind": (clf.info.get("people") or {}).get(cat)})
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
        ev = examine(lambda i: fa.for_path(photos.paths[i]), photos.labels, photos.categories)
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
    ap.add_argument("--sections", default="all", help="all, or a comma list of: main, faces")
    ap.add_argument("--face-seeds", type=int, default=5)
    ap.add_argument("--face-seed-start", type=int, default=0, help="first seed (to spread seeds over processes)")
    ap.add_argument("--face-dev", default="flowers,hymenoptera,cameraroll", help="dev sets checked for categories about people ('' for none)")
    ap.add_argument("--face-dev-examine-only", action="store_true", help="say which categories are about people; train no dev set twice")
    args = ap.parse_args()
    sections = {"main", "faces"} if args.sections == "all" else set(args.sections.split(","))
    os.environ["PHOTOSORTER_HOME"] = str(args.work / "home")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from photosorter.config import app_paths
    from photosorter.ml.dataset import scan_labeled_folder
    from photosorter.ml.features import Embedder, FeatureCache
    from photosorter.ml.scoring import Scorer
    from photosorter.ml.training import train_from_folder

    embedder = Embedder(args.backbone, cache=FeatureCache(app_paths().feature_cache_file), numeric_mode=args.numeric_mode)
    report: dict = {"backbone": args.backbone}
    for name in ("hymenoptera", "flowers") if "main" in sections else ():
        train_dir, val_dir = args.data / name / "train", args.data / name / "val"
        t = time.perf_counter()
        clf = train_from_folder(train_dir, embedder).classifier
        train_s = time.perf_counter() - t
        m = Scorer(clf, embedder).evaluate_folder(val_dir, background="off")
        tp, vp = scan_labeled_folder(train_dir), scan_labeled_folder(val_dir, clf.categories)
        (ftr, ytr), (fva, yva) = clean_features(embedder, tp), clean_features(embedder, vp)
        probe_acc = float((linear_probe(ftr, ytr, fva) == yva).mean())
        mb = Scorer(clf, embedder).evaluate_folder(val_dir, background="auto")
        report[name] = {
            "with_background_auto": {"top1": mb["top1"], "exact_match": mb["exact_match"], "macro_f1": mb["macro_f1"]},
            "train_seconds": round(train_s, 1), "top1": m["top1"], "exact_match": m["exact_match"],
            "macro_f1": m["macro_f1"], "micro_f1": m["micro_f1"],
            "per_category": {c: {k: round(v[k], 3) for k in ("precision", "recall", "f1", "threshold")} for c, v in m["per_category"].items()},
            "linear_probe_top1": probe_acc,
        }
        if name == "hymenoptera":
            open_dir = args.work / "openset"
            shutil.rmtree(open_dir, ignore_errors=True)
            for c in clf.categories:
                shutil.copytree(val_dir / c, open_dir / c)
            (open_dir / "_none").mkdir(parents=True)
            for f in (args.data / "flowers" / "val").glob("*/*"):
                shutil.copy(f, open_dir / "_none" / f"{f.parent.name}_{f.name}")
            for mode in ("off", "auto"):
                o = Scorer(clf, embedder).evaluate_folder(open_dir, background=mode)
                report[f"openset_hymenoptera_vs_flowers_background_{mode}"] = {
                    "none_correct": o["none_correct"], "top1": o["top1"],
                    "recall": {c: round(v["recall"], 3) for c, v in o["per_category"].items()},
                    "precision": {c: round(v["precision"], 3) for c, v in o["per_category"].items()},
                    "background_photos": o["background_photos"],
                }
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
