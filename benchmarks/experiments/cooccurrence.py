"""How often does a photo showing two categories go to both? (The app's multi-label promise.)

    python -m benchmarks cooccurrence --model MODEL.safetensors --val ../shared/data/flowers/val [--pairs 120]

Builds side-by-side collages of two validation photos from different categories (each half scaled
to the same height) and sorts them with the model, with no background (as for a single photo).
Reports how many collages go to both categories, to at least one, and the same model's top-1 on
the plain validation photos for reference. A collage is a crude stand-in for a real photo with two
subjects, but it asks the same question: does evidence for one category suppress the other?
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

from PIL import Image

from photosorter import imaging
from photosorter.ml.scoring import PhotoScore, Scorer

from .._report import emit


def make_collages(val: Path, out: Path, pairs: int, seed: int = 0) -> list[tuple[Path, str, str]]:
    classes = sorted(d.name for d in val.iterdir() if d.is_dir() and not d.name.startswith(("_", ".")))
    files = {c: sorted(p for p in (val / c).iterdir() if p.is_file()) for c in classes}
    rng = random.Random(seed)
    made = []
    for i in range(pairs):
        a, b = rng.sample(classes, 2)
        left = imaging.load_image(rng.choice(files[a])).image
        right = imaging.load_image(rng.choice(files[b])).image
        h = 320
        left = left.resize((max(1, round(left.width * h / left.height)), h))
        right = right.resize((max(1, round(right.width * h / right.height)), h))
        collage = Image.new("RGB", (left.width + right.width, h))
        collage.paste(left, (0, 0))
        collage.paste(right, (left.width, 0))
        path = out / f"{i:03d}.jpg"
        collage.save(path, quality=90)
        made.append((path, a, b))
    return made


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--val", type=Path, required=True, help="labelled folder: one sub-folder per category")
    ap.add_argument("--pairs", type=int, default=120)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    scorer = Scorer.from_file(args.model)
    collages = make_collages(args.val, Path(tempfile.mkdtemp(prefix="photosorter-collages-")), args.pairs)
    truth = {p: (a, b) for p, a, b in collages}
    both = either = 0
    for r in scorer.score_paths([p for p, _, _ in collages], background="off"):
        if isinstance(r, PhotoScore):
            a, b = truth[r.path]
            both += a in r.categories and b in r.categories
            either += a in r.categories or b in r.categories
    plain = scorer.evaluate_folder(args.val, background="off")
    emit({"model": str(args.model), "collages": len(collages), "to_both_categories": both,
          "to_at_least_one": either, "plain_val_top1": round(plain["top1"], 4)}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
