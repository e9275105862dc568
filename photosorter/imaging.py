"""Safe decoding of untrusted photo files.

Every photo is treated as hostile input: it is read once into memory (so the hash we record and
the pixels we score come from the same bytes, even if the file changes underneath us), checked
against an allow-list of formats and a pixel limit *before* decoding, decoded with Pillow's
truncation guard on, oriented by its EXIF tag and converted to 8-bit RGB. Nothing here ever
writes to the file.

JPEGs are decoded in Pillow's draft mode: libjpeg scales by 1/2, 1/4 or 1/8 inside the DCT,
which is 3-6x faster than a full decode followed by a resize and is all a 224-pixel network needs.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageFile, UnidentifiedImageError

from . import decode_budget, errors, heap

try:  # HEIC/HEIF from iPhones; optional at run time so a broken wheel never blocks JPEGs.
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_AVAILABLE = True
except Exception:  # pragma: no cover - depends on the platform wheel
    HEIF_AVAILABLE = False

Image.init()  # load every plugin now, so the allow-list below can name them

#: Formats we decode. Anything else (EPS, PSD, PDF, ICO, ...) is refused before Pillow's plugin
#: for it runs: several of those plugins call external programs or have a history of CVEs.
ALLOWED_FORMATS: tuple[str, ...] = tuple(
    fmt for fmt in ("JPEG", "MPO", "PNG", "GIF", "WEBP", "BMP", "TIFF", "HEIF") if fmt in Image.OPEN
)

#: File name endings we look at when scanning folders. Matching is case-insensitive.
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".hif"}
)

#: 210 megapixels: above the largest phone sensors (200 MP), far below decompression bombs.
MAX_PIXELS = 210_000_000
#: Files larger than this are not photos we can safely hold in memory twice.
MAX_FILE_BYTES = 512 * 1024 * 1024

# Pillow only warns between MAX_IMAGE_PIXELS and twice that; we want an error at our limit.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)
ImageFile.LOAD_TRUNCATED_IMAGES = False  # never silently grey-fill a broken photo

@dataclass(frozen=True)
class LoadedImage:
    """A decoded photo as the user sees it (EXIF-oriented), plus where it came from."""

    image: Image.Image  # RGB, 8 bit, oriented; possibly draft-downscaled
    sha256: str
    format: str
    size: tuple[int, int]  # full-resolution (width, height) after orientation
    file_size: int


def looks_like_image(path: Path) -> bool:
    """Cheap name-based filter used when scanning folders (content is checked on decode)."""
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def checked_stat(path: str | Path) -> os.stat_result:
    """stat() of a regular, non-empty file; every failure as an error a user can act on.

    The type is checked before opening, because opening a FIFO for reading blocks until a writer
    appears (see :func:`open_checked` for the race after it)."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise errors.UnreadableFileError("The file no longer exists.", path=path) from None
    except PermissionError:
        raise errors.UnreadableFileError(
            "Permission denied: photosorter cannot read this file. Check its permissions.", path=path
        ) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise errors.UnreadableFileError("It is a symbolic link loop.", path=path) from None
        raise errors.UnreadableFileError(f"Cannot read it: {exc.strerror or exc}.", path=path) from None
    _check_regular(path, st)
    if st.st_size == 0:
        raise errors.EmptyFileError("The file is empty (0 bytes); it may not have finished copying.", path=path)
    return st


