"""Categories panel: the list (drop photos or folders on a category to add examples) and the
example thumbnails of the selected one, decoded off the UI thread."""

from __future__ import annotations

import functools
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..library import Library
from .widgets import menu_text
from .workers import JobWorker, start_job


def short_folder(folder: str, keep: int = 2) -> str:
    """A folder by its last ``keep`` parts ("…/Sorted/vehicles"; the tooltip has it whole): the
    whole path wrapped the line under the category buttons to three lines and moved the buttons."""
    parts = Path(folder).parts
    return folder if len(parts) <= keep + 1 else "…/" + "/".join(parts[-keep:])


ADD_PHOTOS_SHORTCUT = "Ctrl+E"  # File → Add photos to the selected category…
#: The example list's keys as Help → Keyboard shortcuts lists them (ExampleList.keyPressEvent).
EXAMPLE_KEYS = [("Delete or Backspace", "remove the selected examples (the photos stay on disk)"),
                ("Space or Enter", "open the photo large")]
NONE_ITEM = "\u2205 None of these"  # the bucket for photos that belong nowhere
ROLE_NAME = Qt.ItemDataRole.UserRole


def pil_to_qimage(img) -> QImage:
    img = img.convert("RGB")
    data = img.tobytes()
    q = QImage(data, img.width, img.height, img.width * 3, QImage.Format.Format_RGB888)
    return q.copy()  # own the pixels: `data` goes away


def swatch(colour: str) -> QIcon:
    pm = QPixmap(14, 14)
    pm.fill(QColor(colour))
    return QIcon(pm)


class CategoryList(QListWidget):
    """Accepts dropped files/folders; emits (category or None, paths)."""

    dropped = Signal(object, list)

    def __init__(self) -> None:
        super().__init__()
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)

    def dragEnterEvent(self, e):
        if e.mimeData().hasUrls():
            e.acceptProposedAction()

    def dragMoveEvent(self, e):
        item = self.itemAt(e.position().toPoint())
        if e.mimeData().hasUrls() and item is not None:
            self.setCurrentItem(item)
            e.acceptProposedAction()
        else:
            e.ignore()

    def dropEvent(self, e):
        item = self.itemAt(e.position().toPoint())
        paths = [u.toLocalFile() for u in e.mimeData().urls() if u.isLocalFile()]
        if item is None or not paths:
            e.ignore()
            return
        self.dropped.emit(item.data(ROLE_NAME), paths)
        e.acceptProposedAction()


class ExampleGrid(QListWidget):
    """The selected category's example thumbnails: Delete removes the selected ones, a
    double-click (or Enter) opens one large, the context menu removes or moves them."""

    remove_requested = Signal(list)  # example paths
    move_requested = Signal(list, object)  # example paths, target category (None: "none of these")
    open_requested = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[tuple[str, object]] = []  # (label, category name or None) to move to
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.itemDoubleClicked.connect(lambda it: self.open_requested.emit(it.data(ROLE_NAME)))
        self.setAccessibleName("Example photos of the selected category")

    def selected_paths(self) -> list[str]:
        return [it.data(ROLE_NAME) for it in self.selectedItems()]

    def keyPressEvent(self, e) -> None:
        paths = self.selected_paths()
        if paths and e.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.remove_requested.emit(paths)
            return
        if self.currentItem() is not None and e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.open_requested.emit(self.currentItem().data(ROLE_NAME))
            return
        super().keyPressEvent(e)

    def _menu(self, pos) -> None:
        item = self.itemAt(pos)
        if item is not None and not item.isSelected():
            self.setCurrentItem(item)
        paths = self.selected_paths()
        if not paths:
            return
        m = QMenu(self)
        if len(paths) == 1:
            m.addAction("Open large", lambda: self.open_requested.emit(paths[0]))
        m.addAction(f"Remove {len(paths)} example(s) (Delete)" if len(paths) > 1 else "Remove (Delete)",
                    lambda: self.remove_requested.emit(paths))
        move = m.addMenu("Move to category")
        for label, name in self.targets:
            move.addAction(menu_text(label), functools.partial(self.move_requested.emit, paths, name))
        self.context_menu = m
        m.popup(self.viewport().mapToGlobal(pos))


