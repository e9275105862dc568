"""While Apply copies or an undo runs, what would contradict it waits: another Apply, another
undo, a correction (an attack on this round's Sort tab found each unguarded). Driven through the
real window's buttons and keys on a hand-made scored plan (no model needed)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import Qt
from sorting_helpers import hand_plan, snapshot

from photosorter.sorting import copier
from photosorter.sorting.ledger import Ledger
from photosorter.sorting.review_table import ReviewTable

COLOURS = {"cats": "#d04040", "dogs": "#4040d0"}


@pytest.fixture
def w(qtbot):
    from conftest import window_with_categories

    win = window_with_categories(qtbot, list(COLOURS))
    win.errors = []
    win.error = win.errors.append
    win.show()
    yield win
    win.shutdown()


def show(w, root: Path, n: int = 6, seed: int = 0):
    plan = hand_plan(root / "src", root / "Sorted", n=n, seed=seed, sidecars_every=1000)
    for d in plan.decisions:
        d.scores = {c: (0.9 if c in d.categories else 0.1) for c in COLOURS}
        d.head = dict(d.scores)
    for c, folder in plan.destinations.items():  # the library's folders, as a real preview has them
        w.library.category(c).folder = str(folder)
    w.sorting.set_plan(plan, COLOURS, sources=[str(root / "src")], table=ReviewTable.from_plan(plan))
    return plan


def two_runs(w, qtbot, tmp_path: Path) -> None:
    """Runs 1 and 2 applied (folders a/ and b/), run 2's applied preview on screen."""
    for run, (name, seed) in enumerate((("a", 1), ("b", 2)), start=1):
        show(w, tmp_path / name, seed=seed)
        w.apply_sort()
        qtbot.waitUntil(lambda run=run: f"Done (run {run})" in w.sorting.summary.text(), timeout=60_000)


@pytest.fixture
def slow_copies(monkeypatch):
    """Each copy waits until the test lets it go (a big file being copied)."""
    gate = threading.Event()
    real = copier.write_temp

    def held(*args):
        gate.wait(30)
        return real(*args)

    monkeypatch.setattr(copier, "write_temp", held)
    yield gate
    gate.set()


def runs():
    from photosorter.config import app_paths

    ledger = Ledger(app_paths().ledger_file)
    try:
        return [(r.id, r.state) for r in ledger.runs()]
    finally:
        ledger.close()


def test_apply_clicked_again_while_it_copies_starts_no_second_run(w, qtbot, tmp_path, slow_copies):
    show(w, tmp_path)
    qtbot.mouseClick(w.sorting.apply_button, Qt.MouseButton.LeftButton)
    assert not w.sorting.apply_button.isEnabled() and not w.sorting.undo_button.isEnabled()
    w.sorting.apply_requested.emit()  # as a second click would (or a queued one)
    w.undo_action.trigger()  # Ctrl+Z during Apply: refused, and it says so where it stays in sight
    assert "Apply is copying photos: wait until it has finished" in w.sorting.summary.text()
    slow_copies.set()
    qtbot.waitUntil(lambda: "Done (run" in w.sorting.summary.text() or bool(w.errors), timeout=60_000)
    time.sleep(0.3)
    assert not w.errors and runs() == [(1, "done")]
    assert "copied 6 photos" in w.sorting.summary.text()


