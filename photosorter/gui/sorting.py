"""Sort panel: dry-run preview first, live threshold sliders, Apply, Undo, history."""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..sorting.ledger import removed_since
from ..sorting.planner import Plan
from ..sorting.review_table import COPY, FAILED, SORTED, Decided, ReviewTable
from .review import ReviewView
from .widgets import menu_text, wheel_only_when_focused

#: withdraw_corrections: the examples were removed (not moved to another category)
REMOVED = object()


class SetAside(NamedTuple):
    """The preview put aside while a past run is reviewed ("Back to the preview" restores it)."""

    plan: Plan
    table: ReviewTable
    sources: list[str]
    thresholds: dict[str, float]  # the sliders' positions
    colours: dict[str, str]
    applied_run_id: int | None  # Apply had carried it out: it comes back as applied


def _destination(table: ReviewTable, decided: Decided, i: int) -> tuple[int, tuple[str, ...]]:
    outcome, cats = decided.key(i)
    return outcome, tuple(table.categories[j] for j in cats)


def _made_anything(run) -> bool:
    s = run.detail.get("summary", {})
    return bool(s.get("copies_made", s.get("copied_photos", 0)) or s.get("failed"))


def copy_counts_text(plan) -> str:
    """Photos and copies, worded so the numbers add up: a photo in two categories is one photo
    but two copies (the groups showed 72 + 79 while the summary said "150 photos to copy")."""
    photos = [d for d in plan.decisions if d.outcome == "copy"]
    per_cat = {c: sum(c in d.categories for d in photos) for c in plan.destinations}
    return counts_text(len(photos), per_cat, sum(len(d.categories) > 1 for d in photos))


def counts_text(photos: int, per_cat: dict[str, int], several: int) -> str:
    """``photos`` to copy, ``per_cat`` copies per category, ``several`` photos in more than one."""
    copies = sum(per_cat.values())
    lines = ", ".join(f"{n} → {c}" for c, n in per_cat.items())
    text = f"{photos} photo{'s' if photos != 1 else ''} to copy"
    if copies != photos:
        return (f"{text} as {copies} copies ({lines}; {several} photo{'s go' if several != 1 else ' goes'} "
                "to more than one category)")
    return f"{text} ({lines})"


#: ``set_plan``'s ``why`` after an undo: the highlighted photos are those to copy again.
AFTER_UNDO = "to copy again after the undo"


