"""Videos: a few keyframes spread over the clip, decoded small, and how their scores combine.

Bounded work per video, whatever its length or size: the container is opened (FFmpeg reads the
header and index, never the whole file), then for each of FRAMES evenly spaced instants we seek
to the keyframe at or before it and decode that one keyframe (the decoder is told to skip every
non-key frame), converted straight to a small RGB image by swscale. A 10-minute 1080p clip costs
the same five keyframe decodes as a 10-second one; memory holds one frame at a time.

Combining frame scores (:func:`combine`): a video belongs to a category when at least
``ceil(n / 3)`` of its n sampled frames do (2 of 5). The video's score for a category is
therefore the k-th highest frame score: ``score >= threshold`` holds exactly when k frames pass,
so thresholds, their sliders and the ledger work on one number per video as for photos. Why a
third and not "any frame" or "most frames": one frame of five is a passing glimpse (the dog
crossing the room) or a single-frame false positive, and with per-frame false-positive rate p
requiring two frames turns ~5p into ~10p²; requiring a majority would drop a birthday video in
which the children are on screen for a third of it. Frames are spread evenly, so k of n frames
is a coverage of roughly k/n of the clip.
"""

from __future__ import annotations

import logging
import math
import os
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from .. import errors
from . import MediaViews
from .hashing import checked_size, stream_hash

log = logging.getLogger(__name__)

#: Frames sampled per video (fewer when the clip has fewer distinct keyframes).
FRAMES = 5
#: A video belongs to a category when at least this fraction of its frames do (rounded up).
MIN_FRACTION = 1 / 3
#: Pixels per frame a video may have: 8192 × 8192, above every camera's video mode (8K UHD is
#: 33 MP, DCI 8K 35 MP). Photos may be larger (imaging.MAX_PIXELS), but a video frame is
#: decoded by FFmpeg outside the decode budget, before any of our checks can see it: an attack
#: built a 2.8 MB file of 14000 × 14000 keyframes that took 800 MiB to open. FFmpeg is told this
#: limit itself (its ``max_pixels`` option), so it refuses such frames instead of allocating them,
#: already while it probes the file.
MAX_VIDEO_SIDE = 8192
MAX_VIDEO_PIXELS = MAX_VIDEO_SIDE * MAX_VIDEO_SIDE
MAX_VIDEO_PIXELS_TEXT = f"{MAX_VIDEO_SIDE} × {MAX_VIDEO_SIDE}"
# FFmpeg checks its limit on the frame size rounded up to its buffer alignment (8180 × 8200 was
# refused at exactly 8192²): it gets a margin, and our own check of the real size is exact.
_FFMPEG_OPTIONS = {"max_pixels": str((MAX_VIDEO_SIDE + 128) ** 2)}
#: Part of the feature cache's key for video frames: raised whenever what is read from a video
#: changes, so frames cached by an older reader are read again. 2: cut files (shorter than their
#: container declares, :func:`_declared_end`) are refused — their frames, cached when they were
#: accepted, kept them accepted.
READER_VERSION = 2
DAMAGED = "The video cannot be read: it is damaged or truncated (an interrupted copy?)."


def min_frames(n: int) -> int:
    """How many of n frames must pass a threshold for the whole video to."""
    return max(1, math.ceil(n * MIN_FRACTION - 1e-9))


def combine(frame_scores: np.ndarray) -> np.ndarray:
    """(frames, categories) → (categories,): the k-th highest frame score per category."""
    frame_scores = np.asarray(frame_scores, dtype=np.float64)
    k = min_frames(len(frame_scores))
    return np.sort(frame_scores, axis=0)[::-1][k - 1]


def _open(path: Path):
    import av

    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore", options=_FFMPEG_OPTIONS)
    except av.error.FFmpegError as exc:
        # FFmpeg's own words for a damaged file read like a failing computer ("Cannot allocate
        # memory" for a damaged sample table that allocated nothing, "Input/output error" for a
        # cut header): the reason is said in ours, FFmpeg's kept for the log.
        log.info("%s: FFmpeg could not open it: %s", path, exc)
        raise errors.CorruptImageError(DAMAGED, path=path) from None
    if not container.streams.video and not container.streams.audio:
        container.close()
        raise errors.CorruptImageError(
            "No readable track in this video: the file is truncated or damaged (an interrupted copy?).", path=path)
    if not container.streams.video:
        container.close()
        raise errors.NotAnImageError("This file has no video track (an audio-only recording?).", path=path)
    if container.streams.video[0].codec_context is None:  # the track is named, its codec parameters are cut off
        container.close()
        raise errors.CorruptImageError(
            "The video track cannot be decoded: the file is truncated or damaged (an interrupted copy?).", path=path)
    container.streams.video[0].codec_context.options = dict(_FFMPEG_OPTIONS)  # and while decoding
    return container


