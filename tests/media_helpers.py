"""Test media made on the spot: short generated videos (PyAV) and minimal DNG files.

The DNG writer is ~60 lines of struct packing rather than a dependency: a DNG is a TIFF with a
CFA (Bayer) image plus a handful of DNG tags, which is all LibRaw needs to decode one. rawpy's
own test RAWs are not in its wheel, and no small package on PyPI ships a real camera RAW.
"""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import numpy as np

_TYPES = {"B": (1, 1), "A": (2, 1), "H": (3, 2), "I": (4, 4), "R": (5, 8), "SR": (10, 8)}


def make_video(path: Path, seconds: float = 2.0, fps: int = 10, size: tuple[int, int] = (160, 120),
               colors: list[tuple[int, int, int]] | None = None, codec: str = "mpeg4", gop: int = 5,
               rotation: int = 0) -> Path:
    """A clip whose frames are flat colours with a moving disc; segment i of len(colors) has colours[i]."""
    import av

    colors = colors or [(200, 40, 40), (40, 40, 200)]
    n = int(seconds * fps)
    w, h = size
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.gop_size = gop
        if rotation:
            stream.set_display_rotation(rotation)
        yy, xx = np.mgrid[0:h, 0:w]
        for i in range(n):
            c = colors[min(len(colors) - 1, i * len(colors) // n)]
            img = np.empty((h, w, 3), np.uint8)
            img[:] = (120, 110, 100)
            cx, cy = w // 2 + int(w / 6 * np.sin(i / 5)), h // 2
            img[(xx - cx) ** 2 + (yy - cy) ** 2 < (min(w, h) // 3) ** 2] = c
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for pkt in stream.encode(frame):
                out.mux(pkt)
        for pkt in stream.encode():
            out.mux(pkt)
    return path


def _ifd(entries: list[tuple[int, str, list]], at: int, next_ifd: int = 0) -> tuple[bytes, bytes]:
    """An IFD at offset ``at`` and its out-of-line data (placed right after it)."""
    entries = sorted(entries)
    head = struct.pack("<H", len(entries))
    data_at = at + 2 + 12 * len(entries) + 4
    extra = b""
    body = b""
    for tag, typ, values in entries:
        code = _TYPES[typ][0]
        if typ == "A":
            raw = values.encode() + b"\0" if isinstance(values, str) else bytes(values)
            count = len(raw)
        elif typ in ("R", "SR"):
            raw = b"".join(struct.pack("<ii" if typ == "SR" else "<II", *v) for v in values)
            count = len(values)
        else:
            raw = struct.pack("<" + {"B": "B", "H": "H", "I": "I"}[typ] * len(values), *values)
            count = len(values)
        if len(raw) <= 4:
            body += struct.pack("<HHI", tag, code, count) + raw.ljust(4, b"\0")
        else:
            body += struct.pack("<HHII", tag, code, count, data_at + len(extra))
            extra += raw + (b"\0" if len(raw) % 2 else b"")
    return head + body + struct.pack("<I", next_ifd), extra


def make_dng(path: Path, size: tuple[int, int] = (256, 192), preview: tuple[int, int] | None = None,
             orientation: int = 1, when: str = "2026:06:01 12:00:00", rgb: tuple[int, int, int] = (200, 40, 40)) -> Path:
    """A DNG of a flat colour (left half ``rgb``, right half grey), optionally with an RGB preview IFD."""
    w, h = size
    cfa = np.zeros((h, w), np.uint16)  # RGGB
    left = np.zeros((h, w), bool)
    left[:, : w // 2] = True
    r, g, b = (np.where(left, c, 128).astype(np.uint16) * 256 for c in rgb)
    cfa[0::2, 0::2], cfa[0::2, 1::2], cfa[1::2, 0::2], cfa[1::2, 1::2] = r[0::2, 0::2], g[0::2, 1::2], g[1::2, 0::2], b[1::2, 1::2]
    raw_bytes = cfa.tobytes()
    common = [(271, "A", "Photosorter"), (272, "A", "TestCam"), (274, "H", [orientation]),
              (50706, "B", [1, 4, 0, 0]), (50708, "A", "Photosorter TestCam"), (306, "A", when),
              (50721, "SR", [(1, 1), (0, 1), (0, 1), (0, 1), (1, 1), (0, 1), (0, 1), (0, 1), (1, 1)]),
              (50728, "R", [(1, 1), (1, 1), (1, 1)]), (50778, "H", [21])]
    def raw_entries(offset: int) -> list:
        return [(254, "I", [0]), (256, "I", [w]), (257, "I", [h]), (258, "H", [16]), (259, "H", [1]),
                (262, "H", [32803]), (273, "I", [offset]), (277, "H", [1]), (278, "I", [h]), (279, "I", [len(raw_bytes)]),
                (284, "H", [1]), (33421, "H", [2, 2]), (33422, "B", [0, 1, 1, 2]), (50717, "I", [65535])]
    if preview is None:
        # IFD0 is the raw image; its pixel data goes at a fixed offset after the IFD.
        probe, extra = _ifd(common + raw_entries(0), 8)
        pix_at = 8 + len(probe) + len(extra)
        ifd, extra = _ifd(common + raw_entries(pix_at), 8)
        blob = b"II*\0" + struct.pack("<I", 8) + ifd + extra + raw_bytes
    else:
        pw, ph = preview
        pv = np.zeros((ph, pw, 3), np.uint8)
        pv[:] = (128, 128, 128)
        pv[:, : pw // 2] = rgb
        pv_bytes = pv.tobytes()
        def pv_entries(pv_at: int, sub_at: int) -> list:
            return [(254, "I", [1]), (256, "I", [pw]), (257, "I", [ph]), (258, "H", [8, 8, 8]), (259, "H", [1]),
                    (262, "H", [2]), (273, "I", [pv_at]), (277, "H", [3]), (278, "I", [ph]), (279, "I", [len(pv_bytes)]),
                    (284, "H", [1]), (330, "I", [sub_at])]
        ifd0, extra0 = _ifd(common + pv_entries(0, 0), 8)
        sub_at = 8 + len(ifd0) + len(extra0)
        sub, extra1 = _ifd(raw_entries(0), sub_at)
        pv_at = sub_at + len(sub) + len(extra1)
        raw_at = pv_at + len(pv_bytes)
        ifd0, extra0 = _ifd(common + pv_entries(pv_at, sub_at), 8)
        sub, extra1 = _ifd(raw_entries(raw_at), sub_at)
        blob = b"II*\0" + struct.pack("<I", 8) + ifd0 + extra0 + sub + extra1 + pv_bytes + raw_bytes
    path.write_bytes(blob)
    return path


def make_clip(path: Path, images: list, seconds_each: float = 1.0, fps: int = 8, codec: str = "mpeg4",
              threads: int = 0, container_options: dict | None = None) -> Path:
    """A video showing each PIL image for ``seconds_each``; a keyframe starts every image.
    ``threads``: the encoder's thread count (0: FFmpeg's choice, one per CPU). The bytes depend on
    it, and so does what is left of a truncated copy: one encoder thread leaves a video track
    whose codec parameters are gone (seen on a one-core run). ``container_options``: the muxer's,
    e.g. ``{"movflags": "faststart"}`` for an MP4 with its index first, as phones write them."""
    import av

    w, h = images[0].size
    per = max(1, int(seconds_each * fps))
    with av.open(str(path), "w", options=container_options or {}) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.gop_size = per
        if threads:
            stream.codec_context.thread_count = threads
        if codec == "mpeg4":
            stream.codec_context.bit_rate = 2_000_000
        n = 0
        for img in images:
            arr = np.asarray(img.convert("RGB"))
            for _ in range(per):
                frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
                frame.pts = n
                frame.time_base = Fraction(1, fps)
                n += 1
                for pkt in stream.encode(frame):
                    out.mux(pkt)
        for pkt in stream.encode():
            out.mux(pkt)
    return path
