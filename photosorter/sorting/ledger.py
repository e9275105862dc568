"""The journal of everything the sorter did: SQLite in WAL mode, one place that writes it.

Tables:
  runs      one row per sort (or undo) run: when, sources, model, dry-run flag, state
  seen      every source file looked at: path, size, mtime, content hash, outcome
  copies    every copy: run, source hash, destination path, state, hash of what we wrote
  failures  per-file failures with a stable reason code and a readable message

A copy row is written *before* the file operation (state 'intent', with the temp name), and
moved to 'done' after the rename, so recovery after a crash knows exactly what was in flight.
"A photo already sorted" means: a copy of that content is recorded for that category *in the
category's current folder* and is still there with the content we wrote (so a new destination, a
changed category folder or deleted copies get copied again; renaming a source does not).

Paths are stored losslessly (:mod:`photosorter.fsnames`): text when valid UTF-8, raw bytes
otherwise. Every SQL statement of the sorting engine lives in this class.

Runs and recovery: a process applying a run holds a *shared* ``flock`` on ``<ledger>.lock`` for
the run's duration; crash recovery takes it *exclusively and without waiting*, so it only ever
touches work of processes that are gone (a second command during a sort skips recovery).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .. import errors, state_files
from ..fsnames import from_db, shown, to_db
from . import ledger_file

try:
    import fcntl
except ImportError:  # Windows: no flock; recovery then assumes one photosorter at a time
    fcntl = None  # type: ignore[assignment]

SCHEMA_VERSION = 1
#: What to do with a damaged ledger. It is never replaced automatically: it is the only record of
#: which copies photosorter made.
DAMAGED_ADVICE = (
    "It is photosorter's record of the copies it made, which undo needs. Move it aside (rename it) and "
    "photosorter starts a new, empty journal; copies recorded only in the old one stay where they are "
    "but can no longer be undone by photosorter."
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,               -- 'sort' | 'undo' | 'watch'
    started REAL NOT NULL,
    finished REAL,
    state TEXT NOT NULL,              -- 'running' | 'done' | 'interrupted' | 'undone'
    dry_run INTEGER NOT NULL DEFAULT 0,
    detail TEXT                       -- JSON: sources, model, destination, summary
);
CREATE TABLE IF NOT EXISTS seen (
    run_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    size INTEGER,
    mtime_ns INTEGER,
    sha256 TEXT,
    outcome TEXT NOT NULL,            -- 'copied' | 'already_sorted' | 'no_category' | 'failed'
    categories TEXT,                  -- JSON list
    scores TEXT,                      -- JSON object
    PRIMARY KEY (run_id, path)
);
CREATE INDEX IF NOT EXISTS seen_sha ON seen (sha256, outcome);
CREATE TABLE IF NOT EXISTS copies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL,
    source TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    category TEXT NOT NULL,
    dest TEXT,                        -- final path (NULL until chosen)
    temp TEXT,                        -- temp path while in flight
    dest_sha256 TEXT,                 -- hash of the bytes we wrote
    dest_dev INTEGER,                 -- identity of the file we created (undo trashes only that file)
    dest_ino INTEGER,
    dest_mtime_ns INTEGER,            -- its modification time once published: a reused inode number has another
    companion_of TEXT,                -- for a sidecar/Live Photo movie/RAW twin: the dest of the photo copy it went with
    category_id TEXT,                 -- the library's lasting id of the category (names change: renames)
    state TEXT NOT NULL               -- 'intent' | 'done' | 'existing' | 'rolled_back' | 'undone' | 'kept_modified'
);
CREATE INDEX IF NOT EXISTS copies_run ON copies (run_id, state);
CREATE INDEX IF NOT EXISTS copies_sha ON copies (source_sha256, category, state);
CREATE TABLE IF NOT EXISTS failures (
    run_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    reason TEXT NOT NULL,
    message TEXT NOT NULL,
    at REAL NOT NULL
);
"""


#: How long an undo waits for another process's undo before it gives up and says so.
UNDO_WAIT_S = 300


def _open_lock(path: Path) -> int:
    """A lock file beside the ledger, opened for flock (read-only is enough, so a read-only folder
    with the file in it works). A folder or a symbolic link in its place is refused by name: an
    attack's folder named like it gave "Something went wrong: IsADirectoryError", and a symbolic
    link made its target file wherever it pointed."""
    flags = os.O_RDONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        return os.open(path, flags, 0o600)
    except OSError as exc:
        raise errors.StateFileError(
            f"photosorter cannot use its lock file {path} ({exc.strerror or exc}): something that is not a plain "
            "file is in its place. Quit photosorter, remove it, and try again.") from exc


