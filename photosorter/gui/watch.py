"""Watch tab: the folders sorted in the background, the on/off switch, and what it has done.

The service itself lives in the Qt-free :class:`photosorter.session.Session`; this widget starts
and stops it on a worker thread and shows its batches (counted since watching started, not just
the last batch)."""

from __future__ import annotations

import html
import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QListWidget, QPushButton, QVBoxLayout, QWidget

from .workers import start_job

log = logging.getLogger(__name__)


class _Bridge(QObject):
    """Carries watcher-thread events onto the UI thread."""

    batch = Signal(object)
    warning = Signal(str)


class WatchPanel(QWidget):
    batch_sorted = Signal(object)  # a watch run's Summary, on the UI thread
    state_changed = Signal(str)  # short text for the tray tooltip

    def __init__(self, session, window) -> None:
        super().__init__()
        self.session = session
        self.main_window = window  # provides .status(), .error(), ._closing
        self.library = session.library
        self._stopping: list[threading.Thread] = []
        self.sorted_total = 0
        self.failed_total = 0
        self.bridge = _Bridge()
        self.bridge.batch.connect(self._batch)
        self.bridge.warning.connect(self._warn)
        self.list = QListWidget()
        self.list.setAccessibleName("Watched folders")
        self.list.addItems(self.library.watched)
        # short texts, details in tooltips: a check box never wraps, and the longest one set the
        # width of every tab (the Train tab scrolled sideways at 200%)
        add = QPushButton("Add a folder…")
        add.setToolTip("Add a camera-roll / DCIM folder to watch")
        add.setAccessibleName("Add a folder to watch")
        add.clicked.connect(lambda: self.add_folder())
        remove = QPushButton("Remove")
        remove.setAccessibleName("Remove the selected watched folder")
        remove.clicked.connect(self.remove_selected)
        remove.setEnabled(False)  # until a watched folder is selected
        self.remove_button = remove
        self.list.itemSelectionChanged.connect(lambda: remove.setEnabled(bool(self.list.selectedItems())))
        self.switch = QCheckBox("Sort new photos as they arrive")
        self.switch.setToolTip("Keep sorting new photos in these folders in the background")
        self.switch.toggled.connect(self.set_watching)
        self.tray_switch = QCheckBox("Keep watching when closed")
        self.tray_switch.setToolTip("Keep watching when the window is closed (tray icon)")
        self.tray_switch.setChecked(self.library.keep_watching_in_tray)
        self.tray_switch.toggled.connect(self._keep_watching_changed)
        self.login_switch = QCheckBox("Start at login")
        self.login_switch.setToolTip("Start photosorter at login (in the tray, watching these folders)")
        self.login_switch.setAccessibleName("Start photosorter at login")
        from .. import autostart

        try:
            self.login_switch.setChecked(autostart.is_enabled())
        except Exception:
            self.login_switch.setEnabled(False)
        self.login_switch.toggled.connect(self.set_start_at_login)
        self.status = QLabel("Not watching.")
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Watching status")
        # what the watcher refused and what to do (tryout: shown only in the status bar, cut off at
        # the window's edge and gone after 15 s, while this tab went on saying "Watching")
        self.warning_label = QLabel()
        self.warning_label.setWordWrap(True)
        self.warning_label.setAccessibleName("Watching warnings")
        self.warning_label.setStyleSheet("QLabel { border: 1px solid #e4572e; border-radius: 4px; padding: 6px; }")
        self.warning_label.hide()
        self._warnings: list[str] = []  # the latest few, each once
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        title = QLabel("<b>Watched folders</b> — new photos here are copied into their categories as they arrive")
        title.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addWidget(self.list, 1)
        lay.addLayout(row)
        lay.addWidget(self.switch)
        lay.addWidget(self.tray_switch)
        lay.addWidget(self.login_switch)
        lay.addWidget(self.status)
        lay.addWidget(self.warning_label)

    # ------------------------------------------------------------ warnings
    def _warn(self, message: str) -> None:
        """A watched folder refused (swapped for a link, gone): said where the watching is shown,
        until watching restarts; the folder is marked in the list; logged; a short status line."""
        log.warning("watch: %s", message)
        self._warnings = [*(m for m in self._warnings if m != message), message][-3:]
        self.warning_label.setText("<br><br>".join(html.escape(m) for m in self._warnings))
        self.warning_label.show()
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.text() in message:
                item.setToolTip(message)
                item.setForeground(QBrush(QColor("#e4572e")))
        self.main_window.status("Watching: a folder needs your attention (Watch tab).", 15000)

    def _clear_warnings(self) -> None:
        self._warnings = []
        self.warning_label.clear()
        self.warning_label.hide()
        for i in range(self.list.count()):
            self.list.item(i).setToolTip("")
            self.list.item(i).setData(Qt.ItemDataRole.ForegroundRole, None)

    # ------------------------------------------------------------ settings
    def _keep_watching_changed(self, on: bool) -> None:
        self.library.keep_watching_in_tray = on
        self.library.save()

    def set_start_at_login(self, on: bool) -> None:
        from .. import autostart

        try:
            autostart.enable() if on else autostart.disable()
        except Exception as exc:  # e.g. a read-only config folder
            self.main_window.error(f"Could not change the start-at-login setting: {exc}")
            return
        self.main_window.status("photosorter will start at login." if on else "photosorter will no longer start at login.")

    def add_folder(self, folder: str | None = None) -> None:
        from .folders import choose_folder

        folder = folder or choose_folder(self, "Folder to watch", "watch")
        if not folder:
            return
        if folder in self.library.watched:  # chosen again: a folder refused as swapped is taken as it is now
            self.restart()
            return
        self.library.watched.append(folder)
        self.library.save()
        self.list.addItem(folder)
        self.restart()

    def remove_selected(self) -> None:
        for it in self.list.selectedItems():
            self.library.watched.remove(it.text())
            self.list.takeItem(self.list.row(it))
        self.library.save()
        self.restart()

    def restart(self) -> None:
        """The set of watched folders changed: a running watcher watches the new set."""
        if self.session.watch_service is not None:
            self._stop()
            if self.library.watched:
                self.set_watching(True)
            else:
                self.switch.setChecked(False)

    # ------------------------------------------------------------ on / off
    def set_watching(self, on: bool) -> None:
        if self.library.watching != on:
            self.library.watching = on
            self.library.save()
        self._clear_warnings()  # a new start (or a stop) looks at every folder afresh
        if not on:
            self._stop()
            self.status.setText("Not watching.")
            self.state_changed.emit("not watching")
            return
        if not self.library.watched:
            self.switch.setChecked(False)
            self.main_window.error("Add a folder to watch first.")
            return
        n = len(self.library.watched)
        self.status.setText("Starting… (loading the model)")
        session, bridge = self.session, self.bridge

        def job(progress, cancel, emit):
            return session.start_watch(bridge.batch.emit, bridge.warning.emit)

        def done(service):
            if not self.switch.isChecked() or self.session.watch_service is not None or self.main_window._closing:
                self._stop_service(service)
                return
            self.session.watch_service = service
            self.session.rearm()  # settings changed while it was starting
            self.sorted_total = self.failed_total = 0
            mode = " (polling)" if service.watcher.polling else ""
            self.status.setText(f"Watching {n} folder(s){mode}. New photos are sorted as they arrive.")
            self.state_changed.emit(f"watching {n} folder(s)")

        def failed(message):
            self.switch.setChecked(False)
            self.main_window.error(message)

        start_job(self, job, on_done=done, on_error=failed)

    def _stop(self) -> None:
        t = self.session.stop_watch(wait=False)
        if t is not None:
            self._stopping = [x for x in self._stopping if x.is_alive()] + [t]

    def _stop_service(self, service) -> None:
        """A service that started after the switch went off: stopped off the UI thread (joins)."""
        t = threading.Thread(target=service.stop, daemon=True, name="watch-stop")
        t.start()
        self._stopping = [x for x in self._stopping if x.is_alive()] + [t]

    def join_stopping(self, timeout: float = 10) -> None:
        """Shutdown waits for watchers being stopped: one still delivering a batch to a window
        being destroyed would crash Qt."""
        for t in self._stopping:
            t.join(timeout)

    def toggle_pause(self) -> bool | None:
        """Pause or resume; returns True when now paused (None: not watching)."""
        service = self.session.watch_service
        if service is None:
            return None
        w = service.watcher
        if w.paused:
            w.resume()
            return False
        w.pause()
        return True

    # ------------------------------------------------------------ batches
    def _batch(self, summary) -> None:
        self.sorted_total += summary.copied_photos
        self.failed_total += len(summary.failed)
        last = f"last batch: {summary.copied_photos}"
        text = f"Sorted {self.sorted_total} new photo(s) since watching started ({last})"
        if self.failed_total:
            text += f"; {self.failed_total} could not be read"
        self.status.setText(text + ".")
        self.state_changed.emit(f"watching; {text.lower()}")
        self.batch_sorted.emit(summary)

    def folders(self) -> list[Path]:
        return [Path(f) for f in self.library.watched]
