"""Time per photo of face analysis (decode + detect + describe), cold: nothing cached.

    python benchmarks/faces_time.py --data ../shared/data

Reports wall time and this process's CPU time per photo (CPU time is what a busy shared machine
distorts least), on photos with faces (LFW, 150 px), without faces (flowers, ~500x665), and on a
12 MP camera-sized JPEG made from one of them (with and without a face), decode included.
Only face analysis is timed: the backbone's cost is in benchmarks/pipeline.py.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

from ._report import emit


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    from PIL import Image

    from photosorter.ml.faces import FaceAnalyzer, FaceStore

    def timed(paths: list[Path]) -> dict:
        fa = FaceAnalyzer(FaceStore(None))
        fa.for_image(Image.new("RGB", (64, 64)))  # load the models outside the measurement
        w, c = time.perf_counter(), time.process_time()
        found = [fa.for_path(p).found for p in paths]
        wall, cpu = time.perf_counter() - w, time.process_time() - c
        again = time.perf_counter()
        for p in paths:
            fa.for_path(p)
        cached = time.perf_counter() - again
        return {"photos": len(paths), "with_a_face": sum(f > 0 for f in found),
                "wall_ms_per_photo": round(1000 * wall / len(paths), 1), "cpu_ms_per_photo": round(1000 * cpu / len(paths), 1),
                "cached_ms_per_photo": round(1000 * cached / len(paths), 2)}

    faces = sorted((args.data / "faces" / "val").glob("*/*.jpg"))[: args.n]
    flowers = sorted((args.data / "flowers" / "val").glob("*/*.jpg"))[: args.n]
    tmp = Path(tempfile.mkdtemp())
    big = []
    for i, src in enumerate((faces[0], flowers[0])):
        buf = io.BytesIO()
        Image.open(src).convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC).save(buf, "JPEG", quality=90)
        p = tmp / f"big{i}.jpg"
        p.write_bytes(buf.getvalue())
        big.append(p)
    report = {
        "lfw_faces_150px": timed(faces),
        "flowers_no_faces_500x665": timed(flowers),
        "camera_12mp_with_a_face": timed([big[0]] * 1),
        "camera_12mp_no_face": timed([big[1]] * 1),
    }
    with contextlib.suppress(OSError):
        report["load_average"] = Path("/proc/loadavg").read_text().split()[:3]
    emit(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
