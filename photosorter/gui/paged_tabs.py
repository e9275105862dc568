"""Tabs whose pages scroll below a tab bar that stays put.

Why: on a small or 200%-scaled screen a tab's page can be taller than the window. The whole tab
widget used to sit in one scroll area, so scrolling the page scrolled the tab bar away with it
(a tryout found the tabs hidden ~50 px above the column after an Undo). Here each page has its own
scroll area inside the tab widget: only the page scrolls. Callers keep talking about their pages
(``addTab(page)``, ``setCurrentWidget(page)``); the scroll areas are an implementation detail.
"""

from __future__ import annotations

from PySide6.QtWidgets import QScrollArea, QTabWidget, QVBoxLayout, QWidget


def scroll_area_for(part: QWidget) -> QScrollArea:
    """``part`` in a frameless scroll area that resizes it (the window's three columns use it too)."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setWidget(part)
    return scroll


class _MinimumHeightLayout(QVBoxLayout):
    """Holds one page and hides its height-for-width: a resizable scroll area makes a page with
    word-wrapped labels as tall as it would *like* to be (the Train tab scrolled by 54 px at
    1360×840), but only as tall as it *needs* to be when the layout reports none."""

    def hasHeightForWidth(self) -> bool:
        return False


def _page_holder(page: QWidget) -> QWidget:
    holder = QWidget()
    layout = _MinimumHeightLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(page)
    return holder


class PagedTabs(QTabWidget):
    def __init__(self) -> None:
        super().__init__()
        self._scrolls: dict[int, QScrollArea] = {}  # id(page) → its scroll area
        self._pages: list[QWidget] = []

    def addTab(self, page: QWidget, label: str) -> int:  # type: ignore[override]
        scroll = scroll_area_for(_page_holder(page))
        self._scrolls[id(page)] = scroll
        self._pages.append(page)
        return super().addTab(scroll, label)

    def setCurrentWidget(self, page: QWidget) -> None:
        super().setCurrentWidget(self._scrolls.get(id(page), page))

    def current_scroll(self) -> QScrollArea:
        """The scroll area of the page on show."""
        scroll = self.currentWidget()
        assert isinstance(scroll, QScrollArea)
        return scroll

    def current_page(self) -> QWidget:
        return self._pages[self.currentIndex()]
