"""The Train tab's opt-in extras (issue 13 item 6): compare backbones, fine-tune the top of the
network, and what each decided.

Both cost several times a plain training (README, "Backbones"), so they are off by default and
remembered in the library's settings once chosen. The training job (gui/training.py) calls
:func:`train_with_extras` on its worker thread; the results view shows the comparison (backbone,
cross-validated macro-F1, time, kept / why skipped) and the fine-tuning verdict straight from
the model's description, so what is shown is what the model file says.
"""

from __future__ import annotations

import dataclasses
import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

#: Backbones compared in the app: offline ones only (a comparison must never start a download).
OFFLINE = ("efficientnet_lite0", "efficientnet_lite2")


def comparison_candidates(current: str) -> list[str]:
    """The library's backbone first (a tie keeps it), then the other offline ones."""
    return [current] + [n for n in OFFLINE if n != current]


def train_with_extras(photos, session, opts, *, compare: bool, fine_tune: bool, progress, cancel, on_epoch=None,
                      previous=None, background_for=None, on_stage=None):
    """One training job with the chosen extras (worker thread). Returns (TrainResult, backbone kept).

    Without extras this is the ordinary training. With ``compare`` every offline backbone trains
    on the examples and the best cross-validated macro-F1 wins (ml/compare.py); with ``fine_tune``
    the winner's top is fine-tuned and kept only if that improves it (ml/finetune.py). ``on_stage(text)``
    names the training whose curves ``on_epoch`` feeds next (each backbone, then the fine-tuning folds)."""
    from ..jobs import stage
    from ..ml.compare import compare_backbones
    from ..ml.finetune import fine_tune_stage
    from ..ml.train_progress import TrainProgress
    from ..ml.training import train_from_photos

    start = time.perf_counter()
    emb = session.embedder()
    # One bar for the whole job: the stages each count from 0 (the bar jumped back from 31% to 5%).
    first = stage(progress, 0.0, 0.5 if fine_tune else 1.0)
    if compare:
        won = compare_backbones(photos, comparison_candidates(emb.spec.name), opts, cache=emb.cache,
                                background_for=background_for or (lambda _e: None), progress=first, cancel=cancel,
                                on_epoch=on_epoch, on_stage=on_stage)
        result, emb = won.result, won.embedder
    else:
        result = train_from_photos(photos, emb, opts, TrainProgress(first), cancel, on_epoch=on_epoch,
                                   previous=previous, background=background_for(emb) if background_for else None)
    if fine_tune:
        if on_stage is not None:
            on_stage(f"fine-tuning {emb.spec.name}'s top")
        result = fine_tune_stage(photos, emb, result, opts, progress=stage(progress, 0.5, 1.0), cancel=cancel,
                                 on_epoch=on_epoch)
    # The time of the whole job (a tryout read "in 234 s" beside stages of 203 s and 287 s).
    result.seconds = time.perf_counter() - start
    result.classifier.description = dataclasses.replace(result.classifier.description, train_seconds=result.seconds)
    return result, emb.spec.name


class TrainExtras(QWidget):
    """The two opt-in checkboxes, stored in the library (saved at once)."""

    def __init__(self, library=None) -> None:
        super().__init__()
        self.library = library
        self.compare = QCheckBox("Compare backbones (slower)")
        self.compare.setToolTip("Train on every offline recognition model (EfficientNet-Lite0 and Lite2) and keep the one "
                                "with the best cross-validated F1 on your examples. Takes about 3× as long.")
        self.fine_tune = QCheckBox("Fine-tune the network's top (slower)")
        self.fine_tune.setToolTip("Also adapt the last layer of the recognition model to your examples; kept only if it "
                                  "improves the cross-validated F1. Takes several times as long.")
        lay = QVBoxLayout(self)  # one above the other: side by side they set the Train tab's width at 200%
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.compare)
        lay.addWidget(self.fine_tune)
        self.set_library(library)
        self.compare.toggled.connect(lambda on: self._store("compare_backbones", on))
        self.fine_tune.toggled.connect(lambda on: self._store("fine_tune", on))

    def set_library(self, library) -> None:
        self.library = library
        for box, key in ((self.compare, "compare_backbones"), (self.fine_tune, "fine_tune")):
            box.blockSignals(True)
            box.setChecked(bool(getattr(library, key, False)))
            box.blockSignals(False)

    def _store(self, key: str, on: bool) -> None:
        if self.library is None:
            return
        setattr(self.library, key, on)
        if self.library.path is not None:
            self.library.save()


