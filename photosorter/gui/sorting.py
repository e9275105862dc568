"""Sort panel: dry-run preview first, live threshold sliders, Apply, Undo, history."""

from __future__ import annotations

import datetime
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSlider, QTableWidget, QTableWidgetItem,
    QVBoxLayout, QWidget,
)


class SortPanel(QWidget):
    folder_dropped = Signal(list)
    choose_requested = Signal()
    apply_requested = Signal()
    undo_requested = Signal(object)  # run id or None (last)
    photo_selected = Signal(str)
    thresholds_changed = Signal(dict)

    def __init__(self) -> None:
        super().__init__()
        self.setAcceptDrops(True)
        self.plan = None
        self.shown = None
        self.thresholds: dict[str, float] = {}
        self.sliders: dict[str, QSlider] = {}
        self.drop_hint = QLabel("Drop a folder of photos here, or")
        choose = QPushButton("Choose a folder to sort… (Ctrl+O)")
        choose.clicked.connect(self.choose_requested.emit)
        self.summary = QLabel("Nothing to preview yet. Photos are only ever <b>copied</b>; originals stay where they are.")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Photo", "Goes to", "Scores"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.currentCellChanged.connect(self._row_selected)
        self.slider_box = QGroupBox("Thresholds (move to see the preview change; nothing is recomputed)")
        self.slider_grid = QGridLayout(self.slider_box)
        self.apply_button = QPushButton("Apply: copy photos")
        self.apply_button.setEnabled(False)
        self.apply_button.clicked.connect(self.apply_requested.emit)
        self.undo_button = QPushButton("Undo last run (Ctrl+Z)")
        self.undo_button.clicked.connect(lambda: self.undo_requested.emit(None))
        self.history = QTableWidget(0, 4)
        self.history.setHorizontalHeaderLabels(["Run", "When", "What", "Result"])
        self.history.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.history.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.history.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.history.verticalHeader().setVisible(False)
        self.history.setMaximumHeight(150)
        undo_selected = QPushButton("Undo selected run")
        undo_selected.clicked.connect(self._undo_selected)
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
        lay.addWidget(self.table, 3)
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
    def set_plan(self, plan, colours: dict[str, str]) -> None:
        self.plan = plan
        self.thresholds = dict(plan.thresholds)
        while self.slider_grid.count():
            w = self.slider_grid.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        self.sliders = {}
        for row, (name, t) in enumerate(self.thresholds.items()):
            label = QLabel(f"<span style='color:{colours.get(name, '#888')}'>■</span> {name}")
            s = QSlider(Qt.Orientation.Horizontal)
            s.setRange(1, 99)
            s.setValue(round(t * 100))
            s.setObjectName(f"threshold:{name}")
            value = QLabel(f"{t:.2f}")
            s.valueChanged.connect(lambda v, n=name, lab=value: self._slider_moved(n, v, lab))
            self.slider_grid.addWidget(label, row, 0)
            self.slider_grid.addWidget(s, row, 1)
            self.slider_grid.addWidget(value, row, 2)
            self.sliders[name] = s
        self._refresh()

    def _slider_moved(self, name: str, value: int, label: QLabel) -> None:
        calibrated = self.plan.thresholds[name] if self.plan is not None else None
        # The slider has 1/100 steps; its starting notch means "the calibrated threshold", exactly.
        t = calibrated if calibrated is not None and value == round(calibrated * 100) else value / 100
        self.thresholds[name] = t
        label.setText(f"{t:.2f}")
        self._refresh()
        self.thresholds_changed.emit(dict(self.thresholds))

    def current_plan(self):
        from ..sorting.sorter import rethreshold

        return rethreshold(self.plan, self.thresholds) if self.plan is not None else None

    def _refresh(self) -> None:
        plan = self.current_plan()
        self.shown = plan
        if plan is None:
            return
        self.table.setRowCount(len(plan.decisions))
        for r, d in enumerate(plan.decisions):
            if d.outcome == "copy":
                where = ", ".join(d.categories)
            elif d.outcome == "already_sorted":
                where = "already sorted"
            elif d.outcome == "no_category":
                where = "— no category"
            else:
                where = f"⚠ {d.reason}"
            scores = "  ".join(f"{c} {v:.2f}" for c, v in sorted(d.scores.items(), key=lambda kv: -kv[1])) or (d.message or "")
            for c, text in enumerate((d.path.name, where, scores)):
                item = QTableWidgetItem(text)
                item.setToolTip(str(d.path) if c == 0 else (d.message or text))
                self.table.setItem(r, c, item)
        counts = plan.counts()
        dests = {c: str(p) for c, p in plan.destinations.items()}
        per_cat = {c: sum(c in d.categories for d in plan.decisions if d.outcome == "copy") for c in dests}
        lines = ", ".join(f"{n} → {c}" for c, n in per_cat.items())
        self.summary.setText(
            f"<b>Preview (nothing copied yet):</b> {counts['copy']} photos to copy ({lines}); "
            f"{counts['no_category']} go nowhere; {counts['already_sorted']} already sorted; {counts['failed']} cannot be read."
        )
        self.apply_button.setEnabled(counts["copy"] > 0)

    def _row_selected(self, row: int, *_):
        if self.shown is not None and 0 <= row < len(self.shown.decisions):
            self.photo_selected.emit(str(self.shown.decisions[row].path))

    # ------------------------------------------------------------ history
    def set_history(self, runs) -> None:
        self.history.setRowCount(len(runs))
        for r, run in enumerate(runs):
            s = run.detail.get("summary", {})
            when = datetime.datetime.fromtimestamp(run.started).strftime("%Y-%m-%d %H:%M")
            what = ("watch: " if run.kind == "watch" else "") + ", ".join(Path(x).name for x in run.detail.get("sources", []))
            result = f"{run.state}: copied {s.get('copied_photos', 0)}, failed {len(s.get('failed', []))}"
            for c, text in enumerate((str(run.id), when, what, result)):
                self.history.setItem(r, c, QTableWidgetItem(text))

    def _undo_selected(self) -> None:
        row = self.history.currentRow()
        if row >= 0:
            self.undo_requested.emit(int(self.history.item(row, 0).text()))
