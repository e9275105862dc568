"""Files that are one shot: a RAW with its JPEG/HEIC twin, a Live Photo's movie with its still.

A camera set to RAW+JPEG writes ``DSC_0042.NEF`` and ``DSC_0042.JPG`` for one press of the
shutter; an iPhone Live Photo is ``IMG_0001.HEIC`` plus ``IMG_0001.MOV``. Sorting them apart
would split one photo across folders, so the still is scored and the other file travels with it
(it is a companion, like an ``.xmp`` sidecar). A RAW is a twin only when the still has the same
stem in the same folder *and* the same capture time (within TWIN_SECONDS): file names restart at
0001 on every card, and ``DSC_0042.NEF`` from this year must not ride along with last year's
``DSC_0042.JPG`` copied into the same folder. When either capture time cannot be read, the files'
modification times stand in (cameras write both files within a second, and copy tools keep it).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from PIL import Image

from . import RAW_EXTENSIONS

#: Stills that can be a RAW's twin (what cameras and phones write next to a RAW).
TWIN_STILL_EXTENSIONS = frozenset({".jpg", ".jpeg", ".heic", ".heif", ".hif"})
#: Stills a Live Photo movie belongs to.
LIVE_STILL_EXTENSIONS = TWIN_STILL_EXTENSIONS
TWIN_SECONDS = 2.0


#: Lists a file's siblings: regular files in the same folder with the same stem (case-insensitive),
#: the file itself excluded. Sorting passes one backed by the folder listing its walker already
#: made, so pairing costs a dictionary lookup, not a folder listing per photo.
Siblings = Callable[[Path], list[Path]]


def list_siblings(path: Path) -> list[Path]:
    """:data:`Siblings` by listing the folder (for single files; a scan passes its index)."""
    stem = path.stem.casefold()
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return []
    out = []
    for e in entries:
        p = Path(e.path)
        if p.name != path.name and os.path.splitext(e.name)[0].casefold() == stem and e.is_file(follow_symlinks=False):
            out.append(p)
    return sorted(out)


def still_capture_time(path: Path) -> dt.datetime | None:
    """EXIF DateTimeOriginal (else DateTime) of a JPEG/HEIC, as naive local time; header only."""
    try:
        with Image.open(path) as img:
            exif = img.getexif()
            text = exif.get_ifd(0x8769).get(0x9003) or exif.get(0x0132)
        return dt.datetime.strptime(str(text).strip("\0 "), "%Y:%m:%d %H:%M:%S") if text else None
    except Exception:
        return None


def same_shot(still: Path, raw: Path) -> bool:
    """Same capture time (EXIF; else file modification time) within TWIN_SECONDS."""
    from .raw import capture_time

    a, b = still_capture_time(still), capture_time(raw)
    if a is not None and b is not None:
        return abs((a - b).total_seconds()) <= TWIN_SECONDS
    try:
        return abs(os.stat(still).st_mtime - os.stat(raw).st_mtime) <= TWIN_SECONDS
    except OSError:
        return False


def raw_twins(still: Path, siblings: Siblings = list_siblings) -> list[Path]:
    """RAW files that are the same shot as this JPEG/HEIC (usually none or one)."""
    if still.suffix.lower() not in TWIN_STILL_EXTENSIONS:
        return []
    return [p for p in siblings(still)
            if p.suffix.lower() in RAW_EXTENSIONS and same_shot(still, p)]


def travels_with_a_still(path: Path, kinds: Iterable[str], siblings: Siblings = list_siblings) -> bool:
    """Is this file scored as part of a still rather than on its own?

    * a ``.mov`` next to a still of the same stem: a Live Photo's movie (as before this module);
    * a RAW next to a JPEG/HEIC of the same shot, when stills are being sorted (with stills off,
      the RAW is the only copy of the shot being looked at, so it is scored itself).
    """
    suffix = path.suffix.lower()
    if suffix == ".mov":
        return any(p.suffix.lower() in LIVE_STILL_EXTENSIONS for p in siblings(path))
    if suffix in RAW_EXTENSIONS and "stills" in kinds:
        return any(p.suffix.lower() in TWIN_STILL_EXTENSIONS and same_shot(p, path) for p in siblings(path))
    return False
