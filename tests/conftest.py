"""Every test runs with PHOTOSORTER_HOME in a temp folder: never the user's real settings."""

from __future__ import annotations

import os

# GUI tests always run offscreen, whatever display the developer's shell has; the Qt application
# is created once per session, before any per-test fixture runs, so this must happen at import.
os.environ["QT_QPA_PLATFORM"] = "offscreen"
# send2trash reads XDG_DATA_HOME once, when imported: give the whole session one private trash,
# so tests never touch the user's real one.
import tempfile

TEST_XDG_DATA_HOME = tempfile.mkdtemp(prefix="photosorter-test-xdg-")
os.environ["XDG_DATA_HOME"] = TEST_XDG_DATA_HOME

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("PHOTOSORTER_HOME", str(home))
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    return home


@pytest.fixture(scope="module")
def scorer(tmp_path_factory):
    """A tiny model trained on two generated categories (sorting_helpers.trained_scorer), once per
    test module: the sorting, watcher, hardening, media and CLI tests score through it."""
    from sorting_helpers import trained_scorer

    return trained_scorer(tmp_path_factory.mktemp("model"))


@pytest.fixture
def env(request, tmp_path, scorer):
    """(roll, dest, ledger, dests) for sorting tests: a generated camera roll, the sorted root, a
    fresh ledger and the category folders. A test module may set ``ROLL = {"per_category": 3,
    "none": 1}`` for a different roll (default: 4 photos per category and 3 of neither)."""
    from photosorter.samples import make_labeled_folder
    from photosorter.sorting.ledger import Ledger
    from photosorter.sorting.paths import category_folder

    roll_opts = {"per_category": 4, "none": 3, **getattr(request.module, "ROLL", {})}
    roll = make_labeled_folder(tmp_path / "roll", rel_size=0.6, seed=22, **roll_opts)
    dest = tmp_path / "Sorted"
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    dests = {c: category_folder(dest, c) for c in scorer.classifier.categories}
    return roll, dest, ledger, dests


def jpeg_bytes(size=(64, 48), color=None, seed=0, **save) -> bytes:
    rng = np.random.default_rng(seed)
    if color is None:
        arr = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        img = Image.fromarray(arr)
    else:
        img = Image.new("RGB", size, color)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, **save)
    return buf.getvalue()


@pytest.fixture
def write(tmp_path):
    """write("a/b.jpg", bytes) → path; builds small file trees in one line."""

    def _write(rel: str, data: bytes) -> Path:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        return p

    return _write


def shown_sort_panel(qtbot, width: int, height: int):
    """A Sort tab panel on its own, shown at this size (the review grid's tests)."""
    from photosorter.gui.sorting import SortPanel

    panel = SortPanel()
    panel.resize(width, height)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def trashed_files() -> list[Path]:
    """Files in the session's private trash (send2trash's freedesktop layout)."""
    return sorted((Path(TEST_XDG_DATA_HOME) / "Trash" / "files").glob("*"))


def window_with_categories(qtbot, names: list[str]):
    """A main window (not shown) on a library with these categories and the tiny backbone, no
    model, no welcome."""
    from photosorter.gui.main_window import MainWindow
    from photosorter.library import Library

    lib = Library()
    lib.backbone = "tiny"
    for name in names:
        lib.add_category(name)
    w = MainWindow(lib, welcome=False)
    qtbot.addWidget(w)
    return w


@pytest.fixture
def window(qtbot):
    """A main window on an empty library with the tiny backbone, no welcome (the Train-tab-level
    GUI tests; modules with a trained window define their own)."""
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
