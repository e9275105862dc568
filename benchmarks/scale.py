"""Planning + copying overhead per photo for a big flat camera roll, model time excluded.

    python benchmarks/scale.py [--counts 1000 5000 20000] [--prefill 20000] [--dir /dev/shm] [--out FILE]

A flat folder of N small JPEGs, each with an ``.xmp`` sidecar (every 10th also with a small
``.MOV``), is sorted into two categories whose folders already hold ``--prefill`` files each
(10% of them with the same names as incoming photos, so free-name picking is exercised). The
scorer is a stand-in that reads and hashes each photo (as the real one does) and assigns a
category without a network, so the figures are the sorting engine's own cost: scan, sidecar
lookup, "already sorted" checks, streamed verified copies, the ledger. Flat means the per-photo
cost does not grow with N or with the destination's size.

``--dir``: where the trees are made. The default is RAM (/dev/shm) where fsync is free, which
isolates the engine's algorithmic overhead; on a disk every copy also pays its fsyncs (file,
folder, and the ledger's synchronous commits), which depends on the hardware — run with
``--dir /some/disk/folder`` to see that.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import emit


class _Clf:
    categories: ClassVar[list[str]] = ["cats", "dogs"]
    thresholds: ClassVar[list[float]] = [0.5, 0.5]


class StandInScorer:
    """Reads and hashes every photo like the real scorer; decides by a digit of the hash."""

    classifier = _Clf()
    threshold_overrides: ClassVar[dict[str, float]] = {}

    def score_paths(self, paths, progress=None, cancel=None, total=None, background="off", enrich=True):
        from photosorter import imaging
        from photosorter.ml.scoring import PhotoScore, ScoringRun

        def scored():
            for p in paths:
                sha = imaging.content_hash(imaging.read_file_bytes(p))
                cat = "cats" if int(sha[0], 16) % 2 else "dogs"
                yield PhotoScore(Path(p), sha, {"cats": float(cat == "cats"), "dogs": float(cat == "dogs")}, [cat])

        return ScoringRun(lambda: (0, scored()))


def _jpeg() -> bytes:
    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def make_roll(folder: Path, n: int, base: bytes) -> None:
    folder.mkdir(parents=True)
    for i in range(n):
        name = f"IMG_{i:05d}"
        (folder / f"{name}.JPG").write_bytes(base + i.to_bytes(4, "big"))  # bytes after EOI: a distinct photo
        (folder / f"{name}.xmp").write_bytes(b"<x:xmpmeta>%d</x:xmpmeta>" % i)
        if i % 10 == 0:
            (folder / f"{name}.MOV").write_bytes(b"\0\0\0\x18ftypqt  " + os.urandom(2000))


def prefill(dest: Path, n: int) -> None:
    for c in ("cats", "dogs"):
        (dest / c).mkdir(parents=True)
        for i in range(n):
            name = f"IMG_{i * 10:05d}.JPG" if i % 10 == 0 else f"OLD_{i:05d}.JPG"  # 10% clash with incoming names
            (dest / c / name).write_bytes(b"an earlier, different photo %d" % i)


def measure(n: int, prefill_n: int, base_dir: Path, base: bytes) -> dict:
    import photosorter.ml.scoring  # noqa: F401  (loaded in any real sort: keep the import out of the timing)
    from photosorter.sorting.ledger import Ledger
    from photosorter.sorting.paths import category_folder
    from photosorter.sorting.sorter import apply_plan, plan_sort

    work = Path(tempfile.mkdtemp(prefix="scale-", dir=base_dir))
    try:
        roll, dest = work / "roll", work / "Sorted"
        make_roll(roll, n, base)
        prefill(dest, prefill_n)
        ledger = Ledger(work / "ledger.sqlite3")
        dests = {c: category_folder(dest, c) for c in ("cats", "dogs")}
        t0 = time.perf_counter()
        plan = plan_sort([roll], StandInScorer(), ledger, dests, background="off")
        t1 = time.perf_counter()
        summary = apply_plan(plan, ledger)
        t2 = time.perf_counter()
        assert not summary.failed, summary.failed[:3]
        assert summary.copied_photos == n
        companions = sum(len(d.companions) for d in plan.decisions)
        return {"photos": n, "sidecars": companions, "files_per_category_before": prefill_n,
                "copies_made": summary.copies_made,
                "plan_ms_per_photo": round((t1 - t0) * 1000 / n, 3), "apply_ms_per_photo": round((t2 - t1) * 1000 / n, 3),
                "total_ms_per_photo": round((t2 - t0) * 1000 / n, 3)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--counts", type=int, nargs="+", default=[1000, 5000, 20000])
    ap.add_argument("--prefill", type=int, default=20000)
    ap.add_argument("--dir", type=Path, default=Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir()))
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    base = _jpeg()
    rows = [measure(n, args.prefill, args.dir, base) for n in args.counts]
    emit({"benchmark": "scale", "dir": str(args.dir), "rows": rows}, args.out)


if __name__ == "__main__":
    main()
