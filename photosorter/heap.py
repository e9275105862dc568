"""Giving the memory of a large decode back to the operating system as soon as it is freed.

glibc's malloc keeps freed memory for reuse instead of returning it, and raises its mmap threshold
to the size of the largest block freed so far (up to 32 MiB). After one large decode, the next
decode's buffers (Pillow's 16 MiB blocks, zlib's windows, the conversion strips) come from the
heap of the decoding thread's arena and stay resident after they are freed; the network's
activations then grow on top of them. Measured with ``benchmarks/hostile_memory.py``: sorting the
hostile set peaked ~190-280 MiB higher without it (1,440 -> ~1,250 MiB with EfficientNet-Lite0,
1,518-1,577 -> ~1,300 MiB with ResNet50).

:func:`release` hands every free page of every arena back (``malloc_trim(0)``); decoding calls it
after each decode large enough to matter. Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

#: Decodes whose estimated peak is below this leave little behind: not worth a trim (~1 ms).
RELEASE_ABOVE_BYTES = 32 * 1024 * 1024


def _load_trim():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # musl and others have no malloc_trim
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_TRIM = _load_trim()


def release() -> bool:
    """Return the heap's free memory to the system; True if anything was released."""
    if _TRIM is None:
        return False
    return bool(_TRIM(0))
