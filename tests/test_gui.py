"""The real widgets, driven through a whole session (offscreen): categories, examples by drop,
training (to completion and cancelled), dry run, a threshold slider, apply, undo, watching."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from sorting_helpers import snapshot

from photosorter.library import Library
from photosorter.samples import make_labeled_folder, make_photo


def drop(widget, paths, pos):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    ev = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    widget.dropEvent(ev)


@pytest.fixture
def window(qtbot, tmp_path):
    from photosorter.gui.main_window import MainWindow

    lib = Library()
    lib.backbone = "tiny"
    w = MainWindow(lib, welcome=False)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.shutdown()


@pytest.mark.timeout(240)
def test_whole_session(window, qtbot, tmp_path):
    w = window
    data = make_labeled_folder(tmp_path / "ex", per_category=12, rel_size=0.6, none=6, seed=50)
    # 1. two categories, examples added by dropping folders onto them
    w.add_category("red_disc")
    w.add_category("blue_square")
    lst = w.categories.list
    for row, name in enumerate(["red_disc", "blue_square"]):
        drop(lst, [data / name], lst.visualItemRect(lst.item(row)).center())
    drop(lst, [data / "_none"], lst.visualItemRect(lst.item(2)).center())
    assert [len(c.examples) for c in w.library.categories] == [12, 12]
    assert len(w.library.none_examples) == 6
    assert "red_disc  (12)" in lst.item(0).text()
    saved = Library.load(w.library.path)
    assert len(saved.category("blue_square").examples) == 12
    # a byte-identical duplicate and an unreadable file are flagged on their thumbnails
    import shutil

    shutil.copy(data / "red_disc" / "red_disc_000.jpg", tmp_path / "dupe.jpg")
    (tmp_path / "broken.jpg").write_bytes(b"not a photo")
    drop(lst, [tmp_path / "dupe.jpg", tmp_path / "broken.jpg"], lst.visualItemRect(lst.item(0)).center())
    lst.setCurrentRow(0)
    qtbot.waitUntil(lambda: "duplicate" in w.categories.header.text(), timeout=20_000)
    texts = [w.categories.thumbs.item(i).text() for i in range(w.categories.thumbs.count())]
    qtbot.waitUntil(lambda: any(w.categories.thumbs.item(i).text().startswith("⚠")
                                for i in range(w.categories.thumbs.count())), timeout=20_000)
    assert any(t.startswith("⧉") for t in [w.categories.thumbs.item(i).text() for i in range(w.categories.thumbs.count())]), texts
    w.library.remove_example("red_disc", str(tmp_path / "broken.jpg"))
    # new examples are read in the background as soon as they are dropped, so Train has little left to do
    qtbot.waitUntil(lambda: w.ready and w._read_job is None, timeout=60_000)
    import os

    example = data / "blue_square" / "blue_square_000.jpg"
    assert w.embedder().cache.known_file(example, os.stat(example)) is not None

    # 2. train once, cancelled: no model appears
    qtbot.mouseClick(w.training.train_button, Qt.MouseButton.LeftButton)
    w.cancel_training()
    qtbot.waitUntil(lambda: w.training.train_button.isEnabled(), timeout=60_000)
    assert "cancelled" in w.training.stage.text().lower()
    assert not w.model_path.exists()

    # 3. train to completion: model saved, results table filled, curves drawn
    qtbot.mouseClick(w.training.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.training.train_button.isEnabled(), timeout=120_000)
    assert w.training.stage.text().startswith("Trained"), w.training.stage.text()
    assert w.model_path.exists()
    assert w.training.table.rowCount() == 2
    assert len(w.training.chart.train) > 0
    assert "continued" not in w.training.stage.text()
    # 3b. one more example, train again: it continues from the model just trained
    extra = make_labeled_folder(tmp_path / "extra", per_category=1, rel_size=0.6, seed=52)
    drop(lst, [extra / "red_disc"], lst.visualItemRect(lst.item(0)).center())
    qtbot.mouseClick(w.training.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.training.train_button.isEnabled(), timeout=120_000)
    assert "continued from the previous model" in w.training.stage.text(), w.training.stage.text()

    # 4. dry run of a folder: a preview, nothing written
    roll = make_labeled_folder(tmp_path / "roll", per_category=4, rel_size=0.6, none=2, seed=51)
    originals = snapshot(roll)
    w.preview_sort([str(roll)])
    qtbot.waitUntil(lambda: w.sorting.shown is not None, timeout=60_000)
    review = w.sorting.review
    assert len(review.groups["All photos"]) == 10  # the grid: grouped by destination
    assert sum(len(review.groups[g]) for g in ("red_disc", "blue_square", "No category", "Could not read")) >= 10
    dest_root = Path(w.library.category("red_disc").folder).parent
    assert snapshot(dest_root) == {}
    before = [(d.outcome, tuple(d.categories)) for d in w.sorting.shown.decisions]
    n_copy = w.sorting.shown.counts()["copy"]
    assert n_copy > 0

    # 5. a threshold slider changes the preview live
    slider = w.sorting.sliders["red_disc"]
    slider.setValue(99)
    after = [(d.outcome, tuple(d.categories)) for d in w.sorting.shown.decisions]
    assert after != before and w.sorting.shown.counts()["copy"] < n_copy
    qtbot.waitUntil(lambda: Library.load(w.library.path).threshold_overrides == {"red_disc": 0.99},
                    timeout=5000)  # the choice sticks (saved once the slider rests)
    slider.setValue(round(w.sorting.plan.thresholds["red_disc"] * 100))
    qtbot.waitUntil(lambda: Library.load(w.library.path).threshold_overrides == {}, timeout=5000)

    # 6. apply: the files are on disk exactly as previewed
    expected = sorted((c, d.sha256) for d in w.sorting.shown.decisions if d.outcome == "copy" for c in d.categories)
    qtbot.mouseClick(w.sorting.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.sorting.summary.text().startswith("<b>Done"), timeout=60_000)
    got = sorted((rel.split("/")[0], v[0]) for rel, v in snapshot(dest_root).items())
    assert got == expected
    assert w.sorting.history.rowCount() == 1
    assert snapshot(roll) == originals

    # 7. undo: the destination is empty again, copies are in the trash
    from conftest import trashed_files

    in_trash = len(trashed_files())
    w.undo(None)
    qtbot.waitUntil(lambda: "Undid run" in w.sorting.summary.text(), timeout=30_000)
    assert snapshot(dest_root) == {}
    assert len(trashed_files()) - in_trash == len(expected)

    # 8. watching on and off
    dcim = tmp_path / "DCIM"
    dcim.mkdir()
    w.add_watched(str(dcim))
    w.watch_switch.setChecked(True)
    qtbot.waitUntil(lambda: w.watch_service is not None, timeout=30_000)
    make_photo(dcim / "new_red.jpg", ("red_disc",), 777, rel_size=0.6)
    qtbot.waitUntil(lambda: "Sorted" in w.watch_status.text(), timeout=30_000)
    assert w.sorting.history.rowCount() == 2  # the sort run and the watch batch
    assert "new_red.jpg" in {Path(rel).name for rel in snapshot(dest_root)}
    w.watch_switch.setChecked(False)
    assert w.watch_service is None and w.watch_status.text() == "Not watching."


def test_preview_pane_shows_scores_and_gradcam(window, qtbot, tmp_path):
    w = window
    data = make_labeled_folder(tmp_path / "ex", per_category=8, rel_size=0.6, seed=60)
    w.import_folder(str(data))
    assert [c.name for c in w.library.categories] == ["blue_square", "red_disc"]
    w.train()
    qtbot.waitUntil(lambda: w.model_path.exists() and w.training.train_button.isEnabled(), timeout=120_000)
    photo = str(next((data / "red_disc").glob("*.jpg")))
    w.preview.show_photo(photo)
    qtbot.waitUntil(lambda: bool(w.preview.scores), timeout=30_000)
    # a heatmap for each category the photo scores for; none (and a note) where it scores ~0
    from photosorter.session import MIN_SCORE_FOR_HEATMAP

    assert set(w.preview.maps) == {c for c, s in w.preview.scores.items() if s >= MIN_SCORE_FOR_HEATMAP}
    assert "red_disc" in w.preview.maps
    assert [w.preview.cam_category.itemText(i) for i in range(w.preview.cam_category.count())] == list(w.preview.scores)
    assert len(w.preview.bars.rows) == 2
    assert w.preview.image.pixmap() is not None and not w.preview.image.pixmap().isNull()
    w.preview.opacity.setValue(90)  # redraw with another opacity: must not fail
    note = w.preview.cam_note  # nothing flagged on a clear red disc (a "nothing found" note may show)
    assert not (note.isVisibleTo(w.preview) and "Look twice" in note.text()), note.text()
    # a flagged explanation carries a visible "look twice" note for that category only
    p = w.preview
    p._loaded((p.path, p.photo, p.scores, p.thresholds, p.maps, "", {"red_disc"}))
    p.cam_category.setCurrentText("red_disc")
    assert p.cam_note.isVisibleTo(p) and "red_disc" in p.cam_note.text()
    p.cam_category.setCurrentText("blue_square")
    assert "Look twice" not in p.cam_note.text() or not p.cam_note.isVisibleTo(p)
    if "blue_square" not in p.maps:  # scores ~0: no bright heatmap, a note says why
        assert p.cam_note.isVisibleTo(p) and "no heatmap" in p.cam_note.text()
    # a correction adds the photo as an example and starts a quick retrain (no question asked)
    w.correct(photo, None)
    assert photo in w.library.none_examples
