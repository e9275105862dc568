"""A third new-user tryout: correcting photos in the review grid must keep the person's place,
and the preview pane must agree with the grid (offscreen)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import Qt

from photosorter.sorting.planner import Decision, Plan

CATS = ["food", "people", "pets"]


def _plan(n: int, seed: int = 0) -> Plan:
    """Scores made up (no files): every photo goes to food, some also elsewhere."""
    rng = np.random.default_rng(seed)
    th = {c: 0.5 for c in CATS}
    out = []
    for i in range(n):
        scores = {"food": 0.6 + 0.39 * float(rng.random()), "people": float(rng.random()) * 0.4,
                  "pets": float(rng.random())}
        cats = [c for c, v in scores.items() if v >= th[c]]
        out.append(Decision(Path(f"/nonexistent/roll/IMG_{i:05d}.jpg"), "copy", sha256=f"{i:064x}", categories=cats,
                            scores=scores))
    return Plan(out, {c: Path("/dest") / c for c in CATS}, th)


@pytest.fixture
def panel(qtbot):
    from photosorter.gui.sorting import SortPanel

    p = SortPanel()
    p.resize(900, 700)
    qtbot.addWidget(p)
    p.show()
    qtbot.waitExposed(p)
    return p


def _go_to(panel, qtbot, group: str, row: int):
    review, grid = panel.review, panel.grid
    review.select_group(group)
    grid.setFocus()
    grid.setCurrentIndex(grid.model().index(row))
    grid.scrollTo(grid.model().index(row))
    qtbot.wait(20)
    return review, grid


def test_n_in_the_grid_moves_on_to_the_next_photo_and_keeps_the_scroll_position(panel, qtbot):
    panel.set_plan(_plan(300), {}, sources=[])
    review, grid = _go_to(panel, qtbot, "food", 120)
    paths = review.paths()
    bar = grid.verticalScrollBar()
    scrolled = bar.value()
    assert scrolled > 0  # the 121st tile is far down the grid
    photo = grid.current_path()
    assert photo == paths[120]
    qtbot.keyClick(grid, Qt.Key.Key_N)  # "not food": the photo leaves this group
    assert review.table.row_of[photo] not in review.groups["food"]
    assert grid.current_path() == paths[121], "the selection jumped away from where the person was"
    assert review.current_group() == "food"
    assert abs(bar.value() - scrolled) <= grid.gridSize().height(), "the grid scrolled back to the top"
    assert grid.viewport().rect().intersects(grid.visualRect(grid.currentIndex()))
    # again, on the photo now selected: the person goes on down the group with N
    qtbot.keyClick(grid, Qt.Key.Key_N)
    assert grid.current_path() == paths[122]
    # the last photo of the group: the selection goes to the one before it
    last = len(review.paths()) - 1
    grid.setCurrentIndex(grid.model().index(last))
    before = review.paths()[last - 1]
    qtbot.keyClick(grid, Qt.Key.Key_N)
    assert grid.current_path() == before


def test_a_correction_that_keeps_the_photo_in_the_group_keeps_it_selected(panel, qtbot):
    panel.set_plan(_plan(300, seed=1), {}, sources=[])
    review, grid = _go_to(panel, qtbot, "food", 90)
    photo = grid.current_path()
    scrolled = grid.verticalScrollBar().value()
    qtbot.keyClick(grid, Qt.Key.Key_1)  # "only food": it stays in the food group
    assert panel.labels_of(photo) == ("food",)
    assert grid.current_path() == photo
    assert abs(grid.verticalScrollBar().value() - scrolled) <= grid.gridSize().height()
