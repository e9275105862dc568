"""Background sorting: a FolderWatcher whose ready photos go through plan → apply.

Each batch of newly stable photos is one undoable run of kind 'watch'. The ledger connection
lives in the watcher's worker thread (SQLite connections are per thread); the "already seen?"
check that rescans use has its own read-only connection.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Callable

import numpy as np

from .ledger import Ledger
from .sorter import Summary, apply_plan, plan_sort, recover
from .watcher import FolderWatcher


#: How many recently seen photos describe "the camera roll" for the familiarity gate.
HISTORY = 1000


class WatchService:
    def __init__(
        self,
        folders: list[Path],
        scorer,
        ledger_path: Path,
        destinations: dict[str, Path],
        *,
        on_batch: Callable[[Summary], None] | None = None,
        on_warning: Callable[[str], None] | None = None,
        kinds=None,
        **watcher_options,
    ) -> None:
        self.scorer = scorer
        self.ledger_path = Path(ledger_path)
        self.destinations = destinations
        self.kinds = kinds  # which kinds of file to sort (photosorter.media.KINDS); None: all
        self.on_batch = on_batch or (lambda s: None)
        self._ledger: Ledger | None = None
        # Features of recently seen photos: watched photos arrive a few at a time, too few to be a
        # background on their own, so the camera roll seen so far serves as one.
        self.history = np.zeros((0, scorer.embedder.spec.feature_dim), dtype=np.float32)
        self._ledger_thread: int | None = None
        self._probe_lock = threading.Lock()
        Ledger(self.ledger_path).close()  # create the schema before anyone reads
        self._probe = sqlite3.connect(str(self.ledger_path), check_same_thread=False, timeout=30)
        self.watcher = FolderWatcher(folders, self._sort_batch, is_known=self._is_known, on_warning=on_warning, **watcher_options)

    def _is_known(self, path: Path, size: int, mtime_ns: int) -> bool:
        with self._probe_lock:
            row = self._probe.execute(
                "SELECT outcome FROM seen WHERE path=? AND size=? AND mtime_ns=? ORDER BY run_id DESC LIMIT 1",
                (str(path), size, mtime_ns),
            ).fetchone()
        return row is not None and row[0] in ("copied", "already_sorted", "no_category")

    def _sort_batch(self, paths: list[Path]) -> None:
        if self._ledger is None or self._ledger_thread != threading.get_ident():
            self._ledger = Ledger(self.ledger_path)
            self._ledger_thread = threading.get_ident()
            recover(self._ledger)
        plan = plan_sort(paths, self.scorer, self._ledger, self.destinations, history=self.history, kinds=self.kinds)
        batch = getattr(self.scorer, "last_batch_features", None)
        if batch is not None and len(batch):
            self.history = np.concatenate([self.history, batch])[-HISTORY:]
        summary = apply_plan(plan, self._ledger, run_kind="watch",
                             detail={"sources": [str(f) for f in self.watcher.folders], "watched": True})
        self.on_batch(summary)

    def start(self) -> None:
        self.watcher.start()

    def stop(self) -> None:
        self.watcher.stop()
        with self._probe_lock:
            self._probe.close()