def _duration(container, stream) -> float:
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return 0.0


def _to_image(frame, side: int) -> Image.Image:
    """The frame scaled by swscale so its shorter side is ``side``, then turned upright."""
    w, h = frame.width, frame.height
    scale = min(1.0, side / max(1, min(w, h)))
    img = frame.to_image(width=max(1, round(w * scale)), height=max(1, round(h * scale)))
    rotation = round((frame.rotation or 0) / 90) % 4  # counter-clockwise quarter turns
    if rotation:
        img = img.rotate(90 * rotation, expand=True)
    return img


def _frame_image(frame, side: int, path: Path) -> Image.Image:
    """A decoded frame as a small image, after checking its real size: the size in the header is
    not the size of every frame (an attack switched to 16000 × 16000 keyframes mid-stream)."""
    if frame.width * frame.height > MAX_VIDEO_PIXELS:
        raise errors.ImageTooLargeError(f"A frame of this video has {frame.width}x{frame.height} pixels.", path=path)
    return _to_image(frame, side)


def _declared_end(path: Path) -> int | None:
    """Where the container's own top-level structure says the file ends, in bytes (None: it does
    not say — MPEG-TS/PS, a live-written Matroska of unknown size, an unfinished AVI header).

    Why bytes, not time: a first version compared the declared *duration* with the timestamps of
    the data, and refused complete videos — a lossless cut whose edit list hides frames, a screen
    recording whose last frame is held for 30 s, a Matroska file that starts at 30 s (an attack
    found all three). The sizes written in MP4/MOV boxes, the RIFF chunks of AVI and the Matroska
    segment header are about bytes, and a copy cut short has fewer bytes than they promise."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(16)
            if head[:4] == b"RIFF":  # AVI: RIFF chunks ("RIFF"/"AVIX" for files over 1 GB), each sized
                pos = 0
                for _ in range(10_000):
                    f.seek(pos)
                    chunk = f.read(8)
                    if len(chunk) < 8 or chunk[:4] != b"RIFF":
                        return pos
                    length = int.from_bytes(chunk[4:8], "little")
                    if length in (0, 0xFFFFFFFF):
                        return None  # written without going back to fill in its size (streamed)
                    pos += 8 + length + (length & 1)
                    if pos >= size:
                        # writers that put the file's size in the RIFF header (not size − 8), or leave
                        # out the pad byte, overshoot by a header's worth; a cut copy loses far more
                        return pos if pos > size + RIFF_SLACK else size
                return None
            if head[:4] == b"\x1a\x45\xdf\xa3":  # Matroska / WebM: EBML header, then the Segment's size
                f.seek(0)
                data = f.read(4096)
                i = 4
                n, ebml_size = _vint(data, i)
                i += n + ebml_size
                if data[i:i + 4] != b"\x18\x53\x80\x67":
                    return None
                n, seg_size = _vint(data, i + 4)
                if n == 0 or seg_size == (1 << (7 * n)) - 1:
                    return None  # "unknown size": written live
                return i + 4 + n + seg_size
            if head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot", b"styp"):
                pos = 0
                for _ in range(100_000):  # MP4 / MOV / 3GP: top-level boxes, each sized
                    if pos >= size:
                        return pos
                    f.seek(pos)
                    box = f.read(16)
                    if len(box) < 8 or box[4:8] not in MP4_TOP_LEVEL:
                        # not a box: a trailer after the last one (a tag, a phone's own data block,
                        # padding) — complete files carry them; the structure ends here
                        return pos
                    length = int.from_bytes(box[:4], "big")
                    if length == 1:
                        if len(box) < 16:
                            return pos + 16
                        length = int.from_bytes(box[8:16], "big")
                    elif length == 0:
                        return None  # "to the end of the file"
                    if length < 8:
                        return None  # not a size we can follow: let FFmpeg judge
                    pos += length
                return None
    except OSError:
        return None
    return None


#: Top-level MP4/QuickTime box types (ISO 14496-12 and QuickTime): after the last of them a file
#: may carry a trailer that is not a box (an ID3 or APE tag, a Samsung phone's SEF data block,
#: padding); reading its first bytes as a box size refused complete videos (an attack).
MP4_TOP_LEVEL = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid", b"meta",
                           b"moof", b"mfra", b"styp", b"sidx", b"ssix", b"prft", b"emsg", b"pdin", b"bloc",
                           b"jP  ", b"junk", b"PICT"})
#: How far an AVI's RIFF sizes may overshoot the file before it counts as cut (a header + a pad byte).
RIFF_SLACK = 9


def _vint(data: bytes, i: int) -> tuple[int, int]:
    """An EBML variable-length integer at ``data[i]``: (its length in bytes, its value); (0, 0) if bad."""
    if i >= len(data) or data[i] == 0:
        return 0, 0
    first = data[i]
    n = 8 - first.bit_length() + 1
    if i + n > len(data):
        return 0, 0
    value = first & ((1 << (8 - n)) - 1)
    for b in data[i + 1:i + n]:
        value = (value << 8) | b
    return n, value


def _sequential_keyframes(path: Path, side: int, targets: list[float]) -> tuple[list[Image.Image], list[float]]:
    """The keyframes at or before each target, read from the start: for streams whose seeks miss
    (an MPEG-TS clip with one keyframe was refused as damaged). Keeps one image per target."""
    import av

    container = _open(path)
    chosen: dict[int, tuple[Image.Image, float]] = {}
    try:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        start = stream.start_time or 0
        tb = stream.time_base or Fraction(1, 1_000_000)
        try:
            for frame in container.decode(stream):
                t = float((frame.pts - start) * tb) if frame.pts is not None else 0.0
                due = [i for i, target in enumerate(targets) if t <= target or i not in chosen]
                if not due:
                    break
                img = _frame_image(frame, side, path)
                for i in due:  # the latest keyframe at or before each target (the first, if none is)
                    chosen[i] = (img, t)
        except av.error.FFmpegError:
            pass  # what was decoded before the damage is what there is
    finally:
        container.close()
    seen: set[float] = set()
    images, times = [], []
    for i in sorted(chosen):
        img, t = chosen[i]
        if t not in seen:
            seen.add(t)
            images.append(img)
            times.append(t)
    return images, times


def sample_frames(path: Path, side: int = 224, n: int = FRAMES) -> tuple[list[Image.Image], list[float], tuple[int, int]]:
    """Up to n keyframes spread over the clip: (images, seconds, displayed full size)."""
    import av

    size_on_disk = checked_size(path)  # a FIFO named .mp4 would block the open below for ever
    end = _declared_end(path)
    if end is not None and end > size_on_disk:
        # the remaining part often decodes: a half-copied MKV, AVI or index-first MP4 used to be
        # sorted on its first half, and `watch` filed the whole file later as "name (1)"
        raise errors.TruncatedImageError(
            f"This video is truncated: the file is {size_on_disk:,} bytes, its own header "
            f"says {end:,} (an interrupted copy?).", path=path)
    container = _open(path)
    try:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        width, height = stream.codec_context.width, stream.codec_context.height
        if width * height > MAX_VIDEO_PIXELS:
            raise errors.ImageTooLargeError(f"The video claims {width}x{height} pixels per frame.", path=path)
        duration = _duration(container, stream)
        start = stream.start_time or 0
        tb = stream.time_base or Fraction(1, 1_000_000)
        targets = [duration * (i + 0.5) / n for i in range(n)]
        images: list[Image.Image] = []
        times: list[float] = []
        seen: set[int] = set()
        size = (width, height)
        for target in targets:
            try:
                container.seek(start + int(target / tb), stream=stream, backward=True)
                frame = next(container.decode(stream), None)
            except (av.error.FFmpegError, StopIteration):
                frame = None
            if frame is None or frame.pts in seen:
                continue  # past the readable end, or the same keyframe as before (sparse keyframes)
            seen.add(frame.pts)
            img = _frame_image(frame, side, path)
            if (frame.rotation or 0) % 180:
                size = (height, width)
            images.append(img)
            times.append(float((frame.pts - start) * tb) if frame.pts is not None else target)
    finally:
        container.close()
    if not images:  # every seek missed (an MPEG-TS clip with a single keyframe): read from the start
        images, times = _sequential_keyframes(path, side, targets)
    if not images:
        raise errors.TruncatedImageError(
            "No frame of this video could be decoded: it is truncated or damaged (an interrupted copy?), or its "
            f"frames are larger than {MAX_VIDEO_PIXELS_TEXT} pixels.", path=path)
    return images, times, size


def load_video(path: Path, side: int = 224, sha256: str | None = None) -> MediaViews:
    """Hash (streaming) and sample a video; frames are ordered by time (sample_frames checks the file)."""
    frames, times, size = sample_frames(path, side)
    sha = sha256 or stream_hash(path)
    return MediaViews(frames, sha, size, "videos", times=times, source=f"{len(frames)} keyframes")


def poster_frame(path: Path, side: int = 256) -> Image.Image:
    """The frame a thumbnail shows: the middle keyframe (the first is often black or a fade-in)."""
    frames, _times, _size = sample_frames(path, side, n=1)
    return frames[0]