class SortPanel(QWidget):
    folder_dropped = Signal(list)
    choose_requested = Signal()
    apply_requested = Signal()
    undo_requested = Signal(object)  # run id or None (last)
    run_open_requested = Signal(int)  # show a past run in the review grid
    photo_selected = Signal(str)
    nothing_selected = Signal()  # the review grid shows an empty group
    thresholds_changed = Signal(dict)
    decisions_changed = Signal()  # regrouped: a slider moved, a correction, a new preview
    open_requested = Signal(str)  # Space/Enter on a photo: show it large with its heatmaps
    correction = Signal(str, object)  # (photo, the categories it belongs in: a tuple, () = none of these)

    def __init__(self) -> None:
        super().__init__()
        self.setAcceptDrops(True)
        self.plan = None
        self.table: ReviewTable | None = None
        self._decided: Decided | None = None
        self._shown = None  # the last preview as a Plan (kept after Apply for its summary)
        self._shown_key: tuple | None = None
        self._shown_table = None
        self.corrections: dict[str, tuple[str, ...]] = {}  # photo → the categories the person said
        self._changed_mask = np.zeros(0, dtype=bool)
        self.colours: dict[str, str] = {}
        self.sources: list[str] = []  # what the open preview was made from (re-scored after retraining)
        self.changed: set[str] = set()  # photos whose destination changed at the last re-score
        self.changed_why = "changed with the new model"  # what the highlighted photos did, and why
        self._runs = 0
        self.thresholds: dict[str, float] = {}
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(250)
        self._save_timer.timeout.connect(lambda: self.thresholds_changed.emit(dict(self.thresholds)))
        self.sliders: dict[str, QSlider] = {}
        self.drop_hint = QLabel("Drop a folder of photos here, or")
        self.drop_hint.setWordWrap(True)  # beside the button it set the tab's minimum width at 200%
        choose = QPushButton("Choose a folder to sort… (Ctrl+O)")
        choose.clicked.connect(self.choose_requested.emit)
        self.summary = QLabel("Nothing to preview yet. Photos are only ever <b>copied</b>; originals stay where they are.")
        self.summary.setWordWrap(True)
        self.review = ReviewView()
        self.review.photo_selected.connect(self.photo_selected.emit)
        self.review.nothing_selected.connect(self.nothing_selected.emit)
        self.review.grid.open_requested.connect(self.open_requested.emit)
        self.review.grid.not_this_requested.connect(self._not_this)
        self.review.grid.also_requested.connect(self._also)
        self.review.grid.move_requested.connect(self._move)
        self.grid = self.review.grid
        # a short title: a group box title never wraps, the long one made the tab 450 px wide
        self.slider_box = QGroupBox("Thresholds")
        self.slider_box.setToolTip("Move a slider to see the preview change; nothing is recomputed.")
        self.slider_grid = QGridLayout(self.slider_box)
        self.apply_button = QPushButton("Apply: copy photos")
        self.apply_button.setEnabled(False)
        self.apply_button.clicked.connect(self.apply_requested.emit)
        self.undo_button = QPushButton("Undo last run")  # Ctrl+Z: in its tooltip, the button fits at 200%
        self.undo_button.setToolTip("Move the last run's copies to the trash (Ctrl+Z)")
        self.undo_button.setEnabled(False)  # until there is a run to undo
        self.undo_button.clicked.connect(lambda: self.undo_requested.emit(None))
        self.history = QTableWidget(0, 4)
        self.history.setHorizontalHeaderLabels(["Run", "When", "What", "Result"])
        self.history.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.history.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.history.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.history.verticalHeader().setVisible(False)
        # the header and three runs (scrolls for more): the review grid above gets the rest
        self.history.setMaximumHeight(self.history.horizontalHeader().sizeHint().height()
                                      + 3 * self.history.verticalHeader().defaultSectionSize() + 6)
        self._undoable: set[int] = set()  # ids of runs that can still be undone
        undo_selected = QPushButton("Undo selected run")
        undo_selected.setEnabled(False)  # until an undoable run is selected
        undo_selected.clicked.connect(self._undo_selected)
        open_run = QPushButton("Review selected run")
        open_run.setToolTip("Show the run's photos in the grid, grouped by where they went (double-click a run too)")
        open_run.clicked.connect(self._open_selected)
        open_run.setEnabled(False)  # until a run is selected
        self.open_run_button = open_run
        self.history.cellDoubleClicked.connect(lambda _r, _c: self._open_selected())
        self.run_id: int | None = None  # the past run the grid shows (read-only), or None: a preview
        self.applied_run_id: int | None = None  # the run Apply made from the preview still shown (its copies exist)
        self.undo_selected_button = undo_selected
        self.history.itemSelectionChanged.connect(self._update_undo_selected)
        # reviewing a past run replaced the open preview with no way back but sorting the folder
        # again (tryout): the preview is kept aside and this button brings it back as it was
        self._set_aside: SetAside | None = None
        # why the preview set aside must be scored again on the way back: "model" (a training
        # ended), "undo" (copies went to the trash), or None
        self.aside_stale: str | None = None
        self.back_button = QPushButton("Back to the preview")
        self.back_button.setToolTip("Show the preview you had open before reviewing this run")
        self.back_button.clicked.connect(self.back_to_preview)
        self.back_button.setVisible(False)
        top = QHBoxLayout()
        top.addWidget(self.drop_hint, 1)
        top.addWidget(choose)
        actions = QHBoxLayout()
        actions.addWidget(self.apply_button)
        actions.addWidget(self.back_button)
        actions.addWidget(self.undo_button)
        actions.addStretch(1)
        history_bar = QHBoxLayout()  # the buttons for the selected run sit with the runs (was one row of four)
        history_bar.addStretch(1)
        history_bar.addWidget(open_run)
        history_bar.addWidget(undo_selected)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.summary)
        lay.addWidget(self.review, 3)
        lay.addWidget(self.slider_box)
        lay.addLayout(actions)
        self.history_title = QLabel("<b>History</b>")
        lay.addWidget(self.history_title)
        lay.addLayout(history_bar)
        lay.addWidget(self.history, 1)
        self._show_history_table(False)

    # ------------------------------------------------------------ drops
    def dragEnterEvent(self, e):
        if e.mimeData().hasUrls():
            e.acceptProposedAction()

    def dropEvent(self, e):
        paths = [u.toLocalFile() for u in e.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.folder_dropped.emit(paths)
            e.acceptProposedAction()

    # ------------------------------------------------------------ preview
    def set_plan(self, plan, colours: dict[str, str], sources: list[str] | None = None, compare: bool = False,
                 table: ReviewTable | None = None, why: str = "changed with the new model") -> int:
        """Show a new preview. ``compare``: it replaces the open one (same photos, new model):
        photos whose destination changed are highlighted; returns how many changed. ``table``:
        the plan's ReviewTable, built on the worker thread that made the plan."""
        old_table, old_decided = (self.table, self._decided) if compare else (None, None)
        if old_decided is not None and self.applied_run_id is not None:
            # the preview on screen was applied: what it was to copy is copied (an undo of that run
            # then brings every one of them back "to copy": a tryout read "0 … to copy again")
            copied = old_decided.outcome == COPY
            old_decided = dataclasses.replace(old_decided, outcome=np.where(copied, SORTED, old_decided.outcome),
                                              todo=old_decided.todo & ~copied[:, None])
        self.run_id = None
        self._set_aside, self.aside_stale = None, None
        self.back_button.setVisible(False)
        self.applied_run_id = None
        self.changed_why = why  # what the highlighted photos did, and why (retraining, an undo)
        self.slider_box.setEnabled(True)
        self.plan = plan
        self.table = table if table is not None and table.plan is plan else ReviewTable.from_plan(plan)
        self.colours = colours
        if sources is not None:
            self.sources = list(sources)
        self.thresholds = dict(plan.thresholds)
        while self.slider_grid.count():
            item = self.slider_grid.takeAt(0)
            w = item.widget() if item is not None else None
            if w is not None:
                w.deleteLater()
        self.sliders = {}
        self.slider_values: dict[str, QLabel] = {}
        # two sliders a row from four categories on: one a row took six rows' height from the
        # review grid (tryout: a ~290 px grid in a 1360×840 window)
        per_row = 2 if len(self.thresholds) > 3 else 1
        for k, (name, t) in enumerate(self.thresholds.items()):
            row, col = divmod(k, per_row)
            label = QLabel(f"<span style='color:{colours.get(name, '#888')}'>■</span> {name}")
            s = QSlider(Qt.Orientation.Horizontal)
            s.setRange(1, 99)
            s.setValue(round(t * 100))
            s.setObjectName(f"threshold:{name}")
            s.setAccessibleName(f"Threshold for {name}")
            wheel_only_when_focused(s)  # scrolling the page must not move a threshold
            value = QLabel(f"{t:.2f}")
            s.valueChanged.connect(lambda v, n=name, lab=value: self._slider_moved(n, v, lab))
            self.slider_grid.addWidget(label, row, 3 * col)
            self.slider_grid.addWidget(s, row, 3 * col + 1)
            self.slider_grid.addWidget(value, row, 3 * col + 2)
            self.sliders[name] = s
            self.slider_values[name] = value
        self.changed = set()
        self._changed_mask = np.zeros(len(self.table), dtype=bool)
        if old_table is not None and old_decided is not None:
            now = self.table.decide(self.thresholds, self.corrections)
            old = np.array([old_table.row_of.get(p, -1) for p in self.table.paths], dtype=np.int64)
            known = old >= 0
            if old_table.categories == self.table.categories:  # the usual case: one comparison
                o = np.where(known, old, 0)
                moved = known & ((old_decided.outcome[o] != now.outcome) | (old_decided.todo[o] != now.todo).any(axis=1))
            else:
                moved = np.array([bool(k) and _destination(old_table, old_decided, int(j)) != _destination(self.table, now, i)
                                  for i, (j, k) in enumerate(zip(old, known))], dtype=bool)
            if why == AFTER_UNDO:  # only what is to copy again is that (a tryout read "67 photos to copy … 70 to
                moved = moved & (now.outcome == COPY)  # copy again": 3 had moved elsewhere with a retrain)
            self._changed_mask = moved
            self.changed = {self.table.paths[i] for i in np.flatnonzero(moved)}
        self._refresh(rescored=compare)
        return len(self.changed)

    def _slider_moved(self, name: str, value: int, label: QLabel) -> None:
        calibrated = self.plan.thresholds[name] if self.plan is not None else None
        # The slider has 1/100 steps; its starting notch means "the calibrated threshold", exactly.
        t = calibrated if calibrated is not None and value == round(calibrated * 100) else value / 100
        self.thresholds[name] = t
        label.setText(f"{t:.2f}")
        self._refresh()
        # saving (an fsync'd file) and re-arming the watcher wait until the slider rests
        self._save_timer.start()

    def current_plan(self):
        """The plan Apply carries out: the sliders' thresholds, the person's corrections."""
        if self.plan is None or self.table is None or self.run_id is not None:
            return None  # nothing, or a past run (read-only): nothing to apply
        key = (tuple(sorted(self.thresholds.items())), tuple(sorted(self.corrections.items())))
        if self._shown_key != key or self._shown is None or self._shown_table is not self.table:
            self._shown = self.table.to_plan(self.thresholds, self.corrections)
            self._shown_key, self._shown_table = key, self.table
        return self._shown

    @property
    def shown(self):
        """The preview as a Plan (built on demand: the grid itself works on arrays)."""
        if self.run_id is not None:
            return self.plan
        return self.current_plan() if self.plan is not None else self._shown

    def _refresh(self, rescored: bool = False) -> None:
        """Regroup the grid; ``rescored``: set_plan shows the open preview's photos scored again."""
        if self.table is None or (self.plan is None and self.applied_run_id is None):
            return
        decided = self.table.decide(self.thresholds, self.corrections)
        self._decided = decided
        self.review.set_decided(self.table, decided, self.colours, self._changed_mask, self.corrections,
                                self.changed_why, rescored=rescored)
        if self.plan is None:  # the applied preview: its tiles follow corrections (✎), the summary says what was done
            self.decisions_changed.emit()
            return
        counts = decided.counts()
        per_cat = dict(zip(self.table.categories, decided.per_category().tolist()))
        copying = decided.outcome == COPY
        several = int((decided.todo[copying].sum(axis=1) > 1).sum())
        changed = f" <b>{len(self.changed)} {self.changed_why}</b> (highlighted)." if self.changed else ""
        fixed = f" {int(decided.corrected.sum())} decided by your corrections (✎)." if decided.corrected.any() else ""
        self.summary.setText(
            f"<b>Preview (nothing copied yet):</b> {counts_text(counts['copy'], per_cat, several)}; "
            f"{counts['no_category']} go nowhere; {counts['already_sorted']} already sorted; "
            f"{counts['failed']} cannot be read.{changed}{fixed}"
        )
        self.apply_button.setEnabled(counts["copy"] > 0 and self.run_id is None)
        self.decisions_changed.emit()

    # ------------------------------------------------------------ corrections
    def _row(self, path: str | None) -> int | None:
        """The table row of ``path`` when the grid shows it, else None."""
        return self.table.row_of.get(path) if self.table is not None and path is not None else None

    def past_run_of(self, path: str | None) -> int | None:
        """The past run the grid shows ``path`` from (read-only: nothing there to correct), or None."""
        return self.run_id if self._row(path) is not None else None

    def applied_run_of(self, path: str) -> int | None:
        """The run Apply made from the preview still shown, if ``path`` is in it (its copies exist)."""
        return self.applied_run_id if self._row(path) is not None else None

    def decision_of(self, path: str) -> tuple[dict[str, float], tuple[str, ...] | None] | None:
        """For a photo of the open preview: the sliders' thresholds and the person's correction
        (None: none), so the preview pane decides as the grid does; None for any other photo (and
        for a past run, which is shown as it happened)."""
        if self.run_id is not None or self._row(path) is None:
            return None
        return dict(self.thresholds), self.corrections.get(path)

    def _undecided_row(self, path: str) -> int | None:
        """The table row of a photo of the open preview the person has not decided on yet."""
        return None if self._decided is None or path in self.corrections else self._row(path)

    def has_copies(self, path: str) -> bool:
        """Whether ``path`` of the grid has copies already: Apply made them from the preview shown,
        or an earlier run did ("already sorted")."""
        if self.applied_run_of(path) is not None:
            return True
        i = self._row(path)
        return i is not None and self.table is not None and self.run_id is None and bool(self.table.done[i].any())

    def outcome_words_of(self, path: str) -> str | None:
        """Where the grid's ``path`` is, when "goes to" would be wrong: what Apply did with it
        ("copied to pets (run 3)"), or that an earlier run sorted it ("already sorted into pets:
        not copied again" — the pane said "goes to nature" for those, tryout); None otherwise."""
        i = self._row(path)
        if i is None or self.table is None or self._decided is None:
            return None
        outcome = int(self._decided.outcome[i])
        if self.run_id is not None:  # a past run: what it did, and what is gone since (a tryout's trashed
            message = self.table.plan.decisions[i].message  # copy showed as if still in pets)
            return message if outcome == COPY and message else None
        run = self.applied_run_of(path)
        if run is None:
            if outcome != SORTED or self.table.identical[i]:
                return None
            names = ", ".join(c for c, done in zip(self.table.categories, self.table.done[i]) if done)
            return f"already sorted into {names}: not copied again" if names else "already sorted: not copied again"
        if outcome == COPY:
            names = ", ".join(self.table.categories[j] for j in np.flatnonzero(self._decided.todo[i]))
            return f"copied to {names} (run {run})"
        return {SORTED: "already sorted: not copied again", FAILED: "could not be read: not copied"}.get(
            outcome, f"went to no category (run {run})")

    def tile_scores_of(self, path: str) -> dict[str, float] | None:
        """The scores the grid's tile shows for ``path`` (the preview's, or the ones a run decided
        with), or None when the grid does not show it."""
        i = self._row(path)
        if i is None or self.table is None:
            return None
        return {c: float(v) for c, v in zip(self.table.categories, self.table.scores[i]) if v >= 0}

    def duplicate_of(self, path: str) -> str | None:
        """For a photo of the open preview identical to another one of it: "identical to NAME"
        (it is sorted once, as that one); None otherwise."""
        i = self._row(path)
        if i is None or self.table is None:
            return None
        return self.table.plan.decisions[i].message if self.table.identical[i] else None

    def unlike_of(self, path: str) -> list[str]:
        """Categories only the familiarity check keeps this photo of the open preview out of ("looks
        like pets, but unlike your examples"); none once the person has said where it goes."""
        i = self._undecided_row(path)
        if i is None or self._decided is None or self.table is None:
            return []
        return self.table.unlike_examples_of(i, self._decided.thresholds)

    def near_of(self, path: str) -> tuple[str, float, float] | None:
        """(category, score, threshold) a photo of the open preview is near the threshold of, as
        the "check first" group has it; None when it is not (or the person has decided)."""
        i = self._undecided_row(path)
        j = self.review.near_category(i) if i is not None else -1
        if i is None or j < 0 or self._decided is None or self.table is None:
            return None
        return self.table.categories[j], float(self.table.scores[i, j]), float(self._decided.thresholds[j])

    def labels_of(self, path: str) -> tuple[str, ...]:
        """Where the photo goes now (corrections included)."""
        i = self._row(path)
        if i is None or self.table is None or self._decided is None:
            return ()
        if path in self.corrections:
            return tuple(self.corrections[path])
        chosen = self.table.scores[i] >= self._decided.thresholds
        return tuple(c for c, on in zip(self.table.categories, chosen) if on)

    def remember_correction(self, path: str, labels: tuple[str, ...]) -> None:
        """The person's word on a photo: it wins over the model in this preview from now on,
        also after retraining and re-scoring."""
        if self.run_id is not None:
            return  # a past run is shown as it happened
        self.corrections[path] = tuple(labels)
        self._refresh()

    def withdraw_corrections(self, paths: list[str], source: str | None, target: object = REMOVED) -> None:
        """Examples were removed from ``source`` (None: "none of these") or moved from it to
        ``target`` in the categories panel: what a correction in this preview said about those
        photos follows. A tryout's stray "Not nature" made a lake a "none of these" example; they
        removed it and retrained, and the preview still said "you: none" over nature 1.00.
        Removed: the correction goes and the model decides again. Moved: it now says ``target``."""
        changed = False
        for p in paths:
            said = self.corrections.get(p)
            if said is None or not ((not said) if source is None else source in said):
                continue
            if target is REMOVED:
                del self.corrections[p]
            else:
                rest = tuple(c for c in said if c != source)
                self.corrections[p] = rest + ((str(target),) if target is not None and target not in rest else ())
            changed = True
        if changed:
            self._refresh()

    def rename_in_corrections(self, old: str, new: str) -> None:
        """A category was renamed: the person's word keeps meaning the same category (a tryout's
        cat corrected into pets went nowhere once pets became Animals: "you: pets" named a
        category the re-scored preview no longer had)."""
        for path, labels in list(self.corrections.items()):
            if old in labels:
                self.corrections[path] = tuple(new if c == old else c for c in labels)

    #: What runs now that decisions or copies must wait for: "apply" or "undo" (None: nothing).
    #: An attack found each of them unguarded: Apply clicked again while copying started a second
    #: run; N during Apply was overruled by the copy Apply then made, without a question; Ctrl+Z
    #: during an undo undid the run before it too once the first had finished.
    copying: str | None = None

    def wait_for_copying(self) -> bool:
        """True when Apply or an undo runs (the Sort tab also says so in the status bar)."""
        return self.copying is not None

    def _correct(self, path: str, labels) -> None:
        if self.copying == "apply" and self.wait_for_copying():
            return  # Apply works from the plan as it was: the correction would be overruled on disk
        if self.run_id is not None:
            self.summary.setText(f"Run {self.run_id} is shown read-only: open a preview to correct photos.")
            return
        labels = tuple(c for c in (self.table.categories if self.table else []) if c in labels)
        self.remember_correction(path, labels)
        self.correction.emit(path, labels)

    def _not_this(self, path: str) -> None:
        """N: not the category of the open group (in another group: not any it goes to)."""
        group = self.review.current_group()
        now = self.labels_of(path)
        self._correct(path, tuple(c for c in now if c != group) if group in now else ())

    def _move(self, path: str, name) -> None:
        """1…9 / "Move to…": the photo belongs in that category (only): a correct example."""
        if name is None:
            self._menu_at_current("Move to…", lambda n: self._correct(path, (n,)),
                                  skip=lambda n: self.labels_of(path) == (n,))
        else:
            self._correct(path, (name,))

    def _also(self, path: str) -> None:
        """"Also belongs in…": a menu of the categories, at the photo."""
        self._menu_at_current("Also belongs in…", lambda n: self._correct(path, (*self.labels_of(path), n)),
                              skip=lambda n: n in self.labels_of(path))

    def _menu_at_current(self, title: str, act, skip=lambda _n: False) -> None:
        """A menu of the categories at the selected photo, titled with what choosing one does,
        without the categories the photo already has (choosing one of those changed nothing)."""
        if self.plan is None or self.table is None:
            return
        m = QMenu(self)
        m.setTitle(title)
        heading = m.addAction(title)
        heading.setEnabled(False)
        m.addSeparator()
        for k, name in enumerate(self.table.categories):
            if skip(name):
                continue
            m.addAction(f"&{k + 1}  {menu_text(name)}" if k < 9 else menu_text(name), lambda n=name: act(n))
        rect = self.grid.visualRect(self.grid.currentIndex())
        self.also_menu = m
        m.popup(self.grid.viewport().mapToGlobal(rect.center()))

    # ------------------------------------------------------------ history
    def has_history(self) -> bool:
        """Whether there is a run that is not undone yet."""
        return self._runs > 0

    def set_history(self, runs) -> None:
        # a watch batch whose photos all went nowhere is a run in the journal (it remembers them
        # as seen) but nothing to review or undo: listing each one buried the real runs
        runs = [r for r in runs if not (r.kind == "watch" and r.state == "done" and not _made_anything(r))]
        self._undoable = {r.id for r in runs if r.kind in ("sort", "watch") and not r.dry_run
                          and r.state in ("done", "interrupted")}  # what undo can still undo
        self._runs = len(self._undoable)
        self.undo_button.setEnabled(self._runs > 0)
        # the selection is of a run, not of a row: a new run on top must not slide "Undo selected
        # run" onto another one (a tryout found the selection left on a row after Apply)
        selected = self._selected_run()
        self.history.clearSelection()
        self.history.setRowCount(len(runs))
        for r, run in enumerate(runs):
            s = run.detail.get("summary", {})
            when = datetime.datetime.fromtimestamp(run.started).strftime("%Y-%m-%d %H:%M")
            what = ("watch: " if run.kind == "watch" else "") + ", ".join(Path(x).name for x in run.detail.get("sources", []))
            result = f"{run.state}: copied {s.get('copied_photos', 0)}, failed {len(s.get('failed', []))}"
            if run.state == "undone":  # "undone: copied 373" read as if the copies were there (tryout)
                result += " (Undo moved its copies to the trash)"
            elif run.trashed:
                result += f" ({removed_since(run.trashed)})"
            for c, text in enumerate((str(run.id), when, what, result)):
                self.history.setItem(r, c, QTableWidgetItem(text))
        ids = [run.id for run in runs]
        if selected in ids:
            self.history.selectRow(ids.index(selected))
        else:
            self.history.setCurrentCell(-1, -1)
        self._show_history_table(bool(runs))
        self._update_undo_selected()

    def _show_history_table(self, shown: bool) -> None:
        """No runs yet: one line says so, and the review grid gets the table's height."""
        self.history_title.setText("<b>History</b>" if shown else "<b>History</b> — no runs yet")
        for widget in (self.history, self.open_run_button, self.undo_selected_button):
            widget.setVisible(shown)

    def _selected_run(self) -> int | None:
        row = self.history.currentRow()
        item = self.history.item(row, 0) if row >= 0 and self.history.selectedItems() else None
        return int(item.text()) if item is not None else None

    def _update_undo_selected(self) -> None:
        """Enabled only while the selected run can still be undone (not once it was)."""
        self.undo_selected_button.setEnabled(self._selected_run() in self._undoable)
        self.open_run_button.setEnabled(self._selected_run() is not None)

    def _undo_selected(self) -> None:
        run = self._selected_run()
        if run is not None and run in self._undoable:
            self.undo_requested.emit(run)

    def _open_selected(self) -> None:
        run_id = self._selected_run()
        if run_id is not None:
            self.run_open_requested.emit(run_id)

    def open_run(self, run_id: int, colours: dict[str, str], note: str = "") -> None:
        """Read a past run from the ledger (off the UI thread) and show it in the grid; ``note``
        follows its summary (what the undo that just ran did)."""
        from ..config import app_paths
        from .workers import start_job

        def job(progress, cancel, emit):
            from ..sorting.ledger import Ledger
            from ..sorting.past_run import plan_of_run

            ledger = Ledger(app_paths().ledger_file)
            try:
                plan, info = plan_of_run(ledger, run_id)
            finally:
                ledger.close()
            return plan, info, ReviewTable.from_plan(plan, frozen=True)

        def done(result) -> None:
            plan, info, table = result
            self.show_run(plan, info, table, colours)
            if note:
                self.summary.setText(self.summary.text() + "<br>" + note)

        def failed(message: str) -> None:
            self.summary.setText(f"Run {run_id} cannot be shown: {message}")

        start_job(self.window(), job, on_done=done, on_error=failed)

    def show_run(self, plan, info, table: ReviewTable, colours: dict[str, str]) -> None:
        """A past run in the grid, read-only: where each photo went, with its scores then.
        Undo stays available; Apply, the sliders and corrections are off (nothing to decide)."""
        aside, stale = self._set_aside, self.aside_stale  # one run after another: the same preview aside
        if self.run_id is None and self.table is not None and (self.plan is not None or self.applied_run_id is not None):
            # an applied preview too (a tryout got no way back after Apply): it comes back as
            # applied, scored again only if an undo or a training happened meanwhile
            aside = SetAside(self.table.plan, self.table, list(self.sources), dict(self.thresholds), self.colours,
                             self.applied_run_id)
        self.set_plan(plan, colours, sources=[], table=table)
        self._set_aside, self.aside_stale = aside, stale
        self.back_button.setVisible(aside is not None)
        self.run_id = info.id
        self.slider_box.setEnabled(False)
        self.apply_button.setEnabled(False)
        counts = table.decide({}).counts()
        when = datetime.datetime.fromtimestamp(info.started).strftime("%Y-%m-%d %H:%M")
        # as the History row says it (a tryout read "25 copied" here beside "(1 since moved to the trash)")
        since = f" ({removed_since(info.trashed)})" if info.trashed and info.state != "undone" else ""
        self.summary.setText(
            f"<b>Run {info.id} ({when}, {info.state}) — read-only:</b> {counts['copy']} photos copied{since}, "
            f"{counts['no_category']} went nowhere, {counts['already_sorted']} already sorted, "
            f"{counts['failed']} failed. "
            + ("It has been undone." if info.state == "undone" else "Undo it with “Undo selected run”."))

    def back_to_preview(self) -> None:
        """The preview set aside when a past run was opened, as it was: its photos, thresholds
        (slider positions included) and corrections."""
        if self._set_aside is None:
            return
        aside, stale = self._set_aside, self.aside_stale
        self.back_button.setVisible(False)
        self.set_plan(aside.plan, aside.colours, sources=aside.sources, table=aside.table)
        if aside.applied_run_id is not None:  # it was the preview Apply carried out: it comes back as that
            self.plan, self.applied_run_id = None, aside.applied_run_id
            self.apply_button.setEnabled(False)
            self.slider_box.setEnabled(False)
            # and says so (a tryout read "Preview (nothing copied yet): 70 photos to copy" above
            # tiles saying "copied to pets (run 1)", with Apply off)
            self.summary.setText(self.applied_summary_text(aside.applied_run_id))
        for name, t in aside.thresholds.items():
            if name in self.sliders:
                self.sliders[name].blockSignals(True)
                self.sliders[name].setValue(round(t * 100))
                self.sliders[name].blockSignals(False)
                self.slider_values[name].setText(f"{t:.2f}")
                self.thresholds[name] = t
        self._refresh()
        if stale:
            self.rescore_aside(stale)

    def applied_summary_text(self, run_id: int) -> str:
        """The summary over a preview Apply carried out (the Sort tab has Apply's own words)."""
        return f"<b>Done (run {run_id}):</b> this preview was applied. Undo puts the copies in the trash (Ctrl+Z)."

    def rescore_aside(self, why: str) -> None:
        """Score the preview brought back again (SortTab runs it in a job, saying ``why``)."""
        self.rescore_preview()

    def rescore_preview(self) -> None:
        """Score the open preview again with a new model (SortTab runs it in a job)."""
