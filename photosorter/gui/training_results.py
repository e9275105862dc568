"""The Train tab's results people can act on: a confusion matrix of the held-out predictions and
the thumbnails of the examples a category gets wrong (open one large, remove it, or move it to the
category it belongs in). The numbers come from ``photosorter.ml.confusion``; this is only the view."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..ml.confusion import NONE, Confusion, Mistake
from .widgets import menu_text

THUMB = 88
PATH_ROLE = Qt.ItemDataRole.UserRole + 1


class ConfusionTable(QTableWidget):
    """Rows: what an example is labelled; columns: where a model that never saw it put it.
    The diagonal is right (green), everything else is a confusion (red, darker = more)."""

    cell_chosen = Signal(int, int)

    def __init__(self) -> None:
        super().__init__(0, 0)
        self.matrix: Confusion | None = None
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        # numbered columns as narrow as their counts: all of them fit beside the row names
        self.horizontalHeader().setMinimumSectionSize(22)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.setAccessibleName("Confusion matrix: rows are labels, columns are where the model put the example")
        self.setToolTip("Rows: what the example is labelled. Columns (numbered like the rows, ∅ = none): where a "
                        "model that never saw it would put it. Click a cell to see those photos.")
        self.cellClicked.connect(self.cell_chosen.emit)
        self.setCornerButtonEnabled(False)
        for corner in self.findChildren(QAbstractButton):  # the header's corner: named for screen readers
            corner.setAccessibleName("Confusion matrix corner")

    def set_matrix(self, matrix: Confusion | None) -> None:
        self.matrix = matrix
        if matrix is None:
            self.setRowCount(0)
            self.setColumnCount(0)
            return
        n = len(matrix.names)
        self.setRowCount(n)
        self.setColumnCount(n)
        # columns by number (the row header names them): seven category names across do not fit
        short = [str(i + 1) if name != NONE or i < n - 1 else "∅" for i, name in enumerate(matrix.names)]
        self.setHorizontalHeaderLabels(short)
        self.setVerticalHeaderLabels([f"{k}  {name}" for k, name in zip(short, matrix.names)])
        for j, name in enumerate(matrix.names):
            header = self.horizontalHeaderItem(j)
            if header is not None:
                header.setToolTip(f"put in {name}")
        for i, row in enumerate(matrix.counts):
            total = max(1, sum(row))
            for j, count in enumerate(row):
                item = QTableWidgetItem(str(count))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if count:
                    share = count / total
                    colour = QColor(46, 160, 67) if i == j else QColor(228, 87, 46)
                    colour.setAlpha(int(40 + 170 * share))
                    item.setBackground(QBrush(colour))
                what = "right" if i == j else "confused"
                item.setToolTip(f"{count} example(s) labelled {matrix.names[i]} went to {matrix.names[j]} ({what}).")
                self.setItem(i, j, item)


class MistakesGrid(QListWidget):
    """Thumbnails of wrong examples. Click: open large. Right-click or Delete: remove the example,
    or move it to another category."""

    open_requested = Signal(str)
    remove_requested = Signal(str)
    relabel_requested = Signal(str, object)  # (path, category or None: "none of these")

    def __init__(self) -> None:
        super().__init__()
        from .review import ThumbnailCache

        self.categories: list[str] = []
        self.truth: dict[str, tuple[str, ...]] = {}
        self.shown: dict[str, Mistake] = {}  # path → the mistake its tile shows (the pane names its score)
        self.thumbs = ThumbnailCache(THUMB, capacity=600)
        self.thumbs.ready.connect(self._thumb_ready)
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setGridSize(QSize(THUMB + 16, THUMB + 30))
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setMovement(QListWidget.Movement.Static)
        self.setUniformItemSizes(True)
        self.setWordWrap(True)
        self.setMinimumHeight(THUMB + 40)
        self.setAccessibleName("Examples the model gets wrong")
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.itemClicked.connect(lambda it: self.open_requested.emit(it.data(PATH_ROLE)))
        self.itemActivated.connect(lambda it: self.open_requested.emit(it.data(PATH_ROLE)))
        self.menu: QMenu | None = None

    def set_mistakes(self, mistakes: list[Mistake], categories: list[str]) -> None:
        self.categories = list(categories)
        self.truth = {m.path: m.truth for m in mistakes}  # what each example is labelled now
        self.shown = {m.path: m for m in mistakes}
        self.thumbs.forget_pending()
        self.clear()
        for m in mistakes:
            mark = {"missed": "missed", "taken": "taken in"}.get(m.kind, "")
            label = f"{m.score:.2f} {mark}".strip()
            item = QListWidgetItem(QIcon(self.thumbs.get(m.path)), label)
            item.setData(PATH_ROLE, m.path)
            item.setToolTip(f"{m.path}\n{m.explain()}\nHeld-out score: the final model trained on this photo and "
                            "may score it otherwise. Click to open; right-click to remove or move it.")
            self.addItem(item)

    def mistake_of(self, path: str) -> Mistake | None:
        return self.shown.get(path)

    def paths(self) -> list[str]:
        return [self.item(i).data(PATH_ROLE) for i in range(self.count())]

    def drop_path(self, path: str) -> None:
        """The example was removed or moved: it is no longer this model's mistake to fix."""
        for i in range(self.count() - 1, -1, -1):
            if self.item(i).data(PATH_ROLE) == path:
                self.takeItem(i)

    def _thumb_ready(self, path: str) -> None:
        for i in range(self.count()):
            it = self.item(i)
            if it.data(PATH_ROLE) == path:
                it.setIcon(QIcon(self.thumbs.get(path)))

    def keyPressEvent(self, e) -> None:
        it = self.currentItem()
        if it is not None and (e.matches(QKeySequence.StandardKey.Delete) or e.key() == Qt.Key.Key_Backspace):
            self.remove_requested.emit(it.data(PATH_ROLE))
            return
        super().keyPressEvent(e)

    def build_menu(self, path: str) -> QMenu:
        m = QMenu(self)
        m.addAction("Open large", lambda: self.open_requested.emit(path))
        m.addAction("Remove this example (the file stays)", lambda: self.remove_requested.emit(path))
        move = m.addMenu("Move this example to")
        now = self.truth.get(path, ())
        for name in self.categories:
            if now != (name,):  # moving it where it already is would change nothing
                move.addAction(menu_text(name), self._relabel_to(path, name))
        if now != (NONE,):
            move.addAction("None of these", lambda: self.relabel_requested.emit(path, None))

        def show() -> None:
            from .review import show_in_file_manager

            show_in_file_manager(path)

        m.addAction("Show in file manager", show)
        return m

    def _relabel_to(self, path: str, name: str):
        return lambda: self.relabel_requested.emit(path, name)

    def _menu(self, pos) -> None:
        it = self.itemAt(pos)
        if it is None:
            return
        self.setCurrentItem(it)
        self.menu = self.build_menu(it.data(PATH_ROLE))
        self.menu.popup(self.viewport().mapToGlobal(pos))


