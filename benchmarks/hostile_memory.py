"""Peak memory of decoding and sorting memory bombs that stay under the 210 MP limit.

    python benchmarks/hostile_memory.py [--decode-only] [--skip NAME ...] [--out FILE]

Generates the hostile set of issue 14 and its relatives (16-bit greyscale PNG of 196 MP, four of
them in one sort, RGBA and 16-bit RGB PNGs, WebP, float and 16-bit TIFF, GIF, a 200 MP JPEG, a
huge iCCP profile, a 10,000-frame GIF; HEIC where pillow-heif is installed), then measures:

* per file, the peak RSS of a fresh process that only decodes it the way scoring does
  (``imaging.load_image(path, min_side=224)``), and what happened (decoded size or refusal);
* the peak RSS of ``photosorter sort`` over the whole set plus a few ordinary photos, with
  ResNet50 (random weights: memory does not depend on them; ``--backbone efficientnet_lite0`` for
  the default backbone), ``/usr/bin/time -f %M``. ``--skip`` every hostile file to measure sorting's
  own peak.

The issue's bar: the sort's peak RSS stays at or under 1.5 GB.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

from ._report import emit

ROOT = Path(__file__).resolve().parents[1]


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


def flat_png(width: int, height: int, bit_depth: int = 8, colour_type: int = 0, pixel: bytes = b"\x00",
             extra: bytes = b"") -> bytes:
    """A PNG of one flat colour, written chunk by chunk: a 196 MP one takes a second and ~400 KB."""
    row = b"\x00" + pixel * width  # filter byte 0, then the pixels
    comp = zlib.compressobj(9)
    block_rows = max(1, (1 << 22) // len(row))
    block = row * block_rows
    parts, done = [], 0
    while done < height:
        n = min(block_rows, height - done)
        parts.append(comp.compress(block if n == block_rows else row * n))
        done += n
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + extra + _chunk(b"IDAT", b"".join(parts)) + _chunk(b"IEND", b"")


def iccp_bomb_png() -> bytes:
    """A small image whose ICC profile inflates to 1 GiB."""
    comp = zlib.compressobj(9)
    zeros = bytes(1 << 24)
    profile = b"".join(comp.compress(zeros) for _ in range(64)) + comp.flush()
    return flat_png(64, 64, extra=_chunk(b"iCCP", b"bomb\x00\x00" + profile))


def make_hostile_set(folder: Path, skip: set[str] = frozenset()) -> list[Path]:
    from PIL import Image

    from photosorter import imaging

    folder.mkdir(parents=True, exist_ok=True)
    side = 14_000  # 196 MP
    makers = {
        **{f"grey16_196mp_{i}.png": (lambda i=i: flat_png(side, side, 16, 0, b"\x12\x34",
                                                           extra=_chunk(b"tEXt", f"Comment\x00copy {i}".encode())))
           for i in range(4)},
        "rgba_196mp.png": lambda: flat_png(side, side, 8, 6, b"\x10\x20\x30\x80"),
        "rgb16_196mp.png": lambda: flat_png(side, side, 16, 2, b"\x10\x00\x20\x00\x30\x00"),
        "palette_196mp.gif": lambda: _pillow(Image.new("P", (side, side), 3), "GIF"),
        "float_196mp.tif": lambda: _pillow(Image.new("F", (side, side), 0.5), "TIFF", compression="tiff_adobe_deflate"),
        "grey16_196mp.tif": lambda: _pillow(Image.new("I;16", (side, side), 4000), "TIFF", compression="tiff_adobe_deflate"),
        "rgba_196mp.webp": lambda: _pillow(Image.new("RGBA", (side, side), (10, 20, 30, 128)), "WEBP", lossless=True, method=0),
        "rgb_144mp.webp": lambda: _pillow(Image.new("RGB", (12_000, 12_000), (10, 20, 30)), "WEBP", quality=50, method=0),
        "rgb_200mp.jpg": lambda: _pillow(Image.new("RGB", (16_000, 12_500), (200, 120, 40)), "JPEG", quality=80),
        "iccp_bomb.png": iccp_bomb_png,
        "frames_10000.gif": lambda: _many_frames(),
    }
    if imaging.HEIF_AVAILABLE:
        makers["rgb_64mp.heic"] = lambda: _pillow(Image.new("RGB", (8_000, 8_000), (0, 120, 0)), "HEIF", quality=50)
    paths = []
    for name, make in makers.items():
        if name in skip:
            continue
        p = folder / name
        if not p.exists():
            p.write_bytes(make())
        paths.append(p)
    return paths


def _pillow(img, fmt: str, **save) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **save)
    return buf.getvalue()


def _many_frames() -> bytes:
    from PIL import Image

    frames = [Image.new("L", (8, 8), i % 256) for i in range(10_000)]
    return _pillow(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=10)


_DECODE = """
import sys, time
from photosorter import errors, imaging
t = time.perf_counter()
try:
    img = imaging.load_image(sys.argv[1], min_side=224).image
    what = f"decoded to {img.size[0]}x{img.size[1]}"
