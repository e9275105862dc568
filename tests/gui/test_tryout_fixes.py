"""Rough edges a second new-user tryout found, each driven the way the person met it (offscreen).

The preview showed the previous photo under the next photo's name while the next one loaded; the
Train tab's wrong examples read "0.00 missed" in the list and "1.00 ✓" in the pane; an unreadable
file's reason was cut at both ends on its review tile; at 200% the Train tab and the preview
scrolled sideways."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")
from PIL import Image
from PySide6.QtCore import Qt

from photosorter.library import Library
from photosorter.samples import make_photo


@pytest.fixture
def window(qtbot):
    from photosorter.gui.main_window import MainWindow

    lib = Library()
    lib.backbone = "tiny"
    w = MainWindow(lib, welcome=False)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.shutdown()


def _explained(path: str, colour, scores: dict[str, float]) -> tuple:
    """What Session.explain_photo(...).as_tuple() returns, for a one-colour photo."""
    return (path, Image.new("RGB", (120, 90), colour), scores, {c: 0.5 for c in scores}, {}, "", set(), [], {})


def _pixel(label) -> tuple[int, int, int] | None:
    pm = label.pixmap()
    if pm is None or pm.isNull():
        return None
    c = pm.toImage().pixelColor(pm.width() // 2, pm.height() // 2)
    return c.red(), c.green(), c.blue()


# ---------------------------------------------------------------- 1: no stale picture under a new name
def test_the_preview_never_shows_the_previous_photo_under_the_next_photos_name(window, qtbot, tmp_path):
    w = window
    w.library.add_category("red")
    paths = []
    for i in range(2):
        p = tmp_path / f"photo_{i}.jpg"
        make_photo(p, (), seed=i, size=(96, 72))
        paths.append(str(p))
    w.library.category("red").examples.extend(paths)
    w.categories.refresh(select="red")
    asked: list[tuple[str, object]] = []
    w.explain_job = lambda path, callback: asked.append((path, callback))  # answered by hand below
    grid = w.categories.thumbs
    grid.setFocus()
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=grid.visualItemRect(grid.item(0)).center())
    assert asked[-1][0] == paths[0]
    asked[-1][1](_explained(paths[0], (220, 20, 20), {"red": 0.9}))
    pane = w.preview
    assert _pixel(pane.image) is not None and _pixel(pane.image)[0] > 150  # the red photo is up
    qtbot.keyClick(grid, Qt.Key.Key_Right)  # the next example, while its explanation runs
    assert asked[-1][0] == paths[1]
    assert "photo_1.jpg" in pane.caption.text()
    assert _pixel(pane.image) is None, "the previous photo stayed up under the new photo's name"
    assert "Loading" in pane.image.text()
    pane.resize(pane.width() + 40, pane.height() + 30)  # a resize while loading must not bring it back
    qtbot.wait(10)
    assert _pixel(pane.image) is None
    asked[-1][1](_explained(paths[1], (20, 20, 220), {"red": 0.1}))
    assert _pixel(pane.image) is not None and _pixel(pane.image)[2] > 150  # now the blue one, with its own name


# ---------------------------------------------------------------- 2: held-out score vs the final model's
def test_a_wrong_example_opened_large_names_its_held_out_score_beside_the_final_models(window, qtbot, tmp_path):
    from test_train_tab import _trained_on

    w = window
    clf, wrong = _trained_on(tmp_path, w.library)
    w.library.save()
    w.categories.refresh()
    t = w.training
    t.show_result(clf)
    t.table.setCurrentCell(1, 0)  # the "dog" row: its mistakes
    grid = t.mistakes.grid
    assert wrong in grid.paths()
    held = grid.mistake_of(wrong)
    assert held is not None and held.category == "dog" and held.kind == "missed"
    tile = grid.item(grid.paths().index(wrong)).text()
    assert tile == f"{held.score:.2f} missed"
    assert "held out" in t.mistakes.heading.text()  # the list says whose scores it shows
    # the final model trained on this photo and is sure of it: what made the pane read "1.00 ✓"
    w.explain_job = lambda path, callback: callback(_explained(path, (90, 60, 30), {"cat": 0.02, "dog": 1.0}))
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton,
                     pos=grid.visualItemRect(grid.item(grid.paths().index(wrong))).center())
    pane = w.photo_dialog.pane
    note = pane.held_out_note
    assert note.isVisibleTo(pane)
    text = note.text()
    assert f"Held-out score for dog: {held.score:.2f}" in text and "missed" in text
    assert "final model, which trained on this photo, gives it 1.00" in text
    w.photo_dialog.reject()
    # the same photo opened from anywhere else (the categories panel) carries no held-out note
    w.open_large(wrong)
    assert not w.photo_dialog.pane.held_out_note.isVisibleTo(w.photo_dialog.pane)
    w.photo_dialog.reject()


# ---------------------------------------------------------------- 3: an unreadable file's reason, readable
def _red_bands(img, rect) -> tuple[list[int], int, int]:
    """Rows of ``rect`` in ``img`` with the tiles' red warning text, as bands of consecutive rows
    (one per line of text), and the leftmost and rightmost red pixel."""
    rows, xs = [], []
    for y in range(rect.top(), rect.bottom()):
        hit = [x for x in range(rect.left(), rect.right()) if (c := img.pixelColor(x, y)).red() > 150
               and c.green() < 110 and c.blue() < 110]
        if hit:
            rows.append(y)
            xs += hit
    bands = [y for k, y in enumerate(rows) if k == 0 or y != rows[k - 1] + 1]
    return bands, min(xs, default=-1), max(xs, default=-1)


def test_an_unreadable_files_reason_is_wrapped_on_its_tile_from_its_start(qtbot):
    from pathlib import Path

    from photosorter.gui.review import FAILED_GROUP
    from photosorter.gui.sorting import SortPanel
    from photosorter.sorting.planner import Decision, Plan

    reason = "The file is truncated: it ends before the image data does (an interrupted copy?)."
    plan = Plan([Decision(Path("/nonexistent/IMG_0001.jpg"), "failed", reason="truncated", message=reason),
                 Decision(Path("/nonexistent/IMG_0002.jpg"), "copy", sha256="0" * 64, categories=["ants"],
                          scores={"ants": 0.9, "bees": 0.1})],
                {c: Path("/dest") / c for c in ("ants", "bees")}, {"ants": 0.5, "bees": 0.5})
    panel = SortPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    panel.show()
    panel.set_plan(plan, {}, sources=[])
    review = panel.review
    groups = review.groups_list
    item = groups.item(review._keys.index(FAILED_GROUP))
    qtbot.mouseClick(groups.viewport(), Qt.MouseButton.LeftButton, pos=groups.visualItemRect(item).center())
    grid = review.grid
    assert review.paths() == ["/nonexistent/IMG_0001.jpg"]
    assert reason in grid.model().data(grid.model().index(0), Qt.ItemDataRole.ToolTipRole)  # all of it, on hover
    rect = grid.visualRect(grid.model().index(0))
    bands, left, right = _red_bands(grid.viewport().grab().toImage(), rect)
    assert len(bands) >= 3, f"the reason is on {len(bands)} line(s) of its tile"
    assert rect.left() < left and right < rect.right() - 1  # nothing cut at either side
    from photosorter.gui.review import wrap_lines

    lines = wrap_lines(grid.fontMetrics(), "⚠ " + reason, rect.width() - 12, 3)
    assert lines[0].startswith("⚠ The file is") and lines[-1].endswith("…")
    assert all(grid.fontMetrics().horizontalAdvance(t) <= rect.width() - 12 for t in lines)
