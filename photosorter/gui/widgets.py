"""Small painted widgets: score bars with threshold marks (loss curves: loss_chart.py)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget


def menu_text(name: str) -> str:
    """A category name as menu text: a single "&" would become a mnemonic ("Pets & animals"
    read "Pets _animals" in the menus)."""
    return name.replace("&", "&&")


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
