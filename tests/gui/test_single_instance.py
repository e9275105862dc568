"""One app per library: a second start shows the first one's window instead of opening a second
window on the same library (tryout: two windows saved over each other's changes — a category
made in one vanished when the other removed an example)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

_HOLDER = """
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from photosorter.gui.single_instance import SingleInstance

app = QApplication([])
me = SingleInstance(sys.argv[1])
print("holder acquired", me.acquire(), flush=True)
me.listen(lambda: print("asked to show", flush=True))
QTimer.singleShot(int(float(sys.argv[2]) * 1000), app.quit)
app.exec()
"""

_SECOND = """
import sys
from PySide6.QtWidgets import QApplication
from photosorter.gui.single_instance import SingleInstance

app = QApplication([])
me = SingleInstance(sys.argv[1])
got = me.acquire()
print("second acquired", got, "asked", (not got) and me.ask_to_show(), flush=True)
"""


def _env(root: Path) -> dict:
    return dict(os.environ, PYTHONPATH=str(root), QT_QPA_PLATFORM="offscreen")


ROOT = Path(__file__).resolve().parents[2]


def _holder(config: Path) -> subprocess.Popen:
    """A running app's part: holds ``config``'s library for 6 s, listening once this returns."""
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(config), "6"], stdout=subprocess.PIPE, text=True,
                              cwd=ROOT, env=_env(ROOT))
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "holder acquired True"
    time.sleep(0.5)  # listening
    return holder


def _second(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _SECOND, str(config)], capture_output=True, text=True, timeout=60,
                          cwd=ROOT, env=_env(ROOT))


def test_a_second_start_on_the_same_library_asks_the_first_to_show_itself(tmp_path):
    config = tmp_path / "config"
    holder = _holder(config)
    try:
        second = _second(config)
        assert "second acquired False asked True" in second.stdout, second.stderr[-2000:]
        assert (config / "instance.sock").exists()  # in the config folder, not a shared /tmp name (attack)
        other = _second(tmp_path / "another-library")
        assert "second acquired True" in other.stdout  # another library is another app
        out, _ = holder.communicate(timeout=60)
        assert "asked to show" in out
    finally:
        holder.kill()
    # the holder is gone (its lock went with it): the next start holds the library
    again = _second(config)
    assert "second acquired True" in again.stdout, again.stderr[-2000:]


def test_a_folder_or_a_link_in_place_of_the_lock_does_not_stop_the_app_from_starting(tmp_path, qtbot):
    """Attack: instance.lock as a folder made the app fail to start ("something went wrong"); as a
    dangling symbolic link, starting created its target outside the config folder."""
    from photosorter.gui.single_instance import SingleInstance

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "instance.lock").mkdir()
    assert SingleInstance(tmp_path / "a").acquire()  # starts (without the guard), and says so in the log
    (tmp_path / "b").mkdir()
    target = tmp_path / "outside" / "created"
    (tmp_path / "b" / "instance.lock").symlink_to(target)
    assert SingleInstance(tmp_path / "b").acquire()
    assert not target.exists()


def test_deleting_the_lock_file_while_the_app_runs_does_not_let_a_second_window_open(tmp_path):
    """Attack: ``rm instance.lock`` while the app ran, then a second start got a lock on a fresh
    file and opened a second window on the library. The running app still answers on its socket."""
    config = tmp_path / "config"
    holder = _holder(config)
    try:
        (config / "instance.lock").unlink()
        second = _second(config)
        assert "second acquired False" in second.stdout, second.stdout + second.stderr[-2000:]
        out, _ = holder.communicate(timeout=60)
        assert "asked to show" in out
    finally:
        holder.kill()
