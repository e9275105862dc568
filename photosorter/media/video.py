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

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from .. import errors, imaging
from . import MediaViews
from .hashing import checked_size, stream_hash

#: Frames sampled per video (fewer when the clip has fewer distinct keyframes).
FRAMES = 5
#: A video belongs to a category when at least this fraction of its frames do (rounded up).
MIN_FRACTION = 1 / 3


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
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except av.error.InvalidDataError:
        raise errors.CorruptImageError(
            "The video cannot be read: its container is damaged or truncated (an interrupted copy?).", path=path) from None
    except av.error.FFmpegError as exc:
        raise errors.CorruptImageError(f"The video cannot be opened ({exc}).", path=path) from None
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


def sample_frames(path: Path, side: int = 224, n: int = FRAMES) -> tuple[list[Image.Image], list[float], tuple[int, int]]:
    """Up to n keyframes spread over the clip: (images, seconds, displayed full size)."""
    import av

    container = _open(path)
    try:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        width, height = stream.codec_context.width, stream.codec_context.height
        if width * height > imaging.MAX_PIXELS:
            raise errors.ImageTooLargeError(f"The video claims {width}x{height} pixels per frame.", path=path)
        duration = _duration(container, stream)
        start = stream.start_time or 0
        tb = stream.time_base or Fraction(1, 1_000_000)
        images: list[Image.Image] = []
        times: list[float] = []
        seen: set[int] = set()
        size = (width, height)
        for i in range(n):
            target = duration * (i + 0.5) / n
            try:
                container.seek(start + int(target / tb), stream=stream, backward=True)
                frame = next(container.decode(stream), None)
            except (av.error.FFmpegError, StopIteration):
                frame = None
            if frame is None or frame.pts in seen:
                continue  # past the readable end, or the same keyframe as before (sparse keyframes)
            seen.add(frame.pts)
            img = _to_image(frame, side)
            if (frame.rotation or 0) % 180:
                size = (height, width)
            images.append(img)
            times.append(float((frame.pts - start) * tb) if frame.pts is not None else target)
        if not images:
            raise errors.TruncatedImageError(
                "No frame of this video could be decoded: it is truncated or damaged (an interrupted copy?).", path=path)
        return images, times, size
    finally:
        container.close()


def load_video(path: Path, side: int = 224, sha256: str | None = None) -> MediaViews:
    """Hash (streaming) and sample a video; frames are ordered by time."""
    checked_size(path)
    frames, times, size = sample_frames(path, side)
    sha = sha256 or stream_hash(path)
    return MediaViews(frames, sha, size, "videos", times=times, source=f"{len(frames)} keyframes")


def poster_frame(path: Path, side: int = 256) -> Image.Image:
    """The frame a thumbnail shows: the middle keyframe (the first is often black or a fade-in)."""
    checked_size(path)
    frames, _times, _size = sample_frames(path, side, n=1)
    return frames[0]
