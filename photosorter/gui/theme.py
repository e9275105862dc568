"""Light and dark themes (Fusion style). Disabled controls get their own, dimmer colours in both
themes: a palette that sets only the active colours draws disabled buttons like enabled ones."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

R = QPalette.ColorRole
DARK = {
    R.Window: "#23262b", R.WindowText: "#e8e8e8", R.Base: "#1b1d21", R.AlternateBase: "#2d3137",
    R.Text: "#e8e8e8", R.Button: "#2d3137", R.ButtonText: "#e8e8e8", R.Highlight: "#669bbc",
    R.HighlightedText: "#101010", R.ToolTipBase: "#2d3137", R.ToolTipText: "#e8e8e8", R.Mid: "#555a62",
    R.PlaceholderText: "#8a8f98", R.Light: "#3a3f46", R.Midlight: "#33373d", R.Dark: "#15171a",
    R.Shadow: "#0c0d0f", R.BrightText: "#ff6b6b", R.Link: "#8ab4f8",
}
#: Disabled text/buttons: clearly dimmer than enabled ones, still readable.
DARK_DISABLED = {R.WindowText: "#7b8088", R.Text: "#7b8088", R.ButtonText: "#6c7179", R.Button: "#272a2f",
                 R.Base: "#202226", R.Highlight: "#3d4650", R.HighlightedText: "#8a8f98"}
LIGHT_DISABLED = {R.WindowText: "#9a9a9a", R.Text: "#9a9a9a", R.ButtonText: "#a0a0a0", R.Button: "#e6e6e6"}


def dark_palette() -> QPalette:
    p = QPalette()
    for role, colour in DARK.items():
        p.setColor(role, QColor(colour))
    for role, colour in DARK_DISABLED.items():
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(colour))
    return p


class Theming:
    def __init__(self, app: QApplication) -> None:
        self.app = app

    def set_theme(self, which: str) -> None:
        self.app.setStyle("Fusion")
        if which == "dark" or (which == "system" and QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark):
            self.app.setPalette(dark_palette())
        else:
            p = self.app.style().standardPalette()
            p.setColor(QPalette.ColorRole.Highlight, QColor("#29335c"))
            for role, colour in LIGHT_DISABLED.items():
                p.setColor(QPalette.ColorGroup.Disabled, role, QColor(colour))
            self.app.setPalette(p)


def app_theming() -> Theming:
    """The running application's theming (the View menu switches themes through this)."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    return Theming(app)
