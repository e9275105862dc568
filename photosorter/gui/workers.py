"""Run core jobs on a QThread and turn their progress callback into Qt signals.

A job is a plain callable ``job(progress, cancel, emit) -> result`` (:data:`Job`) wrapping the Qt-free core;
``emit(obj)`` streams intermediate data (thumbnails, curve points) to the UI thread. The worker
lives on its own thread; signals cross back to the UI thread queued, so the UI never blocks.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from ..errors import CancelledError, PhotosorterError
from ..jobs import CancelToken, ProgressFn

log = logging.getLogger(__name__)

#: ``job(progress, cancel, emit) -> result``; ``emit(obj)`` sends intermediate data to the UI thread.
Job = Callable[[ProgressFn, CancelToken, Callable[[Any], None]], Any]


class JobWorker(QObject):
    progress = Signal(int, int, str)
    data = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, job: Job) -> None:
        super().__init__()
        self.job = job
        self.cancel_token = CancelToken()
        # set by start_job; kept here so they live as long as the worker runs
        self._thread: QThread | None = None
        self._relay: QObject | None = None

    @property
    def thread_alive(self) -> bool:
        """Whether this job's QThread still exists and runs (a finished one is deleted later,
        and touching a deleted QThread crashes)."""
        from shiboken6 import isValid

        return self._thread is not None and isValid(self._thread) and self._thread.isRunning()

    @property
    def thread_ended(self) -> bool:
        """Whether this job's thread ran and is over (finished, or already deleted)."""
        from shiboken6 import isValid

        return self._thread is not None and (not isValid(self._thread) or self._thread.isFinished())

    def stop(self, wait_ms: int = 5000) -> None:
        """Ask the job to cancel and wait up to ``wait_ms`` for its thread to end."""
        self.cancel()
        if self.thread_alive:
            assert self._thread is not None
            self._thread.quit()
            self._thread.wait(wait_ms)

    @Slot()
    def run(self) -> None:
        try:
            result = self.job(self._progress, self.cancel_token, self.data.emit)
        except CancelledError:
            self.cancelled.emit()
        except PhotosorterError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # a bug: show it, log it, never crash the window
            log.error("job failed:\n%s", traceback.format_exc())
            self.failed.emit(f"Something went wrong: {type(exc).__name__}: {exc}\n\nDetails are in the log file.")
        else:
            self.succeeded.emit(result)
        finally:
            self.finished.emit()

    def _progress(self, done: int, total: int, message: str) -> None:
        self.progress.emit(int(done), int(total), str(message))

    def cancel(self) -> None:
        self.cancel_token.cancel()


class _Relay(QObject):
    """Lives in the UI thread; worker signals connected to its slots are queued, so callbacks
    (often lambdas, which PySide6 would otherwise call in the worker thread) run on the UI thread."""

    def __init__(self, parent: QObject, callbacks: dict) -> None:
        super().__init__(parent)
        self.callbacks = callbacks

    @Slot(int, int, str)
    def progress(self, done, total, message):
        self._call("progress", done, total, message)

    @Slot(object)
    def data(self, obj):
        self._call("data", obj)

    @Slot(object)
    def succeeded(self, result):
        self._call("done", result)

    @Slot(str)
    def failed(self, message):
        self._call("error", message)

    @Slot()
    def cancelled(self):
        self._call("cancel")

    def _call(self, key, *args):
        fn = self.callbacks.get(key)
        if fn is not None:
            fn(*args)


def running_jobs(owner: QObject) -> list[JobWorker]:
    """The jobs started for ``owner`` whose threads have not finished yet.

    Workers whose thread has ended are dropped here too: the ``thread.finished`` → discard call
    is queued, and when the thread's deleteLater runs first PySide6 drops that call with its
    sender, leaving a finished worker listed (about one run in 25 of tests/gui)."""
    jobs: set[JobWorker] = getattr(owner, "_jobs", set())
    for worker in [w for w in jobs if w.thread_ended]:
        jobs.discard(worker)
    return list(jobs)


#: QThreads of jobs that outlived their window's shutdown (see stop_all_jobs). Qt 6 aborts the
#: process when a running QThread is destroyed, which its parent's destruction would do.
_DETACHED: list[QThread] = []

