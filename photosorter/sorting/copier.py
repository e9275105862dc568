"""The one place that writes photos: atomic, verified, never overwriting.

A copy goes to a temp name *inside the destination folder* (same filesystem, so the final step
is atomic), is fsynced and verified (size + SHA-256 of what landed on disk), then published
under its final name with an exclusive operation: ``os.link`` (fails if the name exists) and the
temp name removed. Where hard links are not supported (FAT/exFAT cards, some network shares) the
final name is reserved with O_EXCL and the temp file renamed over that reservation.

Name clashes: identical content already there → nothing is written; different content under the
same name → ``IMG_0001 (1).jpg``. Names are compared case-insensitively (and Unicode-normalised),
because macOS and Windows destinations are case-insensitive.

Crash points are marked with ``fault.point(...)``: the fault-injection tests kill the process
there and check that recovery leaves nothing half-done.
"""

from __future__ import annotations

import errno
import hashlib
import os
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

from . import fault

TEMP_PREFIX = ".pending-"
CHUNK = 1 << 20


@dataclass
class CopyResult:
    dest: Path
    sha256: str
    written: bool  # False: identical content was already there


def _fold(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


def hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            h.update(block)
    return h.hexdigest()


MAX_NAME_BYTES = 255  # ext4, APFS, NTFS (in UTF-16 units, close enough)


def temp_name(folder: Path, final_name: str) -> Path:
    """Short and recognisable: the journal, not the name, ties it to its final destination."""
    suffix = os.path.splitext(final_name)[1][:10]
    return folder / f"{TEMP_PREFIX}{uuid.uuid4().hex[:16]}{suffix}"


def _fit(stem: str, tail: str) -> str:
    """stem + tail, shortening the stem (on a character boundary) to fit MAX_NAME_BYTES."""
    while len((stem + tail).encode()) > MAX_NAME_BYTES and stem:
        stem = stem[:-1]
    return stem + tail


def candidate_names(name: str):
    stem, suffix = os.path.splitext(name)
    yield _fit(stem, suffix)
    for i in range(1, 10_000):
        yield _fit(stem, f" ({i}){suffix}")


def existing_names(folder: Path) -> dict[str, str]:
    """Folded name → actual name, for case-insensitive clash checks."""
    try:
        return {_fold(n): n for n in os.listdir(folder)}
    except FileNotFoundError:
        return {}


def choose_destination(folder: Path, name: str, sha: str, size: int) -> tuple[Path, bool]:
    """(path, already_there): the first free name, or the existing file with identical content."""
    present = existing_names(folder)
    for cand in candidate_names(name):
        actual = present.get(_fold(cand))
        if actual is None:
            return folder / cand, False
        existing = folder / actual
        try:
            if existing.is_file() and not existing.is_symlink() and existing.stat().st_size == size and hash_file(existing) == sha:
                return existing, True
        except OSError:
            pass
    raise OSError(errno.EEXIST, f"no free name for {name} in {folder}")


def write_temp(source_bytes: bytes, temp: Path) -> str:
    """Write, fsync, re-read and verify; returns the SHA-256 of what is on disk."""
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
    try:
        view = memoryview(source_bytes)
        written = 0
        while written < len(view):
            fault.point("mid-copy")
            written += os.write(fd, view[written : written + CHUNK])
        os.fsync(fd)
    finally:
        os.close(fd)
    on_disk = hash_file(temp)
    expected = hashlib.sha256(source_bytes).hexdigest()
    if on_disk != expected or temp.stat().st_size != len(source_bytes):
        raise OSError(errno.EIO, f"verification failed for {temp.name}: the written copy differs from the source")
    return on_disk


class SourceChanged(Exception):
    """The source's bytes are not the ones that were scored (it changed, or is still being written)."""


def write_temp_from(source: Path, temp: Path, expected_sha: str) -> str:
    """Stream a (possibly multi-GB) file into ``temp`` in CHUNK blocks, fsync, re-read and verify.

    Memory stays flat. The bytes read are hashed on the way; if they are not the content that
    was scored (``expected_sha``) the temp file is removed and SourceChanged raised, so a file
    still being written is never published as a copy.
    """
    h = hashlib.sha256()
    size = 0
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
    try:
        with open(source, "rb") as src:
            while block := src.read(CHUNK):
                fault.point("mid-copy")
                h.update(block)
                view = memoryview(block)
                while view:
                    view = view[os.write(fd, view):]
                size += len(block)
        os.fsync(fd)
    finally:
        os.close(fd)
    if h.hexdigest() != expected_sha:
        temp.unlink(missing_ok=True)
        raise SourceChanged(str(source))
    on_disk = hash_file(temp)
    if on_disk != expected_sha or temp.stat().st_size != size:
        raise OSError(errno.EIO, f"verification failed for {temp.name}: the written copy differs from the source")
    return on_disk


def publish(temp: Path, final: Path) -> None:
    """Give the verified temp file its final name without ever replacing an existing file."""
    fault.point("before-publish")
    try:
        os.link(temp, final)  # atomic and exclusive: fails with EEXIST if the name is taken
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            raise
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS):
            raise
        # No hard links here: reserve the name exclusively, then move the data onto it.
        fd = os.open(final, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.close(fd)
        os.replace(temp, final)
    else:
        fault.point("after-link")
        os.unlink(temp)
    _fsync_dir(final.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