def test_a_correction_while_apply_copies_waits_and_the_grid_agrees_with_the_disk(w, qtbot, tmp_path, slow_copies):
    plan = show(w, tmp_path)
    originals = snapshot(tmp_path / "src")
    last = plan.decisions[-1]
    w.apply_sort()
    review, grid = w.sorting.review, w.sorting.grid
    review.select_group("All photos")
    grid.setCurrentIndex(grid.model().index(review.paths().index(str(last.path))))
    grid.setFocus()
    qtbot.keyClick(grid, Qt.Key.Key_N)  # "not this category" on a photo Apply has not reached yet
    assert "wait until it has finished" in w.statusBar().currentMessage()
    assert w.sorting.labels_of(str(last.path)) == tuple(sorted(last.categories))  # refused, not half-taken
    assert str(last.path) not in w.sorting.corrections
    w.correct(str(last.path), None)  # the pane's "Not …" button: refused the same way
    assert str(last.path) not in w.sorting.corrections and not w.library.none_examples
    slow_copies.set()
    qtbot.waitUntil(lambda: "Done (run" in w.sorting.summary.text() or bool(w.errors), timeout=60_000)
    assert not w.errors
    for c in last.categories:  # the grid said these, and the disk has them
        assert (tmp_path / "Sorted" / c / last.path.name).exists()
    assert snapshot(tmp_path / "src") == originals


def test_ctrl_z_pressed_again_while_an_undo_runs_does_not_undo_the_run_before(w, qtbot, tmp_path, monkeypatch):
    """Ctrl+Z twice: the second press, once the first undo had finished, would undo the run before
    it too; pressed while it ran, both undos took the same copies and one failed half-way."""
    two_runs(w, qtbot, tmp_path)
    from photosorter.sorting import sorter

    gate, real = threading.Event(), sorter._undo_copy
    monkeypatch.setattr(sorter, "_undo_copy", lambda *a: (gate.wait(30), real(*a))[1])
    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert w.sorting.copying == "undo" and not w.sorting.undo_button.isEnabled()
    w.undo_action.trigger()  # Ctrl+Z pressed again
    w.undo(None)
    assert "An undo is running" in w.statusBar().currentMessage()
    assert "An undo is running: wait until it has finished" in w.sorting.summary.text()
    gate.set()
    qtbot.waitUntil(lambda: (2, "undone") in runs(), timeout=60_000)
    qtbot.wait(500)
    assert sorted(runs()) == [(1, "done"), (2, "undone")]  # run 1 untouched
    assert [e for e in w.errors if "no trained model" not in e] == []
    assert w.undo_action.isEnabled()


def test_n_twice_on_a_copied_photo_asks_once(w, qtbot, tmp_path):
    plan = show(w, tmp_path)
    w.apply_sort()
    qtbot.waitUntil(lambda: "Done (run" in w.sorting.summary.text(), timeout=60_000)
    d = next(d for d in plan.decisions if d.categories)
    opened = []
    for _ in range(2):
        w.sorting.copy_question = None
        w.sorting.correct_copied(str(d.path), ())
        qtbot.waitUntil(lambda: w.sorting.copy_question is not None, timeout=3000) if not opened else qtbot.wait(1500)
        if w.sorting.copy_question is not None:
            opened.append(w.sorting.copy_question)
    assert len(opened) == 1
    next(b for b in opened[0].buttons() if b.text() == "Move the copy to the trash").click()
    qtbot.waitUntil(lambda: "moved to the trash from" in w.sorting.summary.text() or bool(w.errors), timeout=30_000)
    assert not w.errors
    assert not any((tmp_path / "Sorted" / c / d.path.name).exists() for c in d.categories)


def test_apply_after_renaming_a_category_copies_nothing_into_its_old_folder(w, qtbot, tmp_path, monkeypatch):
    """Tryout: pets renamed to Animals with a preview open; Apply filled Sorted/pets (the plan's
    folder) while the library said Sorted/Animals, and the next sort copied the same photos again
    into Sorted/Animals — one category split over two folders."""
    plan = show(w, tmp_path)
    w.library.category("cats").folder = str(tmp_path / "Sorted" / "Kittens")  # what a rename of an empty folder does
    w.library.category("cats").name = "Kittens"
    w.apply_sort()
    assert "Nothing was copied: cats was renamed, removed or given another folder" in w.sorting.summary.text()
    assert "Train again (Ctrl+T)" in w.sorting.summary.text()
    qtbot.wait(300)
    assert not [p for p in (tmp_path / "Sorted").rglob("*") if p.is_file()] and runs() == []
    assert w.sorting.apply_button.isEnabled() and w.sorting.copying is None
    # another folder for a category the model knows: the preview is made again for it
    w.library.category("Kittens").name = "cats"
    w.library.category("cats").folder = str(tmp_path / "Sorted" / "cats")
    w.library.category("dogs").folder = str(tmp_path / "Elsewhere" / "dogs")
    again = []
    monkeypatch.setattr(w.sorting, "preview_sort", lambda paths, rescore=False, after_undo=False: again.append(paths))
    w.apply_sort()
    assert "dogs was renamed, removed or given another folder" in w.sorting.summary.text()
    assert again == [[str(tmp_path / "src")]] and runs() == []
    assert plan.destinations["dogs"] == tmp_path / "Sorted" / "dogs"


