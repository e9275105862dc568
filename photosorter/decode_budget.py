"""Bounded-memory decoding: how much a decode will cost, who may decode now, and shrinking to RGB.

A photo of a few hundred kilobytes can describe hundreds of megapixels (a flat 16-bit PNG of
196 MP compresses to 400 KB). The pixel limit alone does not bound memory: Pillow keeps most
modes at 4 bytes per pixel, some libraries decode into their own buffer before Pillow copies it,
and a naive conversion (e.g. a float64 array of a 16-bit image) multiplies that again. So:

* :func:`estimate_bytes` predicts the peak of one decode from the header alone (mode, size after
  JPEG draft, a per-format factor for libraries that hold extra copies), *before* decoding;
* :data:`BUDGET` lets decodes run at the same time only while their estimates together stay under
  :data:`MAX_DECODE_BYTES`; a photo whose estimate alone exceeds it is refused with a reason;
* :func:`shrink_to_rgb` turns the decoded image into 8-bit RGB strip by strip, reducing each strip
  by an integer box factor to the size the caller needs, so no full-size copy in another mode, and
  no float64 array, ever exists.
"""

from __future__ import annotations

import threading

import numpy as np
from PIL import Image

from . import errors

#: The most memory the decodes running at one time may use together (and so one decode alone).
#: Sorting itself peaks at ~1,140 MiB (ResNet50 checking bf16 against fp32 on its first photos;
#: ``benchmarks/hostile_memory.py`` on ordinary photos only); issue 14's bar for sorting any hostile
#: set is 1.5 GB, which leaves this much for decoding. Accepted for scoring: 8- and 16-bit
#: greyscale PNG and palette images up to the 210 MP pixel limit, RGB/RGBA and 32-bit PNG/TIFF up
#: to ~88 MP (Pillow holds them at 4 bytes a pixel), 16-bit TIFF up to ~175 MP, HEIC up to ~50 MP,
#: WebP up to ~22 MP, JPEG up to the pixel limit (decoded at 1/8 scale when that is enough).
MAX_DECODE_BYTES = 352 * 1024 * 1024

#: Libraries that decode into buffers of their own, which Pillow then copies: peak per byte of
#: Pillow's image. Measured with ``benchmarks/hostile_memory.py``: Pillow's WebP plugin (libwebp's
#: animation decoder, then a bytes copy) peaked at 3.9x (144 MP RGB: 2.27 GB), pillow-heif at 1.7x
#: (64 MP: 444 MB above the interpreter). PNG, GIF, BMP, TIFF and JPEG decode straight into
#: Pillow's image (1.0-1.08x).
FORMAT_FACTOR = {"WEBP": 4.0, "HEIF": 1.75}

#: Pixels per strip when converting: small enough to be negligible, large enough to be fast.
STRIP_PIXELS = 1_000_000

_BACKGROUND = (255, 255, 255)  # what transparent areas look like in every photo viewer


def bytes_per_pixel(mode: str) -> int:
    """What Pillow's image core stores per pixel: 1 for 1/L/P, 2 for 16-bit, 4 for everything
    else (RGB too is stored as 4 bytes)."""
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return 4


def estimate_bytes(fmt: str, mode: str, size: tuple[int, int], full_rgb: bool) -> int:
    """Peak extra memory of decoding an image whose header says (fmt, mode, size) — the size
    after any JPEG draft. ``full_rgb``: the caller wants the full-size RGB image as well."""
    pixels = int(size[0]) * int(size[1])
    decoded = pixels * bytes_per_pixel(mode) * FORMAT_FACTOR.get(fmt, 1.0)
    rgb = pixels * 4 if full_rgb and mode != "RGB" else 0
    return int(decoded + rgb + 2 * STRIP_PIXELS * 8)


