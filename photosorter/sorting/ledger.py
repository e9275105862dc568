"""The journal of everything the sorter did: SQLite in WAL mode, one place that writes it.

Tables:
  runs      one row per sort (or undo) run: when, sources, model, dry-run flag, state
  seen      every source file looked at: path, size, mtime, content hash, outcome
  copies    every copy: run, source hash, destination path, state, hash of what we wrote
  failures  per-file failures with a stable reason code and a readable message

A copy row is written *before* the file operation (state 'intent', with the temp name), and
moved to 'done' after the rename, so recovery after a crash knows exactly what was in flight.
"A photo already sorted" is keyed by content hash, so renaming a photo does not sort it again.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .. import state_files

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


@dataclass
class RunInfo:
    id: int
    kind: str
    started: float
    finished: float | None
    state: str
    dry_run: bool
    detail: dict


class Ledger:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        # Failures of this file (damaged, read-only, disk full, locked) raise StateFileError naming it.
        self.db = state_files.connect(self.path, "the sort journal (ledger)", DAMAGED_ADVICE, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")  # a committed journal row survives power loss
        self.db.executescript(SCHEMA)
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

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

    _RUN_COLUMNS = "SELECT id, kind, started, finished, state, dry_run, detail FROM runs"

    @staticmethod
    def _run_info(r) -> RunInfo:
        return RunInfo(r[0], r[1], r[2], r[3], r[4], bool(r[5]), json.loads(r[6] or "{}"))

    def runs(self, limit: int = 50) -> list[RunInfo]:
        rows = self.db.execute(f"{self._RUN_COLUMNS} ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [self._run_info(r) for r in rows]

    def run(self, run_id: int) -> RunInfo | None:
        row = self.db.execute(f"{self._RUN_COLUMNS} WHERE id=?", (run_id,)).fetchone()
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
            (run_id, path, size, mtime_ns, sha, outcome, json.dumps(categories or []), json.dumps(scores or {})),
        )

    def record_failure(self, run_id: int, path: str, reason: str, message: str) -> None:
        self.db.execute("INSERT INTO failures VALUES (?,?,?,?,?)", (run_id, path, reason, message, time.time()))

    def failures(self, run_id: int) -> list[tuple[str, str, str]]:
        return self.db.execute("SELECT path, reason, message FROM failures WHERE run_id=?", (run_id,)).fetchall()

    def already_copied(self, sha: str, category: str) -> bool:
        """Was this content already sorted into this category (and not undone)? A copy the user
        edited, which undo therefore kept, still counts: they have it."""
        return self.db.execute(
            "SELECT 1 FROM copies WHERE source_sha256=? AND category=? AND state IN ('done','existing','kept_modified') LIMIT 1",
            (sha, category),
        ).fetchone() is not None

    def copy_dest(self, sha: str, category: str) -> str | None:
        """Where this content was sorted into this category, if it was."""
        row = self.db.execute(
            "SELECT dest FROM copies WHERE source_sha256=? AND category=? AND state IN ('done','existing','kept_modified')"
            " ORDER BY id LIMIT 1",
            (sha, category),
        ).fetchone()
        return row[0] if row else None

    # ---------------------------------------------------------------- copies
    def copy_intent(self, run_id: int, source: str, sha: str, category: str, dest: str, temp: str) -> int:
        cur = self.db.execute(
            "INSERT INTO copies (run_id, source, source_sha256, category, dest, temp, state) VALUES (?,?,?,?,?,?,'intent')",
            (run_id, source, sha, category, dest, temp),
        )
        return int(cur.lastrowid)

    def copy_state(self, copy_id: int, state: str, dest: str | None = None, dest_sha: str | None = None) -> None:
        self.db.execute(
            "UPDATE copies SET state=?, dest=COALESCE(?, dest), dest_sha256=COALESCE(?, dest_sha256), temp=NULL WHERE id=?",
            (state, dest, dest_sha, copy_id),
        )

    def copies(self, run_id: int | None = None, states: tuple[str, ...] | None = None) -> list[dict]:
        q = "SELECT id, run_id, source, source_sha256, category, dest, temp, dest_sha256, state FROM copies WHERE 1=1"
        args: list = []
        if run_id is not None:
            q += " AND run_id=?"
            args.append(run_id)
        if states:
            q += f" AND state IN ({','.join('?' * len(states))})"
            args.extend(states)
        keys = ("id", "run_id", "source", "source_sha256", "category", "dest", "temp", "dest_sha256", "state")
        return [dict(zip(keys, r)) for r in self.db.execute(q + " ORDER BY id", args).fetchall()]

    def integrity_ok(self) -> bool:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