def test_back_to_an_applied_preview_says_what_apply_did(w, qtbot, tmp_path):
    """Tryout: after Apply, opening a past run and pressing "Back to the preview" showed
    "Preview (nothing copied yet): 70 photos to copy" above tiles saying "copied to pets (run 1)",
    with Apply off."""
    show(w, tmp_path)
    w.apply_sort()
    qtbot.waitUntil(lambda: "Done (run 1)" in w.sorting.summary.text(), timeout=60_000)
    done = w.sorting.summary.text()
    w.sorting.open_run(1, COLOURS)
    qtbot.waitUntil(lambda: w.sorting.run_id == 1, timeout=30_000)
    assert "read-only" in w.sorting.summary.text()
    qtbot.mouseClick(w.sorting.back_button, Qt.MouseButton.LeftButton)
    text = w.sorting.summary.text()
    assert "nothing copied yet" not in text and text == done, text
    assert not w.sorting.apply_button.isEnabled()


def test_ctrl_z_asks_which_run_when_the_last_run_is_not_the_one_shown(w, qtbot, tmp_path):
    """Tryout: with run 3 on screen, Ctrl+Z undid run 4 (a background watch run) without a word."""
    two_runs(w, qtbot, tmp_path)
    w.sorting.open_run(1, COLOURS)
    qtbot.waitUntil(lambda: w.sorting.run_id == 1, timeout=30_000)

    def press_ctrl_z_and_answer(answer: str) -> None:
        w.sorting.undo_question = None
        w.undo_action.trigger()  # Ctrl+Z
        box = w.sorting.undo_question
        assert box is not None and "The last run is run 2, not run 1, which is shown here." in box.text()
        assert {b.text() for b in box.buttons()} == {"Undo run 2 (the last)", "Undo run 1 (shown here)", "Cancel"}
        next(b for b in box.buttons() if b.text() == answer).click()

    press_ctrl_z_and_answer("Cancel")
    qtbot.wait(300)
    assert sorted(runs()) == [(1, "done"), (2, "done")]
    press_ctrl_z_and_answer("Undo run 1 (shown here)")
    qtbot.waitUntil(lambda: (1, "undone") in runs(), timeout=60_000)
    assert sorted(runs()) == [(1, "undone"), (2, "done")]
    assert list((tmp_path / "b" / "Sorted").rglob("*.jpg"))  # run 2's copies stay
    assert not list((tmp_path / "a" / "Sorted").rglob("*.jpg"))


def test_the_sort_tab_says_a_first_preview_is_being_made_and_when_it_could_not_be(w, qtbot, tmp_path):
    """Tryout: "Nothing to preview yet." stayed up while the status bar showed the preview's
    scoring at 65%."""
    (tmp_path / "roll").mkdir()
    w.preview_sort([str(tmp_path / "roll")])
    assert "Scoring the photos in roll for the preview" in w.sorting.summary.text()
    assert "Nothing to preview yet" not in w.sorting.summary.text()
    qtbot.waitUntil(lambda: bool(w.errors), timeout=30_000)  # no trained model here
    assert w.sorting.summary.text().startswith("No preview: it could not be made")


