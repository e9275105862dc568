"""File access that cannot be redirected by a symlink swapped in underneath us.

Every file the sorter reads (photos, sidecars), writes (copies) or trashes (undo) is reached
through a *verified directory descriptor*: :func:`open_dir` opens an absolute path one
component at a time with ``O_NOFOLLOW | O_DIRECTORY``, so a folder on the way that is (or has
just become) a symbolic link makes it fail instead of leading elsewhere. Files are then opened
relative to that descriptor (``dir_fd=``) with ``O_NOFOLLOW``. Once a descriptor is open, renaming
or replacing folders above it cannot change what it points to.

Content identity is the SHA-256 of the bytes (:func:`hash_fd`, streamed in chunks, never read
whole into memory); :mod:`photosorter.imaging` holds the one implementation
(``content_hash_fd``), so the ledger and the feature cache cannot disagree on a file's identity.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from ..imaging import HASH_CHUNK as CHUNK
from ..imaging import content_hash_fd as hash_fd  # (SHA-256, size) of an open file from its start, streamed

__all__ = ["CHUNK", "hash_fd"]  # re-exported: the sorter and copier hash through safefs
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
               | getattr(os, "O_BINARY", 0))
#: dir_fd= support: POSIX. Elsewhere the checks fall back to re-verifying paths.
SUPPORTED = os.open in os.supports_dir_fd and os.stat in os.supports_dir_fd


class SwappedPathError(OSError):
    """A folder or file on the way is a symbolic link (or not what we expect): refused."""


def open_dir(path: str | Path) -> int:
    """A descriptor for the folder ``path`` (absolute, already free of symlinks — callers pass
    ``os.path.realpath`` of a user-chosen root plus names they chose). Raises SwappedPathError if
    any component is a symlink or not a folder, FileNotFoundError if one is missing."""
    path = os.path.abspath(os.fspath(path))
    parts = [p for p in path.split(os.sep) if p]
    fd = os.open(os.sep, _DIR_FLAGS)
    try:
        for part in parts:
            try:
                nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                    raise SwappedPathError(errno.ELOOP, f"'{part}' in {path} is a symbolic link or not a folder", path) from None
                raise
            os.close(fd)
            fd = nxt
        return fd
    except BaseException:
        os.close(fd)
        raise


def open_in(dir_fd: int, name: str) -> int:
    """Open a regular file inside a verified folder for reading, never following a symlink."""
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):
            raise SwappedPathError(errno.ELOOP, f"{name} is a symbolic link", name) from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SwappedPathError(errno.EINVAL, f"{name} is not a regular file", name)
        os.set_blocking(fd, True)
        return fd
    except BaseException:
        os.close(fd)
        raise


def open_file(path: str | Path) -> int:
    """Open ``path`` for reading through a verified folder chain (see :func:`open_dir`)."""
    path = Path(path)
    dfd = open_dir(path.parent)
    try:
        return open_in(dfd, path.name)
    finally:
        os.close(dfd)


def hash_path(path: str | Path) -> tuple[str, int]:
    """(SHA-256, size) of a file reached without following any symlink."""
    fd = open_file(path)
    try:
        return hash_fd(fd)
    finally:
        os.close(fd)


def lstat_in(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def fsync_dir(dir_fd: int) -> None:
    with contextlib.suppress(OSError):
        os.fsync(dir_fd)


def same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