def removed_since(photo_copies: int) -> str:
    """How a run's summary, History row and past-run view say that some of its copies are gone
    since: moved to the trash by a correction, or found already deleted by hand. (An attack read
    "12 copies, 1 since moved to the trash" where 12 counted sidecars and the 1 had been deleted
    by hand.)"""
    return f"{photo_copies} photo cop{'y' if photo_copies == 1 else 'ies'} since removed"


@dataclass
class RunInfo:
    id: int
    kind: str
    started: float
    finished: float | None
    state: str
    dry_run: bool
    detail: dict
    #: photo copies of this run moved to the trash since, one by one (corrections after Apply):
    #: "copied 19" alone read as if all 19 were still there
    trashed: int = 0


class Ledger:
    def __init__(self, path: str | Path, *, any_thread: bool = False) -> None:
        """``any_thread``: a connection other threads may use (callers serialise access)."""
        self.path = Path(path)
        # A FIFO, folder or empty file in its place is refused by name; a new one is created whole.
        if not ledger_file.check(self.path):
            ledger_file.create(self.path, self._prepare)
        # Failures of this file (damaged, read-only, disk full, locked) raise StateFileError naming it.
        self.db = state_files.connect(self.path, ledger_file.WHAT, DAMAGED_ADVICE, timeout=30,
                                      isolation_level=None, check_same_thread=not any_thread)
        self._prepare(self.db)

    @staticmethod
    def _prepare(db: sqlite3.Connection) -> None:
        """WAL mode, durable commits, the schema (idempotent; also upgrades older ledgers)."""
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # a committed journal row survives power loss
        db.executescript(SCHEMA)
        columns = {r[1] for r in db.execute("PRAGMA table_info(copies)")}
        for col, kind in (("dest_dev", "INTEGER"), ("dest_ino", "INTEGER"), ("companion_of", "TEXT"),
                          ("dest_mtime_ns", "INTEGER"), ("category_id", "TEXT")):
            if col not in columns:  # ledgers written before these existed
                db.execute(f"ALTER TABLE copies ADD COLUMN {col} {kind}")
        db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    # ---------------------------------------------------------------- process locks
    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    @contextmanager
    def run_lock(self) -> Iterator[None]:
        """Held (shared) while this process applies or undoes a run: recovery leaves it alone."""
        if fcntl is None:
            yield
            return
        fd = _open_lock(self.lock_path)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # releases the lock

    @contextmanager
    def undo_lock(self) -> Iterator[None]:
        """Held (exclusive, waiting for it) while this process undoes copies. Two undos of the same
        copy at once (Ctrl+Z pressed twice, a correction's "move the copy to the trash" during an
        undo, two processes) both passed the checks, and the second one's rename found the file
        gone (an attack: FileNotFoundError, a half-done undo). Taken one after the other, the
        second sees what the first did."""
        if fcntl is None:
            yield
            return
        fd = _open_lock(self.path.with_name(self.path.name + ".undo-lock"))
        try:
            deadline = time.monotonic() + UNDO_WAIT_S
            while True:  # another process's undo: wait for it, but not for ever (a trash stuck on a network disk)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise errors.StateFileError(
                            f"Another photosorter has been undoing copies for over {UNDO_WAIT_S // 60} minutes "
                            "(its trash may be slow); nothing was undone here. Try again when it has finished.") from None
                    time.sleep(0.2)
            yield
        finally:
            os.close(fd)  # releases the lock

    @contextmanager
    def recovery_lock(self) -> Iterator[bool]:
        """Yields True when no other process is applying or undoing a run (exclusive, no wait)."""
        if fcntl is None:
            yield True
            return
        fd = _open_lock(self.lock_path)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                yield False
                return
            yield True
        finally:
            os.close(fd)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    # ---------------------------------------------------------------- runs
    def start_run(self, kind: str, dry_run: bool, detail: dict) -> int:
        cur = self.db.execute(
            "INSERT INTO runs (kind, started, state, dry_run, detail) VALUES (?, ?, 'running', ?, ?)",
            (kind, time.time(), int(dry_run), json.dumps(detail)),
        )
        return int(cur.lastrowid)

    def finish_run(self, run_id: int, state: str, summary: dict | None = None) -> None:
        row = self.db.execute("SELECT detail FROM runs WHERE id=?", (run_id,)).fetchone()
        detail = json.loads(row[0]) if row and row[0] else {}
        if summary is not None:
            detail["summary"] = summary
        self.db.execute("UPDATE runs SET finished=?, state=?, detail=? WHERE id=?", (time.time(), state, json.dumps(detail), run_id))

    _RUN_COLUMNS = ("SELECT id, kind, started, finished, state, dry_run, detail, (SELECT COUNT(*) FROM copies c "
                    "WHERE c.run_id=runs.id AND c.state='undone' AND c.companion_of IS NULL) FROM runs")

    @staticmethod
    def _run_info(r) -> RunInfo:
        return RunInfo(r[0], r[1], r[2], r[3], r[4], bool(r[5]), json.loads(r[6] or "{}"), int(r[7] or 0))

    def runs(self, limit: int = 50) -> list[RunInfo]:
        rows = self.db.execute(f"{self._RUN_COLUMNS} ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [self._run_info(r) for r in rows]

    def run(self, run_id: int) -> RunInfo | None:
        row = self.db.execute(f"{self._RUN_COLUMNS} WHERE id=?", (run_id,)).fetchone()
        return self._run_info(row) if row else None

    def set_run_state(self, run_id: int, state: str) -> None:
        self.db.execute("UPDATE runs SET state=? WHERE id=?", (state, run_id))

    def mark_interrupted(self) -> int:
        """Runs still marked 'running' (their process is gone: call under :meth:`recovery_lock`).

        A process killed outright never wrote its summary; it is rebuilt from what the journal
        recorded, so `runs` does not say "copied 0" of a run whose copies are there to undo."""
        rows = self.db.execute("SELECT id, detail FROM runs WHERE state='running'").fetchall()
        for run_id, detail in rows:
            doc = json.loads(detail or "{}")
            if "summary" not in doc:
                # a photo copied before its own record was written (killed in between) counts too:
                # an attack's History said "copied 0" beside a copy undo could remove
                photos = max(self.db.execute("SELECT COUNT(*) FROM seen WHERE run_id=? AND outcome='copied'",
                                             (run_id,)).fetchone()[0],
                             self.db.execute("SELECT COUNT(DISTINCT source) FROM copies WHERE run_id=? AND state='done'"
                                             " AND companion_of IS NULL", (run_id,)).fetchone()[0])
                made = self.db.execute("SELECT COUNT(*) FROM copies WHERE run_id=? AND state='done'",
                                       (run_id,)).fetchone()[0]
                doc["summary"] = {"run_id": run_id, "copied_photos": photos, "copies_made": made,
                                  "failed": [{"file": shown(p), "reason": r, "message": m} for p, r, m in self.failures(run_id)]}
            self.db.execute("UPDATE runs SET state='interrupted', detail=? WHERE id=?", (json.dumps(doc), run_id))
        return len(rows)

    def last_sort_run(self) -> RunInfo | None:
        row = self.db.execute(f"{self._RUN_COLUMNS} WHERE kind IN ('sort','watch') AND dry_run=0"
                              " AND EXISTS (SELECT 1 FROM copies c WHERE c.run_id=runs.id) ORDER BY id DESC LIMIT 1").fetchone()
        return self._run_info(row) if row else None

    def last_undoable_run(self) -> int | None:
        row = self.db.execute(
            "SELECT id FROM runs WHERE kind IN ('sort','watch') AND dry_run=0 AND state IN ('done','interrupted')"
            " AND EXISTS (SELECT 1 FROM copies c WHERE c.run_id=runs.id AND c.state='done') ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return int(row[0]) if row else None

    # ---------------------------------------------------------------- files
    def record_seen(self, run_id: int, path: str, size: int | None, mtime_ns: int | None, sha: str | None,
                    outcome: str, categories: list[str] | None = None, scores: dict | None = None) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO seen VALUES (?,?,?,?,?,?,?,?)",
            (run_id, to_db(path), size, mtime_ns, sha, outcome, json.dumps(categories or []), json.dumps(scores or {})),
        )

    def last_outcome(self, path: str | Path, size: int, mtime_ns: int) -> str | None:
        """The latest outcome recorded for this file as it is now (same size and mtime)."""
        row = self.db.execute(
            "SELECT outcome FROM seen WHERE path=? AND size=? AND mtime_ns=? ORDER BY run_id DESC LIMIT 1",
            (to_db(path), size, mtime_ns),
        ).fetchone()
        return row[0] if row else None

    def record_failure(self, run_id: int, path: str, reason: str, message: str) -> None:
        self.db.execute("INSERT INTO failures VALUES (?,?,?,?,?)", (run_id, to_db(path), reason, shown(message), time.time()))

    def failures(self, run_id: int) -> list[tuple[str, str, str]]:
        rows = self.db.execute("SELECT path, reason, message FROM failures WHERE run_id=?", (run_id,)).fetchall()
        return [(from_db(p), r, m) for p, r, m in rows]

    def copies_of(self, sha: str) -> list[dict]:
        """Copies of this content, in any category, that may still be there (the caller asks where)."""
        return self._copy_rows(" AND source_sha256=? AND state IN ('done','existing','kept_modified')", [sha])

    # ---------------------------------------------------------------- copies
    def copy_intent(self, run_id: int, source: str, sha: str, category: str, dest: str, temp: str,
                    companion_of: str | None = None, category_id: str | None = None) -> int:
        """``companion_of``: for a companion (sidecar, Live Photo movie, RAW twin), the destination of
        the photo copy it travels with — so removing that one photo's copy later takes exactly its
        own companions, never another photo's that shares the stem. ``category_id``: the library's
        lasting id of the category (None from the command line, whose categories have none)."""
        cur = self.db.execute(
            "INSERT INTO copies (run_id, source, source_sha256, category, dest, temp, state, companion_of, category_id)"
            " VALUES (?,?,?,?,?,?,'intent',?,?)",
            (run_id, to_db(source), sha, category, to_db(dest), to_db(temp) if temp else None, to_db(companion_of),
             category_id),
        )
        return int(cur.lastrowid)

    def copy_state(self, copy_id: int, state: str, dest: str | None = None, dest_sha: str | None = None,
                   identity: os.stat_result | None = None) -> None:
        """Move a copy to ``state``; ``identity``: the stat of the file we created (its dev/inode and
        modification time)."""
        dev, ino, mtime = ((identity.st_dev, identity.st_ino, identity.st_mtime_ns) if identity is not None
                           else (None, None, None))
        self.db.execute(
            "UPDATE copies SET state=?, dest=COALESCE(?, dest), dest_sha256=COALESCE(?, dest_sha256), temp=NULL,"
            " dest_dev=COALESCE(?, dest_dev), dest_ino=COALESCE(?, dest_ino),"
            " dest_mtime_ns=COALESCE(?, dest_mtime_ns) WHERE id=?",
            (state, to_db(dest), dest_sha, dev, ino, mtime, copy_id),
        )

    def set_copy_temp(self, copy_id: int, temp: str | None) -> None:
        """Where a copy is parked while undo trashes it (recovery puts it back from there)."""
        self.db.execute("UPDATE copies SET temp=? WHERE id=?", (to_db(temp), copy_id))

    _COPY_KEYS = ("id", "run_id", "source", "source_sha256", "category", "dest", "temp", "dest_sha256", "state",
                  "dest_dev", "dest_ino", "companion_of", "dest_mtime_ns", "category_id")

    def _copy_rows(self, where: str, args: list) -> list[dict]:
        q = f"SELECT {', '.join(self._COPY_KEYS)} FROM copies WHERE 1=1{where} ORDER BY id"
        out = []
        for r in self.db.execute(q, args).fetchall():
            row = dict(zip(self._COPY_KEYS, r))
            for k in ("source", "dest", "temp", "companion_of"):
                row[k] = from_db(row[k])
            out.append(row)
        return out

    def copies(self, run_id: int | None = None, states: tuple[str, ...] | None = None) -> list[dict]:
        where = ""
        args: list[object] = []
        if run_id is not None:
            where += " AND run_id=?"
            args.append(run_id)
        if states:
            where += f" AND state IN ({','.join('?' * len(states))})"
            args.extend(states)
        return self._copy_rows(where, args)

    def copies_from(self, source: str | os.PathLike, sha: str, states: tuple[str, ...] = ("done",)) -> list[dict]:
        """Copies made of the file at ``source`` while it held the content ``sha`` (by any run), in
        ``states`` — not those of an earlier photo that had the same path (a card used again)."""
        return self._copy_rows(f" AND source=? AND source_sha256=? AND state IN ({','.join('?' * len(states))})",
                               [to_db(os.fspath(source)), sha, *states])

    def companions_of(self, photo_copy: dict) -> list[dict]:
        """The companion copies that travel with this photo copy: each companion belongs to the
        photo copy it was made beside (the last photo copy at that place before it). Not those of
        another photo copied later under the same name after this one was deleted (camera names
        repeat: an attack's correction took that photo's movie and sidecar); but those of an
        earlier copy of *the same photo* at that place, which this copy replaced after the person
        deleted it by hand (its movie and sidecar were kept and adopted: a correction left them
        behind — an attack)."""
        # by place only: a category's name changes with a rename, its copies' places do not (a
        # movie recorded under the old name stayed behind — an attack)
        companions = self._copy_rows(" AND companion_of=? AND state='done'", [to_db(photo_copy["dest"])])
        if not companions:
            return []
        photos = self._copy_rows(" AND dest=? AND companion_of IS NULL AND state NOT IN ('intent','rolled_back')",
                                 [to_db(photo_copy["dest"])])
        out = []
        for c in companions:
            owner = max((p for p in photos if p["id"] < c["id"]), key=lambda p: p["id"], default=None)
            if owner is not None and (owner["id"] == photo_copy["id"]
                                      or owner["source_sha256"] == photo_copy["source_sha256"]):
                out.append(c)
        return out

    def parked_copies(self) -> list[dict]:
        """'done' copies that an interrupted undo had moved aside (temp set)."""
        return self._copy_rows(" AND state='done' AND temp IS NOT NULL", [])

    def integrity_ok(self) -> bool:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