def test_a_past_run_keeps_the_preview_s_category_order_and_says_which_copies_are_gone(w, qtbot, tmp_path):
    """Tryout: a past run showed its groups and sliders in another order than the preview, and a
    copy a correction had moved to the trash still showed as in pets, without a word."""
    from photosorter.config import app_paths
    from photosorter.sorting.sorter import undo_copies_of

    plan = show(w, tmp_path)
    plan.thresholds = dict(reversed(list(plan.thresholds.items())))  # a preview showing dogs first
    w.sorting.thresholds = dict(plan.thresholds)
    order = list(plan.thresholds)
    w.apply_sort()
    qtbot.waitUntil(lambda: "Done (run 1)" in w.sorting.summary.text(), timeout=60_000)
    d = next(d for d in plan.decisions if len(d.categories) == 1)
    ledger = Ledger(app_paths().ledger_file)
    try:
        gone = undo_copies_of(ledger, d.path, d.sha256, d.categories, trash_fn=lambda p: Path(p).unlink()).trashed
        assert any(t.endswith(f"/{d.categories[0]}/{d.path.name}") for t in gone)
    finally:
        ledger.close()
    w.sorting.open_run(1, COLOURS)
    qtbot.waitUntil(lambda: w.sorting.run_id == 1, timeout=30_000)
    assert list(w.sorting.sliders) == order and w.sorting.table.categories == order
    words = w.sorting.outcome_words_of(str(d.path))
    assert words == f"copied to {d.categories[0]} in run 1; its copy in {d.categories[0]} was removed since"
    other = next(x for x in plan.decisions if x.categories and x is not d)
    assert w.sorting.outcome_words_of(str(other.path)) == f"copied to {', '.join(other.categories)} in run 1"


def test_a_preview_that_could_not_be_made_again_is_made_after_the_next_training(w, qtbot, tmp_path, monkeypatch):
    """Tryout: after removing a category, Undo's new preview failed ("The model knows vehicles,
    which is no longer a category here. Retrain first."); after Ctrl+T the old grid stayed, with
    Apply off, and the folder had to be chosen again."""
    show(w, tmp_path)
    w.apply_sort()
    qtbot.waitUntil(lambda: "Done (run 1)" in w.sorting.summary.text(), timeout=60_000)
    w.sorting.preview_sort([str(tmp_path / "src")], rescore=True, after_undo=True)  # as Undo does
    qtbot.waitUntil(lambda: bool(w.errors), timeout=30_000)  # it cannot be made (no model here)
    again = []
    monkeypatch.setattr(w.sorting, "preview_sort", lambda paths, rescore=False, after_undo=False: again.append(paths))
    w.sorting.rescore_preview()  # what a finished training does
    assert again == [[str(tmp_path / "src")]]


def test_undoing_another_run_keeps_what_apply_said_about_the_run_on_screen(w, qtbot, tmp_path):
    """Tryout: with run 4's applied grid on screen, undoing run 5 (a watch run) replaced the summary
    with "Undid run 5: 3 copies moved to the trash." above run 4's photos."""
    two_runs(w, qtbot, tmp_path)
    w.undo(1)  # "Undo selected run" on run 1, run 2's grid on screen
    qtbot.waitUntil(lambda: (1, "undone") in runs(), timeout=60_000)
    qtbot.waitUntil(lambda: "Undid run 1" in w.sorting.summary.text(), timeout=10_000)
    text = w.sorting.summary.text()
    assert text.startswith("<b>Undid run 1 (run 2 is shown here):</b>") and "<b>Done (run 2):</b> copied 6 photos" in text


