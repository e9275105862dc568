"""Light, dark or the system's colour scheme for the whole application (Fusion style + palette).

Its own module so both the app start-up (:mod:`.app`) and the main window's View menu use it
without importing each other."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication


class Theming:
    """Applies a theme to one QApplication: 'light', 'dark' or 'system' (follows the desktop)."""

    def __init__(self, app: QApplication) -> None:
        self.app = app

    def set_theme(self, which: str) -> None:
        self.app.setStyle("Fusion")
        if which == "dark" or (which == "system" and QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark):
            p = QPalette()
            for role, colour in {
                QPalette.ColorRole.Window: "#23262b", QPalette.ColorRole.WindowText: "#e8e8e8",
                QPalette.ColorRole.Base: "#1b1d21", QPalette.ColorRole.AlternateBase: "#2d3137",
                QPalette.ColorRole.Text: "#e8e8e8", QPalette.ColorRole.Button: "#2d3137",
                QPalette.ColorRole.ButtonText: "#e8e8e8", QPalette.ColorRole.Highlight: "#669bbc",
                QPalette.ColorRole.HighlightedText: "#101010", QPalette.ColorRole.ToolTipBase: "#2d3137",
                QPalette.ColorRole.ToolTipText: "#e8e8e8", QPalette.ColorRole.Mid: "#555a62",
                QPalette.ColorRole.PlaceholderText: "#8a8f98",
            }.items():
                p.setColor(role, QColor(colour))
            self.app.setPalette(p)
        else:
            p = self.app.style().standardPalette()
            p.setColor(QPalette.ColorRole.Highlight, QColor("#29335c"))
            self.app.setPalette(p)


def app_theming() -> Theming:
    """The running application's theming (the View menu switches themes through this)."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        raise RuntimeError("no QApplication is running")
    return Theming(app)
