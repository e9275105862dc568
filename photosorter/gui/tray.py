"""The tray icon (where the desktop has a system tray): show, pause/resume watching, quit.

Stock GNOME has no tray; :func:`tray_available` lets the window ask before closing instead of
silently stopping the background sorting the person asked for."""

from __future__ import annotations

from PySide6.QtWidgets import QMenu, QSystemTrayIcon


def tray_available() -> bool:
    return QSystemTrayIcon.isSystemTrayAvailable()


class Tray:
    def __init__(self, window, icon) -> None:
        self.window = window
        self.icon = QSystemTrayIcon(icon, window)
        menu = QMenu()
        menu.addAction("Show photosorter", window.showNormal)
        self.pause_action = menu.addAction("Pause watching", self.toggle_pause)
        menu.addAction("Quit", window.quit)
        self.menu = menu
        self.icon.setContextMenu(menu)
        self.icon.setToolTip("photosorter")
        self.icon.show()

    def toggle_pause(self) -> None:
        paused = self.window.watch.toggle_pause()
        if paused is not None:
            self.pause_action.setText("Resume watching" if paused else "Pause watching")

    def set_status(self, text: str) -> None:
        self.icon.setToolTip(f"photosorter — {text}")

    def notify(self, text: str, ms: int = 4000) -> None:
        self.icon.showMessage("photosorter", text, QSystemTrayIcon.MessageIcon.Information, ms)

    # QSystemTrayIcon-compatible helpers used by older callers
    def showMessage(self, title, text, icon=None, ms: int = 4000) -> None:
        self.notify(text, ms)

    def setToolTip(self, text: str) -> None:
        self.icon.setToolTip(text)
