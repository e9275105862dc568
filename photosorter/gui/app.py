"""Start the desktop app: QApplication, theme, crash dialog, logging, main window.

The theme lives in :mod:`.theme` (``Theming`` stays importable from here) so that the main window
can switch it without importing this module, which imports the main window."""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import traceback

from PySide6.QtWidgets import QApplication, QMessageBox

from ..config import app_paths
from .theme import Theming

log = logging.getLogger("photosorter")


def setup_logging() -> None:
    path = app_paths().log_file
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def install_excepthook() -> None:
    """A GUI never dies silently: log the traceback and show a readable dialog."""

    def hook(exc_type, exc, tb):
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        log.error("unhandled exception:\n%s", text)
        if QApplication.instance() is not None:
            box = QMessageBox(QMessageBox.Icon.Critical, "photosorter — something went wrong",
                              f"{exc_type.__name__}: {exc}\n\nYour photos are safe: photosorter only copies. "
                              f"Details were written to {app_paths().log_file}.")
            box.setDetailedText(text)
            box.exec()

    sys.excepthook = hook


def run(argv: list[str] | None = None, background: bool = False) -> int:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("photosorter")
    app.setOrganizationName("photosorter")
    app.setQuitOnLastWindowClosed(False)
    setup_logging()
    install_excepthook()
    Theming(app).set_theme("system")
    from .main_window import MainWindow  # after the QApplication exists
    from .single_instance import SingleInstance

    instance = SingleInstance(app_paths().config_dir)
    if not instance.acquire():
        # one app per library: two windows saved over each other's changes (tryout)
        if not instance.ask_to_show() and not background:
            QMessageBox.information(None, "photosorter is already open",
                                    "photosorter is already running for this library (look in the tray, or for its "
                                    "window), or still finishing its last job after closing — then try again in a "
                                    "moment. Two windows on one library would overwrite each other's changes.")
        log.info("another photosorter holds this library: showed it and quit")
        return 0
    window = MainWindow(welcome=not background)

    def show_window() -> None:  # another start asked for it
        window.showNormal()
        window.raise_()
        window.activateWindow()

    instance.listen(show_window)
    if background and window.tray is not None:
        window.status("Started at login: sorting in the background.")  # stays in the tray
    else:
        window.show()
    if os.environ.get("PHOTOSORTER_STARTUP_PROBE"):  # benchmarks/cold_start.py: report, then quit
        from PySide6.QtCore import QTimer

        def probe() -> None:
            window.repaint()
            print(f"window-shown torch-loaded={'torch' in sys.modules}", flush=True)
            window.shutdown()
            app.quit()

        QTimer.singleShot(0, probe)
    app.lastWindowClosed.connect(lambda: None if window.session.watch_service else app.quit())
    window.destroyed.connect(app.quit)
    code = app.exec()
    window.shutdown()
    instance.close()
    from .workers import finish_before_exit

    if not finish_before_exit():  # a job that ignores its cancel (one long copy, an undo finishing)
        log.warning("a background job was still running at exit; leaving without teardown (the next start recovers)")
        logging.shutdown()
        sys.stdout.flush()
        os._exit(code)
    return code