def open_checked(path: str | Path) -> int:
    """A read-only descriptor of a regular file: O_NONBLOCK plus fstat() close the race of a file
    swapped for a FIFO or device after :func:`checked_stat`. The caller closes it."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except PermissionError:
        raise errors.UnreadableFileError(
            "Permission denied: photosorter cannot read this file. Check its permissions.", path=path
        ) from None
    except OSError as exc:
        raise errors.UnreadableFileError(f"Cannot open it: {exc.strerror or exc}.", path=path) from None
    try:
        _check_regular(path, os.fstat(fd))
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_file_bytes(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """Read a whole regular file, refusing directories, FIFOs, devices and oversized files."""
    path = Path(path)
    st = checked_stat(path)
    if st.st_size > max_bytes:
        raise errors.FileTooLargeError(
            f"The file is {st.st_size / 2**20:.0f} MiB, more than the {max_bytes / 2**20:.0f} MiB limit for a photo.",
            path=path,
        )
    fd = open_checked(path)
    try:
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise errors.UnreadableFileError(f"Reading failed: {exc.strerror or exc}.", path=path) from None
    finally:
        os.close(fd)
    if not data:
        raise errors.EmptyFileError("The file is empty (0 bytes); it may not have finished copying.", path=path)
    if len(data) > max_bytes:
        raise errors.FileTooLargeError("The file grew past the size limit while it was being read.", path=path)
    return data


def _check_regular(path: Path, st: os.stat_result) -> None:
    if stat.S_ISREG(st.st_mode):
        return
    kind = (
        "a folder" if stat.S_ISDIR(st.st_mode)
        else "a named pipe (FIFO)" if stat.S_ISFIFO(st.st_mode)
        else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
        else "a socket" if stat.S_ISSOCK(st.st_mode)
        else "not a regular file"
    )
    raise errors.NotARegularFileError(f"This is {kind}, not a photo file.", path=path)


#: Block size for streamed hashing: flat memory for any file size.
HASH_CHUNK = 1 << 20


def content_hasher() -> hashlib._Hash:
    """A fresh hasher of the content identity (SHA-256). Every digest of a file's contents —
    in memory, streamed from a descriptor, streamed while copying — starts here, so the ledger,
    the feature cache, dedupe and copy verification can never disagree on a file's identity."""
    return hashlib.sha256()


def content_hash(data: bytes) -> str:
    """SHA-256 of the file's bytes: the identity used for dedupe, caching and the ledger."""
    h = content_hasher()
    h.update(data)
    return h.hexdigest()


def content_hash_fd(fd: int, chunk: int = HASH_CHUNK) -> tuple[str, int]:
    """(content hash, size) of an open file from its start, streamed in blocks with ``pread``
    (the descriptor's offset is left alone); the same digest as :func:`content_hash`."""
    h = content_hasher()
    offset = 0
    while block := os.pread(fd, chunk, offset):
        h.update(block)
        offset += len(block)
    return h.hexdigest(), offset


