"""Retraining time after adding 10 examples to ~1,000 existing ones (6 categories + "none").

    python -m benchmarks retrain --data ../shared/data [--backbone efficientnet_lite0] [--out FILE]

What is timed is what the app does when you press Train again: the backbone is already loaded
(the app keeps it), every example's features are looked up in the on-disk feature cache, the
heads continue from the previous model's and the thresholds are calibrated. Two cases:

* ``retrain_seconds``: the 10 new photos' features are computed during training (the CLI, or
  pressing Train right after dropping them);
* ``retrain_after_read_ahead_seconds``: the app reads new examples in the background as soon as
  they are dropped (``read_ahead_seconds``), so pressing Train only looks them up.

The first training (cold cache) and a retraining from scratch are timed too, for scale, and the
cross-validated macro-F1 of each model shows that continuing does not cost quality.

Photos: every labelled photo under --data (hymenoptera + flowers: 7 kinds, 1,098 photos). The
first six kinds become categories, the seventh the "None of these" examples. Without --data, a
folder of generated photos of the same size is used.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from photosorter.ml.dataset import NONE_FOLDER, scan_labeled_folder
from photosorter.ml.features import Embedder, FeatureCache
from photosorter.ml.training import train_from_photos

from ._report import emit

CATEGORIES = 6
NEW_EXAMPLES = 10


def build_examples(data: Path | None, work: Path) -> tuple[Path, list[Path]]:
    """Labelled folder and 2 x NEW_EXAMPLES photos of it to hold back (two rounds of additions)."""
    root = work / "examples"
    kinds: dict[str, list[Path]] = {}
    if data is not None:
        for f in sorted(data.glob("*/*/*/*")):  # <set>/<split>/<kind>/<photo>
            if f.suffix.lower() in {".jpg", ".jpeg", ".png"}:
                kinds.setdefault(f.parent.name, []).append(f)
    if len(kinds) < CATEGORIES + 1:
        from photosorter.samples import OBJECTS, make_photo

        kinds = {}
        combos = [(o,) for o in OBJECTS] + [(a, b) for i, a in enumerate(OBJECTS) for b in OBJECTS[i + 1:]] + [()]
        for c, objects in enumerate(combos[: CATEGORIES + 1]):
            folder = work / "generated" / f"kind{c}"
            folder.mkdir(parents=True, exist_ok=True)
            kinds[f"kind{c}"] = []
            for i in range(157):
                p = folder / f"{i:04d}.jpg"
                make_photo(p, objects, seed=c * 1000 + i, size=(640, 480))
                kinds[f"kind{c}"].append(p)
    names = sorted(kinds)
    held: list[Path] = []
    for i, name in enumerate(names[: CATEGORIES + 1]):
        target = root / (name if i < CATEGORIES else NONE_FOLDER)
        target.mkdir(parents=True)
        for j, f in enumerate(kinds[name]):
            dest = target / f"{name}_{f.parent.parent.name}_{f.name}"
            shutil.copy(f, dest)
            if i < CATEGORIES and j % 47 == 1 and len(held) < 2 * NEW_EXAMPLES:
                held.append(dest)
    return root, held


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="folder of labelled photo sets (e.g. ../shared/data)")
    ap.add_argument("--backbone", default="efficientnet_lite0")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="photosorter-retrain-") as tmp:
        work = Path(tmp)
        examples, new = build_examples(args.data if args.data and args.data.is_dir() else None, work)
        parked = work / "parked"
        parked.mkdir()
        for p in new:
            shutil.move(p, parked / f"{p.parent.name}__{p.name}")
        embedder = Embedder(args.backbone, cache=FeatureCache(work / "features.sqlite3"))

        t = time.perf_counter()
        first = train_from_photos(scan_labeled_folder(examples), embedder)
        first_s = time.perf_counter() - t

        def add(batch: list[Path]) -> None:
            for p in batch:
                shutil.move(parked / f"{p.parent.name}__{p.name}", p)

        # Round 1: ten new examples, features computed while training.
        add(new[:NEW_EXAMPLES])
        t = time.perf_counter()
        photos = scan_labeled_folder(examples)
        again = train_from_photos(photos, embedder, previous=first.classifier)
        again_s = time.perf_counter() - t
        # Round 2: ten more, read ahead the way the app does when they are dropped.
        add(new[NEW_EXAMPLES:])
        t = time.perf_counter()
        embedder.embed(new[NEW_EXAMPLES:], views=4)
        read_ahead_s = time.perf_counter() - t
        t = time.perf_counter()
        ahead = train_from_photos(scan_labeled_folder(examples), embedder, previous=again.classifier)
        ahead_s = time.perf_counter() - t
        # The same retraining from scratch, for the time and quality it would cost without continuing.
        t = time.perf_counter()
        scratch = train_from_photos(scan_labeled_folder(examples), embedder)
        scratch_s = time.perf_counter() - t

        info = again.classifier.description
        report = {
            "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
            "backbone": args.backbone,
            "photos": "real (--data)" if args.data else "generated",
            "categories": len(photos.categories),
            "existing_examples": len(photos.paths) - NEW_EXAMPLES,
            "added_examples": NEW_EXAMPLES,
            "none_examples": info.none_examples,
            "first_training_seconds": round(first_s, 2),
            "retrain_seconds": round(again_s, 2),
            "retrain_parts_seconds": info.timings,
            "retrain_folds": info.folds,
            "retrain_continued_folds": info.continued_folds,
            "retrain_epochs_per_fold": [len(c["val_loss"]) for c in info.curves],
            "read_ahead_seconds": round(read_ahead_s, 2),
            "retrain_after_read_ahead_seconds": round(ahead_s, 2),
            "retrain_after_read_ahead_parts_seconds": ahead.classifier.description.timings,
            "from_scratch_seconds": round(scratch_s, 2),
            "from_scratch_epochs_per_fold": [len(c["val_loss"]) for c in scratch.classifier.description.curves],
            "cross_validated_macro_f1": {
                "first": round(first.classifier.metrics["macro_f1"], 4),
                "retrain_continued": round(again.classifier.metrics["macro_f1"], 4),
                "retrain_after_read_ahead": round(ahead.classifier.metrics["macro_f1"], 4),
                "retrain_from_scratch": round(scratch.classifier.metrics["macro_f1"], 4),
            },
            "target_seconds": 2.0,
        }
    emit(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
