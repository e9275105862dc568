"""The one place that writes photos: atomic, verified, never overwriting, never redirected.

A category folder is held open as a :class:`DestFolder` — a descriptor reached component by
component without following symlinks (:mod:`.safefs`) — and every operation in it is relative to
that descriptor, so swapping the folder (or one above it) for a symlink cannot send a write
elsewhere. A copy is streamed from the source's descriptor to a temp name *inside the
destination folder* (same filesystem, so the final step is atomic), hashed on the way, fsynced,
re-read and verified against the SHA-256 that was planned, then published under its final name
with an exclusive operation: ``link`` (fails if the name exists) and the temp name removed.
Where hard links are not supported (FAT/exFAT cards, some network shares) the final name is
reserved with O_EXCL and the temp file renamed over that reservation.

Name clashes: identical content already there → nothing is written; different content under the
same name → ``IMG_0001 (1).jpg``. Names are compared case-insensitively (and Unicode-normalised),
because macOS and Windows destinations are case-insensitive. The folder is listed once; its
names are kept in a dictionary, so choosing a free name costs O(1) even among 20,000 files.

Crash points are marked with ``fault.point(...)``: the fault-injection tests kill the process
there and check that recovery leaves nothing half-done.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

from .. import errors, imaging
from . import fault, safefs

TEMP_PREFIX = ".pending-"
UNDO_PREFIX = ".pending-undo-"
CHUNK = safefs.CHUNK
MAX_NAME_BYTES = 255  # ext4, APFS, NTFS (in UTF-16 units, close enough)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


class SourceChangedError(Exception):
    """The source's bytes are not the ones that were planned (edited or replaced meanwhile)."""


@dataclass
class CopyResult:
    dest: Path
    sha256: str
    written: bool  # False: identical content was already there


def _fold(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


def temp_name(final_name: str) -> str:
    """Short and recognisable: the journal, not the name, ties it to its final destination."""
    suffix = os.path.splitext(final_name)[1][:10]
    return f"{TEMP_PREFIX}{uuid.uuid4().hex[:16]}{suffix}"


def _fit(stem: str, tail: str) -> str:
    """stem + tail, shortening the stem (on a character boundary) to fit MAX_NAME_BYTES."""
    while len(os.fsencode(stem + tail)) > MAX_NAME_BYTES and stem:
        stem = stem[:-1]
    return stem + tail


def candidate_names(name: str):
    stem, suffix = os.path.splitext(name)
    yield _fit(stem, suffix)
    for i in range(1, 10_000):
        yield _fit(stem, f" ({i}){suffix}")


class DestFolder:
    """One category folder, opened safely and listed once."""

    def __init__(self, folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = Path(os.path.realpath(folder.parent)) / folder.name  # as recorded in the ledger
        try:
            self.fd = safefs.open_dir(self.path)
        except safefs.SwappedPathError:
            raise errors.UsageError(
                f"The folder {folder} is now a symbolic link (or one above it is); nothing was written there.") from None
        try:
            self._names = {_fold(n): n for n in os.listdir(self.fd)}
        except BaseException:
            os.close(self.fd)
            raise

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def taken(self, name: str) -> None:
        self._names[_fold(name)] = name

    def choose(self, name: str, sha: str, size: int) -> tuple[str, bool]:
        """(name, already_there): the first free name, or an existing file with identical content."""
        for cand in candidate_names(name):
            actual = self._names.get(_fold(cand))
            if actual is None:
                return cand, False
            st = safefs.lstat_in(self.fd, actual)
            if st is None:
                self._names.pop(_fold(cand), None)  # gone meanwhile: free again
                return cand, False
            if stat.S_ISREG(st.st_mode) and st.st_size == size:
                try:
                    fd = safefs.open_in(self.fd, actual)
                except OSError:
                    continue
                try:
                    if safefs.hash_fd(fd)[0] == sha:
                        return actual, True
                finally:
                    os.close(fd)
        raise OSError(errno.EEXIST, f"no free name for {name} in {self.path}")


def write_temp(folder: DestFolder, source_fd: int, temp: str, expected_sha: str) -> tuple[str, os.stat_result]:
    """Stream the source into ``temp``, fsync, re-read and verify; returns (SHA-256, stat)."""
    fd = os.open(temp, (_CREATE & ~os.O_WRONLY) | os.O_RDWR, 0o644, dir_fd=folder.fd)
    try:
        h = imaging.content_hasher()
        offset = 0
        while block := os.pread(source_fd, CHUNK, offset):
            fault.point("mid-copy")
            h.update(block)
            view = memoryview(block)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            offset += len(block)
        if h.hexdigest() != expected_sha:
            raise SourceChangedError()
        os.fsync(fd)
        on_disk, size = safefs.hash_fd(fd)
        if on_disk != expected_sha or size != offset:
            raise OSError(errno.EIO, f"verification failed for {temp}: the written copy differs from the source")
        return on_disk, os.fstat(fd)
    finally:
        os.close(fd)


def remove_temp(folder: DestFolder, temp: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temp, dir_fd=folder.fd)


def publish(folder: DestFolder, temp: str, final: str) -> os.stat_result:
    """Give the verified temp file its final name without ever replacing an existing file."""
    fault.point("before-publish")
    fd = folder.fd
    try:
        os.link(temp, final, src_dir_fd=fd, dst_dir_fd=fd, follow_symlinks=False)  # exclusive: EEXIST if taken
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            raise
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS):
            raise
        # No hard links here: reserve the name exclusively, then move the data onto it.
        os.close(os.open(final, _CREATE, 0o644, dir_fd=fd))
        os.replace(temp, final, src_dir_fd=fd, dst_dir_fd=fd)
    else:
        fault.point("after-link")
        os.unlink(temp, dir_fd=fd)
    safefs.fsync_dir(fd)
    folder.taken(final)
    st = safefs.lstat_in(fd, final)
    assert st is not None
    return st
