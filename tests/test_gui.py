"""The real widgets (offscreen), one test per tab: categories and examples by drop, training (to
completion, cancelled, continued), the sort preview with a threshold slider, apply and undo,
watching, and the preview pane. Tests wait on signals — every background job the window starts
reports its end through ``jobs.ended`` — not on label text."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import QMimeData, QObject, QPointF, Qt, QUrl, Signal
from PySide6.QtGui import QDropEvent
from sorting_helpers import snapshot

from photosorter.config import app_paths
from photosorter.library import Library
from photosorter.samples import make_labeled_folder, make_photo

CATS = ("red_disc", "blue_square")


def drop(widget, paths, pos):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    ev = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    widget.dropEvent(ev)


def drop_on_row(lst, paths, row: int) -> None:
    drop(lst, paths, lst.visualItemRect(lst.item(row)).center())


class JobsEnded(QObject):
    """``ended(job, outcome)``: a background job of the window ended, after its own callback ran.
    ``job`` names the method that started it (``train``, ``preview_sort``, ``apply_sort``,
    ``undo``, ``warm_up``, ``explain_job``, …); ``outcome`` is done, error or cancel."""

    ended = Signal(str, str)


def _job_name(job) -> str:
    qualname = getattr(job, "__qualname__", "")
    return qualname.split(".<locals>")[0].rsplit(".", 1)[-1]


@pytest.fixture
def jobs(monkeypatch):
    """Every job started through gui.workers.start_job reports its end on ``jobs.ended``."""
    import importlib
    import pkgutil

    import photosorter.gui
    from photosorter.gui import workers

    signals = JobsEnded()
    real = workers.start_job

    def start_job(owner, job, *, on_done=None, on_error=None, on_cancel=None, **callbacks):
        name = _job_name(job)

        def then_report(callback, outcome):
            def call(*args):
                if callback is not None:
                    callback(*args)
                signals.ended.emit(name, outcome)
            return call

        return real(owner, job, on_done=then_report(on_done, "done"), on_error=then_report(on_error, "error"),
                    on_cancel=then_report(on_cancel, "cancel"), **callbacks)

    for info in pkgutil.iter_modules(photosorter.gui.__path__):  # every tab that starts jobs
        module = importlib.import_module(f"photosorter.gui.{info.name}")
        if getattr(module, "start_job", None) is real:
            monkeypatch.setattr(module, "start_job", start_job)
    return signals


def ending(qtbot, jobs, name: str, outcome: str = "done", timeout: int = 60_000, until=lambda: True):
    """Wait (on leaving the ``with`` block) until job ``name`` ends with ``outcome`` — and, where
    the same job may run more than once, with ``until()`` true when it ends."""
    return qtbot.waitSignal(jobs.ended, timeout=timeout,
                            check_params_cb=lambda n, o: n == name and o == outcome and until())


def open_window(qtbot, jobs, lib: Library):
    """The main window on ``lib``, shown, after its warm-up job (backbone and model loaded)."""
    from photosorter.gui.main_window import MainWindow

    with ending(qtbot, jobs, "warm_up"):
        w = MainWindow(lib, welcome=False)
        qtbot.addWidget(w)
        w.show()
    return w


@pytest.fixture
def window(qtbot, jobs):
    lib = Library()
    lib.backbone = "tiny"
    w = open_window(qtbot, jobs, lib)
    yield w
    w.shutdown()


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory):
    """Examples and a tiny-backbone model trained on them, once for the module (through the core,
    as the Train tab does)."""
    from photosorter.importing import import_examples
    from photosorter.ml.features import Embedder
    from photosorter.ml.training import TrainOptions, train_from_photos

    root = tmp_path_factory.mktemp("trained")
    data = make_labeled_folder(root / "ex", per_category=12, categories=CATS, rel_size=0.6, none=6, seed=50)
    lib = Library()
    import_examples(data, lib)
    train_from_photos(lib.labeled_photos(), Embedder("tiny"), TrainOptions()).classifier.save(root / "m.safetensors")
    return data, root / "m.safetensors"


@pytest.fixture
def trained_window(qtbot, jobs, trained_model):
    """The window with the categories and the trained model already in place (Sort, Watch, preview)."""
    data, model = trained_model
    lib = Library()
    lib.backbone = "tiny"
    for c in CATS:
        lib.add_category(c)
        lib.add_examples(c, [data / c])
    lib.add_examples(None, [data / "_none"])
    lib.save()
    app_paths().models_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(model, app_paths().models_dir / "current.safetensors")
    w = open_window(qtbot, jobs, lib)
    yield w, data
    w.shutdown()


def test_categories_tab_takes_dropped_examples_and_flags_duplicates(window, jobs, qtbot, tmp_path):
    w = window
    data = make_labeled_folder(tmp_path / "ex", per_category=12, rel_size=0.6, none=6, seed=50)
    # two categories, examples added by dropping folders onto them; new examples are read in the
    # background as soon as they are dropped, so Train has little left to do
    w.add_category("red_disc")
    w.add_category("blue_square")
    lst = w.categories.list

    def all_read() -> bool:  # a drop while a read runs starts one more read when it ends
        cache = w.embedder().cache
        return all(cache.known_file(p, os.stat(p)) is not None for p in w.library.labeled_photos().paths)

    with ending(qtbot, jobs, "read_examples_ahead", until=all_read):
        for row, name in enumerate(["red_disc", "blue_square"]):
            drop_on_row(lst, [data / name], row)
        drop_on_row(lst, [data / "_none"], 2)
    assert [len(c.examples) for c in w.library.categories] == [12, 12]
    assert len(w.library.none_examples) == 6
    assert "red_disc  (12)" in lst.item(0).text()
    assert len(Library.load(w.library.path).category("blue_square").examples) == 12
    # a byte-identical duplicate and an unreadable file are flagged on their thumbnails
    shutil.copy(data / "red_disc" / "red_disc_000.jpg", tmp_path / "dupe.jpg")
    (tmp_path / "broken.jpg").write_bytes(b"not a photo")
    drop_on_row(lst, [tmp_path / "dupe.jpg", tmp_path / "broken.jpg"], 0)
    lst.setCurrentRow(0)

    def thumbs() -> list[str]:
        return [w.categories.thumbs.item(i).text() for i in range(w.categories.thumbs.count())]

    def flagged() -> bool:  # an older thumbnail job (cancelled by the new one) may end first
        return sum(t.startswith("⧉") for t in thumbs()) == 1 and sum(t.startswith("⚠") for t in thumbs()) == 1

    with ending(qtbot, jobs, "show_examples", timeout=20_000, until=flagged):
        w.categories.show_examples()
    assert len(thumbs()) == 14
    assert "1 duplicate(s), counted once" in w.categories.header.text()


def test_training_tab_cancels_trains_and_continues(window, jobs, qtbot, tmp_path):
    w = window
    data = make_labeled_folder(tmp_path / "ex", per_category=12, rel_size=0.6, none=6, seed=50)
    w.import_folder(str(data))
    # train once, cancelled: no model appears
    with ending(qtbot, jobs, "train", "cancel"):
        qtbot.mouseClick(w.training.train_button, Qt.MouseButton.LeftButton)
        w.cancel_training()
    assert w.training.train_button.isEnabled() and "cancelled" in w.training.stage.text().lower()
    assert not w.model_path.exists()
    # train to completion: model saved, results table filled, curves drawn
    with ending(qtbot, jobs, "train", timeout=120_000):
        qtbot.mouseClick(w.training.train_button, Qt.MouseButton.LeftButton)
    assert w.training.stage.text().startswith("Trained"), w.training.stage.text()
    assert w.model_path.exists() and w.training.train_button.isEnabled()
    assert w.training.table.rowCount() == 2
    assert len(w.training.chart.train) > 0
    assert "continued" not in w.training.stage.text()
    # one more example, train again: it continues from the model just trained
    extra = make_labeled_folder(tmp_path / "extra", per_category=1, rel_size=0.6, seed=52)
    row = [c.name for c in w.library.categories].index("red_disc")
    drop_on_row(w.categories.list, [extra / "red_disc"], row)
    with ending(qtbot, jobs, "train", timeout=120_000):
        qtbot.mouseClick(w.training.train_button, Qt.MouseButton.LeftButton)
    assert "continued from the previous model" in w.training.stage.text(), w.training.stage.text()


def test_sort_tab_previews_applies_and_undoes(trained_window, jobs, qtbot, tmp_path):
    w, _data = trained_window
    # dry run of a folder: a preview, nothing written
    roll = make_labeled_folder(tmp_path / "roll", per_category=4, rel_size=0.6, none=2, seed=51)
    originals = snapshot(roll)
    with ending(qtbot, jobs, "preview_sort"):
        w.preview_sort([str(roll)])
    review = w.sorting.review
    assert len(review.groups["All photos"]) == 10  # the grid: grouped by destination
    assert sum(len(review.groups[g]) for g in ("red_disc", "blue_square", "No category", "Could not read")) >= 10
    dest_root = Path(w.library.category("red_disc").folder).parent
    assert snapshot(dest_root) == {}
    before = [(d.outcome, tuple(d.categories)) for d in w.sorting.shown.decisions]
    n_copy = w.sorting.shown.counts()["copy"]
    assert n_copy > 0

    # a threshold slider changes the preview live, and the choice sticks once the slider rests
    slider = w.sorting.sliders["red_disc"]
    with qtbot.waitSignal(w.sorting.thresholds_changed, timeout=5000):
        slider.setValue(99)
    after = [(d.outcome, tuple(d.categories)) for d in w.sorting.shown.decisions]
    assert after != before and w.sorting.shown.counts()["copy"] < n_copy
    assert Library.load(w.library.path).threshold_overrides == {"red_disc": 0.99}
    with qtbot.waitSignal(w.sorting.thresholds_changed, timeout=5000):
        slider.setValue(round(w.sorting.plan.thresholds["red_disc"] * 100))
    assert Library.load(w.library.path).threshold_overrides == {}

    # apply: the files are on disk exactly as previewed
    expected = sorted((c, d.sha256) for d in w.sorting.shown.decisions if d.outcome == "copy" for c in d.categories)
    with ending(qtbot, jobs, "apply_sort"):
        qtbot.mouseClick(w.sorting.apply_button, Qt.MouseButton.LeftButton)
    got = sorted((rel.split("/")[0], v[0]) for rel, v in snapshot(dest_root).items())
    assert got == expected
    assert w.sorting.history.rowCount() == 1
    assert snapshot(roll) == originals

    # undo: the destination is empty again, copies are in the trash
    from conftest import trashed_files

    in_trash = len(trashed_files())
    with ending(qtbot, jobs, "undo"):
        w.undo(None)
    assert snapshot(dest_root) == {}
    assert len(trashed_files()) - in_trash == len(expected)


def test_watch_tab_sorts_new_photos_and_stops(trained_window, jobs, qtbot, tmp_path):
    w, _data = trained_window
    dest_root = Path(w.library.category("red_disc").folder).parent
    dcim = tmp_path / "DCIM"
    dcim.mkdir()
    assert not w.watch.remove_button.isEnabled()  # no folder selected: Remove would do nothing
    w.add_watched(str(dcim))
    w.watch.list.setCurrentRow(0)
    assert w.watch.remove_button.isEnabled()
    with ending(qtbot, jobs, "set_watching", timeout=30_000):
        w.watch_switch.setChecked(True)
    assert w.watch_service is not None
    with qtbot.waitSignal(w.watch.batch_sorted, timeout=30_000) as batch:
        make_photo(dcim / "new_red.jpg", ("red_disc",), 777, rel_size=0.6)
    assert batch.args[0].copied_photos == 1
    assert w.sorting.history.rowCount() == 1  # the watch batch is a run like any other
    assert "new_red.jpg" in {Path(rel).name for rel in snapshot(dest_root)}
    w.watch_switch.setChecked(False)
    assert w.watch_service is None and w.watch_status.text() == "Not watching."


def test_pane_shows_the_models_heatmap_where_only_the_familiarity_check_keeps_a_photo_out(trained_window, jobs, qtbot,
                                                                                         monkeypatch):
    """Tryout: for a photo the category model says yes to but that is unlike the category's
    examples, the caption said "the category model alone says Pets" while the heatmap note said
    "nothing of it was found, so there is no heatmap". The heatmap is of the category model: it is
    shown, and the note says why the score is still 0.00."""
    from photosorter.ml.scoring import Scorer

    w, data = trained_window
    photo = str(next((data / "red_disc").glob("*.jpg")))
    real = Scorer.score_photo

    def gated_out(self, path, background="auto"):  # what the familiarity check does to an unfamiliar photo
        r = real(self, path, background)
        r.scores["blue_square"], r.head["blue_square"] = 0.0, 0.97
        return r

    monkeypatch.setattr(Scorer, "score_photo", gated_out)
    p = w.preview
    with ending(qtbot, jobs, "explain_job", timeout=30_000):
        p.show_photo(photo)
    assert p.scores["blue_square"] == 0.0 and "blue_square" in p.maps
    assert "the category model alone says blue_square, but the photo is unlike your blue_square examples, so it " \
           "stays out of blue_square." in p.caption.text()
    assert "N: none of these" not in p.caption.text()  # no sort preview open: the grid's keys do not apply
    p.show_cam.setChecked(True)
    assert p.cam_category.currentText() == "blue_square"  # what the "Check:" line is about comes first
    p.cam_category.setCurrentText("blue_square")
    assert p.cam_note.isVisibleTo(p)
    assert "The category model alone gives this photo 0.97 for blue_square" in p.cam_note.text()
    assert "its score is 0.00 and it stays out" in p.cam_note.text() and "nothing of it" not in p.cam_note.text()
    p.cam_category.setCurrentText("red_disc")  # a category the photo goes to: no such note
    assert "alone gives" not in p.cam_note.text() or not p.cam_note.isVisibleTo(p)


def test_preview_pane_shows_scores_and_gradcam(trained_window, jobs, qtbot, monkeypatch):
    w, data = trained_window
    photo = str(next((data / "red_disc").glob("*.jpg")))
    with ending(qtbot, jobs, "explain_job", timeout=30_000):
        w.preview.show_photo(photo)
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
    # a flagged explanation (the faithfulness check doubted it) carries a visible "look twice"
    # note for that category only
    import dataclasses

    real = w.session.explain_photo
    monkeypatch.setattr(w.session, "explain_photo",
                        lambda *a, **k: dataclasses.replace(real(*a, **k), flagged={"red_disc"}))
    p = w.preview
    with ending(qtbot, jobs, "explain_job", timeout=30_000):
        p.show_photo(photo)
    p.cam_category.setCurrentText("red_disc")
    assert p.cam_note.isVisibleTo(p) and "red_disc" in p.cam_note.text()
    p.cam_category.setCurrentText("blue_square")
    assert "Look twice" not in p.cam_note.text() or not p.cam_note.isVisibleTo(p)
    if "blue_square" not in p.maps:  # scores ~0: no bright heatmap, a note says why
        assert p.cam_note.isVisibleTo(p) and "no heatmap" in p.cam_note.text()
    # a correction adds the photo as an example and starts a quick retrain (no question asked)
    w.correct(photo, None)
    assert photo in w.library.none_examples
