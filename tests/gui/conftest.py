"""The Train-tab-level GUI tests' window: an empty library on the tiny backbone, no welcome."""

from __future__ import annotations

import pytest


@pytest.fixture
def window(qtbot):
    pytest.importorskip("pytestqt")
    from photosorter.gui.main_window import MainWindow
    from photosorter.library import Library

    lib = Library()
    lib.backbone = "tiny"
    w = MainWindow(lib, welcome=False)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.shutdown()
