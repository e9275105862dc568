"""Watch camera-roll folders and hand over photos once they are complete.

Events are hints, not truth: inotify drops events under bursts (30,000 files in 3 s lose more
than half) and says nothing about files that arrived while we were not running. So:

* a **catch-up scan** at start and a **periodic rescan** find every photo, events or not;
* native events (created *and* moved-in files) only make us look sooner;
* a file is handed over only when it is **stable** — size and mtime unchanged for
  ``stable_seconds`` — and it **decodes**, so half-written files are never read;
* temp names (``.pending-*``, ``*.part``, ``*.tmp``, ``.syncthing.*``, ``._*``, hidden files)
  are ignored; duplicate events collapse into one pending entry (debouncing);
* a watched folder that disappears (SD card pulled) is noticed; when it comes back the
  observer is re-armed and the folder rescanned;
* if native watching cannot start, polling takes over and ``on_warning`` says so;
* a watched folder is kept at the **real location it had when first seen** (``realpath``): if it
  is later replaced by a symbolic link (or a folder above it is), it resolves elsewhere — it is
  then no longer watched, ``on_warning`` says why, and nothing found through the link is handed
  over (:meth:`FolderWatcher.owns` lets the caller re-check its plan). A card unmounted and
  mounted again at the same place keeps being watched.

* photos the caller could not sort for a passing reason (``retry_later``) are handed over
  again after ``retry_seconds``, doubling up to an hour, while the watcher runs;
* an unexpected error anywhere in the loop is logged *and* reported through ``on_warning``,
  and the loop goes on: the watcher never dies silently.

Folders are listed by the one walker (:mod:`photosorter.sorting.walk`), iteratively.

``is_known(path, size, mtime_ns)`` lets the caller skip files it already handled (the ledger),
so rescans of a big camera roll cost a ``stat`` per file, not a read.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import errors, imaging, media
from ..media.walk import is_temp_name, walk_photos

if TYPE_CHECKING:
    from watchdog.observers.api import BaseObserver

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    size: int
    mtime_ns: int
    since: float  # when (size, mtime) last changed
    first: float


def _is_candidate(path: Path) -> bool:
    return media.looks_like_media(path) and not is_temp_name(path.name)  # kinds are filtered by plan_sort


class FolderWatcher:
    def __init__(
        self,
        folders: list[Path],
        on_ready: Callable[[list[Path]], None],
        *,
        is_known: Callable[[Path, int, int], bool] | None = None,
        on_warning: Callable[[str], None] | None = None,
        stable_seconds: float = 2.0,
        rescan_seconds: float = 60.0,
        tick_seconds: float = 0.25,
        give_up_seconds: float = 600.0,
        force_polling: bool = False,
        retry_seconds: float = 30.0,
        observer_factory: Callable[[], object] | None = None,
    ) -> None:
        self.folders = [Path(f) for f in folders]
        self.on_ready = on_ready
        self.is_known = is_known or (lambda p, s, m: False)
        self.on_warning = on_warning or (lambda msg: log.warning(msg))
        self.stable_seconds = stable_seconds
        self.rescan_seconds = rescan_seconds
        self.tick_seconds = tick_seconds
        self.give_up_seconds = give_up_seconds
        self.force_polling = force_polling
        self.observer_factory = observer_factory
        self.retry_seconds = retry_seconds
        self._retry: dict[Path, tuple[float, int]] = {}  # path → (due, attempts so far)
        self._pending: dict[Path, _Pending] = {}
        self._handed: dict[Path, tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._thread: threading.Thread | None = None
        self._observer: BaseObserver | None = None
        self._armed: set[Path] = set()
        self.polling = False
        self.available: dict[Path, bool] = {}
        self._real: dict[Path, str] = {}  # folder → its real location when first seen
        #: folders no longer watched because they now lead elsewhere (folder → why, as reported)
        self.refused: dict[Path, str] = {}
        self._where_lock = threading.RLock()  # the loop, the observer and callers all check folders

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._stop.clear()
        self._arm_observer()
        self._rescan()  # catch-up: whatever arrived while we were not running
        self._thread = threading.Thread(target=self._loop, name="photosorter-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._disarm_observer()

    def pause(self) -> None:
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def retry_later(self, paths: list[Path]) -> None:
        """Hand these photos over again later (backoff: retry_seconds, doubling, at most 1 h)."""
        now = time.monotonic()
        with self._lock:
            for p in paths:
                attempts = self._retry.get(p, (0.0, 0))[1]
                self._retry[p] = (now + min(3600.0, self.retry_seconds * 2**attempts), attempts + 1)

    def _due_retries(self, now: float) -> None:
        with self._lock:
            due = [p for p, (when, _n) in self._retry.items() if when <= now]
            for p in due:
                self._handed.pop(p, None)
        for p in due:
            self._hint(p)
            with self._lock:
                if p not in self._pending:  # gone, or sorted meanwhile
                    self._retry.pop(p, None)

    @property
    def pending_count(self) -> int:
        with self._lock:
            return len(self._pending)

    # ------------------------------------------------------------ where the folders really are
    def _usable(self, folder: Path) -> bool:
        """Present, and still at the real location it had when first seen (else refused, once, said why)."""
        with self._where_lock:
            if folder in self.refused or not os.path.isdir(folder):
                return False
            real = os.path.realpath(folder)
            first = self._real.setdefault(folder, real)
            if real == first:
                return True
            return self._refuse(folder, real, first)

    def _refuse(self, folder: Path, real: str, first: str) -> bool:
        why = (f"The watched folder {folder} now leads to {real} (it was {first}): it, or a folder above it, "
               "was replaced by a symbolic link. photosorter does not follow it and stops watching this folder; "
               "nothing from there is sorted. If this change is yours, start watching the folder again (in the app: "
               "add it again on the Watch tab, or turn watching off and on; on the command line: restart "
               "photosorter watch).")
        self.refused[folder] = why
        self.available[folder] = False
        with self._lock:  # photos seen there before are no longer ours to hand over
            for p in [p for p in self._pending if Path(p).is_relative_to(first)]:
                self._pending.pop(p, None)
        self.on_warning(why)
        return False

    def owns(self, path: str | Path, recheck: bool = True) -> bool:
        """Whether ``path`` lies in a watched folder's real location, that folder still being there
        (re-checked now unless ``recheck`` is False: events and rescans between two checks): what
        the caller may sort. Never true through a swapped-in link."""
        path = Path(path)
        return any(path.is_relative_to(self._real[f]) and (self._usable(f) if recheck else f not in self.refused)
                   for f in self.folders if f in self._real)

    # ------------------------------------------------------------ observer
    def _make_observer(self):
        if self.observer_factory is not None:
            return self.observer_factory()
        from watchdog.observers import Observer

        return Observer()

    def _arm_observer(self) -> None:
        from watchdog.events import FileSystemEventHandler

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_created(self, event):
                if not event.is_directory:
                    watcher._hint(Path(event.src_path))

            def on_modified(self, event):
                if not event.is_directory:
                    watcher._hint(Path(event.src_path))

            def on_moved(self, event):
                if not event.is_directory:
                    watcher._hint(Path(event.dest_path))
                else:  # a folder moved in: look inside on the next tick
                    watcher._rescan_soon = True

            def on_deleted(self, event):
                if event.is_directory and event.src_path in watcher._real.values():
                    watcher._rescan_soon = True

        self._disarm_observer()
        existing = [f for f in self.folders if self._usable(f)]
        if not self.force_polling and not self.polling:
            try:
                obs = self._make_observer()
                for f in existing:
                    obs.schedule(Handler(), self._real[f], recursive=True)
                obs.start()
                self._observer, self._armed = obs, set(existing)
                return
            except Exception as exc:  # inotify limits, unsupported filesystems, ...
                self.on_warning(
                    f"Live watching is not available here ({exc}); checking the folders every "
                    f"{self.rescan_seconds:.0f} s instead. New photos may take a little longer to be sorted."
                )
        from watchdog.observers.polling import PollingObserver

        self.polling = True
        obs = PollingObserver(timeout=max(1.0, self.rescan_seconds / 4))
        for f in existing:
            obs.schedule(Handler(), self._real[f], recursive=True)
        obs.start()
        self._observer, self._armed = obs, set(existing)

    def _disarm_observer(self) -> None:
        if self._observer is not None:
            try:
                self._observer.stop()
                self._observer.join(timeout=10)
            except Exception:
                pass
            self._observer = None
            self._armed = set()

    _rescan_soon = False

    # ------------------------------------------------------------ bookkeeping
    def _hint(self, path: Path) -> None:
        if not _is_candidate(path) or not self.owns(path, recheck=False):  # checked again when ready
            return
        try:
            st = os.stat(path, follow_symlinks=False)
        except OSError:
            return
        if not os.path.isfile(path) or os.path.islink(path):
            return
        now = time.monotonic()
        with self._lock:
            if self._handed.get(path) == (st.st_size, st.st_mtime_ns):
                return
            p = self._pending.get(path)
            if p is None:
                if self.is_known(path, st.st_size, st.st_mtime_ns):
                    return
                self._pending[path] = _Pending(st.st_size, st.st_mtime_ns, now, now)
            elif (p.size, p.mtime_ns) != (st.st_size, st.st_mtime_ns):
                p.size, p.mtime_ns, p.since = st.st_size, st.st_mtime_ns, now

    def _rescan(self) -> None:
        for folder in self.folders:
            if folder in self.refused:
                continue
            present = self._usable(folder)
            if folder in self.refused:
                continue
            if self.available.get(folder, True) and not present:
                self.on_warning(f"The watched folder {folder} is not available (card removed?). "
                                "Sorting resumes when it comes back.")
            self.available[folder] = present
            if not present:
                continue
            for found in walk_photos([self._real[folder]]):
                if found.problem is None:
                    self._hint(found.path)
        if {f for f in self.folders if self._usable(f)} != self._armed:
            self._arm_observer()  # a folder came back (or went): watch what exists now

    def _loop(self) -> None:
        self._last_scan = time.monotonic()
        while not self._stop.wait(self.tick_seconds):
            try:
                self._tick()
            except Exception as exc:  # never die silently: say so, keep watching
                log.exception("the folder watcher hit an unexpected error")
                try:
                    self.on_warning(f"Background sorting hit an unexpected error ({exc}); it keeps watching. "
                                    "Details are in the log.")
                except Exception:
                    log.exception("reporting a watcher error failed")

    def _tick(self) -> None:
        now = time.monotonic()
        if self._rescan_soon or now - self._last_scan >= self.rescan_seconds or any(
            self._usable(f) != self.available.get(f, True) for f in self.folders if f not in self.refused
        ):
            self._rescan_soon = False
            self._last_scan = now
            self._rescan()
        if self._paused.is_set():
            return
        self._due_retries(now)
        ready = self._collect_ready(now)
        if ready:
            try:
                self.on_ready(ready)
            except Exception:
                with self._lock:  # not sorted: look at them again later
                    for p in ready:
                        self._handed.pop(p, None)
                self.retry_later(ready)
                raise

    def _collect_ready(self, now: float) -> list[Path]:
        with self._lock:
            items = list(self._pending.items())
        ready = []
        for path, p in items:
            try:
                st = os.stat(path)
            except OSError:
                with self._lock:
                    self._pending.pop(path, None)  # vanished (or renamed: the new name gets its own event)
                continue
            if (st.st_size, st.st_mtime_ns) != (p.size, p.mtime_ns):
                with self._lock:
                    p.size, p.mtime_ns, p.since = st.st_size, st.st_mtime_ns, now
                continue
            if now - p.since < self.stable_seconds:
                continue
            if not self._decodes(path) and now - p.first < self.give_up_seconds:
                with self._lock:
                    p.since = now  # looks unfinished: wait another window
                continue
            owned = self.owns(path)  # False: its folder was swapped for a link meanwhile
            with self._lock:
                self._pending.pop(path, None)
                if not owned:
                    continue
                self._handed[path] = (st.st_size, st.st_mtime_ns)
            ready.append(path)
        return sorted(ready)

    @staticmethod
    def _decodes(path: Path) -> bool:
        try:
            if media.kind_of(path) != "stills":
                return True  # videos and RAWs: size/mtime stability; the copy checks the scored hash
            imaging.decode(imaging.read_file_bytes(path), min_side=64, path=path)
            return True
        except (errors.EmptyFileError, errors.TruncatedImageError, errors.UnreadableFileError):
            return False  # maybe still being written
        except errors.BadImageError:
            return True  # complete but bad: let the sorter record why
