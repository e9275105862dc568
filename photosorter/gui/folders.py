"""Folder pickers that start somewhere sensible: the folder last chosen for the same purpose, or
the user's Pictures folder — never the process's working directory (a new user found every
dialog opening in the folder photosorter happened to be started from).

The last choices are kept in a small settings file next to the library (under the app's config
folder, so PHOTOSORTER_HOME isolates it like everything else)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

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
    (tryout). A category's destination may be a folder that does not exist yet
    (NewFolderDialog); the folders to sort, watch or import from must exist."""
    near = _nearest_existing(Path(start)) if start else None
    where = str(near) if near is not None else start_folder(purpose)
    if purpose == "destination":
        folder = NewFolderDialog.ask(parent, title, where)
    else:
        folder = QFileDialog.getExistingDirectory(parent, title, where)
    if folder:
        remember(purpose, folder)
    return folder


class NewFolderDialog(QFileDialog):
    """A folder dialog that also takes the name of a folder that does not exist yet, and offers to
    create it. Why: a tryout typed ".../Sorted/Receipts" as a new category's destination and Qt's
    folder dialog answered "Directory not found"; its "Create New Folder" button was the only way,
    and nothing said so. (A native dialog of the desktop, where Qt uses one, has its own button for
    this and does not come through here.)"""

    def __init__(self, parent: QWidget | None, title: str, where: str) -> None:
        super().__init__(parent, title, where)
        self.setFileMode(QFileDialog.FileMode.Directory)
        self.setOption(QFileDialog.Option.ShowDirsOnly, True)
        self.setLabelText(QFileDialog.DialogLabel.FileName, "Folder:")
        self.setLabelText(QFileDialog.DialogLabel.Accept, "Choose")

    @classmethod
    def ask(cls, parent: QWidget | None, title: str, where: str) -> str:
        dialog = cls(parent, title, where)
        try:
            if dialog.exec() != QFileDialog.DialogCode.Accepted:
                return ""
            chosen = dialog.selectedFiles()
            return chosen[0] if chosen else ""
        finally:
            dialog.deleteLater()

    def accept(self) -> None:
        chosen = self.selectedFiles()
        if chosen:
            folder = Path(os.path.normpath(os.path.expanduser(chosen[0])))
            if not folder.exists() and not folder.is_symlink():
                if not self._create(folder):
                    return
                self.selectFile(str(folder))
        super().accept()

    def _create(self, folder: Path) -> bool:
        """Ask, then make ``folder`` (and any missing folders above it). False keeps the dialog open."""
        above = _nearest_existing(folder.parent)
        missing = len(folder.relative_to(above).parts) if above is not None else len(folder.parts) - 1
        more = f" (and the {missing - 1} folder(s) above it that do not exist either)" if missing > 1 else ""
        # where it will really be: a link on the way leads elsewhere (an attack typed link/New and
        # was asked about a folder inside Sorted); quotes show a name's leading or trailing spaces
        real = Path(os.path.realpath(folder))
        where = f"“{folder.name}” in {real.parent}" + (" (a link on the way leads there)" if real != folder else "")
        answer = QMessageBox.question(self, "Create the folder?", f"{folder} does not exist yet. Create the folder "
                                      f"{where}{more}?",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.Yes)
        if answer != QMessageBox.StandardButton.Yes:
            return False
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            QMessageBox.warning(self, "Could not create the folder",
                                f"{folder} could not be created: {exc.strerror or exc}. Choose another place.")
            return False
        return True


def _nearest_existing(folder: Path) -> Path | None:
    """``folder`` or its closest ancestor that is a folder; None if only the root would be."""
    for candidate in (folder, *folder.parents):
        if candidate.is_dir():
            return candidate if candidate.parent != candidate else None
    return None
