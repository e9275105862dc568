"""Tabs whose pages scroll below a tab bar that stays put.

Why: on a small or 200%-scaled screen a tab's page can be taller than the window. The whole tab
widget used to sit in one scroll area, so scrolling the page scrolled the tab bar away with it
(a tryout found the tabs hidden ~50 px above the column after an Undo). Here each page has its own
scroll area inside the tab widget: only the page scrolls. Callers keep talking about their pages
(``addTab(page)``, ``setCurrentWidget(page)``); the scroll areas are an implementation detail.

Each page scrolls when the window is smaller than what the page needs at its width (_PageLayout).
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


class _PageLayout(QVBoxLayout):
    """Holds one page and tells its scroll area the height the page *needs* at a given width.

    A resizable scroll area sizes a page whose layout has height-for-width (word-wrapped labels)
    to the height it would *like* (the Train tab scrolled by 54 px at 1360×840); sized by its plain
    minimum instead, a page ignores how tall its wrapped labels get when narrow (the Sort tab at
    800×500 squeezed its sliders to half their height). The minimum height *for the width* is
    what it needs: it scrolls only when the window is smaller than that. Pages are not made as
    tall as the tallest page (as a QTabWidget's are): a Train tab grown by its results then made
    every tab scroll, with the tab bar (a tryout saw it ~50 px out of view)."""

    def __init__(self, holder: QWidget, page: QWidget) -> None:
        super().__init__(holder)
        self.setContentsMargins(0, 0, 0, 0)
        self.addWidget(page)
        self._page = page

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        layout = self._page.layout()
        need = self._page.minimumSizeHint().height()
        if layout is not None and layout.hasHeightForWidth():
            need = max(need, layout.totalMinimumHeightForWidth(width))
        return need


class PagedTabs(QTabWidget):
    def __init__(self) -> None:
        super().__init__()
        self._pages: list[QWidget] = []  # by tab index; each tab's widget is the page's scroll area

    def addTab(self, page: QWidget, label: str) -> int:  # type: ignore[override]
        holder = QWidget()
        _PageLayout(holder, page)
        self._pages.append(page)
        return super().addTab(scroll_area_for(holder), label)

    def setCurrentWidget(self, page: QWidget) -> None:
        self.setCurrentIndex(self._pages.index(page))

    def current_scroll(self) -> QScrollArea:
        """The scroll area of the page on show."""
        scroll = self.currentWidget()
        assert isinstance(scroll, QScrollArea)
        return scroll

    def current_page(self) -> QWidget:
        return self._pages[self.currentIndex()]
