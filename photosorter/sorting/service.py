"""Background sorting: a FolderWatcher whose ready photos go through plan → apply.

Each batch of newly stable photos is one undoable run of kind 'watch'. The ledger connection
lives in the watcher's worker thread (SQLite connections are per thread); the "already seen?"
check that rescans use has its own Ledger connection, shared under a lock. Photos that failed for
a reason that may pass (disk full, permission, file still changing) are handed back to the
watcher, which retries them with a growing delay while it runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from ..scoring_types import Scorer
from .ledger import Ledger
from .sorter import TRANSIENT_REASONS, Summary, apply_plan, plan_sort, recover
from .watcher import FolderWatcher


class WatchService:
    def __init__(
        self,
        folders: list[Path],
        scorer: Scorer,
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
        self._ledger_thread: int | None = None
        self._probe_lock = threading.Lock()
        self._probe = Ledger(self.ledger_path, any_thread=True)  # also creates the schema before anyone reads
        self.watcher = FolderWatcher(folders, self._sort_batch, is_known=self._is_known, on_warning=on_warning, **watcher_options)

    def _is_known(self, path: Path, size: int, mtime_ns: int) -> bool:
        with self._probe_lock:
            outcome = self._probe.last_outcome(path, size, mtime_ns)
        return outcome in ("copied", "already_sorted", "no_category")

    def _sort_batch(self, paths: list[Path]) -> None:
        if self._ledger is None or self._ledger_thread != threading.get_ident():
            self._ledger = Ledger(self.ledger_path)
            self._ledger_thread = threading.get_ident()
            recover(self._ledger)
        # Watched photos arrive a few at a time: they join the scorer's stored background (the
        # camera roll seen so far), against which they are judged like every other photo.
        plan = plan_sort(paths, self.scorer, self._ledger, self.destinations, kinds=self.kinds)
        summary = apply_plan(plan, self._ledger, run_kind="watch",
                             detail={"sources": [str(f) for f in self.watcher.folders], "watched": True})
        retry = {Path(p) for p, reason, _m in summary.failed if reason in TRANSIENT_REASONS}
        if retry:
            self.watcher.retry_later(sorted(retry))
        self.on_batch(summary)

    def start(self) -> None:
        self.watcher.start()

    def stop(self) -> None:
        self.watcher.stop()
        with self._probe_lock:
            self._probe.close()