def test_a_new_folder_s_preview_starts_without_the_last_one_s_file_name_filter(w, qtbot, tmp_path, monkeypatch):
    """Tryout: the filter typed for one folder ("Abyssinian_13") stayed for the next folder's
    preview, which then looked empty."""
    show(w, tmp_path)
    w.sorting.review.filter.setText("IMG_0003")
    plan = hand_plan(tmp_path / "other", tmp_path / "Sorted", n=4, seed=5, sidecars_every=1000)
    for d in plan.decisions:
        d.scores = {c: (0.9 if c in d.categories else 0.1) for c in COLOURS}
    monkeypatch.setattr(w.session, "plan", lambda paths, progress, cancel, overrides: plan)
    w.preview_sort([str(tmp_path / "other")])
    qtbot.waitUntil(lambda: w.sorting.plan is plan, timeout=30_000)
    assert w.sorting.review.filter.text() == "" and len(w.sorting.review.paths()) > 0


def test_apply_refuses_when_a_link_on_a_category_folder_s_path_now_leads_elsewhere(w, qtbot, tmp_path, monkeypatch):
    """Attack: Sorted was a link to one drive at preview time and to another at Apply; the path was
    the same, so Apply went ahead, and photos "already sorted" on the first drive were skipped on
    the second."""
    from photosorter.sorting.planner import real_folder

    (tmp_path / "drive1").mkdir()
    (tmp_path / "drive2").mkdir()
    (tmp_path / "Sorted").symlink_to(tmp_path / "drive1")
    plan = show(w, tmp_path)
    plan.resolved = {c: real_folder(p) for c, p in plan.destinations.items()}  # as planning records it
    (tmp_path / "Sorted").unlink()
    (tmp_path / "Sorted").symlink_to(tmp_path / "drive2")
    again = []
    monkeypatch.setattr(w.sorting, "preview_sort", lambda paths, rescore=False, after_undo=False: again.append(paths))
    w.apply_sort()
    assert "given another folder since this preview was made" in w.sorting.summary.text()
    assert again == [[str(tmp_path / "src")]] and runs() == []
    assert not list((tmp_path / "drive2").rglob("*.jpg"))


def test_undo_last_run_reads_the_ledger_first_after_an_undo_from_the_command_line(w, qtbot, tmp_path):
    """Tryout: with run 2 on screen as done, `photosorter undo` in a terminal undid run 2; the
    app's History still said done, and "Undo last run" then undid run 1 (41 copies) with no
    question. Now it sees run 2 is gone and asks before touching run 1."""
    from photosorter.config import app_paths
    from photosorter.sorting.sorter import undo_run

    two_runs(w, qtbot, tmp_path)
    ledger = Ledger(app_paths().ledger_file)  # the command line, behind the window's back
    try:
        undo_run(ledger, None)
    finally:
        ledger.close()
    assert sorted(runs()) == [(1, "done"), (2, "undone")]
    w.sorting.undo_question = None
    qtbot.mouseClick(w.sorting.undo_button, Qt.MouseButton.LeftButton)
    box = w.sorting.undo_question
    assert box is not None and "Run 2, shown here, has already been undone" in box.text()
    assert {b.text() for b in box.buttons()} == {"Undo run 1 (the last)", "Cancel"}
    next(b for b in box.buttons() if b.text() == "Cancel").click()
    qtbot.wait(300)
    assert sorted(runs()) == [(1, "done"), (2, "undone")]
    assert list((tmp_path / "a" / "Sorted").rglob("*.jpg"))  # run 1's copies untouched
    w.sorting.undo_question = None
    qtbot.mouseClick(w.sorting.undo_button, Qt.MouseButton.LeftButton)
    next(b for b in w.sorting.undo_question.buttons() if b.text() == "Undo run 1 (the last)").click()
    qtbot.waitUntil(lambda: (1, "undone") in runs(), timeout=60_000)
    assert not list((tmp_path / "a" / "Sorted").rglob("*.jpg"))
    qtbot.waitUntil(lambda: w.sorting.copying is None, timeout=30_000)
    assert not w.sorting.undo_button.isEnabled()
    w.sorting.undo(None)  # Ctrl+Z (the app turns it off once the History has nothing to undo)
    assert "Nothing left to undo" in w.sorting.summary.text()
    assert sorted(runs()) == [(1, "undone"), (2, "undone")]
