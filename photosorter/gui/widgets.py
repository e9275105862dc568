"""Small painted widgets: score bars with threshold marks, and loss curves."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget


class ScoreBars(QWidget):
    """One bar per category: the score, a tick at the threshold, green when it passes."""

    ROW = 26

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[str, float, float, str]] = []  # name, score, threshold, colour
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_scores(self, rows: list[tuple[str, float, float, str]]) -> None:
        self.rows = rows
        self.setFixedHeight(max(1, len(rows)) * self.ROW + 6)
        self.update()

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        label_w = 110
        bar_x, bar_w = label_w + 8, max(40, self.width() - label_w - 60)
        for i, (name, score, threshold, colour) in enumerate(self.rows):
            y = 4 + i * self.ROW
            passes = score >= threshold
            p.setPen(pal.text().color())
            font = QFont(self.font())
            font.setBold(passes)
            p.setFont(font)
            p.drawText(QRectF(0, y, label_w, self.ROW - 6), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       self.fontMetrics().elidedText(name, Qt.TextElideMode.ElideRight, label_w))
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(pal.alternateBase())
            p.drawRoundedRect(QRectF(bar_x, y + 3, bar_w, self.ROW - 12), 4, 4)
            fill = QColor(colour)
            if not passes:
                fill.setAlpha(110)
            p.setBrush(fill)
            p.drawRoundedRect(QRectF(bar_x, y + 3, max(2.0, bar_w * score), self.ROW - 12), 4, 4)
            tx = bar_x + bar_w * threshold
            p.setPen(QPen(pal.text().color(), 2))
            p.drawLine(QPointF(tx, y), QPointF(tx, y + self.ROW - 6))
            p.drawText(QRectF(bar_x + bar_w + 6, y, 50, self.ROW - 6), Qt.AlignmentFlag.AlignVCenter,
                       f"{score:.2f}{' ✓' if passes else ''}")
        p.end()


class CurveChart(QWidget):
    """Training and validation loss per epoch, one pair of lines per cross-validation fold,
    overlaid on a shared epoch axis (a dot marks each fold's best epoch)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.folds: dict[int, tuple[list[float], list[float]]] = {}
        self.setMinimumHeight(160)

    @property
    def train(self) -> list[float]:
        return [v for t, _ in self.folds.values() for v in t]

    def clear(self) -> None:
        self.folds = {}
        self.update()

    def add_point(self, fold: int, epoch: int, train: float, val: float) -> None:
        t, v = self.folds.setdefault(fold, ([], []))
        t.append(train)
        v.append(val)
        self.update()

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        r = QRectF(44, 10, self.width() - 56, self.height() - 40)
        p.setPen(QPen(pal.mid().color(), 1))
        p.drawRect(r)
        p.setPen(pal.text().color())
        if not self.folds:
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, "Loss curves appear here while training")
            p.end()
            return
        hi = max(max(t + v) for t, v in self.folds.values()) * 1.05 or 1.0
        n = max(2, max(len(t) for t, _ in self.folds.values()))

        def pt(i: int, v: float) -> QPointF:
            return QPointF(r.left() + r.width() * i / (n - 1), r.bottom() - r.height() * min(v, hi) / hi)

        for values_index, colour in ((0, "#669bbc"), (1, "#e4572e")):
            for t_v in self.folds.values():
                values = t_v[values_index]
                if not values:
                    continue
                # One polyline per curve. (Building a QPainterPath point by point crashed PySide6
                # 6.12 after many repaints: "none_dealloc", a refcount bug in the binding.)
                line = QPolygonF([pt(i, v) for i, v in enumerate(values)])
                p.setPen(QPen(QColor(colour), 1.6))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawPolyline(line)
                if values_index == 1:
                    best = min(range(len(values)), key=values.__getitem__)
                    p.setBrush(QColor(colour))
                    p.drawEllipse(pt(best, values[best]), 3, 3)
        p.setPen(pal.text().color())
        p.drawText(QPointF(4, r.top() + 10), f"{hi:.2f}")
        p.drawText(QPointF(4, r.bottom()), "0")
        p.drawText(QPointF(r.right() - 90, self.height() - 22), f"epoch {n - 1}")
        for row, (colour, label) in enumerate((("#669bbc", "training loss"), ("#e4572e", "validation loss (● best)"))):
            p.setPen(QPen(QColor(colour), 2))
            p.drawText(QPointF(r.left() + 8 + row * 130, self.height() - 8), f"— {label}")
        p.setPen(pal.text().color())
        p.drawText(QPointF(r.left() + 300, self.height() - 8), f"{len(self.folds)} folds")
        p.end()
