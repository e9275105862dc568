"""Jobs run on their own QThread with the three-argument contract ``job(progress, cancel, emit)``;
everything they report reaches the UI thread through the callbacks of start_job.

(JobWorker once declared jobs as two-argument callables while calling them with three; the type
is now :data:`photosorter.gui.workers.Job`, which mypy checks, and this test pins the contract.)"""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QObject

from photosorter.errors import InputError
from photosorter.gui.workers import running_jobs, start_job, stop_all_jobs


def test_job_gets_progress_cancel_and_emit_and_callbacks_run_on_the_ui_thread(qtbot):
    owner = QObject()
    ui_thread = threading.get_ident()
    seen: dict[str, list] = {"progress": [], "data": [], "done": [], "threads": []}

    def job(progress, cancel, emit):
        assert threading.get_ident() != ui_thread  # the job itself runs off the UI thread
        for i in range(3):
            cancel.raise_if_cancelled()
            progress(i + 1, 3, f"photo {i}")
            emit({"thumb": i})
        return "result"

    def record(key):
        return lambda *a: (seen[key].append(a), seen["threads"].append(threading.get_ident()))

    worker = start_job(owner, job, on_progress=record("progress"), on_data=record("data"), on_done=record("done"))
    qtbot.waitUntil(lambda: bool(seen["done"]), timeout=5000)
    assert seen["progress"] == [(1, 3, "photo 0"), (2, 3, "photo 1"), (3, 3, "photo 2")]
    assert seen["data"] == [({"thumb": 0},), ({"thumb": 1},), ({"thumb": 2},)]
    assert seen["done"] == [("result",)]
    assert set(seen["threads"]) == {ui_thread}
    qtbot.waitUntil(lambda: not worker.thread_alive and not running_jobs(owner), timeout=5000)


