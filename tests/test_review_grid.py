"""The sort review grid (issue 15): stays responsive with 20,000 photos, tiles show scores
against thresholds for the categories that matter, one key moves a photo to another category
and the person's correction wins over the model afterwards."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from photosorter.sorting.planner import Decision, Plan, rethreshold
from photosorter.sorting.review_table import ReviewTable

pytest.importorskip("pytestqt")
from PySide6.QtCore import Qt

CATS = ["ants", "bees", "beach", "documents"]


def make_plan(n: int, seed: int = 0, root: str = "/nonexistent/roll") -> Plan:
    """A plan with generated scores (no files: thumbnails fall back to the placeholder)."""
    rng = np.random.default_rng(seed)
    th = {c: 0.5 for c in CATS}
    out = []
    for i in range(n):
        p = Path(root) / f"IMG_{i:05d}.jpg"
        if i % 53 == 7:
            out.append(Decision(p, "failed", reason="truncated", message="The file is cut short."))
            continue
        scores = {c: float(v) for c, v in zip(CATS, rng.random(len(CATS)))}
        done = ["beach"] if i % 31 == 3 else []
        chosen = [c for c, v in scores.items() if v >= th[c]]
        todo = [c for c in chosen if c not in done]
        message = "identical to IMG_00000.jpg" if i % 97 == 5 else None
        outcome = "no_category" if not chosen else "copy" if todo else "already_sorted"
        out.append(Decision(p, outcome, sha256=f"{i:064x}", categories=todo, done_before=done, scores=scores,
                            message=message))
    return Plan(out, {c: Path("/dest") / c for c in CATS}, th)


def first_photo_of(panel, plan: Plan, group: str):
    """The preview of ``plan`` with the first photo of ``group`` selected and keyboard focus on the
    grid; ``said`` collects the corrections the panel emits."""
    panel.set_plan(plan, {}, sources=[])
    said: list = []
    panel.correction.connect(lambda p, labels: said.append((p, labels)))
    review, grid = panel.review, panel.grid
    review.select_group(group)
    grid.setFocus()
    grid.setCurrentIndex(grid.model().index(0))
    return review, grid, review.paths()[0], said


def test_table_decides_as_rethreshold_does_and_corrections_win():
    plan = make_plan(400, seed=1)
    table = ReviewTable.from_plan(plan)
    th = {"ants": 0.3, "bees": 0.8, "beach": 0.55, "documents": 0.5}
    want = rethreshold(plan, th)
    got = table.to_plan(th)
    assert [(d.outcome, d.categories) for d in got.decisions] == [(d.outcome, d.categories) for d in want.decisions]
    assert got.thresholds == want.thresholds
    # the person's word on two photos beats any score
    a = next(str(d.path) for d in want.decisions if d.outcome == "copy" and "ants" in d.categories)
    b = next(str(d.path) for d in want.decisions if d.outcome == "copy" and str(d.path) != a)
    fixed = {str(d.path): d for d in table.to_plan(th, {a: ("bees",), b: ()}).decisions}
    assert (fixed[a].outcome, fixed[a].categories) == ("copy", ["bees"]) and "corrected by you" in fixed[a].message
    assert (fixed[b].outcome, fixed[b].categories) == ("no_category", [])


@pytest.fixture
def panel(qtbot):
    from conftest import shown_sort_panel

    return shown_sort_panel(qtbot, 1100, 900)


def test_threshold_moves_on_20000_photos_regroup_without_stalling(panel, qtbot, monkeypatch):
    """A slider step used to rebuild every decision and the whole grid (~1 s per step with 20,000
    photos in the real window): now one array comparison and a repaint."""
    from photosorter.sorting import planner

    plan = make_plan(20_000, seed=2)
    table = ReviewTable.from_plan(plan)
    panel.set_plan(plan, {}, sources=[], table=table)
    panel.review.select_group("ants")

    def slow(*_a, **_k):
        raise AssertionError("a slider step must not build a Plan per step")

    monkeypatch.setattr(planner, "rethreshold", slow)
    worst = 0.0
    for v in (55, 60, 65, 70, 45, 50):
        t = time.perf_counter()
        panel.sliders["ants"].setValue(v)
        qtbot.wait(1)
        worst = max(worst, time.perf_counter() - t)
        expect = int(np.count_nonzero([d.scores.get("ants", -1) >= v / 100 and "ants" not in d.done_before
                                       and not (d.message or "").startswith("identical") and d.outcome != "failed"
                                       for d in plan.decisions]))
        assert panel.grid.model().rowCount() == expect  # the open group follows the slider
    assert worst < 0.4, f"worst slider step took {worst * 1000:.0f} ms"


def test_tiles_show_several_categories_against_their_thresholds_and_fit(panel, qtbot):
    plan = make_plan(30, seed=3)
    panel.set_plan(plan, {"ants": "#e4572e"}, sources=[])
    review = panel.review
    review.select_group("ants")
    model = review.model
    tile = model.tile(0)
    i = review.table.row_of[model.path(0)]
    assert len(tile["bars"]) == 3 and tile["bars"][0][0] == "ants"  # the group's category first
    for name, score, threshold, _goes, _colour in tile["bars"]:
        j = CATS.index(name)
        assert score == pytest.approx(float(review.table.scores[i, j])) and threshold == pytest.approx(0.5)
    # re-scored with a new model: the tiles show the new numbers; the numbers always fit a tile
    rescored = make_plan(30, seed=4)
    panel.set_plan(rescored, {}, sources=[], compare=True)
    review.select_group("All photos")
    fm = review.grid.fontMetrics()
    width = review.grid.gridSize().width() - 12
    for row in range(model.rowCount()):
        for _name, score, threshold, _g, _c in model.tile(row)["bars"]:
            nums = f"{score:.2f} ≥ {threshold:.2f}"
            assert fm.horizontalAdvance(nums) + fm.horizontalAdvance("an…") <= width
    assert not review.grid.grab().isNull()  # painting every kind of tile works


def test_number_key_moves_a_photo_and_the_correction_wins_after_rescoring(panel, qtbot):
    plan = make_plan(60, seed=5)
    review, grid, photo, said = first_photo_of(panel, plan, "ants")
    qtbot.keyClick(grid, Qt.Key.Key_2)  # "this belongs in bees"
    assert said == [(photo, ("bees",))]
    d = next(x for x in panel.shown.decisions if str(x.path) == photo)
    assert (d.outcome, d.categories) == ("copy", ["bees"])
    rows = review.groups
    i = review.table.row_of[photo]
    assert i in rows["bees"] and i not in rows["ants"]
    # retrained model still scores it as ants: the person's word wins, and the tile says so
    rescored = Plan([Decision(x.path, x.outcome, x.sha256, categories=list(x.categories), scores=dict(x.scores))
                     for x in plan.decisions], plan.destinations, dict(plan.thresholds))
    panel.set_plan(rescored, {}, sources=[], compare=True)
    d = next(x for x in panel.shown.decisions if str(x.path) == photo)
    assert d.categories == ["bees"] and photo not in panel.changed
    review.select_group("bees")
    row = review.paths().index(photo)
    assert review.model.tile(row)["corrected"] and "Your correction wins" in review.model.index(row).data(
        Qt.ItemDataRole.ToolTipRole)
    # N in the ants group on another photo: "not ants" — it keeps its other categories only
    review.select_group("ants")
    other = review.paths()[0]
    grid.setCurrentIndex(grid.model().index(0))
    before = panel.labels_of(other)
    qtbot.keyClick(grid, Qt.Key.Key_N)
    assert said[-1] == (other, tuple(c for c in before if c != "ants"))
    assert review.table.row_of[other] not in review.groups["ants"]


# --------------------------------------------------------------------------- the examples panel
@pytest.fixture
def examples(qtbot, tmp_path):
    from photosorter.gui.categories import CategoriesPanel
    from photosorter.library import Library
    from photosorter.samples import make_photo

    lib = Library()
    for c in ("ants", "bees"):
        lib.add_category(c)
    good = [tmp_path / f"ant_{i}.jpg" for i in range(4)]
    for i, p in enumerate(good):
        make_photo(p, ("red_disc",), i, size=(96, 72), rel_size=0.6)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    lib.add_examples("ants", good)
    lib.category("ants").examples.append(str(broken))  # a file that stopped being readable
    panel = CategoriesPanel(lib)
    qtbot.addWidget(panel)
    panel.show()
    panel.list.setCurrentRow(0)
    return panel, lib, [str(p) for p in good], str(broken)


def test_delete_removes_the_selected_examples_and_unusable_ones_say_why(examples, qtbot):
    panel, lib, good, broken = examples
    grid = panel.thumbs
    qtbot.waitUntil(lambda: "cannot be used" in panel.header.text(), timeout=20_000)
    bad = next(grid.item(i) for i in range(grid.count()) if grid.item(i).data(Qt.ItemDataRole.UserRole) == broken)
    assert bad.text().startswith("⚠") and "Cannot be used:" in bad.toolTip()
    changed = []
    panel.changed.connect(lambda: changed.append(1))
    grid.setFocus()
    grid.clearSelection()
    for i in range(grid.count()):
        if grid.item(i).data(Qt.ItemDataRole.UserRole) in (good[0], good[1]):
            grid.item(i).setSelected(True)
    qtbot.keyClick(grid, Qt.Key.Key_Delete)
    assert lib.category("ants").examples == [good[2], good[3], broken] and changed
    assert Path(good[0]).exists()  # only the example is removed, never the photo
    # one key and no question: the header offers the way back (a tryout removed one by mistake)
    assert "Put them back" in panel.header.text()
    panel.header.linkActivated.emit("put-back")
    assert sorted(lib.category("ants").examples) == sorted([good[0], good[1], good[2], good[3], broken])
    assert panel.header.text() == "Put back 2 example(s)." and len(changed) == 2


def test_context_menu_moves_examples_and_double_click_opens(examples, qtbot):
    panel, lib, good, _broken = examples
    grid = panel.thumbs
    opened = []
    panel.open_requested.connect(opened.append)
    first = grid.item(0)
    at = grid.visualItemRect(first).center()
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=at)  # a real double-click starts with a press
    qtbot.mouseDClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert opened == [first.data(Qt.ItemDataRole.UserRole)]
    grid.clearSelection()
    grid.item(0).setSelected(True)
    grid.item(1).setSelected(True)
    grid.customContextMenuRequested.emit(grid.visualItemRect(grid.item(0)).center())
    menu = grid.context_menu
    move = next(a.menu() for a in menu.actions() if a.text() == "Move to category")
    next(a for a in move.actions() if a.text() == "bees").trigger()
    assert lib.category("bees").examples == good[:2]
    assert good[0] not in lib.category("ants").examples and good[2] in lib.category("ants").examples
    # and into "none of these"
    panel.list.setCurrentRow(1)  # bees
    grid.clearSelection()
    grid.item(0).setSelected(True)
    grid.customContextMenuRequested.emit(grid.visualItemRect(grid.item(0)).center())
    move = next(a.menu() for a in grid.context_menu.actions() if a.text() == "Move to category")
    next(a for a in move.actions() if "None of these" in a.text()).trigger()
    assert lib.none_examples == [good[0]] and lib.category("bees").examples == [good[1]]


# --------------------------------------------------------------------------- a past run
def test_a_past_run_opens_in_the_grid_read_only_and_can_be_undone(panel, qtbot, tmp_path):
    from sorting_helpers import hand_plan

    from photosorter.config import app_paths
    from photosorter.sorting.ledger import Ledger
    from photosorter.sorting.sorter import apply_plan

    plan = hand_plan(tmp_path / "roll", tmp_path / "Sorted", n=9, sidecars_every=1000)
    for i, d in enumerate(plan.decisions):
        d.scores = {"cats": 0.9 if "cats" in d.categories else 0.1, "dogs": 0.8 if "dogs" in d.categories else 0.2}
        if i == 8:
            d.outcome, d.categories = "no_category", []
    ledger = Ledger(app_paths().ledger_file)
    summary = apply_plan(plan, ledger, detail={"thresholds": {"cats": 0.6, "dogs": 0.5}})
    panel.set_history(ledger.runs())
    ledger.close()
    panel.run_open_requested.connect(lambda run_id: panel.open_run(run_id, {}))
    assert not panel.open_run_button.isEnabled()  # nothing selected: the button would do nothing
    at = panel.history.visualItemRect(panel.history.item(0, 0)).center()
    qtbot.mouseClick(panel.history.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert panel.open_run_button.isEnabled()
    qtbot.mouseDClick(panel.history.viewport(), Qt.MouseButton.LeftButton, pos=at)  # double-click a run
    qtbot.waitUntil(lambda: panel.run_id == summary.run_id, timeout=20_000)
    review = panel.review
    assert len(review.groups["cats"]) == 5 and len(review.groups["dogs"]) == 5  # as copied (i=8 went nowhere)
    assert len(review.groups["No category"]) == 1 and "read-only" in panel.summary.text()
    # shown as it happened: no "Check first — 0" (a tryout read it as doubts the run never had)
    listed = [review.groups_list.item(r).text() for r in range(review.groups_list.count())]
    assert "Check first" not in review.groups and not any(t.startswith("Check first") for t in listed), listed
    review.select_group("cats")
    bars = review.model.tile(0)["bars"]
    assert bars[0][0] == "cats" and bars[0][2] == pytest.approx(0.6)  # its score against that run's threshold
    # read-only: no Apply, no sliders, keys do not re-decide anything
    assert not panel.apply_button.isEnabled() and not panel.slider_box.isEnabled() and panel.current_plan() is None
    grid = panel.grid
    grid.setFocus()
    grid.setCurrentIndex(grid.model().index(0))
    qtbot.keyClick(grid, Qt.Key.Key_2)
    assert not panel.corrections and len(review.groups["cats"]) == 5
    # undo stays available for the run shown
    asked = []
    panel.undo_requested.connect(asked.append)
    panel._undo_selected()
    assert asked == [summary.run_id]


def test_near_the_threshold_means_near_in_odds_not_every_zero_score_under_a_low_threshold():
    ps = [Path(f"/x/{i}.jpg") for i in range(4)]
    scores = [{"a": 0.0}, {"a": 0.045}, {"a": 0.45}, {"a": 0.9}]
    plan = Plan([Decision(p, "no_category", sha256=f"{i:064x}", scores=s) for i, (p, s) in enumerate(zip(ps, scores))],
                {"a": Path("/d/a")}, {"a": 0.05})
    table = ReviewTable.from_plan(plan)
    assert (table.near(table.decide({"a": 0.05})) >= 0).tolist() == [False, True, False, False]
    assert (table.near(table.decide({"a": 0.5})) >= 0).tolist() == [False, False, True, False]


def test_m_opens_a_category_chooser_and_a_choice_moves_the_photo(panel, qtbot):
    review, grid, photo, said = first_photo_of(panel, make_plan(40, seed=6), "All photos")
    qtbot.keyClick(grid, Qt.Key.Key_M)
    menu = panel.also_menu
    choices = [a for a in menu.actions() if a.isEnabled() and not a.isSeparator()]
    here = panel.labels_of(photo)
    # titled with what a choice does; the one category the photo is only in is not offered
    assert menu.actions()[0].text() == "Move to…" and not menu.actions()[0].isEnabled()
    assert [a.text().split()[-1] for a in choices] == [c for c in CATS if (c,) != here]
    next(a for a in choices if a.text().endswith("documents")).trigger()
    assert said == [(photo, ("documents",))]
    assert review.table.row_of[photo] in review.groups["documents"]
    menu.close()
    # "Also belongs in…" (A) leaves out where it already goes
    qtbot.keyClick(grid, Qt.Key.Key_A)
    also = [a.text().split()[-1] for a in panel.also_menu.actions() if a.isEnabled() and not a.isSeparator()]
    assert "documents" not in also and panel.also_menu.actions()[0].text() == "Also belongs in…"
    panel.also_menu.close()


def test_category_names_with_an_ampersand_read_right_in_menus():
    from photosorter.gui.widgets import menu_text

    assert menu_text("Pets & animals") == "Pets && animals"  # Qt shows "Pets & animals"


def test_a_new_smaller_preview_replaces_a_big_one_without_crashing(panel, qtbot):
    """New-user finding (3 of 3 tries, segfault in libshiboken): Ctrl+O on a second, smaller
    folder while a photo far down the first preview was selected. The grid's model got the new
    table before the view was reset, so the view asked for rows of the old preview in the new one."""
    panel.show()
    panel.set_plan(make_plan(85, seed=1), {}, sources=[])
    review, grid = panel.review, panel.grid
    review.select_group("All photos")
    grid.setCurrentIndex(grid.model().index(84))
    qtbot.wait(50)  # painted with the big preview
    small = make_plan(4, seed=2, root="/nonexistent/roll2")
    panel.set_plan(small, {}, sources=[])
    qtbot.wait(50)  # and painted again with the small one
    assert set(review.paths()) <= {str(d.path) for d in small.decisions}
    assert grid.current_path() is None or grid.current_path() in {str(d.path) for d in small.decisions}
    for row in range(grid.model().rowCount()):
        grid.model().data(grid.model().index(row), Qt.ItemDataRole.ToolTipRole)  # every tile readable


def test_a_photo_near_a_threshold_shows_that_score_on_its_tile(panel):
    """New-user finding: a "near the threshold" tile showed "people/documents/food 0.00 < 0.05"
    and hid nature 0.71 against 0.76 — the score it was near (equal gaps on the 0–1 scale)."""
    p = Path("/nonexistent/near.jpg")
    scores = {"ants": 0.0, "bees": 0.0, "beach": 0.71, "documents": 0.0}
    th = {"ants": 0.05, "bees": 0.05, "beach": 0.76, "documents": 0.05}
    plan = Plan([Decision(p, "no_category", sha256="0" * 64, scores=scores)], {c: Path("/d") / c for c in CATS}, th)
    panel.set_plan(plan, {}, sources=[])
    panel.review.select_group("All photos")
    bars = panel.review.model.tile(0)["bars"]
    assert bars[0][0] == "beach" and bars[0][1:3] == pytest.approx((0.71, 0.76))


def test_a_new_preview_opens_on_photos_and_scores_never_read_equal_across_a_verdict(panel):
    """New-user findings: after sorting a second folder the grid showed "documents — 0" (empty,
    kept from the last preview); tiles read "pets 0.05 < 0.05"."""
    from photosorter.gui.review import score_vs_threshold

    panel.set_plan(make_plan(40, seed=3), {}, sources=[])
    panel.review.select_group("documents")
    only_failed = Plan([Decision(Path("/nonexistent/x.jpg"), "failed", reason="truncated", message="cut")],
                       {c: Path("/d") / c for c in CATS}, {c: 0.5 for c in CATS})
    panel.set_plan(only_failed, {}, sources=[])
    assert len(panel.review.paths()) == 1
    assert score_vs_threshold(0.0496, 0.05) == "0.0496 < 0.0500"  # was "0.05 < 0.05"
    assert score_vs_threshold(0.71, 0.76) == "0.71 < 0.76"


def test_watch_batches_that_copied_nothing_are_not_listed_as_runs(panel):
    """Tryout finding: the history filled with "watch — done: copied 0, failed 0"."""
    from photosorter.sorting.ledger import RunInfo

    def run(i, kind, copied, failed=()):
        return RunInfo(i, kind, 0.0, None, "done", False,
                       {"summary": {"copied_photos": copied, "copies_made": copied, "failed": list(failed)}})

    panel.set_history([run(4, "watch", 0), run(3, "watch", 2), run(2, "watch", 0, ["x: cut"]), run(1, "sort", 0)])
    shown = [panel.history.item(r, 0).text() for r in range(panel.history.rowCount())]
    assert shown == ["3", "2", "1"]


def test_removing_a_none_of_these_example_keeps_that_list_selected(examples, qtbot):
    """Tryout finding: deleting an example jumped the selection to the first category."""
    panel, lib, good, _broken = examples
    lib.add_examples(None, [good[0]])
    panel.refresh(select=None)  # "none of these" selected
    assert panel.current_name() is None
    panel.remove_examples([str(good[0])])
    assert panel.current_name() is None and lib.none_examples == []


def test_a_photo_only_the_familiarity_check_keeps_out_is_near_and_says_why(panel):
    """Tryout: an obvious collie scored pets 0.00 (the check that a photo looks like the category's
    examples decays steeply), so "Near the threshold — check first" stayed empty and the dog sat in
    "No category". The category model's own yes is kept with the scores: such a photo is shown
    first for review, with the reason, and stops being special once the person has decided."""
    ps = [Path(f"/nonexistent/{n}.jpg") for n in ("collie", "vase", "cat")]
    scores = [{"ants": 0.0, "bees": 0.0, "beach": 0.0, "documents": 0.0}] * 2 + [{"ants": 0.97, "bees": 0.0,
                                                                                    "beach": 0.0, "documents": 0.0}]
    head = [{"ants": 0.0, "bees": 0.2, "beach": 0.99, "documents": 0.0},  # the model says beach; the check says no
            {"ants": 0.01, "bees": 0.0, "beach": 0.0, "documents": 0.0},  # nothing says anything
            {"ants": 0.99, "bees": 0.0, "beach": 0.0, "documents": 0.0}]  # passes: not "unlike"
    th = {c: 0.5 for c in CATS}
    plan = Plan([Decision(p, "no_category" if i < 2 else "copy", sha256=f"{i:064x}", scores=s, head=h,
                          categories=[] if i < 2 else ["ants"])
                 for i, (p, s, h) in enumerate(zip(ps, scores, head))], {c: Path("/d") / c for c in CATS}, th)
    table = ReviewTable.from_plan(plan)
    decided = table.decide(th)
    assert table.near(decided).tolist() == [2, -1, -1]  # the collie, for beach (in these tests' categories)
    assert table.unlike_examples_of(0, decided.thresholds) == ["beach"]
    assert (table.near(table.decide({**th, "beach": 0.995})) >= 0).tolist() == [False, False, False]  # stricter
    # under a low threshold a weak "maybe" of the model is not a yes (0.2 for bees against 0.05)
    assert table.unlike_examples_of(0, table.decide({**th, "bees": 0.05}).thresholds) == ["beach"]
    panel.set_plan(plan, {}, sources=[])
    assert panel.review.groups["Check first"].tolist() == [0]
    panel.review.select_group("Check first")
    assert panel.review.model.tile(0)["bars"][0][0] == "beach"  # the row it is flagged for, shown first
    tip = panel.review.model.data(panel.review.model.index(0), Qt.ItemDataRole.ToolTipRole)
    assert ("Check: the category model alone says beach, but the photo is unlike your beach examples, so it stays "
            "out of beach.") in tip
    assert panel.unlike_of(str(ps[0])) == ["beach"] and panel.unlike_of(str(ps[1])) == []
    panel.remember_correction(str(ps[0]), ())  # "none of these": decided, no longer to check
    assert panel.unlike_of(str(ps[0])) == [] and panel.review.groups["Check first"].tolist() == []


def test_a_photo_near_a_threshold_is_told_which_one(panel):
    """Tryout: a "check first" photo that was only near a threshold had no reason in the pane; the
    panel now says which threshold (the pane writes "Check: close to the beach threshold …")."""
    p = Path("/nonexistent/close.jpg")
    scores = {"ants": 0.0, "bees": 0.0, "beach": 0.45, "documents": 0.0}
    plan = Plan([Decision(p, "no_category", sha256="1" * 64, scores=scores)], {c: Path("/d") / c for c in CATS},
                {c: 0.5 for c in CATS})
    panel.set_plan(plan, {}, sources=[])
    assert panel.near_of(str(p)) == ("beach", pytest.approx(0.45), pytest.approx(0.5))
    assert panel.unlike_of(str(p)) == []
    panel.remember_correction(str(p), ("beach",))
    assert panel.near_of(str(p)) is None  # decided by the person: nothing to check


def test_a_duplicate_within_the_folder_says_it_is_sorted_once(panel):
    """Tryout: a first sort into empty folders showed "Already sorted — 2": two photos identical to
    others of the folder, sorted once. The group and the tile now say so."""
    a, b = Path("/nonexistent/IMG_0001.jpg"), Path("/nonexistent/IMG_0001 (copy).jpg")
    scores = {"ants": 0.9, "bees": 0.0, "beach": 0.0, "documents": 0.0}
    plan = Plan([Decision(a, "copy", sha256="1" * 64, categories=["ants"], scores=scores),
                 Decision(b, "already_sorted", sha256="1" * 64, scores=scores, message="identical to IMG_0001.jpg")],
                {c: Path("/d") / c for c in CATS}, {c: 0.5 for c in CATS})
    panel.set_plan(plan, {}, sources=[])
    assert panel.review.groups["Already sorted or a duplicate"].tolist() == [1]
    panel.review.select_group("Already sorted or a duplicate")
    assert panel.review.model.tile(0)["where"] == "nowhere again: identical to IMG_0001.jpg, which is sorted"
    assert panel.duplicate_of(str(b)) == "identical to IMG_0001.jpg" and panel.duplicate_of(str(a)) is None


def test_reviewing_a_past_run_sets_the_preview_aside_and_back_brings_it_as_it_was(panel, qtbot, monkeypatch):
    """Tryout: double-clicking a run in History replaced the open preview, with no way back but
    sorting the folder again. The preview is set aside; "Back to the preview" restores it with its
    folder, slider positions and corrections, and scores it again if a model was trained meanwhile."""
    from photosorter.sorting.ledger import RunInfo

    preview = make_plan(40, seed=8)
    panel.set_plan(preview, {}, sources=["/roll"])
    with qtbot.waitSignal(panel.thresholds_changed, timeout=5000):
        panel.sliders["beach"].setValue(83)
    panel.remember_correction(str(preview.decisions[0].path), ())
    groups = {g: rows.tolist() for g, rows in panel.review.groups.items()}
    assert not panel.back_button.isVisibleTo(panel)
    past = make_plan(10, seed=9)
    info = RunInfo(4, "sort", 0.0, 1.0, "done", False, {"summary": {"copied_photos": 3, "copies": 3}})
    panel.show_run(past, info, ReviewTable.from_plan(past, frozen=True), {})
    assert panel.run_id == 4 and panel.back_button.isVisibleTo(panel)
    assert "photos copied," in panel.summary.text() and "since moved" not in panel.summary.text()
    trashed = RunInfo(4, "sort", 0.0, 1.0, "done", False, {"summary": {"copied_photos": 3, "copies": 3}}, trashed=1)
    panel.show_run(past, trashed, ReviewTable.from_plan(past, frozen=True), {})  # as the History row says it
    assert "photos copied (1 photo copy since removed)," in panel.summary.text()
    panel.show_run(past, info, ReviewTable.from_plan(past, frozen=True), {})  # another run: the same preview aside
    rescored = []
    monkeypatch.setattr(panel, "rescore_preview", lambda: rescored.append(True))
    panel.back_button.click()
    assert panel.run_id is None and panel.plan is preview and panel.sources == ["/roll"]
    assert panel.sliders["beach"].value() == 83 and panel.thresholds["beach"] == pytest.approx(0.83)
    assert {g: rows.tolist() for g, rows in panel.review.groups.items()} == groups  # same decisions, correction kept
    assert not panel.back_button.isVisibleTo(panel) and rescored == []
    panel.show_run(past, info, ReviewTable.from_plan(past, frozen=True), {})
    panel.aside_stale = "model"  # a model was installed meanwhile (SortTab.rescore_preview marks it)
    panel.back_button.click()
    assert rescored == [True]


def test_the_history_keeps_the_selected_run_when_a_new_run_arrives(panel):
    """Tryout: the History selection stayed on a row after Apply, so "Undo selected run" would
    have meant another run than the one selected."""
    from photosorter.sorting.ledger import RunInfo

    def run(i):
        return RunInfo(i, "sort", float(i), float(i), "done", False, {"summary": {"copied_photos": 1, "copies": 1}})

    panel.set_history([run(3), run(2)])
    panel.history.selectRow(0)
    assert panel._selected_run() == 3
    panel.set_history([run(4), run(3), run(2)])  # a new run on top
    assert panel._selected_run() == 3 and panel.history.currentRow() == 1
    panel.set_history([run(5)])  # the selected run is gone from the list: nothing selected
    assert panel._selected_run() is None and not panel.undo_selected_button.isEnabled()


def test_the_check_first_group_is_named_for_what_to_do_and_its_tooltip_says_why(panel):
    """Two tryouts: "Near the threshold" read wrong for photos at 0.00 that only the familiarity
    check keeps out (an obvious collie at "pets 0.00 < 0.05")."""
    panel.set_plan(make_plan(40, seed=10), {}, sources=[])
    items = [panel.review.groups_list.item(r) for r in range(panel.review.groups_list.count())]
    first = next(i for i in items if i.text().startswith("Check first — "))
    assert "near a threshold, or kept out of a category only because they look unlike its examples" in first.toolTip()


def test_switching_groups_shows_the_selected_photo_s_row_at_the_top_never_a_cut_top_row(panel, qtbot):
    """Tryout: clicking another group that holds the selected photo scrolled just far enough to
    show it — at the bottom of the grid, with the top row cut in half. Now its row is at the top
    (or the group starts at its beginning when the photo is on its first screen)."""
    panel.resize(1100, 800)
    panel.set_plan(make_plan(400, seed=3), {}, sources=[])
    review, grid = panel.review, panel.grid
    checked = 0
    for target in [g for g in review.groups if g != "beach"]:
        review.select_group("beach")
        grid.setCurrentIndex(grid.model().index(grid.model().rowCount() // 2))
        photo = grid.current_path()
        item = next(review.groups_list.item(r) for r in range(review.groups_list.count())
                    if review.groups_list.item(r).text().startswith(target + " — "))
        qtbot.mouseClick(review.groups_list.viewport(), Qt.MouseButton.LeftButton,
                         pos=review.groups_list.visualItemRect(item).center())
        if grid.current_path() != photo:
            continue  # not in that group: it opens at its start
        rect, bar = grid.visualRect(grid.currentIndex()), grid.verticalScrollBar()
        assert rect.top() >= 0 and rect.bottom() <= grid.viewport().height(), (target, rect)
        assert bar.value() == 0 or rect.top() <= grid.spacing() + 2, (target, rect.top(), bar.value())
        checked += 1
    assert checked >= 2  # "Check first", another category or "All photos" held it


def test_after_an_undo_only_photos_to_copy_again_are_counted_so(panel):
    """Tryout: the header after Undo read "67 photos to copy … 70 to copy again after the undo":
    the retrain after a correction had moved 3 photos elsewhere, and every changed photo was
    counted as "to copy again"."""
    import copy

    from photosorter.gui.sorting import AFTER_UNDO

    applied = make_plan(60, seed=12)
    panel.set_plan(applied, {}, sources=["/roll"])
    panel.plan, panel.applied_run_id = None, 1  # as Apply leaves it
    again = copy.deepcopy(applied)  # the same photos after the undo and a retrain…
    moved = [d for d in again.decisions if d.outcome == "copy"][:3]
    for d in moved:  # …that put three of them under every threshold
        d.scores = {c: 0.01 for c in d.scores}
        d.outcome, d.categories = "no_category", []
    changed = panel.set_plan(again, {}, sources=["/roll"], compare=True, why=AFTER_UNDO)
    to_copy = panel._decided.counts()["copy"]
    assert changed == to_copy
    assert f"{to_copy} photos to copy" in panel.summary.text() or f"{to_copy} photo to copy" in panel.summary.text()
    assert f"{to_copy} to copy again after the undo" in panel.summary.text()
    assert not {str(d.path) for d in moved} & panel.changed


def test_a_correction_follows_its_category_s_rename(panel):
    """Tryout: a cat corrected into pets (✎ "you: pets") went to no category once pets was renamed
    Animals and the retrained model re-scored the preview: the correction still named pets."""
    import copy

    plan = make_plan(30, seed=14)
    panel.set_plan(plan, {}, sources=["/roll"])
    photo = str(plan.decisions[0].path)
    panel.remember_correction(photo, ("beach",))
    panel.rename_in_corrections("beach", "Seaside")
    assert panel.corrections[photo] == ("Seaside",)
    renamed = copy.deepcopy(plan)  # the retrained model's preview: the same photos under the new name
    renamed.destinations = {("Seaside" if c == "beach" else c): p for c, p in plan.destinations.items()}
    renamed.thresholds = {("Seaside" if c == "beach" else c): t for c, t in plan.thresholds.items()}
    for d in renamed.decisions:
        d.scores = {("Seaside" if c == "beach" else c): v for c, v in d.scores.items()}
        d.categories = ["Seaside" if c == "beach" else c for c in d.categories]
    panel.set_plan(renamed, {}, sources=["/roll"], compare=True)
    assert panel.labels_of(photo) == ("Seaside",)
    panel.review.select_group("Seaside")
    assert photo in panel.review.paths()
