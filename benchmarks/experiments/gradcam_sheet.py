"""Contact sheet of the app's explanation overlays (augmented Grad-CAM): N photos per class of a labelled folder, each shown with
the overlay for its own category (and its score), for looking at what the model looked at.

    python -m benchmarks gradcam_sheet --model M --folder ../shared/data/hymenoptera/val --out sheet.jpg
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image, ImageDraw

from photosorter import imaging
from photosorter.ml.gradcam import GradCAM, render
from photosorter.ml.scoring import Scorer

CELL = 200


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--folder", type=Path, required=True)
    ap.add_argument("--per-class", type=int, default=12)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    scorer = Scorer.from_file(args.model)
    emb, clf = scorer.embedder, scorer.classifier
    rows = []
    with GradCAM(emb.model, clf.head, emb.spec, augment=True) as cam:  # the app's map, unchecked
        for ci, cat in enumerate(clf.categories):
            photos = sorted((args.folder / cat).iterdir())[: args.per_class]
            for p in photos:
                img = imaging.load_image(p, min_side=emb.spec.input_size).image
                maps, _ = cam(img, [ci])
                score = scorer.image_scores(img)[ci]
                tile = render(img, maps[0], 0.5).overlay
                tile.thumbnail((CELL, CELL))
                canvas = Image.new("RGB", (CELL, CELL + 18), (25, 25, 25))
                canvas.paste(tile, ((CELL - tile.width) // 2, 0))
                ok = score >= clf.thresholds[ci]
                ImageDraw.Draw(canvas).text((4, CELL + 3), f"{cat} {score:.2f}{'' if ok else ' (below threshold)'}",
                                            fill=(120, 230, 120) if ok else (240, 140, 120))
                rows.append(canvas)
    cols = args.per_class
    sheet = Image.new("RGB", (cols * CELL, ((len(rows) + cols - 1) // cols) * (CELL + 18)), (0, 0, 0))
    for i, t in enumerate(rows):
        sheet.paste(t, ((i % cols) * CELL, (i // cols) * (CELL + 18)))
    sheet.save(args.out, quality=88)
    print(f"wrote {args.out} ({len(rows)} photos)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
