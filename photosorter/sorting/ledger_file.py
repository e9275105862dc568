"""The ledger's file itself: created whole or not at all, and never a link, a FIFO, a folder or empty.

The ledger is the only record of which copies photosorter made (undo needs it), so what is in
its place is checked before SQLite touches it:

* **Created atomically.** SQLite creates a database file empty and writes its header with the
  first transaction; a process killed in between leaves a 0-byte file. So a new ledger is built
  under a temporary name next to it (schema, WAL mode, fsynced), then hard-linked into place
  (``link`` never replaces a file another process created meanwhile). With this, photosorter
  itself never leaves an empty ledger behind.
* **An empty ledger is therefore damage**, not "a new one": a truncation by a crash, a sync tool
  or a broken backup restore, or a file left by a version without atomic creation. It is refused
  with a message that names it and says what to do — SQLite would otherwise take it for a new
  database, silently (and delete a write-ahead log that might still hold part of the history).
* **A symbolic link** in its place (or a companion's) is refused by name, not followed: SQLite
  would write through it — into another database of the user's, converting it to WAL and adding
  photosorter's tables (found by an attack), or create a journal outside photosorter's folder.
* **A FIFO, folder or device** in its place (or in place of its ``-wal``/``-shm`` companions) is
  refused by name before any open: SQLite reports a FIFO as a "disk I/O error", which read as a
  full disk, and opening one for reading could block.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

from .. import errors, state_files

WHAT = "the sort journal (ledger)"
COMPANIONS = ("-wal", "-shm")


def _kind(mode: int) -> str:
    return ("a folder" if stat.S_ISDIR(mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")


def check(path: Path) -> bool:
    """Whether the ledger exists; StateFileError when it (or a companion) is not a regular file
    or is empty. Never opens anything (a FIFO would block)."""
    for suffix in ("", *COMPANIONS):
        p = path.with_name(path.name + suffix)
        try:
            st = os.lstat(p)  # a link is refused, not followed: the journal lives in photosorter's folder
        except FileNotFoundError:
            if not suffix:
                return False
            continue
        except OSError as exc:
            raise state_files.explain(exc, p, WHAT) from exc
        if stat.S_ISLNK(st.st_mode):
            try:
                target = os.readlink(p)
            except OSError:
                target = "somewhere else"
            err = errors.StateFileError(
                f"This should be {WHAT}{' companion file' if suffix else ''}, but it is a symbolic link to {target}. "
                "photosorter keeps its records only in its own folder and never writes through a link (it could "
                "change a file of yours). Remove the link (if it points to a journal you want to keep, move that "
                "file here in its place), and run the command again.", path=p)
            err.kind = "symlink"
            raise err
        if not stat.S_ISREG(st.st_mode):
            err = errors.StateFileError(
                f"This should be {WHAT}{' companion file' if suffix else ''}, but it is {_kind(st.st_mode)}, "
                "not a file photosorter can keep its records in. Something else was put in its place: "
                "remove or rename it, and run the command again.", path=p)
            err.kind = "not_a_file"
            raise err
        if not suffix and st.st_size == 0:
            wal = path.with_name(path.name + "-wal")
            keep = (f" Keep {wal.name} next to it: it may hold part of that history."
                    if wal.is_file() and wal.stat().st_size else "")
            err = errors.StateFileError(
                f"{WHAT.capitalize()} is empty (0 bytes): the record of the copies photosorter made is gone "
                "(the file was cut short — a crash, a sync tool or a broken backup restore — photosorter "
                "never leaves it empty itself). Nothing was started over on top of it. If you have a backup "
                "of this file, put it back; otherwise delete or rename the empty file and photosorter starts a "
                "new, empty journal (copies made before can then no longer be undone by photosorter)." + keep,
                path=path)
            err.kind = "empty"
            raise err
    return True


def create(path: Path, init: Callable[[sqlite3.Connection], None]) -> None:
    """Make a new ledger at ``path`` whole or not at all (see module docstring); ``init`` writes
    its schema. When another process creates it first, theirs is kept and ours discarded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.creating-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        try:
            conn = state_files.open_sqlite(tmp, isolation_level=None)
            try:
                init(conn)
            finally:
                conn.close()
        except (sqlite3.DatabaseError, OSError) as exc:
            raise state_files.explain(exc, path, WHAT) from exc  # named by the ledger's own name
        try:
            os.link(tmp, path)  # never replaces a ledger another process made meanwhile
        except FileExistsError:
            pass
        except OSError:  # no hard links on this file system (FAT, some shares): check, then rename
            if not path.exists():
                os.rename(tmp, path)
        _fsync_folder(path.parent)
    finally:
        for suffix in ("", *COMPANIONS):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp.with_name(tmp.name + suffix))


def _fsync_folder(folder: Path) -> None:
    """The new name survives power loss (POSIX; nothing to do where folders cannot be opened)."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