except errors.PhotosorterError as exc:
    what = f"refused ({type(exc).__name__}): {exc.message}"
print(what)
print(round(time.perf_counter() - t, 1))
"""


def decode_peaks(paths: list[Path]) -> dict:
    out = {}
    baseline = _peak_of([sys.executable, "-c", "from photosorter import imaging; print(); print(0)"])
    out["(import only)"] = baseline
    for p in paths:
        out[p.name] = _peak_of([sys.executable, "-c", _DECODE, str(p)])
        print(p.name, out[p.name], flush=True)
    return out


def _peak_of(cmd: list[str]) -> dict:
    """Peak RSS by /usr/bin/time: ru_maxrss read inside a child forked from this (large) process
    would include this process's size at the fork."""
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or len(lines) < 1:
        return {"error": proc.stderr[-2000:]}
    kb = proc.stderr.strip().splitlines()[-1]
    return {"peak_rss_mb": round(int(kb) / 1024), "seconds": float(lines[-1]), "outcome": lines[0] if len(lines) > 1 else ""}


def sort_peak(paths: list[Path], work: Path, backbone: str) -> dict:
    import torch
    from torchvision.models import resnet50

    from photosorter.ml.features import Embedder
    from photosorter.ml.training import TrainOptions, train_from_folder
    from photosorter.samples import make_labeled_folder

    weights = work / "resnet50-random.pth" if backbone == "resnet50" else None
    if weights is not None and not weights.exists():
        torch.save(resnet50(weights=None).state_dict(), weights)
    model = work / f"model-{backbone}.safetensors"
    if not model.exists():
        ex = make_labeled_folder(work / "examples", per_category=6, seed=3)
        train_from_folder(ex, Embedder(backbone, weights=weights), TrainOptions(views=1, folds=2)).classifier.save(model)
    src = work / "src"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir()
    for p in paths:
        link = src / p.name
        if not link.exists():
            os.link(p, link)
    for i, ex in enumerate(sorted((work / "examples").rglob("*.jpg"))[:8]):  # a few ordinary photos too
        (src / f"ordinary_{i}.jpg").write_bytes(ex.read_bytes())
    dest, home = work / "dest", work / "home"
    shutil.rmtree(dest, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)
    cmd = ["/usr/bin/time", "-f", "%M %e", sys.executable, "-m", "photosorter", "sort", str(src), "--model", str(model),
           "--dest", str(dest), *(["--weights", str(weights)] if weights else []), "--no-cache", "-q", "--json"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ, PHOTOSORTER_HOME=str(home), PYTHONPATH=str(ROOT)))
    if proc.returncode != 0 or not proc.stdout.strip():
        return {"error": f"exit {proc.returncode}: {proc.stderr[-3000:]}"}
    max_kb, seconds = proc.stderr.strip().splitlines()[-1].split()
    summary = json.loads(proc.stdout)
    return {"backbone": backbone, "photos": len(list(src.iterdir())), "peak_rss_mb": round(int(max_kb) / 1024), "seconds": float(seconds),
            "wall_seconds": round(time.perf_counter() - start, 1), "copied_photos": summary["copied_photos"],
            "failed": {Path(f["file"]).name: f["reason"] for f in summary["failed"]}}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--decode-only", action="store_true", help="only the per-file decode peaks")
    ap.add_argument("--sort-only", action="store_true", help="only the sort's peak")
    ap.add_argument("--skip", nargs="*", default=[], help="file names to leave out of the set")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "photosorter-hostile")
    ap.add_argument("--backbone", default="resnet50", choices=["resnet50", "efficientnet_lite0"],
                    help="resnet50 (random weights; the largest sorting footprint) or the default backbone")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    paths = make_hostile_set(args.work / "set", set(args.skip))
    report: dict = {"files": {p.name: p.stat().st_size for p in paths}}
    if not args.sort_only:
        report["decode"] = decode_peaks(paths)
    if not args.decode_only:
        report["sort"] = sort_peak(paths, args.work, args.backbone)
    emit(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
