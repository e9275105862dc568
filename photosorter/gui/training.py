"""Training panel: progress with stage and ETA, Cancel, live loss curves, per-category results."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .widgets import CurveChart


def eta_text(started: float, done: int, total: int) -> str:
    if done <= 0 or total <= 0 or done >= total:
        return ""
    elapsed = time.monotonic() - started
    left = elapsed * (total - done) / done
    return f" — about {left:.0f} s left" if left < 90 else f" — about {left / 60:.0f} min left"


def hints(clf) -> list[str]:
    """Plain-language advice: first how it would do on the user's other photos (quality.py), then
    from the cross-validated metrics on the examples."""
    out = []
    quality = clf.info.get("quality")
    if quality is None:
        out.append("How well this sorts your other photos is unknown (model trained by an older version: train again).")
    else:
        out.append(clf.info.get("quality_summary", ""))
        for q in quality:
            if q.get("precision") is not None:
                out.append(f"{q['name']}: of {q['background_photos']} photos seen so far, about {q['taken']} would go "
                           f"here; expected precision {q['precision']:.2f} (likely {q['precision_low']:.2f}–"
                           f"{q['precision_high']:.2f}).")
            out.extend(a for a in q.get("advice", []) if a not in out and "unknown" not in a)
    per = clf.metrics.get("per_category", {})
    for name, m in per.items():
        n = clf.info.get("examples_per_category", {}).get(name, m.get("support", 0))
        if n < 10:
            out.append(f"{name}: only {n} examples — add more (10 or more) for reliable sorting.")
        elif m["recall"] < 0.8:
            out.append(f"{name}: misses {100 * (1 - m['recall']):.0f}% of its examples — add more varied examples.")
        elif m["precision"] < 0.8:
            out.append(f"{name}: {100 * (1 - m['precision']):.0f}% of what it picks belongs elsewhere — "
                       "add examples to the categories it confuses, or some 'none of these' photos.")
    if not clf.info.get("none_examples"):
        out.append("Tip: a few 'none of these' photos (from your camera roll, belonging nowhere) help keep "
                   "unrelated photos out of every category.")
    return out


class TrainingPanel(QWidget):
    train_requested = Signal()
    cancel_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.train_button = QPushButton("Train (Ctrl+T)")
        self.train_button.clicked.connect(self.train_requested.emit)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_requested.emit)
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        self.stage = QLabel("Add at least two examples to each category, then train.")
        self.stage.setWordWrap(True)
        self.chart = CurveChart()
        self.table = QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels(["Category", "Precision", "Recall", "F1", "Threshold", "Examples"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.advice = QLabel()
        self.advice.setWordWrap(True)
        self.advice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top = QHBoxLayout()
        top.addWidget(self.train_button)
        top.addWidget(self.cancel_button)
        top.addWidget(self.bar, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.stage)
        lay.addWidget(self.chart, 2)
        lay.addWidget(QLabel("<b>How well it learned</b> (cross-validated: each example judged by a model that never saw it)"))
        lay.addWidget(self.table, 2)
        lay.addWidget(self.advice)
        self._started = time.monotonic()

    def begin(self) -> None:
        self._started = time.monotonic()
        self.chart.clear()
        self.bar.setRange(0, 0)
        self.train_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.stage.setText("Loading the recognition model…")

    def on_progress(self, done: int, total: int, message: str) -> None:
        self.bar.setRange(0, max(1, total))
        self.bar.setValue(done)
        self.stage.setText(f"{message}{eta_text(self._started, done, total)}")

    def end(self, message: str) -> None:
        self.bar.setRange(0, 1)
        self.bar.setValue(1 if message.startswith("Trained") else 0)
        self.train_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.stage.setText(message)

    def show_result(self, clf) -> None:
        per = clf.metrics.get("per_category", {})
        self.table.setRowCount(len(per))
        counts = clf.info.get("examples_per_category", {})
        for r, (name, m) in enumerate(per.items()):
            vals = [name, f"{m['precision']:.2f}", f"{m['recall']:.2f}", f"{m['f1']:.2f}", f"{m['threshold']:.2f}",
                    str(counts.get(name, m["support"]))]
            for c, v in enumerate(vals):
                item = QTableWidgetItem(v)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(r, c, item)
        if not self.chart.folds:
            for fold, curve in enumerate(clf.info.get("curves", [])):
                for e, (t, v) in enumerate(zip(curve["train_loss"], curve["val_loss"])):
                    self.chart.add_point(fold, e, t, v)
        tips = hints(clf) + [f"⚠ {w}" for w in clf.info.get("warnings", []) if "only" not in w]
        people = getattr(clf, "people", None)  # issue 17: which categories are about people, how sure
        if people is not None:
            tips = [f"<b>{name}</b>: {text}" for name, text in people.describe().items()] + tips
        # never "healthy" without evidence from the user's own photos (hints always says which)
        self.advice.setText("<br>".join(t for t in tips if t))
