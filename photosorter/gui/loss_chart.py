"""Loss curves while training: one small chart per cross-validation fold.

Why small multiples: folds stop at very different epochs (early stopping). Drawn on one shared
epoch axis, a fold that ran to epoch 111 pushed every other fold's 8-epoch curve against the left
edge. Each fold now has its own panel whose x axis runs over *its* epochs; the y axis (loss) is
shared, so panels still compare. The legend names the real number of folds as soon as training
says it (not the number that happen to have drawn a point yet).
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

TRAIN_COLOUR = "#669bbc"
VAL_COLOUR = "#e4572e"
#: A panel narrower than this goes to a second row.
MIN_PANEL_WIDTH = 84
MIN_PANEL_HEIGHT = 60
#: The chart's least height: one row of panels and the legend, and the welcome box shown over it
#: before the first training (at 140 px the box hung below the chart).
MIN_CHART_HEIGHT = 170
#: The curves' names, longest first: the first pair that fits the chart's width is drawn.
LEGENDS = (("— training loss", "— validation loss (● best)"), ("— training", "— validation (● best)"),
           ("— train", "— valid. (●)"))


def axis_label(value: float) -> str:
    """The top of the loss axis: two decimals, or two significant digits for small losses (a
    fine-tuning stage's losses read "0.00" at the top and "0" at the bottom — tryout)."""
    return f"{value:.2f}" if value >= 0.1 else f"{value:.2g}"


class LossChart(QWidget):
    """``add_point(fold, epoch, train_loss, val_loss, folds)`` while training; a dot marks each
    fold's best validation epoch (the weights kept)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.folds: dict[int, tuple[list[float], list[float]]] = {}
        self.expected = 0  # how many folds training will run (0: not known yet)
        self.stage = ""  # which training of a longer job the curves are from ("" for a plain training)
        self.setMinimumHeight(MIN_CHART_HEIGHT)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Loss curves, one chart per cross-validation fold")

    @property
    def train(self) -> list[float]:
        return [v for t, _ in self.folds.values() for v in t]

    def clear(self) -> None:
        self.folds = {}
        self.expected = 0
        self.stage = ""
        self.update()

    def start_stage(self, name: str) -> None:
        """A new training within one job (a backbone being compared, the fine-tuning folds): its own
        curves, named in the legend. Without this a comparison drew nothing for minutes and the next
        backbone's fold 1 would have continued the previous backbone's line."""
        self.clear()
        self.stage = name
        self._fit_height()

    def set_fold_count(self, folds: int) -> None:
        self.expected = int(folds)
        self._fit_height()
        self.update()

    def add_point(self, fold: int, epoch: int, train: float, val: float, folds: int | None = None) -> None:
        if folds and folds != self.expected:
            self.expected = int(folds)
            self._fit_height()
        t, v = self.folds.setdefault(fold, ([], []))
        t.append(train)
        v.append(val)
        self.update()

    # ------------------------------------------------------------ geometry (also read by tests)
    def _columns(self, width: float) -> int:
        return max(1, min(self.panel_count(), int(width // MIN_PANEL_WIDTH)))

    def _fit_height(self) -> None:
        """Tall enough for every row of panels (a narrow window wraps them) plus the legend."""
        fm = self.fontMetrics()
        rows = math.ceil(self.panel_count() / self._columns(self._plot_area().width()))
        need = 2 * fm.height() + 14 + rows * (fm.height() + 2 + MIN_PANEL_HEIGHT)
        if need != self.minimumHeight():
            self.setMinimumHeight(max(MIN_CHART_HEIGHT, need))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_height()

    def panel_count(self) -> int:
        return max(self.expected, (max(self.folds) + 1) if self.folds else 0, 1)

    def legend_text(self) -> str:
        n = self.panel_count() if (self.expected or self.folds) else 0
        if not n:
            return f"{self.stage}: starting" if self.stage else ""
        if self.stage:  # the stage's name must stay readable: the long explanation made way
            return f"{self.stage} · {n} round{'s' if n != 1 else ''}"
        return f"{n} round{'s' if n != 1 else ''}, tested on unseen examples"

    def panel_title(self, fold: int, passes: int, width: float) -> str:
        """A panel's title in the longest words that fit ("round 1 · 200 passes", else "round 1":
        the passes then go inside the panel, see passes_label)."""
        fm = self.fontMetrics()
        if not passes:
            options = [f"round {fold + 1} · waiting", f"round {fold + 1}"]
        else:
            options = [f"round {fold + 1} · {passes} {'pass' if passes == 1 else 'passes'}", f"round {fold + 1}"]
        return next((t for t in options if fm.horizontalAdvance(t) <= width), options[-1])

    def passes_label(self, passes: int, title: str, width: float) -> str:
        """The passes of a round whose title had no room for them, for the panel's top right corner
        (where the falling curves leave room): "200 passes", else "200". A narrow panel's title
        read "1 · 200 passes", which a tryout could not tell from "round 1 of 200"."""
        if not passes or "pass" in title:
            return ""
        fm = self.fontMetrics()
        words = f"{passes} {'pass' if passes == 1 else 'passes'}"
        return words if fm.horizontalAdvance(words) + 6 <= width else str(passes)

    def _plot_area(self) -> QRectF:
        fm = self.fontMetrics()
        label = max(fm.horizontalAdvance("0.00"), fm.horizontalAdvance(axis_label(self._top())))
        return QRectF(label + 8, 4, self.width() - label - 14, self.height() - 2 * fm.height() - 10)

    def panels(self) -> list[QRectF]:
        """One rectangle per fold, in a grid that keeps panels at least MIN_PANEL_WIDTH wide."""
        area = self._plot_area()
        n = self.panel_count()
        cols = self._columns(area.width())
        rows = math.ceil(n / cols)
        title = self.fontMetrics().height() + 2
        gap = 6.0
        w = (area.width() - gap * (cols - 1)) / cols
        h = (area.height() - gap * (rows - 1)) / rows
        out = []
        for i in range(n):
            r, c = divmod(i, cols)
            out.append(QRectF(area.left() + c * (w + gap), area.top() + r * (h + gap) + title, w, max(10.0, h - title)))
        return out

    def _top(self) -> float:
        values = [x for t, v in self.folds.values() for x in t + v if math.isfinite(x)]
        return (max(values) * 1.05 if values else 1.0) or 1.0

    def points(self, fold: int, which: int = 1) -> list[QPointF]:
        """Screen points of one curve (``which`` 0: training loss, 1: validation loss)."""
        rect = self.panels()[fold]
        values = self.folds.get(fold, ([], []))[which]
        hi = self._top()
        steps = max(1, len(values) - 1)
        return [QPointF(rect.left() + rect.width() * i / steps,
                        rect.bottom() - rect.height() * min(max(v, 0.0), hi) / hi) for i, v in enumerate(values)]

    # ------------------------------------------------------------ painting
    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        fm = self.fontMetrics()
        if not self.folds:
            p.setPen(QPen(pal.mid().color(), 1))
            p.drawRect(self._plot_area())
            p.setPen(pal.text().color())
            p.drawText(self._plot_area(), Qt.AlignmentFlag.AlignCenter,
                       f"Training {self.stage}…" if self.stage else "Loss curves appear here while training")
            p.end()
            return
        hi = self._top()
        for fold, rect in enumerate(self.panels()):
            p.setPen(QPen(pal.mid().color(), 1))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(rect)
            _train, val = self.folds.get(fold, ([], []))
            title = self.panel_title(fold, len(val), rect.width())
            p.setPen(pal.text().color())
            p.drawText(QRectF(rect.left(), rect.top() - fm.height() - 2, rect.width(), fm.height()),
                       Qt.AlignmentFlag.AlignLeft, fm.elidedText(title, Qt.TextElideMode.ElideRight, int(rect.width())))
            inside = self.passes_label(len(val), title, rect.width())
            if inside:
                p.setPen(pal.placeholderText().color())
                p.drawText(rect.adjusted(3, 1, -3, -1), int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop), inside)
            for which, colour in ((0, TRAIN_COLOUR), (1, VAL_COLOUR)):
                pts = self.points(fold, which)
                if not pts:
                    continue
                # One polyline per curve. (Building a QPainterPath point by point crashed PySide6
                # 6.12 after many repaints: "none_dealloc", a refcount bug in the binding.)
                p.setPen(QPen(QColor(colour), 1.6))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawPolyline(QPolygonF(pts))
                if which == 1:
                    best = min(range(len(val)), key=val.__getitem__)
                    p.setBrush(QColor(colour))
                    p.drawEllipse(pts[best], 3, 3)
        area = self._plot_area()
        p.setPen(pal.text().color())
        p.drawText(QPointF(2, area.top() + fm.ascent() + fm.height()), axis_label(hi))
        p.drawText(QPointF(2, area.bottom()), "0")
        y = self.height() - fm.descent() - 4
        x = area.left()
        room = self.width() - x - 4
        for labels in LEGENDS:  # shorter words where the long ones do not fit (200%: cut at the edge)
            if sum(fm.horizontalAdvance(t) + 16 for t in labels) <= room:
                break
        for colour, label in zip((TRAIN_COLOUR, VAL_COLOUR), labels):
            p.setPen(QPen(QColor(colour), 2))
            p.drawText(QPointF(x, y), label)
            x += fm.horizontalAdvance(label) + 16
        p.setPen(pal.text().color())
        if self.width() - x - 4 >= fm.horizontalAdvance("5 rounds, each…"):  # never a lone "5…"
            p.drawText(QPointF(x, y), fm.elidedText(self.legend_text(), Qt.TextElideMode.ElideRight,
                                                    int(self.width() - x - 4)))
        p.end()
