"""photosorter's own files — the ledger, the feature cache — when they are damaged or cannot be written.

A garbage or truncated SQLite file, a read-only one, a full disk or a second process holding a lock
all surface as ``sqlite3`` exceptions wherever the next statement happens to run. Here they become
a :class:`~photosorter.errors.StateFileError` that names the file and says what to do, so no
command ends in "internal error (this is a bug)":

* :func:`connect` opens a database whose every statement (and every row fetched) translates those
  exceptions; the ledger uses it — it is the only record of which copies photosorter made, so it is
  never moved aside or replaced automatically;
* :func:`move_aside` keeps a damaged *disposable* file (the feature cache) under a new, unused name,
  so the next run rebuilds it without losing anything that cannot be recomputed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

from . import errors

# What each kind of SQLite failure means for the person at the keyboard.
_FULL = ("database or disk is full", "disk i/o error")
_READ_ONLY = ("readonly database", "read-only", "unable to open database", "permission denied")
_LOCKED = ("database is locked",)


def explain(exc: BaseException, path: Path, what: str) -> errors.StateFileError:
    """A StateFileError for an sqlite3 or OS error on ``path`` (``what``: "the sort journal", ...)."""
    text = str(exc)
    low = text.lower()
    kind, err = _classify(exc, low, text, path, what)
    err.kind = kind
    return err


def _classify(exc: BaseException, low: str, text: str, path: Path, what: str) -> tuple[str, errors.StateFileError]:
    if (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)) or any(s in low for s in _FULL):
        return "full", errors.StateFileError(
            f"The disk holding {what} is full or failing ({text}). Free some space and run the command again.",
            path=path)
    if (isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)) or any(s in low for s in _READ_ONLY):
        return "read_only", errors.StateFileError(
            f"photosorter cannot write {what} ({text}): the file or its folder is read-only. Check their "
            "permissions, or set PHOTOSORTER_HOME to a folder you can write.", path=path)
    if any(s in low for s in _LOCKED):
        return "locked", errors.StateFileError(
            f"{what.capitalize()} is locked by another program ({text}). Wait for it to finish and run again.",
            path=path)
    return "damaged", errors.StateFileError(f"{what.capitalize()} is damaged ({text}).", path=path)


class _Cursor(sqlite3.Cursor):
    state_path: Path
    state_what: str

    def execute(self, *args, **kwargs):
        with _translated(self.connection):
            return super().execute(*args, **kwargs)

    def executemany(self, *args, **kwargs):
        with _translated(self.connection):
            return super().executemany(*args, **kwargs)

    def executescript(self, *args, **kwargs):
        with _translated(self.connection):
            return super().executescript(*args, **kwargs)

    def fetchone(self):
        with _translated(self.connection):
            return super().fetchone()

    def fetchall(self):
        with _translated(self.connection):
            return super().fetchall()

    def fetchmany(self, *args, **kwargs):
        with _translated(self.connection):
            return super().fetchmany(*args, **kwargs)


class GuardedConnection(sqlite3.Connection):
    """A connection whose failures say which file failed and what to do (see module docstring)."""

    state_path: Path = Path("?")
    state_what: str = "photosorter's database"
    damaged_advice: str = ""

    def cursor(self, factory=_Cursor):
        return super().cursor(factory)

    def execute(self, sql, parameters=(), /):
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql, parameters, /):
        return self.cursor().executemany(sql, parameters)

    def executescript(self, script, /):
        return self.cursor().executescript(script)

    def commit(self) -> None:
        with _translated(self):
            super().commit()


@contextlib.contextmanager
def _translated(conn) -> Iterator[None]:
    try:
        yield
    except errors.StateFileError:
        raise
    except (sqlite3.DatabaseError, OSError) as exc:
        err = explain(exc, conn.state_path, conn.state_what)
        if err.kind == "damaged" and conn.damaged_advice:
            err.message = f"{err.message} {conn.damaged_advice}"
        raise err from exc


#: Test hook, like sorting/fault.py: "full" makes every SQLite state file behave as on a full disk
#: (SQLite's own max_page_count gives exactly the SQLITE_FULL error a full disk gives), "read_only"
#: as a file photosorter may not write (opened read-only: SQLITE_READONLY). Tests run as root, where
#: chmod does not stop writes, and cannot always mount a tiny file system.
FAULT_ENV = "PHOTOSORTER_STATE_FAULT"


def open_sqlite(path: Path, **kwargs) -> sqlite3.Connection:
    """sqlite3.connect for a state file (its folder created), honouring the FAULT_ENV test hook."""
    fault = os.environ.get(FAULT_ENV, "")
    if fault == "read_only":
        if not path.exists():
            raise PermissionError(errno.EACCES, "Permission denied (simulated)", str(path))
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), **kwargs)
    if fault == "full":
        conn.execute(f"PRAGMA max_page_count = {max(1, conn.execute('PRAGMA page_count').fetchone()[0])}")
    return conn


def _header_shortfall(path: Path) -> tuple[int, int | None] | None:
    """(file size, size the header claims) when the first is smaller, else None. The claim is
    None when SQLite itself finds the file malformed before saying how big it should be.

    Read through a read-only SQLite connection, never with a plain open()/close(): closing *any*
    descriptor of a file drops every POSIX lock this process holds on it, SQLite's included. The
    ledger's other connections (the watcher's, the app's) then look gone to other processes, and
    the next `sort`/`undo` to close checkpointed and deleted the log under them: the journal was
    corrupted. SQLite's own descriptors are shared and closed safely within a process."""
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        return None
    if size < 100:
        return None  # empty or not SQLite at all: SQLite itself says so on the first statement
    try:
        probe = sqlite3.connect(f"file:{urllib.parse.quote(os.fspath(path))}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return None
    try:
        page_size = probe.execute("PRAGMA page_size").fetchone()[0]
        pages = probe.execute("PRAGMA page_count").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        # SQLite checks the header's page count against the file (or the log) on the first read
        if "malformed" in str(exc).lower():
            return size, None
        return None  # not a database, locked, unreadable: the real connection says so
    finally:
        probe.close()
    if pages and size < page_size * pages and not _wal_holds(path, range(size // page_size + 1, pages + 1), page_size):
        return size, page_size * pages
    return None


def _wal_holds(path: Path, missing: range, page_size: int) -> bool:
    """Whether the write-ahead log next to ``path`` holds every page in ``missing``.

    A checkpoint copies the log's pages into the file in page order, page 1 (the new count)
    first, and the log is only reset after the last one is in. A process killed mid-checkpoint
    (kill -9, power loss) therefore leaves a file that looks short but is whole: SQLite reads the
    missing pages from the log and finishes the checkpoint. Only committed frames of the log's
    current generation (their salts match its header) count: a stale log, or the torn tail of a
    transaction that never committed, proves nothing."""
    try:
        with open(path.with_name(path.name + "-wal"), "rb") as fh:
            head = fh.read(32)
            if len(head) < 32 or int.from_bytes(head[:4], "big") not in (0x377F0682, 0x377F0683):
                return False
            if int.from_bytes(head[8:12], "big") != page_size:
                return False
            if len(missing) > (os.fstat(fh.fileno()).st_size - 32) // (24 + page_size):
                return False  # more pages missing than the log has frames (also: a garbage count)
            salts, wanted, offset, uncommitted = head[16:24], set(missing), 32, set()
            while wanted:
                fh.seek(offset)
                frame = fh.read(24)
                if len(frame) < 24 or frame[8:16] != salts:
                    break
                uncommitted.add(int.from_bytes(frame[:4], "big"))
                if int.from_bytes(frame[4:8], "big"):  # a commit frame: its transaction's pages count
                    wanted -= uncommitted
                    uncommitted.clear()
                offset += 24 + page_size
            return not wanted
    except OSError:
        return False


def truncation(path: Path, settle_s: float = 1.0) -> str | None:
    """Why an SQLite file is shorter than its own header says it is, or None.

    SQLite reads pages lazily, so a truncated file works until a query reaches a missing page;
    the page size and page count it reads from the header tell at once. A WAL checkpoint
    in another process or thread writes page 1 (the new count) before the pages that grow the
    file, so for a few milliseconds a healthy database looks short. A real truncation stays put;
    the shortfall only counts when it is still there, unchanged, after `settle_s`."""
    first = _header_shortfall(path)
    if first is None:
        return None
    deadline, last = time.monotonic() + settle_s, first
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = _header_shortfall(path)
        if now is None:
            return None
        if now != last:  # still being written: at least half the settle time more from here
            deadline, last = max(deadline, time.monotonic() + settle_s / 2), now
    size, claimed = last
    if claimed is None:
        return f"the file is {size} bytes, less than its header says: it was truncated"
    return f"the file is {size} bytes, its header says {claimed}: it was truncated"


def connect(path: Path, what: str, damaged_advice: str = "", **kwargs) -> GuardedConnection:
    """sqlite3.connect with translated failures, opening included."""
    try:
        if (why := truncation(path)) is not None:
            raise sqlite3.DatabaseError(why)
        conn = open_sqlite(path, factory=GuardedConnection, **kwargs)
        assert isinstance(conn, GuardedConnection)
    except (sqlite3.DatabaseError, OSError) as exc:
        err = explain(exc, path, what)
        if err.kind == "damaged" and damaged_advice:
            err.message = f"{err.message} {damaged_advice}"
        raise err from exc
    conn.state_path, conn.state_what, conn.damaged_advice = path, what, damaged_advice
    return conn


def move_aside(path: Path) -> Path:
    """Rename a damaged file (and its SQLite -wal/-shm companions) to an unused name next to it;
    never overwrites anything. Returns the new name."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        target = path.with_name(f"{path.name}.damaged-{stamp}" + (f"-{n}" if n else ""))
        try:
            os.link(path, target)  # fails if target exists: nothing is ever overwritten
        except FileExistsError:
            continue
        except OSError:  # no hard links here (some network/FAT file systems): check, then rename
            if target.exists():
                continue
            os.rename(path, target)
            break
        os.unlink(path)
        break
    else:  # pragma: no cover - a thousand damaged copies in one second
        raise errors.StateFileError("Cannot find a free name to keep the damaged file under.", path=path)
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            with contextlib.suppress(OSError):
                os.replace(companion, target.with_name(target.name + suffix))
    return target
