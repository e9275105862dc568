"""Help → Keyboard shortcuts (F1): every key the app answers to, in one place.

Why: the review grid's keys (1–9, N, A, M, Space) were only findable inside a "check first" note
(tryout). The menu shortcuts are read from the menus themselves, so this list cannot go stale;
the grid's and the example list's keys are listed where their handlers live.
"""

from __future__ import annotations

from html import escape

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar

from .categories import EXAMPLE_KEYS
from .review import GRID_KEYS


def menu_shortcuts(bar: QMenuBar) -> list[tuple[str, str]]:
    """(key, what it does) for every menu item that has a shortcut, in menu order."""
    out = []
    for top in bar.actions():
        menu = top.menu()
        for a in menu.actions() if isinstance(menu, QMenu) else []:
            key = a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if key:
                out.append((key, a.text().replace("&", "").rstrip("…").rstrip(".")))
    return out


def shortcuts_html(bar: QMenuBar, categories: list[str]) -> str:
    """The list as HTML; ``categories``: the review grid's in key order (1 is the first)."""

    def table(rows: list[tuple[str, str]]) -> str:
        cells = "".join(f"<tr><td><b>{escape(k)}</b></td><td>{escape(v)}</td></tr>" for k, v in rows)
        return f"<table cellspacing='3'>{cells}</table>"

    numbered = ", ".join(f"{k + 1} {name}" for k, name in enumerate(categories[:9]))
    grid = [(k, v.replace("{categories}", numbered or "no categories yet")) for k, v in GRID_KEYS]
    return ("<h3>Keyboard shortcuts</h3><p><b>Anywhere</b></p>" + table(menu_shortcuts(bar))
            + "<p><b>Review grid</b> (Sort tab, a photo selected)</p>" + table(grid)
            + "<p><b>Example photos</b> (the list under the categories)</p>" + table(EXAMPLE_KEYS))
