"""RAW photos (DNG, CR2/CR3, NEF, ARW, RAF, ORF, RW2) through LibRaw (rawpy).

Scoring needs ~224 pixels, so the cheapest good view wins: the camera's embedded preview (a
full-size or large JPEG in almost every RAW, extracted without demosaicing) when its shorter
side is at least what the network needs; otherwise a half-size demosaic (LibRaw's
``half_size``: each 2x2 Bayer block becomes one pixel, no interpolation, ~4x less work).
Orientation: LibRaw's ``flip`` (from the RAW's EXIF/maker notes) is applied to the preview;
``postprocess`` applies it itself. A JPEG preview's own EXIF orientation tag, if it has one,
wins (imaging.decode applies it).
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import numpy as np
from PIL import Image

from .. import errors, imaging
from . import MediaViews
from .hashing import checked_size, stream_hash

#: LibRaw flip code → PIL transpose (3: 180°, 5: 90° counter-clockwise, 6: 90° clockwise).
_FLIP = {3: Image.Transpose.ROTATE_180, 5: Image.Transpose.ROTATE_90, 6: Image.Transpose.ROTATE_270}


def _open(path: Path):
    import rawpy

    try:
        return rawpy.imread(str(path))
    except rawpy.LibRawFileUnsupportedError:
        raise errors.UnsupportedFormatError(
            "LibRaw does not recognise this RAW file (an unsupported camera, or not a RAW file).", path=path) from None
    except (rawpy.LibRawIOError, rawpy.LibRawDataError):
        raise errors.TruncatedImageError("The RAW file is truncated or damaged (an interrupted copy?).", path=path) from None
    except rawpy.LibRawError as exc:
        raise errors.CorruptImageError(f"The RAW file cannot be read ({exc}).", path=path) from None


def _preview(raw, path: Path, min_side: int) -> Image.Image | None:
    import rawpy

    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None
    except rawpy.LibRawError:
        return None  # a damaged preview: the demosaic may still work
    try:
        if thumb.format == rawpy.ThumbFormat.JPEG:
            img, _fmt, _size = imaging.decode(thumb.data, min_side=min_side, path=path)
            with Image.open(io.BytesIO(thumb.data)) as probe:
                has_own_orientation = imaging._orientation(probe) in range(2, 9)
        else:
            img, has_own_orientation = imaging.to_rgb(Image.fromarray(np.ascontiguousarray(thumb.data))), False
    except errors.BadImageError:
        return None
    if min(img.size) < min_side:
        return None  # a tiny thumbnail: not enough detail to score
    flip = _FLIP.get(raw.sizes.flip)
    if flip is not None and not has_own_orientation:
        img = img.transpose(flip)
    return img


def load_raw(path: Path, min_side: int | None = None, sha256: str | None = None) -> MediaViews:
    """Hash (streaming), then the embedded preview or a half-size demosaic, upright."""
    import rawpy

    checked_size(path)
    min_side = min_side or 224
    with _open(path) as raw:
        s = raw.sizes
        if s.width * s.height > imaging.MAX_PIXELS:
            raise errors.ImageTooLargeError(f"The RAW claims {s.width}x{s.height} pixels.", path=path)
        size = (s.height, s.width) if s.flip in (5, 6) else (s.width, s.height)
        img = _preview(raw, path, min_side)
        source = "embedded preview"
        if img is None:
            source = "half-size demosaic"
            try:
                rgb = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8, no_auto_bright=False)
            except (rawpy.LibRawIOError, rawpy.LibRawDataError):
                raise errors.TruncatedImageError("The RAW file is truncated or damaged (an interrupted copy?).", path=path) from None
            except rawpy.LibRawError as exc:
                raise errors.CorruptImageError(f"The RAW data cannot be decoded ({exc}).", path=path) from None
            img = Image.fromarray(rgb)
    sha = sha256 or stream_hash(path)
    return MediaViews([img], sha, size, "raw", source=source)


def capture_time(path: Path) -> dt.datetime | None:
    """When the shot was taken (naive local time, as EXIF writes it), or None."""
    import rawpy

    try:
        with rawpy.imread(str(path)) as raw:
            ts = raw.other.timestamp
    except Exception:
        return None
    # rawpy: datetime.fromtimestamp(LibRaw's mktime of the EXIF string) = the EXIF local time again.
    if not isinstance(ts, dt.datetime) or ts.year <= 1970:
        return None  # LibRaw's 0 means "no date in the file"
    return ts.replace(tzinfo=None)
