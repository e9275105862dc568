"""Memory bombs under the pixel limit decode in bounded memory, or are refused before decoding."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from photosorter import decode_budget, errors, imaging

ROOT = Path(__file__).resolve().parents[1]


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


def flat_png(width: int, height: int, bit_depth: int, colour_type: int, pixel: bytes) -> bytes:
    """A big flat PNG written chunk by chunk: 64 MP in half a second and a few hundred KB."""
    row = b"\x00" + pixel * width
    comp = zlib.compressobj(6)
    block_rows = max(1, (1 << 22) // len(row))
    parts, done = [], 0
    while done < height:
        n = min(block_rows, height - done)
        parts.append(comp.compress(row * n))
        done += n
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", b"".join(parts)) + _chunk(b"IEND", b"")


_CHILD = """
import json, sys
from photosorter import imaging

def mb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024

out = {"base": mb("VmRSS")}
for name in sys.argv[1:]:
    img = imaging.load_image(name, min_side=224).image
    out[name] = {"peak": mb("VmHWM"), "size": list(img.size), "pixel": list(img.getpixel((5, 5)))}
print(json.dumps(out))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
def test_16bit_and_rgba_bombs_decode_in_bounded_memory(tmp_path):
    """64 MP each: a 16-bit greyscale PNG (128 MB decoded; today's code made float64 copies, >1 GB)
    and an RGBA PNG (256 MB decoded; today's code held three full-size copies). The peak may only
    exceed the decoded pixels by a little (VmHWM of a fresh process: exact, not inherited)."""
    side = 8000
    grey = tmp_path / "grey16.png"
    grey.write_bytes(flat_png(side, side, 16, 0, b"\x80\x00"))
    rgba = tmp_path / "rgba.png"
    rgba.write_bytes(flat_png(side, side, 8, 6, b"\xff\x00\x00\x80"))
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(grey), str(rgba)], capture_output=True, text=True,
                          cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    base, pixels = out["base"], side * side / 2**20
    g, r = out[str(grey)], out[str(rgba)]
    assert g["peak"] - base < 2 * pixels + 60, out  # 2 bytes a pixel, plus strips
    assert r["peak"] - base < 4 * pixels + 60, out  # 4 bytes a pixel, plus strips
    assert min(g["size"]) >= 224 and max(g["size"]) <= 2 * 224  # decoded straight to the size needed
    assert g["pixel"] == [128, 128, 128]  # 0x8000 of 0xFFFF: mid grey, decoded straight to 8 bits
    assert r["pixel"] == [255, 127, 127]  # half-transparent red composited on white


def test_reduced_conversion_matches_full_size_conversion():
    """Strip-wise reduce-and-convert gives what converting the whole image and then box-reducing gives."""
    rng = np.random.default_rng(0)
    cases = {
        "I;16": Image.fromarray(rng.integers(0, 65535, (90, 130), dtype=np.uint16)),
        "F": Image.fromarray(rng.random((90, 130), dtype=np.float32)),
        "RGBA": Image.fromarray(rng.integers(0, 255, (90, 130, 4), dtype=np.uint8), "RGBA"),
        "LA": Image.fromarray(rng.integers(0, 255, (90, 130, 2), dtype=np.uint8), "LA"),
        "CMYK": Image.fromarray(rng.integers(0, 255, (90, 130, 4), dtype=np.uint8), "CMYK"),
        "P": Image.fromarray(rng.integers(0, 255, (90, 130, 3), dtype=np.uint8)).convert("P"),
    }
    old_strip = decode_budget.STRIP_PIXELS
    decode_budget.STRIP_PIXELS = 1000  # many strips, to exercise the seams
    try:
        for mode, img in cases.items():
            whole = np.asarray(decode_budget.shrink_to_rgb(img, 1), dtype=int)
            assert whole.shape == (90, 130, 3), mode
            reduced = np.asarray(decode_budget.shrink_to_rgb(img, 3), dtype=int)
            expected = np.asarray(Image.fromarray(whole[:, :129].astype(np.uint8)).reduce(3), dtype=int)  # whole blocks
            assert reduced.shape == expected.shape == (30, 43, 3), mode
            assert np.abs(reduced - expected).max() <= 2, mode  # premultiplied averaging rounds once more
    finally:
        decode_budget.STRIP_PIXELS = old_strip
    f = np.asarray(decode_budget.shrink_to_rgb(Image.fromarray(np.full((4, 4), 0.5, np.float32))))
    assert f[0, 0, 0] == 127  # float images in [0, 1] are scaled, not crushed to black


