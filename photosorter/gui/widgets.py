"""Small painted widgets: score bars with threshold marks (loss curves: loss_chart.py)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QAbstractScrollArea, QSizePolicy, QWidget


def menu_text(name: str) -> str:
    """A category name as menu text: a single "&" would become a mnemonic ("Pets & animals"
    read "Pets _animals" in the menus)."""
    return name.replace("&", "&&")


class _WheelGuard(QObject):
    """The mouse wheel scrolls the page under a combo box or slider until that control has focus
    (a click or Tab): scrolling the preview pane changed its heatmap choice as the box passed
    under the pointer (tryout), and over a threshold slider it would change the decisions."""

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Wheel and isinstance(obj, QWidget) and not obj.hasFocus():
            area = obj.parentWidget()
            while area is not None and not isinstance(area, QAbstractScrollArea):
                area = area.parentWidget()
            if area is not None:  # on to the page's scroll bar, as if the control were not there
                QCoreApplication.sendEvent(area.verticalScrollBar(), event)
            return True
        return False


_WHEEL_GUARD: _WheelGuard | None = None


def wheel_only_when_focused(*controls: QWidget) -> None:
    global _WHEEL_GUARD
    if _WHEEL_GUARD is None:
        _WHEEL_GUARD = _WheelGuard()
    for control in controls:
        control.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        control.installEventFilter(_WHEEL_GUARD)


def score_digits(score: float, threshold: float) -> int:
    """Decimals that tell a score from its threshold: 0.517 against 0.518 read "0.52" against a
    mark at 0.52 beside "goes to no category" (tryout). Two where two do."""
    return next((d for d in (2, 3, 4) if f"{score:.{d}f}" != f"{threshold:.{d}f}"), 4)


def score_text(score: float, threshold: float) -> str:
    """A bar's number: "0.71 ✓"; where two decimals read the same as the threshold, both, to the
    decimal that differs ("0.517 < 0.518")."""
    d = score_digits(score, threshold)
    passes = score >= threshold
    if d == 2:
        return f"{score:.2f}{' ✓' if passes else ''}"
    return f"{score:.{d}f} {'≥' if passes else '<'} {threshold:.{d}f}"


class ScoreBars(QWidget):
    """One bar per category: the score, a tick at the threshold, green when it passes."""

    ROW = 26

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[str, float, float, str]] = []  # name, score, threshold, colour
        self.overruled: set[str] = set()  # categories where the person's word, not the score, decides
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_scores(self, rows: list[tuple[str, float, float, str]], decided: set[str] | None = None) -> None:
        """``decided``: where the person said the photo goes (a correction); a bar whose score says
        otherwise is marked ✎ instead of ✓, and bold follows the decision — "goes to no category
        (your correction)" stood beside a bold "nature 0.06 ✓" (tryout)."""
        self.rows = rows
        self.overruled = set() if decided is None else {n for n, s, t, _c in rows if (s >= t) != (n in decided)}
        self.setFixedHeight(max(1, len(rows)) * self.ROW + 6)
        self.setToolTip("\n".join(f"{name}: {score_text(s, t).removesuffix(' ✓')} (threshold {t:.{score_digits(s, t)}f})"
                                  for name, s, t, _c in rows))
        self.update()

    def number_texts(self) -> list[str]:
        """The numbers the bars show, in order."""
        return [f"{s:.2f} ✎" if n in self.overruled else score_text(s, t) for n, s, t, _c in self.rows]

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        label_w = 110
        texts = self.number_texts()
        bold = QFont(self.font())
        bold.setBold(True)
        num_w = max([50, *(QFontMetrics(bold).horizontalAdvance(t) + 8 for t in texts)])
        bar_x, bar_w = label_w + 8, max(40, self.width() - label_w - 10 - num_w)
        for i, (name, score, threshold, colour) in enumerate(self.rows):
            y = 4 + i * self.ROW
            passes = (score >= threshold) != (name in self.overruled)
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
            p.drawText(QRectF(bar_x + bar_w + 6, y, num_w, self.ROW - 6), Qt.AlignmentFlag.AlignVCenter, texts[i])
        p.end()
