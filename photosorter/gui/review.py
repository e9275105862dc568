"""Sort review as a photo grid: thumbnails grouped by destination, each with its score against
the threshold, a "near the threshold" group to check first, sortable and filterable.

Built to stay responsive with 20,000 photos: the grid is a QListView in IconMode over a
QAbstractListModel (only the visible cells are painted), thumbnails are decoded lazily — only
when a cell asks for its icon — on a QThreadPool, and kept in a bounded cache. Regrouping after a
threshold move is plain Python over the decisions (no widgets are created per photo).

Keys: arrows move; Space/Enter opens the photo large with its heatmaps; N marks "not this
category"; A asks "also belongs in…"."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRunnable,
    QSize,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import QColor, QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QVBoxLayout,
    QWidget,
)

THUMB = 112
NEAR = 0.1  # "near the threshold": a score within this of a category's threshold
NEAR_GROUP = "Near the threshold — check first"
NONE_GROUP = "No category"
FAILED_GROUP = "Could not read"
SORTED_GROUP = "Already sorted"
ALL_GROUP = "All photos"


@dataclass
class Cell:
    """One photo in the grid: its decision and the numbers shown under it."""

    path: str
    decision: object
    best: str | None  # the category it goes to (or scores highest for)
    score: float
    threshold: float
    changed: bool = False

    @property
    def margin(self) -> float:
        return self.score - self.threshold


def group_plan(plan, changed: AbstractSet[str] = frozenset()) -> OrderedDict[str, list[Cell]]:
    """Decisions → {group name: cells}: near the threshold first, then each category, no
    category, already sorted, could not read (always present, even empty), and all photos."""
    groups: OrderedDict[str, list[Cell]] = OrderedDict()
    groups[NEAR_GROUP] = []
    for c in plan.destinations:
        groups[c] = []
    groups[NONE_GROUP], groups[SORTED_GROUP], groups[FAILED_GROUP], groups[ALL_GROUP] = [], [], [], []
    th = plan.thresholds
    for d in plan.decisions:
        path = str(d.path)
        if d.outcome == "failed":
            groups[FAILED_GROUP].append(Cell(path, d, None, 0.0, 0.0, path in changed))
            groups[ALL_GROUP].append(groups[FAILED_GROUP][-1])
            continue
        scores: dict[str, float] = d.scores or {}
        near = [c for c, s in scores.items() if abs(s - th.get(c, 0.5)) < NEAR]
        if d.outcome == "copy":
            for c in d.categories:
                groups.setdefault(c, []).append(Cell(path, d, c, scores.get(c, 0.0), th.get(c, 0.5), path in changed))
        else:
            best = max(scores, key=scores.__getitem__) if scores else None
            cell = Cell(path, d, best, scores.get(best, 0.0) if best else 0.0, th.get(best, 0.5) if best else 0.0,
                        path in changed)
            groups[SORTED_GROUP if d.outcome == "already_sorted" else NONE_GROUP].append(cell)
        if near:
            c = min(near, key=lambda n: abs(scores[n] - th.get(n, 0.5)))
            groups[NEAR_GROUP].append(Cell(path, d, c, scores[c], th.get(c, 0.5), path in changed))
        best = max(scores, key=scores.__getitem__) if scores else None
        groups[ALL_GROUP].append(Cell(path, d, best, scores.get(best, 0.0) if best else 0.0,
                                      th.get(best, 0.5) if best else 0.0, path in changed))
    return groups


# --------------------------------------------------------------------------- thumbnails
class _Signals(QObject):
    loaded = Signal(str, QImage)


class _ThumbJob(QRunnable):
    def __init__(self, path: str, size: int, signals: _Signals) -> None:
        super().__init__()
        self.path, self.size, self.signals = path, size, signals

    def run(self) -> None:
        from .categories import pil_to_qimage

        try:
            from .. import media
            from ..imaging import make_thumbnail

            if media.kind_of(self.path) in ("videos", "raw") or self.path.lower().endswith(".pdf"):
                img = pil_to_qimage(media.thumbnail(self.path, self.size))  # a video's poster frame, a RAW's preview
            else:
                img = pil_to_qimage(make_thumbnail(self.path, self.size))
        except Exception:
            img = QImage()
        self.signals.loaded.emit(self.path, img)


class ThumbnailCache(QObject):
    """Thumbnails decoded on a thread pool when first asked for, kept (LRU, bounded)."""

    ready = Signal(str)

    def __init__(self, size: int = THUMB, capacity: int = 3000) -> None:
        super().__init__()
        self.size, self.capacity = size, capacity
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self._cache: OrderedDict[str, QPixmap] = OrderedDict()
        self._pending: set[str] = set()
        self._signals = _Signals()
        self._signals.loaded.connect(self._loaded)
        self.placeholder = QPixmap(size, size)
        self.placeholder.fill(QColor(128, 128, 128, 60))

    def get(self, path: str) -> QPixmap:
        pm = self._cache.get(path)
        if pm is not None:
            self._cache.move_to_end(path)
            return pm
        if path not in self._pending:
            self._pending.add(path)
            self.pool.start(_ThumbJob(path, self.size, self._signals))
        return self.placeholder

    def forget_pending(self) -> None:
        """Drop queued (not yet started) loads: the grid now shows other photos."""
        self.pool.clear()
        self._pending.clear()

    def _loaded(self, path: str, img: QImage) -> None:
        self._pending.discard(path)
        pm = QPixmap.fromImage(img) if not img.isNull() else self.placeholder
        self._cache[path] = pm
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        self.ready.emit(path)

    def wait(self, ms: int = 30000) -> None:
        self.pool.waitForDone(ms)


# --------------------------------------------------------------------------- the model
class ReviewModel(QAbstractListModel):
    PathRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, thumbs: ThumbnailCache, colours: dict[str, str] | None = None) -> None:
        super().__init__()
        self.thumbs = thumbs
        self.colours = colours or {}
        self.cells: list[Cell] = []
        self._row_of: dict[str, int] = {}
        thumbs.ready.connect(self._thumb_ready)

    def set_cells(self, cells: list[Cell]) -> None:
        self.beginResetModel()
        self.cells = cells
        self._row_of = {c.path: i for i, c in enumerate(cells)}
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self.cells)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        cell = self.cells[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            name = Path(cell.path).name
            if len(name) > 16:
                name = name[:7] + "…" + name[-8:]
            if cell.best is None:
                return f"{name}\n⚠ {cell.decision.reason or 'unreadable'}"
            mark = "≥" if cell.margin >= 0 else "<"
            return f"{'● ' if cell.changed else ''}{name}\n{cell.best} {cell.score:.2f} {mark} {cell.threshold:.2f}"
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbs.get(cell.path)
        if role == Qt.ItemDataRole.ToolTipRole:
            d = cell.decision
            scores = ", ".join(f"{c} {v:.2f}" for c, v in sorted((d.scores or {}).items(), key=lambda kv: -kv[1]))
            extra = "\nChanged with the new model." if cell.changed else ""
            return f"{cell.path}\n{scores or d.message or ''}{extra}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{Path(cell.path).name}: {cell.best or 'not readable'} {cell.score:.2f}"
        if role == Qt.ItemDataRole.BackgroundRole and cell.changed:
            return QColor(243, 167, 18, 90)
        if role == self.PathRole:
            return cell.path
        return None

    def _thumb_ready(self, path: str) -> None:
        row = self._row_of.get(path)
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])


class PhotoGrid(QListView):
    """The virtualised grid; keys for opening and correcting the current photo."""

    open_requested = Signal(str)
    not_this_requested = Signal(str)
    also_requested = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(400)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setGridSize(QSize(THUMB + 28, THUMB + 44))
        self.setWordWrap(True)
        self.setSpacing(4)
        self.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        self.setAccessibleName("Photos in the selected group")
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)

    def current_path(self) -> str | None:
        idx = self.currentIndex()
        return idx.data(ReviewModel.PathRole) if idx.isValid() else None

    def keyPressEvent(self, e) -> None:
        path = self.current_path()
        if path and e.key() in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.open_requested.emit(path)
            return
        if path and e.key() == Qt.Key.Key_N and not e.modifiers():
            self.not_this_requested.emit(path)
            return
        if path and e.key() == Qt.Key.Key_A and not e.modifiers():
            self.also_requested.emit(path)
            return
        super().keyPressEvent(e)

    def _menu(self, pos) -> None:
        path = self.current_path()
        if not path:
            return
        m = QMenu(self)
        m.addAction("Open large (Space)", lambda: self.open_requested.emit(path))
        m.addAction("Not this category (N)", lambda: self.not_this_requested.emit(path))
        m.addAction("Also belongs in… (A)", lambda: self.also_requested.emit(path))
        m.addSeparator()
        m.addAction("Show in file manager", lambda: show_in_file_manager(path))
        m.popup(self.viewport().mapToGlobal(pos))


def show_in_file_manager(path: str) -> None:
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices

    QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(path).parent)))


SORTS = {"Score, high first": lambda c: -c.score, "Score, low first": lambda c: c.score,
         "Closest to threshold": lambda c: abs(c.margin), "Name": lambda c: Path(c.path).name.lower()}


class ReviewView(QWidget):
    """Groups on the left ("Pets — 109"), the grid of the selected group, sort and filter."""

    photo_selected = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.thumbs = ThumbnailCache()
        self.model = ReviewModel(self.thumbs)
        self.groups_list = QListWidget()
        self.groups_list.setAccessibleName("Destination groups")
        self.groups_list.setMaximumWidth(240)
        self.groups_list.currentRowChanged.connect(lambda _r: self._show_group())
        self.grid = PhotoGrid()
        self.grid.setModel(self.model)
        self.grid.selectionModel().currentChanged.connect(self._current_changed)
        self.sort = QComboBox()
        self.sort.addItems(list(SORTS))
        self.sort.setAccessibleName("Sort photos by")
        self.sort.currentIndexChanged.connect(lambda _i: self._show_group())
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by file name…")
        self.filter.setAccessibleName("Filter photos by file name")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(lambda _t: self._show_group())
        self.groups: OrderedDict[str, list[Cell]] = OrderedDict()
        self._keys: list[str] = []
        bar = QHBoxLayout()
        bar.addWidget(self.filter, 1)
        bar.addWidget(self.sort)
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.addLayout(bar)
        right.addWidget(self.grid, 1)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.groups_list)
        lay.addLayout(right, 1)

    def set_plan(self, plan, colours: dict[str, str], changed: AbstractSet[str] = frozenset()) -> None:
        """Regroup (thresholds moved, or a new preview); keeps the selected group and photo."""
        self.model.colours = colours
        keep_group = self._keys[self.groups_list.currentRow()] if 0 <= self.groups_list.currentRow() < len(self._keys) else None
        keep_path = self.grid.current_path()
        self.groups = group_plan(plan, changed)
        self._keys = list(self.groups)
        self.groups_list.blockSignals(True)
        self.groups_list.clear()
        for name, cells in self.groups.items():
            item = QListWidgetItem(f"{name} — {len(cells)}")
            if name in colours:
                item.setForeground(QColor(colours[name]))
            self.groups_list.addItem(item)
        row = self._keys.index(keep_group) if keep_group in self._keys else (
            0 if self.groups[NEAR_GROUP] else 1 if len(self._keys) > 1 else 0)
        self.groups_list.setCurrentRow(row)
        self.groups_list.blockSignals(False)
        self._show_group(keep_path)

    def current_group(self) -> str | None:
        r = self.groups_list.currentRow()
        return self._keys[r] if 0 <= r < len(self._keys) else None

    def select_group(self, name: str) -> None:
        self.groups_list.setCurrentRow(self._keys.index(name))

    def _show_group(self, keep_path: str | None = None) -> None:
        name = self.current_group()
        cells = list(self.groups.get(name, [])) if name else []
        text = self.filter.text().strip().lower()
        if text:
            cells = [c for c in cells if text in Path(c.path).name.lower()]
        cells.sort(key=SORTS[self.sort.currentText()])
        keep_path = keep_path or self.grid.current_path()
        self.thumbs.forget_pending()
        self.model.set_cells(cells)
        row = self.model._row_of.get(keep_path, 0 if cells else -1) if keep_path else (0 if cells else -1)
        if row >= 0:
            self.grid.setCurrentIndex(self.model.index(row))

    def _current_changed(self, current, _previous) -> None:
        if current.isValid():
            self.photo_selected.emit(current.data(ReviewModel.PathRole))

    def paths(self) -> list[str]:
        return [c.path for c in self.model.cells]
