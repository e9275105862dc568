"""The interpreter must survive many PySide6 calls that return None/True (PySide6 6.12.0 on
Python 3.11 took a reference from None with each one and aborted the app: none_dealloc)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import sys
import photosorter.gui  # applies binding_fix where the installed binding needs it
from PySide6.QtCore import QObject, QPoint, Signal

class Probe(QObject):
    signal = Signal()

pt, probe = QPoint(), Probe()
for _ in range(300_000):  # more than None's and True's references at start-up
    pt.setX(1)
    probe.signal.emit()
print("alive")
"""


def test_a_long_session_of_binding_calls_does_not_abort_the_interpreter():
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen"))
    assert proc.returncode == 0 and "alive" in proc.stdout, proc.stderr[-2000:]
