"""Time per file kind (decode + hash, what sorting pays before the network runs) and flat memory.

    python benchmarks/media_speed.py [--big-gb 2] [--long-minutes 10] [--out FILE]

Everything is generated here, on this machine:
* stills baseline: a 12 MP JPEG (4000x3000) and a 1170x2532 PNG screenshot with alpha;
* videos, 1080p H.264 (libx264, 1 keyframe per second like phone cameras): a 10 s clip at 30 fps
  and a ``--long-minutes`` clip at 2 fps (seeking and keyframe decoding do not depend on how many
  frames lie between keyframes; the duration and the index size do);
* a ``--big-gb`` video (1080p MPEG-4 part 2 of noise at the highest bitrate): time and peak RSS
  of sampling + hashing it, and of a streamed, verified copy, each in a fresh child process;
* RAW: a 24 MP DNG (6000x4000, 16 bit) with and without a 1024x683 embedded preview (bitmap:
  this generator does not write JPEG previews; a camera's JPEG preview is decoded in draft mode);
* a PDF: an A4 page at 300 dpi, first page rendered.
Reported: median of ``--repeats`` runs, seconds per file, and peak RSS (MiB) where noted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from benchmarks._report import emit  # noqa: E402


def encode(path: Path, seconds: float, fps: int, codec: str = "libx264", noise: bool = False, qscale: bool = False) -> Path:
    import av

    rng = np.random.default_rng(0)
    bases = [np.clip(rng.normal(128, 40, (1080 // 8, 1920 // 8, 3)), 0, 255).astype(np.uint8) for _ in range(4)]
    bases = [np.asarray(Image.fromarray(b).resize((1920, 1080), Image.Resampling.BICUBIC)) for b in bases]
    with av.open(str(path), "w") as out:
        opts = {"preset": "ultrafast"} if codec == "libx264" else {"qmin": "1", "qmax": "3"} if qscale else {}
        s = out.add_stream(codec, rate=fps, options=opts)
        s.width, s.height, s.pix_fmt = 1920, 1080, "yuv420p"
        s.codec_context.gop_size = fps
        if qscale:
            s.codec_context.bit_rate = 800_000_000
        for i in range(int(seconds * fps)):
            arr = rng.integers(0, 256, (1080, 1920, 3), dtype=np.uint8) if noise else np.roll(bases[(i // fps) % 4], i * 7, axis=1)
            f = av.VideoFrame.from_ndarray(arr, format="rgb24")
            f.pts, f.time_base = i, Fraction(1, fps)
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return path


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


CHILD = """
import sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
t = time.perf_counter()
if {what!r} == "views":
    from photosorter.media import load_views
    v = load_views(Path({path!r}), min_side=224)
    extra = {{"frames": len(v.frames), "source": v.source}}
else:
    from photosorter.media.hashing import stream_hash
    from photosorter.sorting.copier import write_temp_from
    sha = stream_hash(Path({path!r}))
    t2 = time.perf_counter()
    write_temp_from(Path({path!r}), Path({dest!r}), sha)
    extra = {{"hash_s": round(t2 - t, 2)}}
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child would report its parent's peak.
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print({{"seconds": round(time.perf_counter() - t, 2), "peak_rss_mib": round(hwm / 1024), **extra}})
"""


def in_child(what: str, path: Path, dest: Path | None = None) -> dict:
    code = CHILD.format(root=str(ROOT), what=what, path=str(path), dest=str(dest))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return eval(out.strip().splitlines()[-1])  # our own dict literal


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--big-gb", type=float, default=2.0)
    ap.add_argument("--long-minutes", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--memory-only", action="store_true", help="only the fresh-process runs on the 10 s and big clips")
    args = ap.parse_args()
    from media_helpers import make_dng

    from photosorter.media import load_views

    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        d = Path(tmp)
        rng = np.random.default_rng(1)
        photo = np.clip(rng.normal(120, 50, (375, 500, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(photo).resize((4000, 3000), Image.Resampling.BICUBIC).save(d / "12mp.jpg", quality=90)
        shot = Image.new("RGBA", (1170, 2532), (0, 0, 0, 0))
        shot.paste((30, 30, 30, 255), (0, 0, 1170, 300))
        shot.save(d / "screenshot.png")
        Image.new("RGB", (2480, 3508), (250, 250, 250)).save(d / "scan.pdf", resolution=300)
        make_dng(d / "24mp_preview.dng", size=(6000, 4000), preview=(1024, 683))
        make_dng(d / "24mp_bare.dng", size=(6000, 4000))
        t = time.perf_counter()
        encode(d / "10s_1080p.mp4", 10, 30)
        if not args.memory_only:
            encode(d / "long_1080p.mp4", args.long_minutes * 60, 2)
        made = time.perf_counter() - t
        files = ["12mp.jpg", "screenshot.png", "scan.pdf", "24mp_preview.dng", "24mp_bare.dng", "10s_1080p.mp4", "long_1080p.mp4"]
        for name in files if not args.memory_only else ["10s_1080p.mp4"]:
            p = d / name
            views = load_views(p, min_side=224)
            rows[name] = {"kind": views.kind, "how": views.source, "mib": round(p.stat().st_size / 2**20, 1),
                          "seconds": round(timed(lambda p=p: load_views(p, min_side=224), args.repeats), 3)}
        if args.big_gb > 0:
            probe = encode(d / "probe.mp4", 1, 25, codec="mpeg4", noise=True, qscale=True)
            per_second = probe.stat().st_size / 2**30  # GiB per second of this noise clip
            big = encode(d / "big.mp4", max(1.0, round(args.big_gb / per_second)), 25, codec="mpeg4", noise=True, qscale=True)
            rows["10s_1080p.mp4"]["in_fresh_process"] = {"score_views": in_child("views", d / "10s_1080p.mp4"),
                                                       "hash_and_streamed_copy": in_child("copy", d / "10s_1080p.mp4", d / "copy10.mp4")}
            rows["big.mp4"] = {"mib": round(big.stat().st_size / 2**20), "score_views": in_child("views", big),
                               "hash_and_streamed_copy": in_child("copy", big, d / "copy.mp4")}
    emit({"benchmark": "media_speed", "repeats": args.repeats, "cpus": os.cpu_count(),
          "generation_seconds": round(made, 1), "files": rows}, args.out)


if __name__ == "__main__":
    main()