#: Every job whose thread has not ended, whoever started it. A job must outlive the widget that
#: started it: a tab or panel can be destroyed on its own (a dialog closed, a test's panel) while
#: its job still reads photos, and its Python wrapper — with the set that held the worker — may go
#: with it. The worker (Python-owned, running on its thread) is kept here instead.
_LIVE: set[JobWorker] = set()


def stop_all_jobs(root: QObject, wait_ms: int = 5000) -> None:
    """Window shutdown: cancel the jobs of ``root`` *and of every widget inside it* (the tabs
    start their own), wait for them, and detach any thread still running from its parent so that
    destroying the window does not destroy a running QThread ("QThread: Destroyed while thread is
    still running" is fatal in Qt 6: the test suite aborted that way on a loaded machine)."""
    workers = [w for o in (root, *root.findChildren(QObject)) for w in running_jobs(o)]
    _stop(workers, wait_ms / 1000)
    for worker in workers:
        if worker.thread_alive:
            assert worker._thread is not None
            worker._thread.setParent(None)
            _DETACHED.append(worker._thread)  # kept alive until the process ends; the job sees its cancel


def finish_before_exit(wait_s: float = 60.0) -> bool:
    """Process exit: every job still running is told to cancel and given ``wait_s`` to end.
    False if one still runs — the caller must then leave with ``os._exit``: tearing down Python
    and Qt destroys the running QThread, which Qt 6 turns into an abort (an attack quit the app
    during a long copy: "QThread: Destroyed while thread is still running", exit 134). Leaving
    without teardown is a kill, which the journal is built for: the next start recovers."""
    workers = list(_LIVE)  # (a thread stop_all_jobs detached is still its worker's: listed here)
    _stop(workers, wait_s)
    return not any(w.thread_alive for w in workers)


def _stop(workers: list[JobWorker], wait_s: float) -> None:
    """Cancel ``workers`` all at once (they wind down in parallel), then wait up to ``wait_s`` in all."""
    for worker in workers:
        worker.cancel()
    deadline = time.monotonic() + wait_s
    for worker in workers:
        worker.stop(max(0, int((deadline - time.monotonic()) * 1000)))


def start_job(owner: QObject, job: Job, *, on_done=None, on_error=None, on_progress=None, on_cancel=None,
              on_data=None) -> JobWorker:
    """Start ``job`` on a new thread for ``owner``; callbacks run on the UI thread while ``owner``
    exists.

    The thread belongs to the application, not to ``owner``: destroying a running QThread aborts
    the process in Qt 6, and ``owner`` can be destroyed before its job ends (it is then cancelled,
    and its callbacks, which live in a relay owned by ``owner``, are never called)."""
    app = QCoreApplication.instance()
    thread = QThread(app if app is not None else owner)
    worker = JobWorker(job)
    worker.moveToThread(thread)
    relay = _Relay(owner, {"progress": on_progress, "data": on_data, "done": on_done, "error": on_error,
                           "cancel": on_cancel})
    worker.progress.connect(relay.progress)
    worker.data.connect(relay.data)
    worker.succeeded.connect(relay.succeeded)
    worker.failed.connect(relay.failed)
    worker.cancelled.connect(relay.cancelled)
    thread.started.connect(worker.run)
    worker.finished.connect(thread.quit)
    thread.finished.connect(thread.deleteLater)
    thread.finished.connect(relay.deleteLater)
    worker._thread, worker._relay = thread, relay  # keep them alive while running
    jobs: set[JobWorker] | None = getattr(owner, "_jobs", None)
    if jobs is None:  # the owner's running jobs: keeps each worker alive until its thread ends
        jobs = set()
        setattr(owner, "_jobs", jobs)  # noqa: B010  (QObject subclasses declare no such attribute)
    running_jobs(owner)  # forget the ones that ended
    jobs.add(worker)
    _LIVE.add(worker)

    def forget() -> None:
        jobs.discard(worker)
        _LIVE.discard(worker)

    thread.finished.connect(forget)
    relay.destroyed.connect(worker.cancel_token.cancel)  # its owner is gone: nobody waits for the result
    thread.start()
    return worker
