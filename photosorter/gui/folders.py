"""Folder pickers that start somewhere sensible: the folder last chosen for the same purpose, or
the user's Pictures folder — never the process's working directory (a new user found every
dialog opening in the folder photosorter happened to be started from).

The last choices are kept in a small settings file next to the library (under the app's config
folder, so PHOTOSORTER_HOME isolates it like everything else)."""

from __future__ import annotations

from pathlib import Path

import platformdirs
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QWidget

from ..config import app_paths


def _settings() -> QSettings:
    return QSettings(str(app_paths().config_dir / "window.ini"), QSettings.Format.IniFormat)


def pictures_folder() -> Path:
    """The user's Pictures folder when it exists, else their home folder."""
    pictures = Path(platformdirs.user_pictures_dir())
    return pictures if pictures.is_dir() else Path.home()


def start_folder(purpose: str) -> str:
    """Where a folder dialog for ``purpose`` ("sort", "import", "watch", …) opens."""
    last = _settings().value(f"folders/{purpose}", "")
    if isinstance(last, str) and last and Path(last).is_dir():
        return last
    return str(pictures_folder())


def remember(purpose: str, folder: str) -> None:
    s = _settings()
    s.setValue(f"folders/{purpose}", str(folder))
    s.sync()


def choose_folder(parent: QWidget | None, title: str, purpose: str, start: str | None = None) -> str:
    """Ask for a folder; the answer is remembered as the next start for ``purpose``. ``start``
    (e.g. a category's current folder) wins, or its nearest folder that exists: a category's
    folder is made by its first copy, and the dialog opened in Pictures instead of next to it
    (tryout)."""
    near = _nearest_existing(Path(start)) if start else None
    where = str(near) if near is not None else start_folder(purpose)
    folder = QFileDialog.getExistingDirectory(parent, title, where)
    if folder:
        remember(purpose, folder)
    return folder


def _nearest_existing(folder: Path) -> Path | None:
    """``folder`` or its closest ancestor that is a folder; None if only the root would be."""
    for candidate in (folder, *folder.parents):
        if candidate.is_dir():
            return candidate if candidate.parent != candidate else None
    return None
