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
MAX_VIDEO_PIXELS = 8192 * 8192
_FFMPEG_OPTIONS = {"max_pixels": str(MAX_VIDEO_PIXELS)}
#: Part of the feature cache's key for video frames: raised whenever what is read from a video
#: changes, so frames cached by an older reader are read again. 2: cut files (data ending before
#: the sampled end) are refused — their frames, cached when they were accepted, kept them accepted.
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


def _reaches(container, stream, start: int, tb: Fraction, until: float) -> bool:
    """Whether the file's data goes on to ``until`` seconds into the clip.

    A seek to a moment past the end of a cut file lands on the last keyframe there is, which looks
    like a clip with sparse keyframes: a half-copied MKV, AVI or index-first MP4 was sorted on its
    first half (an attack: 18 of 19 cut points accepted). The packets after that keyframe say how
    far the data really goes; reading them is cheap (demuxing only, one keyframe interval)."""
    import av

    rate = float(stream.average_rate or stream.guessed_rate or 0) or 25.0
    slack = 1.5 / rate  # the last frame starts one frame interval before the clip's end
    goal = float(start * tb) + until - slack  # on the file's clock: every stream's packets count
    try:
        container.seek(start + int(until / tb), stream=stream, backward=True)
        # All streams: the declared length may be the sound's (a recording whose picture stops
        # before its sound is whole, and was called cut when only video packets counted).
        for packet in container.demux():
            if packet.pts is not None and packet.time_base and float(packet.pts * packet.time_base) >= goal:
                return True
    except av.error.FFmpegError:
        return False
    return False


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
                for i in due:
                    if t <= targets[i] or i not in chosen:
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
        # How long the file says it is: its duration, or its frame count where that says more (a cut
        # AVI's duration is estimated from the bytes that are left; its header still counts every frame).
        declared = duration
        if stream.frames and stream.average_rate:
            declared = max(declared, stream.frames / float(stream.average_rate))
        if declared > 0 and not _reaches(container, stream, start, tb, declared * (n - 0.5) / n):
            raise errors.TruncatedImageError(
                f"This video stops before its end: the file says {declared:.1f} s, the data ends sooner "
                "(an interrupted copy?).", path=path)
    finally:
        container.close()
    if not images:  # every seek missed (an MPEG-TS clip with a single keyframe): read from the start
        images, times = _sequential_keyframes(path, side, targets)
    if not images:
        raise errors.TruncatedImageError(
            "No frame of this video could be decoded: it is truncated or damaged (an interrupted copy?).", path=path)
    return images, times, size


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