def comparison_rows(description) -> list[list[str]]:
    """The table's text, from the model's description: backbone, macro-F1, time, outcome."""
    rows = []
    for r in description.backbone_comparison:
        if "error" in r:
            rows.append([r["backbone"], "—", "—", f"skipped: {r['error']}"])
        else:
            rows.append([r["backbone"], f"{r['macro_f1']:.3f}", f"{r['seconds']:.1f} s",
                         "kept (best cross-validated F1)" if r.get("kept") else "not kept"])
    return rows


def fine_tune_text(description) -> str:
    info = description.fine_tune
    if not info:
        return ""
    secs = f" ({info['seconds']:.0f} s)" if isinstance(info.get("seconds"), (int, float)) else ""
    return f"<b>Fine-tuning</b>{secs}: {info.get('reason', '')}"


def summary_text(description) -> str:
    """One or two lines: which backbone was kept and whether fine-tuning was. The details (every
    backbone's row, the fine-tuning figures) open below on demand: shown in full they squeezed
    the per-category table, the tab's main result, to a row and a half (tryout)."""
    parts = []
    rows = [r for r in description.backbone_comparison if "error" not in r]
    kept = next((r for r in rows if r.get("kept")), None)
    if kept is not None:
        others = "; ".join(f"{r['backbone']} {r['macro_f1']:.3f}" for r in rows if r is not kept)
        skipped = [r["backbone"] for r in description.backbone_comparison if "error" in r]
        parts.append(f"<b>Backbones compared</b>: {kept['backbone']} kept (cross-validated macro-F1 "
                     f"{kept['macro_f1']:.3f}{'; ' + others if others else ''})"
                     + (f"; {', '.join(skipped)} skipped" if skipped else "") + ".")
    info = description.fine_tune
    if info:
        secs = f" ({info['seconds']:.0f} s)" if isinstance(info.get("seconds"), (int, float)) else ""
        kept = info.get("kept")
        if kept == "fine-tuned":
            verdict = "kept — it improved on your examples."
        elif kept == "frozen" and "fine_tuned_macro_f1" in info:
            verdict = "not kept — it did not improve on your examples."
        else:  # not tried (videos among the examples, a backbone it cannot tune): the reason says why
            verdict = str(info.get("reason", ""))
        parts.append(f"<b>Fine-tuning</b>{secs}: {verdict}")
    return " ".join(parts)


class ComparisonView(QWidget):
    """What the extras decided for the shown model; hidden when neither ran. A summary line, and
    the details (comparison table, fine-tuning figures) behind a Details button."""

    HEADERS = ("Backbone", "Cross-validated macro-F1", "Time", "Result")

    def __init__(self) -> None:
        super().__init__()
        self.title = QLabel("<b>Backbones compared</b> on your examples (each example judged by a model that never saw it)")
        self.title.setWordWrap(True)
        self.table = QTableWidget(0, len(self.HEADERS))
        self.table.setHorizontalHeaderLabels(list(self.HEADERS))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setAccessibleName("Backbone comparison")
        self.fine_tune = QLabel()
        self.fine_tune.setWordWrap(True)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.details = QToolButton()
        self.details.setText("Details")
        self.details.setCheckable(True)
        self.details.setArrowType(Qt.ArrowType.RightArrow)
        self.details.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.details.setAccessibleName("Show the backbone comparison and fine-tuning details")
        self.details.toggled.connect(self._show_details)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.summary, 1)
        head.addWidget(self.details, 0, Qt.AlignmentFlag.AlignTop)
        self.body = QWidget()
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.title)
        body.addWidget(self.table)
        body.addWidget(self.fine_tune)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(head)
        lay.addWidget(self.body)
        self.body.hide()
        self.hide()

    def _show_details(self, on: bool) -> None:
        self.details.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.body.setVisible(on)

    def show_model(self, clf) -> None:
        desc = clf.description
        rows = comparison_rows(desc)
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if j in (1, 2):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(i, j, item)
        self.title.setVisible(bool(rows))
        self.table.setVisible(bool(rows))
        if rows:  # as tall as its rows: a handful of backbones, no scrolling
            height = self.table.horizontalHeader().height() + 2 * self.table.frameWidth()
            height += sum(self.table.rowHeight(i) for i in range(len(rows)))
            self.table.setFixedHeight(height)
        text = fine_tune_text(desc)
        self.fine_tune.setText(text)
        self.fine_tune.setVisible(bool(text))
        self.summary.setText(summary_text(desc))
        self.setVisible(bool(rows) or bool(text))

    def shown_rows(self) -> list[list[str]]:
        items = [[self.table.item(i, j) for j in range(self.table.columnCount())] for i in range(self.table.rowCount())]
        return [[it.text() if it is not None else "" for it in row] for row in items]