def test_what_would_not_fit_is_refused_from_the_header(write, monkeypatch):
    buf = io.BytesIO()
    Image.new("RGB", (600, 400), (1, 2, 3)).save(buf, "WEBP", lossless=True)
    path = write("big.webp", buf.getvalue())
    monkeypatch.setattr(decode_budget, "BUDGET", decode_budget.DecodeBudget(2_000_000))

    def never(self):
        raise AssertionError("decoded although it cannot fit")

    monkeypatch.setattr(ImageFile.ImageFile, "load", never)
    with pytest.raises(errors.DecodeTooLargeError, match="MiB of memory") as info:
        imaging.load_image(path, min_side=224)
    assert info.value.reason == "needs_too_much_memory" and info.value.exit_code == 3


def test_decodes_wait_for_each_other_within_the_budget():
    budget = decode_budget.DecodeBudget(100)
    order = []
    first = budget.reserve(60)
    first.__enter__()

    def second():
        with budget.reserve(60):
            order.append("second")

    t = threading.Thread(target=second)
    t.start()
    time.sleep(0.2)
    order.append("first done")
    first.__exit__(None, None, None)
    t.join(5)
    assert order == ["first done", "second"] and budget.in_use == 0


def test_png_header_size_does_not_decode(write, monkeypatch):
    path = write("big.png", flat_png(3000, 2000, 8, 2, b"\x01\x02\x03"))

    def never(self):
        raise AssertionError("header_size decoded the pixels")

    monkeypatch.setattr(ImageFile.ImageFile, "load", never)
    assert imaging.header_size(path.read_bytes()) == (3000, 2000)


_RETAIN_CHILD = """
import json, sys
from concurrent.futures import ThreadPoolExecutor
sys.path.insert(0, sys.argv[1])
from test_imaging_memory import flat_png
from photosorter import heap, imaging

if sys.argv[2:] == ["--no-trim"]:
    heap._TRIM = None  # the code before heap.release, to show the check catches it

def mb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024

datas = [flat_png(6000, 6000, 16, 0, b"\\x80\\x00"), flat_png(4000, 4000, 8, 6, b"\\xff\\x00\\x00\\x80"),
         flat_png(5000, 5000, 8, 2, b"\\x10\\x20\\x30")]
base = mb("RssAnon")
keep = []  # what a sort keeps between decodes: small results, allocated after each decode
with ThreadPoolExecutor(2) as pool:
    for _ in range(3):
        keep += [(img, bytearray(300_000)) for img in pool.map(lambda d: imaging.decode(d, min_side=224)[0].copy(), datas)]
print(json.dumps({"base": base, "after": mb("RssAnon")}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_large_decodes_give_their_memory_back(tmp_path):
    """Decoding threads that decode large images and keep small results must not keep the large
    buffers resident: glibc keeps freed heap memory below a live small allocation, and in a sort the
    network's activations then grew on top of it (~400 MiB of the hostile set's peak). Before
    heap.release: ~107 MiB still resident after these nine decodes (60-66 MiB of heap with
    `--no-trim` passed to the child); now under 1 MiB.

    Counts anonymous memory (RssAnon: the heap, what malloc_trim governs), not VmRSS: a loaded
    machine may have evicted pages of the shared libraries before the baseline, and decoding faults
    them back in (once ~33 MiB of them, failing a VmRSS check with nothing retained)."""

    def retained(*flags: str) -> float:
        proc = subprocess.run([sys.executable, "-c", _RETAIN_CHILD, str(Path(__file__).parent), *flags],
                              capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                              timeout=300)
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
        return out["after"] - out["base"]

    # One more child when the first is over the bar: in two full-suite runs of ~ten (never alone,
    # 0.4-0.5 MiB in 20 runs) one ~32 MiB block stayed (31.8, 32.4 MiB), while the regression this
    # guards against keeps ~107 MiB every time. A retry keeps the check and loses the flake.
    first = retained()
    assert first < 30 or retained() < 30, first