class MistakesView(QWidget):
    """A heading that says whose mistakes are shown, above the grid."""

    def __init__(self) -> None:
        super().__init__()
        self.heading = QLabel("Click a category (or a cell of the matrix) to see the examples it gets wrong.")
        self.heading.setWordWrap(True)
        self.grid = MistakesGrid()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.heading)
        lay.addWidget(self.grid, 1)

    def show_category(self, category: str, mistakes: list[Mistake], categories: list[str]) -> None:
        missed = sum(m.kind == "missed" for m in mistakes)
        taken = len(mistakes) - missed
        if not mistakes:
            self.heading.setText(f"<b>{category}</b>: no held-out mistakes.")
        else:
            self.heading.setText(f"<b>{category}</b> gets {len(mistakes)} example(s) wrong: {missed} of its own missed, "
                                 f"{taken} of others taken in (held-out scores). Click to open; right-click to fix.")
        self.grid.set_mistakes(mistakes, categories)

    def show_cell(self, label: str, put: str, mistakes: list[Mistake], categories: list[str]) -> None:
        what = "right" if label == put else "wrong"
        where = "no category" if put == NONE else put
        self.heading.setText(f"Labelled <b>{label}</b>, put in <b>{where}</b> ({what}): {len(mistakes)} example(s); "
                             "held-out scores.")
        self.grid.set_mistakes(mistakes, categories)