class DecodeBudget:
    """A counting semaphore in bytes: decodes wait until their estimate fits alongside the others."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.in_use = 0
        self._cond = threading.Condition()

    def reserve(self, need: int, path=None) -> _Reservation:
        if need > self.total:
            raise errors.DecodeTooLargeError(
                f"Decoding it would need about {need / 2**20:.0f} MiB of memory, more than the "
                f"{self.total / 2**20:.0f} MiB photosorter allows for one photo. Save it smaller "
                "(or as JPEG) to sort it.",
                path=path,
            )
        return _Reservation(self, need)


class _Reservation:
    def __init__(self, budget: DecodeBudget, need: int) -> None:
        self.budget, self.need = budget, need

    def __enter__(self) -> _Reservation:
        b = self.budget
        with b._cond:
            b._cond.wait_for(lambda: b.in_use + self.need <= b.total)
            b.in_use += self.need
        return self

    def __exit__(self, *exc) -> None:
        b = self.budget
        with b._cond:
            b.in_use -= self.need
            b._cond.notify_all()


BUDGET = DecodeBudget(MAX_DECODE_BYTES)


def reduce_factor(size: tuple[int, int], min_side: int | None) -> int:
    """The largest integer box factor that keeps the shorter side at least ``min_side``."""
    if not min_side:
        return 1
    return max(1, min(size) // int(min_side))


def shrink_to_rgb(img: Image.Image, factor: int = 1) -> Image.Image:
    """8-bit RGB, box-reduced by ``factor``, converted strip by strip (see the module docstring).

    What a viewer shows: 16-bit and 32-bit greyscale keep their range (Pillow's own conversion
    clips them to white), alpha is composited on white (Pillow's drops it onto black)."""
    if img.mode == "RGB" and factor == 1:
        return img
    factor = max(1, min(int(factor), *img.size))
    width, height = img.size[0] // factor * factor, img.size[1] // factor * factor
    out = Image.new("RGB", (width // factor, height // factor))
    deep = _deep_scale(img)
    rows = max(1, STRIP_PIXELS // width // factor) * factor
    for top in range(0, height, rows):
        strip = _strip_to_rgb(img.crop((0, top, width, min(top + rows, height))), deep, factor)
        out.paste(strip, (0, top // factor))
    return out


def _deep_scale(img: Image.Image) -> float | None:
    """For 16/32-bit greyscale: the value that maps to white (one pass over the image, no copy)."""
    mode = img.mode
    if not (mode.startswith("I;16") or mode in ("I", "F")):
        return None
    extrema = img.getextrema()
    hi = float(extrema[1])  # type: ignore[arg-type]  # one band: (min, max)
    if mode == "F" and hi <= 1.0:
        return 1.0  # float images in [0, 1]
    return 65535.0 if hi > 255 else 255.0


def _strip_to_rgb(strip: Image.Image, deep: float | None, factor: int) -> Image.Image:
    """One strip to 8-bit RGB reduced by ``factor``, shrinking as early as the mode allows."""
    mode = strip.mode
    if deep is not None:
        arr = np.asarray(strip)
        if mode == "F":
            grey = np.clip(arr.astype(np.float32) * np.float32(255.0 / deep), 0, 255).astype(np.uint8)
        else:  # integer arithmetic: exact, in place, and no float64 copy
            top = int(deep)
            wide = np.clip(arr, 0, top).astype(np.uint32)
            wide *= 255
            wide //= top
            grey = wide.astype(np.uint8)
        return _reduce(Image.fromarray(grey, "L"), factor).convert("RGB")
    if mode == "P":
        strip = strip.convert("RGBA") if "transparency" in strip.info else strip.convert("RGB")
        mode = strip.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        # Averaging premultiplied colour and then compositing on white is exactly compositing
        # first and averaging after, on far fewer pixels.
        if mode != "RGBA":
            strip = strip.convert("RGBA")
        rgba = _reduce(strip.convert("RGBa"), factor).convert("RGBA") if factor > 1 else strip
        canvas = Image.new("RGB", rgba.size, _BACKGROUND)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    if mode in _REDUCIBLE:
        return _reduce(strip, factor).convert("RGB")
    return _reduce(strip.convert("RGB"), factor)


_REDUCIBLE = frozenset({"L", "RGB"})  # others convert non-linearly (CMYK clamps): convert first


def _reduce(img: Image.Image, factor: int) -> Image.Image:
    return img.reduce(factor) if factor > 1 else img
