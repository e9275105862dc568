"""Time one explanation (all categories) of a 12-megapixel JPEG, decode included, per method
("checked" here checks every category; the app checks only those the photo goes to — same cost).

    python -m benchmarks explain_time --model MODEL.safetensors
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from photosorter import imaging
from photosorter.ml.gradcam import METHODS, explain
from photosorter.ml.scoring import Scorer


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    photo = Path(tempfile.mkdtemp()) / "12mp.jpg"
    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, (378, 504, 3), dtype=np.uint8)
    Image.fromarray(small).resize((4032, 3024), Image.Resampling.BICUBIC).save(photo, quality=92)
    scorer = Scorer.from_file(args.model)
    emb, clf = scorer.embedder, scorer.classifier
    for method in ("gradcam", *[m for m in METHODS if m != "gradcam"]):
        times = []
        for i in range(args.runs + 1):
            t = time.perf_counter()
            img = imaging.load_image(photo, min_side=emb.spec.input_size).image
            explain(emb.model, clf.head, emb.spec, img, method=method, bf16=emb.bf16_active)  # as the app
            if i:  # first run is warm-up
                times.append(time.perf_counter() - t)
        print(f"{method}: {clf.backbone} (occlusion passes in {'bf16' if emb.bf16_active else 'fp32'}), "
              f"{len(clf.categories)} categories, 4032x3024 JPEG "
              f"({photo.stat().st_size / 1e6:.1f} MB): median {statistics.median(times) * 1000:.0f} ms, "
              f"min {min(times) * 1000:.0f} ms over {len(times)} runs", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
