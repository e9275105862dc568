"""Background sorting: a FolderWatcher whose ready photos go through plan → apply.

Each batch of newly stable photos is one undoable run of kind 'watch'. Batches use one ledger
connection, opened with the first batch and closed by :meth:`WatchService.stop` (after the
worker thread has ended; it is shared under a lock, never left open per thread); the "already
seen?" check that rescans use has its own connection, also closed by ``stop`` and reopened by
``start``. Photos that failed for a reason that may pass (disk full, permission, file still
changing) are handed back to the watcher, which retries them with a growing delay while it runs.

Only photos inside a watched folder's real location are sorted: the plan is checked against
:meth:`FolderWatcher.owns` just before copying, so a folder swapped for a symbolic link between
the watcher's check and the plan is not followed.
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
        category_ids: dict[str, str] | None = None,
        **watcher_options,
    ) -> None:
        self.scorer = scorer
        self.category_ids = dict(category_ids or {})  # recorded with each copy (the library's lasting ids)
        self.ledger_path = Path(ledger_path)
        self.destinations = destinations
        self.kinds = kinds  # which kinds of file to sort (photosorter.media.KINDS); None: all
        self.on_batch = on_batch or (lambda s: None)
        self._ledger: Ledger | None = None
        self._ledger_lock = threading.Lock()  # one batch at a time; stop() closes the connection under it
        self._stopped = False  # set by stop(): a batch still in flight then closes the connection itself
        self._probe_lock = threading.Lock()
        self._probe: Ledger | None = Ledger(self.ledger_path, any_thread=True)  # also creates the schema first
        self.watcher = FolderWatcher(folders, self._sort_batch, is_known=self._is_known, on_warning=on_warning, **watcher_options)

    def _is_known(self, path: Path, size: int, mtime_ns: int) -> bool:
        with self._probe_lock:
            if self._probe is None:  # stopped
                return True
            outcome = self._probe.last_outcome(path, size, mtime_ns)
        return outcome in ("copied", "already_sorted", "no_category")

    def _sort_batch(self, paths: list[Path]) -> None:
        with self._ledger_lock:
            try:
                if self._ledger is None:
                    self._ledger = Ledger(self.ledger_path, any_thread=True)
                    recover(self._ledger)
                # Watched photos arrive a few at a time: they join the scorer's stored background (the
                # camera roll seen so far), against which they are judged like every other photo.
                plan = plan_sort(paths, self.scorer, self._ledger, self.destinations, kinds=self.kinds,
                                 category_ids=self.category_ids)
                # planning resolves folders again: whatever now lies outside the watched folders'
                # real locations (a folder swapped for a link) is not sorted (the watcher said why)
                outside = {d.path for d in plan.decisions if not self.watcher.owns(d.path)}
                plan.decisions = [d for d in plan.decisions if d.path not in outside]
                summary = apply_plan(plan, self._ledger, run_kind="watch",
                                     detail={"sources": [str(f) for f in self.watcher.folders], "watched": True})
            finally:
                if self._stopped:  # stop() did not wait for this batch: it closes its connection itself
                    self._close_ledger()
        # a folder briefly unavailable comes back to them; a refused one drops them (watcher.owns)
        retry = {Path(p) for p, reason, _m in summary.failed if reason in TRANSIENT_REASONS} | outside
        if retry:
            self.watcher.retry_later(sorted(retry))
        self.on_batch(summary)

    def _close_ledger(self) -> None:
        """Close the batches' connection (call holding _ledger_lock); the next batch opens a new one."""
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None

    def start(self) -> None:
        self._stopped = False
        with self._probe_lock:
            if self._probe is None:  # started again after stop()
                self._probe = Ledger(self.ledger_path, any_thread=True)
        self.watcher.start()

    def stop(self) -> None:
        """Stop watching and close both ledger connections. Never waits for a batch beyond the
        watcher's own stop (it joins its thread): a batch still running closes its connection."""
        self._stopped = True
        self.watcher.stop()
        if self._ledger_lock.acquire(blocking=False):
            try:
                self._close_ledger()
            finally:
                self._ledger_lock.release()
        with self._probe_lock:
            if self._probe is not None:
                self._probe.close()
                self._probe = None
