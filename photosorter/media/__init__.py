"""Decoding per kind of file: stills, videos, RAW photos, PDF documents.

Every kind ends in the same thing the network needs: one or more oriented 8-bit RGB views of
the file (:class:`MediaViews`) plus the file's content hash. Stills go through
:mod:`photosorter.imaging` (read once, hashed and decoded from the same bytes); videos and RAW
files are too large for that, so they are hashed by streaming and decoded from the path with
bounded work (a few keyframes; an embedded preview or a half-size demosaic).

Which kinds a sort looks at is a setting (``stills``, ``videos``, ``raw``; default all).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from .. import errors, imaging

#: The kinds a user can switch on or off (settings, ``sort --kinds``).
KINDS: tuple[str, ...] = ("stills", "videos", "raw")
ALL_KINDS: frozenset[str] = frozenset(KINDS)

VIDEO_EXTENSIONS: frozenset[str] = frozenset({".mp4", ".mov", ".m4v", ".3gp", ".mkv", ".webm", ".avi", ".mts", ".m2ts"})
RAW_EXTENSIONS: frozenset[str] = frozenset({".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2"})
#: Documents are sorted as stills (their first page is what gets scored).
DOCUMENT_EXTENSIONS: frozenset[str] = frozenset({".pdf"})


def kind_of(path: str | Path) -> str | None:
    """'stills', 'videos' or 'raw' from the file name; None for files we do not sort."""
    suffix = Path(path).suffix.lower()
    if suffix in imaging.IMAGE_EXTENSIONS or suffix in DOCUMENT_EXTENSIONS:
        return "stills"
    if suffix in VIDEO_EXTENSIONS:
        return "videos"
    if suffix in RAW_EXTENSIONS:
        return "raw"
    return None


def looks_like_media(path: str | Path, kinds: Iterable[str] | None = None) -> bool:
    """Cheap name-based filter for folder scans (content is checked on decode)."""
    path = Path(path)
    kind = kind_of(path)
    return kind is not None and not path.name.startswith(".") and (kinds is None or kind in kinds)


def parse_kinds(text: str | Iterable[str] | None) -> frozenset[str]:
    """'stills,videos' → {'stills', 'videos'}; None/'all' → every kind. Unknown names are a usage error."""
    if text is None:
        return ALL_KINDS
    items = [t.strip().lower() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    if items == ["all"]:
        return ALL_KINDS
    aliases = {"still": "stills", "photos": "stills", "video": "videos", "raws": "raw"}
    kinds = frozenset(aliases.get(t, t) for t in items)
    unknown = sorted(kinds - ALL_KINDS)
    if unknown or not kinds:
        raise errors.UsageError(f"Unknown kind of file {', '.join(unknown) or '(none given)'}; choose from {', '.join(KINDS)}.")
    return kinds


@dataclass
class MediaViews:
    """What the network scores for one file: one view for a still, several frames for a video."""

    frames: list[Image.Image]  # oriented RGB
    sha256: str
    size: tuple[int, int]  # full displayed (width, height)
    kind: str  # 'stills' | 'videos' | 'raw'
    times: list[float] = field(default_factory=list)  # seconds into the video of each frame
    seconds: float = 0.0  # wall time spent reading, hashing and decoding
    source: str = ""  # how it was decoded: 'keyframes', 'embedded preview', 'half-size demosaic', 'pdf page 1'...


def load_views(path: str | Path, *, min_side: int | None = None, sha256: str | None = None) -> MediaViews:
    """Decode any supported file into the view(s) the network scores; raises BadImageError with a reason.

    ``sha256``: the video's/RAW's content hash when the caller already streamed it (not hashed again).
    """
    from .document import load_pdf, scoring_view

    t0 = time.perf_counter()
    path = Path(path)
    kind = kind_of(path)
    if kind == "videos":
        from .video import load_video

        views = load_video(path, side=min_side or 224, sha256=sha256)
    elif kind == "raw":
        from .raw import load_raw

        views = load_raw(path, min_side=min_side, sha256=sha256)
    elif path.suffix.lower() in DOCUMENT_EXTENSIONS:
        views = load_pdf(path)
    else:
        loaded = imaging.load_image(path, min_side=min_side)
        views = MediaViews([loaded.image], loaded.sha256, loaded.size, "stills", source=loaded.format)
    views.frames = [scoring_view(f) for f in views.frames]
    views.seconds = time.perf_counter() - t0
    return views


def thumbnail(path: str | Path, size: int = 256) -> Image.Image:
    """A small oriented preview: the photo itself, a RAW's preview, a video's poster frame."""
    kind = kind_of(path)
    if kind == "videos":
        from .video import poster_frame

        img = poster_frame(Path(path), side=size)
    else:
        img = load_views(path, min_side=size).frames[0].copy()
    img.thumbnail((size, size), Image.Resampling.BILINEAR)
    return img


# Submodules, imported after MediaViews exists (they use it): media.video.FRAMES etc. work after `import media`.
from . import document, hashing, pairing, video  # noqa: E402, F401
