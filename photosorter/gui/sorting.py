"""Sort panel: dry-run preview first, live threshold sliders, Apply, Undo, history."""

from __future__ import annotations

import datetime
from pathlib import Path

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

from .review import ReviewView


def rethreshold_plan(plan, thresholds):
    from ..sorting.sorter import rethreshold

    return rethreshold(plan, thresholds)


def copy_counts_text(plan) -> str:
    """Photos and copies, worded so the numbers add up: a photo in two categories is one photo
    but two copies (the groups showed 72 + 79 while the summary said "150 photos to copy")."""
    photos = [d for d in plan.decisions if d.outcome == "copy"]
    per_cat = {c: sum(c in d.categories for d in photos) for c in plan.destinations}
    copies = sum(per_cat.values())
    lines = ", ".join(f"{n} → {c}" for c, n in per_cat.items())
    text = f"{len(photos)} photo{'s' if len(photos) != 1 else ''} to copy"
    if copies != len(photos):
        several = sum(len(d.categories) > 1 for d in photos)
        return (f"{text} as {copies} copies ({lines}; {several} photo{'s go' if several != 1 else ' goes'} "
                "to more than one category)")
    return f"{text} ({lines})"


class SortPanel(QWidget):
    folder_dropped = Signal(list)
    choose_requested = Signal()
    apply_requested = Signal()
    undo_requested = Signal(object)  # run id or None (last)
    photo_selected = Signal(str)
    thresholds_changed = Signal(dict)
    open_requested = Signal(str)  # Space/Enter on a photo: show it large with its heatmaps
    correction = Signal(str, object)  # (photo, category it also belongs in, or None: "none of these")

    def __init__(self) -> None:
        super().__init__()
        self.setAcceptDrops(True)
        self.plan = None
        self.shown = None
        self.colours: dict[str, str] = {}
        self.sources: list[str] = []  # what the open preview was made from (re-scored after retraining)
        self.changed: set[str] = set()  # photos whose destination changed at the last re-score
        self._runs = 0
        self.thresholds: dict[str, float] = {}
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(250)
        self._save_timer.timeout.connect(lambda: self.thresholds_changed.emit(dict(self.thresholds)))
        self.sliders: dict[str, QSlider] = {}
        self.drop_hint = QLabel("Drop a folder of photos here, or")
        choose = QPushButton("Choose a folder to sort… (Ctrl+O)")
        choose.clicked.connect(self.choose_requested.emit)
        self.summary = QLabel("Nothing to preview yet. Photos are only ever <b>copied</b>; originals stay where they are.")
        self.summary.setWordWrap(True)
        self.review = ReviewView()
        self.review.photo_selected.connect(self.photo_selected.emit)
        self.review.grid.open_requested.connect(self.open_requested.emit)
        self.review.grid.not_this_requested.connect(lambda p: self.correction.emit(p, None))
        self.review.grid.also_requested.connect(self._also)
        self.grid = self.review.grid
        self.slider_box = QGroupBox("Thresholds (move to see the preview change; nothing is recomputed)")
        self.slider_grid = QGridLayout(self.slider_box)
        self.apply_button = QPushButton("Apply: copy photos")
        self.apply_button.setEnabled(False)
        self.apply_button.clicked.connect(self.apply_requested.emit)
        self.undo_button = QPushButton("Undo last run (Ctrl+Z)")
        self.undo_button.setEnabled(False)  # until there is a run to undo
        self.undo_button.clicked.connect(lambda: self.undo_requested.emit(None))
        self.history = QTableWidget(0, 4)
        self.history.setHorizontalHeaderLabels(["Run", "When", "What", "Result"])
        self.history.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.history.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.history.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.history.verticalHeader().setVisible(False)
        self.history.setMaximumHeight(150)
        self._undoable: set[int] = set()  # ids of runs that can still be undone
        undo_selected = QPushButton("Undo selected run")
        undo_selected.setEnabled(False)  # until an undoable run is selected
        undo_selected.clicked.connect(self._undo_selected)
        self.undo_selected_button = undo_selected
        self.history.itemSelectionChanged.connect(self._update_undo_selected)
        top = QHBoxLayout()
        top.addWidget(self.drop_hint)
        top.addWidget(choose)
        top.addStretch(1)
        actions = QHBoxLayout()
        actions.addWidget(self.apply_button)
        actions.addWidget(self.undo_button)
        actions.addStretch(1)
        actions.addWidget(undo_selected)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.summary)
        lay.addWidget(self.review, 3)
        lay.addWidget(self.slider_box)
        lay.addLayout(actions)
        lay.addWidget(QLabel("<b>History</b>"))
        lay.addWidget(self.history, 1)

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
    def set_plan(self, plan, colours: dict[str, str], sources: list[str] | None = None, compare: bool = False) -> int:
        """Show a new preview. ``compare``: it replaces the open one (same photos, new model):
        photos whose destination changed are highlighted; returns how many changed."""
        before: dict[str, tuple[str, tuple[str, ...]]] = (
            {str(d.path): (d.outcome, tuple(d.categories)) for d in self.shown.decisions} if compare and self.shown else {})
        self.plan = plan
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
        for row, (name, t) in enumerate(self.thresholds.items()):
            label = QLabel(f"<span style='color:{colours.get(name, '#888')}'>■</span> {name}")
            s = QSlider(Qt.Orientation.Horizontal)
            s.setRange(1, 99)
            s.setValue(round(t * 100))
            s.setObjectName(f"threshold:{name}")
            s.setAccessibleName(f"Threshold for {name}")
            value = QLabel(f"{t:.2f}")
            s.valueChanged.connect(lambda v, n=name, lab=value: self._slider_moved(n, v, lab))
            self.slider_grid.addWidget(label, row, 0)
            self.slider_grid.addWidget(s, row, 1)
            self.slider_grid.addWidget(value, row, 2)
            self.sliders[name] = s
        self.changed = set()
        if before:
            now = rethreshold_plan(plan, self.thresholds)
            self.changed = {str(d.path) for d in now.decisions
                            if str(d.path) in before and before[str(d.path)] != (d.outcome, tuple(d.categories))}
        self._refresh()
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
        return rethreshold_plan(self.plan, self.thresholds) if self.plan is not None else None

    def _refresh(self) -> None:
        plan = self.current_plan()
        self.shown = plan
        if plan is None:
            return
        self.review.set_plan(plan, self.colours, self.changed)
        counts = plan.counts()
        changed = f" <b>{len(self.changed)} changed with the new model</b> (highlighted)." if self.changed else ""
        self.summary.setText(
            f"<b>Preview (nothing copied yet):</b> {copy_counts_text(plan)}; "
            f"{counts['no_category']} go nowhere; {counts['already_sorted']} already sorted; {counts['failed']} cannot be read.{changed}"
        )
        self.apply_button.setEnabled(counts["copy"] > 0)

    def _also(self, path: str) -> None:
        """"Also belongs in…": a menu of the categories, at the photo."""
        if self.plan is None:
            return
        m = QMenu(self)
        m.setTitle("Also belongs in…")
        for name in self.plan.destinations:
            m.addAction(name, lambda n=name: self.correction.emit(path, n))
        rect = self.grid.visualRect(self.grid.currentIndex())
        self.also_menu = m
        m.popup(self.grid.viewport().mapToGlobal(rect.center()))

    # ------------------------------------------------------------ history
    def has_history(self) -> bool:
        """Whether there is a run that is not undone yet."""
        return self._runs > 0

    def set_history(self, runs) -> None:
        self._undoable = {r.id for r in runs if r.kind in ("sort", "watch") and not r.dry_run
                          and r.state in ("done", "interrupted")}  # what undo can still undo
        self._runs = len(self._undoable)
        self.undo_button.setEnabled(self._runs > 0)
        self.history.setRowCount(len(runs))
        for r, run in enumerate(runs):
            s = run.detail.get("summary", {})
            when = datetime.datetime.fromtimestamp(run.started).strftime("%Y-%m-%d %H:%M")
            what = ("watch: " if run.kind == "watch" else "") + ", ".join(Path(x).name for x in run.detail.get("sources", []))
            result = f"{run.state}: copied {s.get('copied_photos', 0)}, failed {len(s.get('failed', []))}"
            for c, text in enumerate((str(run.id), when, what, result)):
                self.history.setItem(r, c, QTableWidgetItem(text))
        self._update_undo_selected()

    def _selected_run(self) -> int | None:
        row = self.history.currentRow()
        item = self.history.item(row, 0) if row >= 0 and self.history.selectedItems() else None
        return int(item.text()) if item is not None else None

    def _update_undo_selected(self) -> None:
        """Enabled only while the selected run can still be undone (not once it was)."""
        self.undo_selected_button.setEnabled(self._selected_run() in self._undoable)

    def _undo_selected(self) -> None:
        run = self._selected_run()
        if run is not None and run in self._undoable:
            self.undo_requested.emit(run)