def file_hash(path: str | Path) -> str:
    """Streaming content hash for files we only need to identify, not decode (e.g. copies we made)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        return content_hash_fd(fd)[0]
    finally:
        os.close(fd)


def decode(data: bytes, *, min_side: int | None = None, path: str | Path | None = None) -> tuple[Image.Image, str, tuple[int, int]]:
    """Decode bytes into an oriented 8-bit RGB image, in bounded memory.

    ``min_side``: the smallest shorter side the caller needs; JPEGs are then decoded at the
    largest DCT scale that still gives at least that many pixels, other formats are box-reduced
    by an integer factor while converting (see :mod:`.decode_budget`). The decode's peak memory is
    estimated from the header first; what would not fit is refused. Returns (image, format, full
    oriented size).
    """
    img = _open(data, path)
    fmt = img.format or "unknown"
    width, height = img.size
    if width <= 0 or height <= 0:
        raise errors.CorruptImageError("The image has no pixels.", path=path)
    if width * height > MAX_PIXELS:
        raise errors.ImageTooLargeError(
            f"The image claims {width}x{height} pixels ({width * height / 1e6:.0f} MP), more than the "
            f"{MAX_PIXELS / 1e6:.0f} MP limit. It may be a decompression bomb.",
            path=path,
        )
    if min_side and fmt in ("JPEG", "MPO") and min(width, height) > min_side:
        img.draft("RGB", (min_side, min_side))
    tile = getattr(img, "tile", None)  # ImageFile only (every opened file is one)
    if fmt == "PNG" and img.mode == "I;16" and tile and all(t.args == "I;16B" for t in tile):
        # 16-bit greyscale PNG: unpack the high byte of each sample straight into 8-bit greyscale
        # (value / 256, the full 16-bit range mapped onto 0-255): half the memory of I;16.
        img._mode = "L"
        img.tile = [t._replace(args="L;16B") for t in tile]  # type: ignore[attr-defined]  # ImageFile
    factor = 1 if fmt in ("JPEG", "MPO") else decode_budget.reduce_factor(img.size, min_side)
    need = decode_budget.estimate_bytes(fmt, img.mode, img.size, full_rgb=factor == 1)
    rgb = None
    with decode_budget.BUDGET.reserve(need, path):
        try:
            img.load()
            orientation = _orientation(img)  # after load: a PNG's eXIf chunk may follow its pixels
            rgb = decode_budget.shrink_to_rgb(img, factor)
        except Image.DecompressionBombError as exc:
            raise _too_large(exc, path) from None
        except OSError as exc:
            text = str(exc)
            if "truncated" in text or "broken data stream" in text or "premature" in text.lower():
                raise errors.TruncatedImageError(
                    "The file is truncated: it ends before the image data does (an interrupted copy?).", path=path
                ) from None
            raise errors.CorruptImageError(f"The image data is damaged ({text}).", path=path) from None
        except (SyntaxError, ValueError, EOFError, MemoryError, Image.DecompressionBombWarning) as exc:
            raise errors.CorruptImageError(f"The image data is damaged ({exc}).", path=path) from None
        finally:
            if rgb is not img:
                img.close()  # the full-size decoded pixels go now, not when the garbage collector runs
            del img
            if need >= heap.RELEASE_ABOVE_BYTES:
                heap.release()  # and the memory they used goes back to the system (see heap)
    method = _TRANSPOSE.get(orientation)
    return (rgb.transpose(method) if method is not None else rgb), fmt, _oriented_size((width, height), orientation)


#: EXIF orientation → the transpose that shows the photo upright (as ImageOps.exif_transpose).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _open(data: bytes, path: str | Path | None) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except UnidentifiedImageError:
        pass
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_large(exc, path) from None
    except ValueError as exc:  # e.g. PNG text chunks larger than Pillow's safety limit
        raise errors.CorruptImageError(f"The file is malformed ({exc}).", path=path) from None
    except (OSError, SyntaxError, EOFError) as exc:
        raise errors.CorruptImageError(f"The image header is damaged ({exc}).", path=path) from None
    # Not one of ours: tell "unsupported format" apart from "not an image at all". Identifying
    # only parses a header; no plugin decodes anything here.
    try:
        other = Image.open(io.BytesIO(data))
        fmt = other.format
    except Exception:
        fmt = None
    if fmt:
        raise errors.UnsupportedFormatError(
            f"{fmt} files are not supported. Supported: {', '.join(ALLOWED_FORMATS)}.", path=path
        )
    raise errors.NotAnImageError("This file is not an image (its contents are not a known picture format).", path=path)


def _too_large(exc: Exception, path: str | Path | None) -> errors.ImageTooLargeError:
    return errors.ImageTooLargeError(
        f"The image has more pixels than the {MAX_PIXELS / 1e6:.0f} MP limit; it may be a "
        f"decompression bomb ({exc}).",
        path=path,
    )


def _oriented_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """(width, height) as displayed: EXIF orientations 5-8 swap the axes."""
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


def header_size(data: bytes) -> tuple[int, int]:
    """Displayed (width, height) from the header alone, without decoding; (0, 0) if unreadable."""
    try:
        with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as img:
            return _oriented_size(img.size, _orientation(img, loaded=False))
    except Exception:
        return (0, 0)


def _orientation(img: Image.Image, loaded: bool = True) -> int:
    """The EXIF orientation tag. ``loaded=False``: from the header only — Pillow's getexif()
    decodes a whole PNG to find an eXIf chunk behind the pixels, so PNGs use what the header has."""
    try:
        if not loaded and img.format == "PNG":
            raw = img.info.get("exif")
            if not raw:
                return 1
            exif = Image.Exif()
            exif.load(raw)
            return int(exif.get(0x0112, 1) or 1)
        return int(img.getexif().get(0x0112, 1) or 1)
    except Exception:
        return 1


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB, keeping what a viewer would show (see decode_budget)."""
    return decode_budget.shrink_to_rgb(img)


def load_image(path: str | Path, *, min_side: int | None = None) -> LoadedImage:
    """Read, hash and decode one photo; raises a BadImageError subclass with a clear reason."""
    data = read_file_bytes(path)
    image, fmt, full_size = decode(data, min_side=min_side, path=path)
    return LoadedImage(image=image, sha256=content_hash(data), format=fmt, size=full_size, file_size=len(data))


def make_thumbnail(path: str | Path, size: int = 256) -> Image.Image:
    """A small oriented RGB preview for the GUI; decoded in draft mode, so cheap for JPEGs."""
    img = load_image(path, min_side=size).image.copy()
    img.thumbnail((size, size), Image.Resampling.BILINEAR)
    return img