def test_errors_and_cancellation_reach_their_callbacks_and_stopping_waits(qtbot):
    owner = QObject()
    errors: list[str] = []
    start_job(owner, lambda progress, cancel, emit: (_ for _ in ()).throw(InputError("no photos in that folder")),
              on_error=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert errors == ["no photos in that folder"]

    started, cancelled = threading.Event(), []

    def endless(progress, cancel, emit):
        started.set()
        while True:
            cancel.raise_if_cancelled()
            threading.Event().wait(0.01)

    worker = start_job(owner, endless, on_cancel=lambda: cancelled.append(True))
    assert started.wait(5)
    assert worker.thread_alive
    stop_all_jobs(owner, wait_ms=5000)
    assert not worker.thread_alive
    qtbot.waitUntil(lambda: cancelled == [True], timeout=5000)


def test_a_job_whose_thread_was_deleted_is_not_listed_as_running(qtbot):
    """Regression (seen about once in 25 runs): the thread's deleteLater ran before the queued
    'forget this job' call, PySide6 dropped that call with its deleted sender, and the job stayed
    listed as running for ever (shutdown then waited on it)."""
    owner = QObject()
    done: list = []
    worker = start_job(owner, lambda progress, cancel, emit: "x", on_done=done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)
    from shiboken6 import isValid

    qtbot.waitUntil(lambda: not isValid(worker._thread), timeout=10_000)  # deleteLater has run
    owner._jobs.add(worker)  # as if the discard call had been dropped with its deleted sender
    assert running_jobs(owner) == []


_OUTLIVES = """
import threading, time
import photosorter.gui
from PySide6.QtWidgets import QApplication, QWidget
from shiboken6 import delete
from photosorter.gui.workers import start_job, stop_all_jobs

app = QApplication([])
window = QWidget()
tab = QWidget(window)  # the tabs start their own jobs
release = threading.Event()
start_job(tab, lambda progress, cancel, emit: release.wait(3))  # does not look at cancel for a while
time.sleep(0.2)
stop_all_jobs(window, wait_ms=200)
delete(window)  # destroys the tab with it
print("alive", flush=True)
release.set()
time.sleep(0.3)
"""


def test_closing_a_window_while_a_tab_job_still_runs_does_not_abort_the_app():
    """CI abort ("Fatal Python error: Aborted" while a test window opened): window shutdown
    stopped only the window's own jobs; a tab's job still running when the window was destroyed
    took its QThread with it, which Qt 6 turns into a process abort."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", _OUTLIVES], capture_output=True, text=True, timeout=120, cwd=root,
                          env=dict(os.environ, PYTHONPATH=str(root), QT_QPA_PLATFORM="offscreen"))
    assert proc.returncode == 0 and "alive" in proc.stdout, proc.stderr[-2000:]


_OWNER_DESTROYED = """
import threading, time
import photosorter.gui
from PySide6.QtWidgets import QApplication, QWidget
from shiboken6 import delete
from photosorter.gui.workers import start_job

app = QApplication([])
panel = QWidget()  # e.g. a categories panel destroyed on its own while its thumbnail job runs
release, saw_cancel, called = threading.Event(), threading.Event(), []

def job(progress, cancel, emit):
    release.wait(3)
    if cancel.cancelled:
        saw_cancel.set()
    return "x"

start_job(panel, job, on_done=called.append)
time.sleep(0.2)
delete(panel)  # no stop_all_jobs first
del panel
import gc; gc.collect()
print("alive", flush=True)
release.set()
for _ in range(50):
    app.processEvents()
    time.sleep(0.02)
print("cancelled" if saw_cancel.is_set() else "not cancelled", "called" if called else "not called", flush=True)
"""


def test_a_widget_destroyed_while_its_job_runs_does_not_abort_and_its_job_is_cancelled():
    """Known gap of the tenth session: a job's QThread was a child of the widget that started it,
    so destroying that widget alone (not through the window's shutdown) destroyed a running
    QThread, which Qt 6 turns into a process abort. Now the job outlives it, is told to cancel,
    and its callbacks (which would touch the deleted widget) are never called."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", _OWNER_DESTROYED], capture_output=True, text=True, timeout=120,
                          cwd=root, env=dict(os.environ, PYTHONPATH=str(root), QT_QPA_PLATFORM="offscreen"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "alive" in proc.stdout
    assert "cancelled not called" in proc.stdout, proc.stdout


_EXIT_WITH_JOB = """
import os, sys, threading, time
import photosorter.gui
from PySide6.QtWidgets import QApplication, QWidget
from photosorter.gui.workers import finish_before_exit, start_job, stop_all_jobs

app = QApplication([])
window = QWidget()
seconds = float(sys.argv[1])

def long_copy(progress, cancel, emit):
    time.sleep(seconds)  # one long file: cancel is looked at only between files
    print("job ended", flush=True)

start_job(window, long_copy)
time.sleep(0.2)
stop_all_jobs(window, wait_ms=100)  # the window's shutdown gives up waiting
if finish_before_exit(wait_s=float(sys.argv[2])):
    print("finished", flush=True)
else:
    print("left", flush=True)
    os._exit(0)  # as photosorter.gui.app does
"""


@pytest.mark.parametrize(("job_s", "wait_s", "said"), [(1.0, 10.0, "finished"), (30.0, 0.3, "left")])
def test_quitting_while_a_job_runs_waits_for_it_or_leaves_without_an_abort(job_s, wait_s, said):
    """Attack: quitting while a copy of a big file ran past the window's 5 s wait aborted the
    process ("QThread: Destroyed while thread is still running", exit 134). At exit the app now
    waits for cancelled jobs, and leaves without tearing down a thread that still runs."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", _EXIT_WITH_JOB, str(job_s), str(wait_s)], capture_output=True,
                          text=True, timeout=120, cwd=root,
                          env=dict(os.environ, PYTHONPATH=str(root), QT_QPA_PLATFORM="offscreen"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert said in proc.stdout.split() and "Destroyed while thread" not in proc.stderr
    assert ("job ended" in proc.stdout) == (said == "finished")
