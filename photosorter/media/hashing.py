"""Streaming content hash for files too large to hold in memory (videos, RAW photos).

The hash is the file's identity everywhere (feature cache, ledger, dedupe, copy verification),
so it covers every byte: hashing only the first and last chunks would be faster on a 4 GB video
but would let two different clips of the same length and container header share one identity,
and the copier could then "verify" a copy against the wrong content. SHA-256 streams at about
1-2 GB/s on one core here (README, Supported files), and a file unchanged since it was last seen
is not hashed again at all (the feature cache remembers path + size + mtime + ctime + inode).
Memory stays flat: one 1 MiB block at a time.
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import errors, imaging

CHUNK = imaging.HASH_CHUNK


def checked_size(path: Path) -> int:
    """Size of a regular, non-empty, readable file; the same clear reasons as for photos."""
    return imaging.checked_stat(path).st_size


def stream_hash(path: str | Path) -> str:
    """SHA-256 of a whole file, read in 1 MiB blocks (flat memory for any size)."""
    path = Path(path)
    imaging.checked_stat(path)
    fd = imaging.open_checked(path)
    try:
        return imaging.content_hash_fd(fd, CHUNK)[0]
    except OSError as exc:
        raise errors.UnreadableFileError(f"Reading failed: {exc.strerror or exc}.", path=path) from None
    finally:
        os.close(fd)
