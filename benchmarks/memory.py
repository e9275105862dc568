"""Peak RSS of `photosorter sort` with ResNet50 on 500 vs 2,000 distinct 12 MP photos.

    python -m benchmarks memory [--counts 500 2000] [--bypass-checks]

Photos are variants of a few generated phone-size JPEGs, made distinct by a unique JPEG comment
(different bytes → different content hash → no cache hits, full decode every time). ResNet50 uses
random weights (memory and speed do not depend on them). Needs ~5 MB of disk per photo, twice.
With random weights the bf16 self-check refuses bf16 and the sort runs in fp32 after checking its
first photos; --bypass-checks measures the bf16 path the default takes with real weights.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ._report import emit

REPO = Path(__file__).resolve().parents[1]


def variants(bases: list[Path], folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    datas = [b.read_bytes() for b in bases]
    for i in range(count):
        data = datas[i % len(datas)]
        comment = f"photosorter-benchmark-{i}".encode()
        seg = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
        (folder / f"IMG_{i:05d}.jpg").write_bytes(data[:2] + seg + data[2:])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--counts", type=int, nargs="+", default=[500, 2000])
    ap.add_argument("--bypass-checks", action="store_true",
                    help="measure the default fast mode (bf16 where native) although random weights fail its check")
    args = ap.parse_args()
    import torch
    from torchvision.models import resnet50

    from photosorter.ml.features import Embedder
    from photosorter.ml.training import TrainOptions, train_from_folder
    from photosorter.samples import make_labeled_folder

    from .pipeline import make_photos

    work = Path(tempfile.mkdtemp(prefix="ps-mem-"))
    weights = work / "resnet50-random.pth"
    torch.save(resnet50(weights=None).state_dict(), weights)
    ex = make_labeled_folder(work / "examples", per_category=6, seed=3)
    clf = train_from_folder(ex, Embedder("resnet50", weights=weights), TrainOptions(views=1, folds=2)).classifier
    model = clf.save(work / "model.safetensors")
    bases = make_photos(Path(tempfile.gettempdir()) / "photosorter-bench-12mp", 8)
    report = {}
    for n in args.counts:
        src, dest, home = work / f"src{n}", work / f"dest{n}", work / f"home{n}"
        variants(bases, src, n)
        # the sort runs in a child process that must import this checkout's photosorter and benchmarks
        env = dict(os.environ, PHOTOSORTER_HOME=str(home),
                   PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
        entry = ["-m", "benchmarks._unchecked_cli" if args.bypass_checks else "photosorter"]
        cmd = ["/usr/bin/time", "-f", "%M %e", sys.executable, *entry, "sort", str(src), "--model", str(model),
               "--dest", str(dest), "--weights", str(weights), "--no-cache", "-q", "--json"]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0 or not proc.stdout.strip():
            print(f"sort of {n} photos failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}", file=sys.stderr)
            return 1
        max_kb, seconds = proc.stderr.strip().splitlines()[-1].split()
        summary = json.loads(proc.stdout)
        report[n] = {"fast_mode_checks_bypassed": args.bypass_checks, "peak_rss_mb": round(int(max_kb) / 1024), "seconds": float(seconds),
                     "photos_per_s": round(n / float(seconds), 1), "copies_made": summary["copies_made"],
                     "failed": len(summary["failed"])}
        print(n, report[n], flush=True)
        shutil.rmtree(src)
        shutil.rmtree(dest, ignore_errors=True)
    emit(report, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
