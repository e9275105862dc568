"""Tabs whose pages scroll below a tab bar that stays put.

Why: on a small or 200%-scaled screen a tab's page can be taller than the window. The whole tab
widget used to sit in one scroll area, so scrolling the page scrolled the tab bar away with it
(a tryout found the tabs hidden ~50 px above the column after an Undo). Here each page has its own
scroll area inside the tab widget: only the page scrolls. Callers keep talking about their pages
(``addTab(page)``, ``setCurrentWidget(page)``); the scroll areas are an implementation detail.

Every page is at least as tall as the tallest page's minimum, as the pages of a QTabWidget are:
sized by its own minimum, the Sort tab at 800×500 squeezed its threshold sliders to half their
height and its review grid to one clipped tile instead of scrolling (tryout).
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QScrollArea, QTabWidget, QVBoxLayout, QWidget


def scroll_area_for(part: QWidget) -> QScrollArea:
    """``part`` in a frameless scroll area that resizes it (the window's three columns use it too)."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setWidget(part)
    return scroll


class _PageLayout(QVBoxLayout):
    """Holds one page. Its minimum height is the tallest page's minimum. It hides the page's
    height-for-width: a resizable scroll area makes a page with word-wrapped labels as tall as it
    would *like* to be (the Train tab scrolled by 54 px at 1360×840), where the minimum is what
    it *needs*."""

    def __init__(self, holder: QWidget, tabs: PagedTabs) -> None:
        super().__init__(holder)
        self._tabs = tabs

    def hasHeightForWidth(self) -> bool:
        return False

    def minimumSize(self) -> QSize:
        own = super().minimumSize()
        return QSize(own.width(), max(own.height(), self._tabs.tallest_minimum()))


class PagedTabs(QTabWidget):
    def __init__(self) -> None:
        super().__init__()
        self._scrolls: dict[int, QScrollArea] = {}  # id(page) → its scroll area
        self._pages: list[QWidget] = []
        self.currentChanged.connect(self._relayout)

    def addTab(self, page: QWidget, label: str) -> int:  # type: ignore[override]
        holder = QWidget()
        layout = _PageLayout(holder, self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(page)
        scroll = scroll_area_for(holder)
        self._scrolls[id(page)] = scroll
        self._pages.append(page)
        return super().addTab(scroll, label)

    def tallest_minimum(self) -> int:
        return max((p.minimumSizeHint().height() for p in self._pages), default=0)

    def _relayout(self, _index: int) -> None:
        """Another page's minimum may have changed while this one was hidden."""
        holder = self.current_scroll().widget() if self._pages else None
        layout = holder.layout() if holder is not None else None
        if holder is not None and layout is not None:
            layout.invalidate()
            holder.updateGeometry()

    def setCurrentWidget(self, page: QWidget) -> None:
        super().setCurrentWidget(self._scrolls.get(id(page), page))

    def current_scroll(self) -> QScrollArea:
        """The scroll area of the page on show."""
        scroll = self.currentWidget()
        assert isinstance(scroll, QScrollArea)
        return scroll

    def current_page(self) -> QWidget:
        return self._pages[self.currentIndex()]