_KEEP = object()  # refresh(): keep the current selection


class CategoriesPanel(QWidget):
    changed = Signal()  # the library was edited
    examples_removed = Signal(object, list)  # category (None: "none of these"), example paths
    examples_moved = Signal(list, object, object)  # example paths, from category, to category
    photo_selected = Signal(str)
    add_requested = Signal()
    remove_requested = Signal(str)
    rename_requested = Signal(str)
    recolour_requested = Signal(str)
    folder_requested = Signal(str)

    def __init__(self, library: Library) -> None:
        super().__init__()
        self.library = library
        self.list = CategoryList()
        self.list.dropped.connect(self._dropped)
        self.list.currentItemChanged.connect(lambda *_: self.show_examples())
        self.list.itemDoubleClicked.connect(self._rename_item)
        self.thumbs = ExampleGrid()
        self.thumbs.remove_requested.connect(self.remove_examples)
        self.thumbs.move_requested.connect(self.move_examples)
        self.open_requested = self.thumbs.open_requested
        self.thumbs.setViewMode(QListWidget.ViewMode.IconMode)
        self.thumbs.setIconSize(QSize(96, 96))
        self.thumbs.setGridSize(QSize(112, 124))
        self.thumbs.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.thumbs.setMovement(QListWidget.Movement.Static)
        self.thumbs.setUniformItemSizes(True)
        placeholder = QPixmap(96, 96)
        placeholder.fill(QColor(128, 128, 128, 60))
        self._placeholder = QIcon(placeholder)
        self.thumbs.currentItemChanged.connect(self._thumb_selected)
        self.header = QLabel()
        self.header.setWordWrap(True)
        # room for two lines whatever it says: going from "0 example photo(s)" to "20 example
        # photo(s) → copies go to …" moved the buttons above it under the mouse (a tryout's click
        # on "Folder…" hit "Rename")
        self.header.setMinimumHeight(2 * self.header.fontMetrics().lineSpacing())
        self.header.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.header.linkActivated.connect(self._put_back)
        self._removed: tuple[str | None, list[str]] | None = None  # the last removal, for "Put them back"
        add = QPushButton("Add category…")
        add.clicked.connect(self.add_requested.emit)
        # drag and drop was the only way to add examples (tryout): a file dialog does the same
        self.add_photos_button = QPushButton("Add photos…")
        self.add_photos_button.setToolTip(f"Add example photos to the selected category ({ADD_PHOTOS_SHORTCUT})")
        self.add_photos_button.setAccessibleName("Add example photos to the selected category")
        self.add_photos_button.clicked.connect(self.choose_photos)
        buttons = QGridLayout()  # two by two: four in a row made the panel 374 px wide, most of 200%'s 800
        for k, (text, signal) in enumerate((("Rename", self.rename_requested), ("Colour", self.recolour_requested),
                                            ("Folder…", self.folder_requested), ("Remove", self.remove_requested))):
            b = QPushButton(text)
            b.clicked.connect(lambda _=False, s=signal: self.current_name() and s.emit(self.current_name()))
            buttons.addWidget(b, *divmod(k, 2))
        lay = QVBoxLayout(self)
        title = QLabel("<b>Categories</b> — drop photos or folders on one to add examples")
        title.setWordWrap(True)
        lay.addWidget(title)
        lay.addWidget(self.list, 2)
        lay.addWidget(add)
        lay.addWidget(self.add_photos_button)
        lay.addLayout(buttons)
        lay.addWidget(self.header)
        lay.addWidget(self.thumbs, 3)
        self._thumb_job: JobWorker | None = None
        self._generation = 0
        self._header_base, self._duplicates, self._unusable = "", 0, 0
        self.refresh()

    def current_name(self) -> str | None:
        it = self.list.currentItem()
        return it.data(ROLE_NAME) if it else None

    def refresh(self, select: str | object | None = _KEEP) -> None:
        """Rebuild the list; ``select`` a category by name (None: "none of these"), else keep the
        selection (a removal from "none of these" used to jump to the first category)."""
        keep: str | None
        if isinstance(select, str) or select is None:
            keep = select
        else:
            keep = self.current_name() if self.list.currentItem() else (
                self.library.categories[0].name if self.library.categories else None)
        self.list.blockSignals(True)
        self.list.clear()
        for c in self.library.categories:
            n = len(c.examples)
            warn = "  ⚠ add more" if n < 10 else ""
            it = QListWidgetItem(swatch(c.color), f"{c.name}  ({n}){warn}")
            it.setData(ROLE_NAME, c.name)
            it.setToolTip(f"Copies go to {c.folder}" + ("\nFewer than 10 examples: results will be unreliable." if warn else ""))
            self.list.addItem(it)
        it = QListWidgetItem(f"{NONE_ITEM}  ({len(self.library.none_examples)})")
        it.setData(ROLE_NAME, None)
        it.setToolTip("Photos that belong to no category: they teach the model what to leave alone.")
        self.list.addItem(it)
        self.list.blockSignals(False)
        rows = [self.list.item(i).data(ROLE_NAME) for i in range(self.list.count())]
        self.list.setCurrentRow(rows.index(keep) if keep in rows else 0)
        self.show_examples()

    def _rename_item(self, item) -> None:
        if item.data(ROLE_NAME):  # "none of these" has no name and cannot be renamed
            self.rename_requested.emit(item.data(ROLE_NAME))

    def _thumb_selected(self, item, _previous) -> None:
        if item is not None:
            self.photo_selected.emit(item.data(ROLE_NAME))

    def _dropped(self, name, paths: list[str]) -> None:
        added = self.library.add_examples(name, paths)
        self.library.save()
        self.refresh(select=name)
        self.header.setText(f"Added {added} photo(s)." if added else "Nothing new: those photos were already examples (or not photos).")
        self.changed.emit()

    def choose_photos(self) -> None:
        """"Add photos…": pick example photos for the selected category (several at once, image
        files only); they are added as a drop on it adds them."""
        from PySide6.QtWidgets import QFileDialog

        from ..imaging import IMAGE_EXTENSIONS, looks_like_image
        from .folders import remember, start_folder

        if self.list.currentItem() is None:
            return
        name = self.current_name()
        patterns = " ".join(f"*{e} *{e.upper()}" for e in sorted(IMAGE_EXTENSIONS))
        files, _ = QFileDialog.getOpenFileNames(self, f"Add example photos to {name or 'none of these'}",
                                                start_folder("examples"), f"Photos ({patterns})")
        files = [f for f in files if looks_like_image(Path(f))]
        if not files:
            return
        remember("examples", str(Path(files[0]).parent))
        self._dropped(name, files)

    def remove_examples(self, paths: list[str]) -> None:
        """Delete / "Remove": the photos stop being examples here (the files are not touched)."""
        name = self.current_name()
        for p in paths:
            self.library.remove_example(name, p)
        self.library.save()
        self.examples_removed.emit(name, list(paths))
        self.refresh(select=name)
        # one key, no question: a way back right there (a tryout removed one by mistake, with no undo)
        self._removed = (name, list(paths))
        self.header.setText(f"Removed {len(paths)} example(s); the photos themselves are untouched. "
                            "<a href='put-back'>Put them back</a>")
        self.changed.emit()

    def _put_back(self, _link: str) -> None:
        """The examples the last Delete removed, back in their category (at the end of its list)."""
        if self._removed is None:
            return
        name, paths = self._removed
        self._removed = None
        if name is not None and name not in [c.name for c in self.library.categories]:
            self.header.setText(f"Cannot put them back: the category {name} is gone.")
            return
        added = self.library.add_examples(name, paths)
        self.library.save()
        self.refresh(select=name)
        self.header.setText(f"Put back {added} example(s).")
        self.changed.emit()

    def move_examples(self, paths: list[str], target) -> None:
        """"Move to category": a wrong drop or a wrong "Not pets" click, undone for a few photos."""
        name = self.current_name()
        if target == name:
            return
        for p in paths:
            self.library.move_example(p, name, target)
        self.library.save()
        self.examples_moved.emit(list(paths), name, target)
        self.refresh(select=name)
        self.header.setText(f"Moved {len(paths)} example(s) to {target or 'none of these'}.")
        self.changed.emit()

    def examples_of(self, name) -> list[str]:
        return self.library.none_examples if name is None else self.library.category(name).examples

    def show_examples(self) -> None:
        it = self.list.currentItem()
        self.thumbs.clear()
        if it is None:
            return
        name = it.data(ROLE_NAME)
        paths = list(self.examples_of(name))
        folder = "" if name is None else str(self.library.category(name).folder)
        where = f" → copies go to {short_folder(folder)}" if folder else ""
        self._header_base = f"{len(paths)} example photo(s){where}"
        self.header.setToolTip(f"Copies go to {folder}" if folder else "")
        self._duplicates = self._unusable = 0
        self.thumbs.targets = [(c.name, c.name) for c in self.library.categories if c.name != name] + (
            [(NONE_ITEM, None)] if name is not None else [])
        self.header.setText(self._header_base)
        items = {}
        for p in paths:
            name = Path(p).name  # cut to the tile, with "…" where it was cut (it read "oxpet_British_Sh")
            item = QListWidgetItem(self._placeholder, name if len(name) <= 16 else name[:15] + "…")
            item.setData(ROLE_NAME, p)
            item.setToolTip(p)
            self.thumbs.addItem(item)
            items[p] = item
        if self._thumb_job is not None:
            self._thumb_job.cancel()
        self._generation += 1
        generation = self._generation
        if paths:
            self._thumb_job = start_job(self, lambda progress, cancel, emit: _load_thumbs(paths, cancel, emit),
                                        on_data=lambda d: self._set_thumb(items, d, generation))

    def _set_thumb(self, items: dict, data, generation: int) -> None:
        if generation != self._generation:
            return  # the list was rebuilt since: these items no longer exist
        path, qimage, problem = data
        item = items.get(path)
        if item is None:
            return
        if problem is not None and qimage is not None:  # a duplicate: usable, but counted once
            item.setText("⧉ " + item.text())
            item.setToolTip(f"{path}\n{problem}")
            self._duplicates += 1
        if qimage is not None:
            # Centre the thumbnail on a square canvas so the grid stays even.
            square = QPixmap(96, 96)
            square.fill(Qt.GlobalColor.transparent)
            from PySide6.QtGui import QPainter

            painter = QPainter(square)
            pm = QPixmap.fromImage(qimage)
            painter.drawPixmap((96 - pm.width()) // 2, (96 - pm.height()) // 2, pm)
            painter.end()
            item.setIcon(QIcon(square))
        else:
            item.setText("⚠ " + item.text())
            item.setToolTip(f"{path}\nCannot be used: {problem}\nDelete removes it from the examples.")
            item.setData(Qt.ItemDataRole.AccessibleDescriptionRole, f"Cannot be used: {problem}")
            self._unusable += 1
        if self._duplicates or self._unusable:
            parts = [f"{self._duplicates} duplicate(s), counted once"] if self._duplicates else []
            parts += [f"{self._unusable} cannot be used (⚠: hover for why, Delete removes)"] if self._unusable else []
            self.header.setText(self._header_base + " — " + "; ".join(parts))


def _load_thumbs(paths: list[str], cancel, emit) -> None:
    """Thumbnail each example; flag unreadable files and byte-identical duplicates."""
    from PIL import Image

    from ..errors import BadImageError
    from ..imaging import content_hash, decode, read_file_bytes

    first_with: dict[str, str] = {}
    for p in paths:
        cancel.raise_if_cancelled()
        try:
            data = read_file_bytes(p)
            img = decode(data, min_side=96, path=p)[0]
            img.thumbnail((96, 96), Image.Resampling.BILINEAR)
        except BadImageError as exc:
            emit((p, None, exc.message))
            continue
        sha = content_hash(data)
        dup_of = first_with.setdefault(sha, p)
        emit((p, pil_to_qimage(img), None if dup_of == p else f"duplicate of {Path(dup_of).name} (counted once)"))
