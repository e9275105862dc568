"""Sort review as a photo grid: thumbnails grouped by destination, each tile showing its scores
against the thresholds for the categories that matter, a "near the threshold" group to check
first, sortable and filterable.

Built to stay responsive with 20,000 photos (benchmarks/responsiveness.py --review): the grid is
a QListView over a model that holds only an index array into a
:class:`~photosorter.sorting.review_table.ReviewTable`; every tile is painted by one delegate
from those arrays (no widget, no object per photo). A threshold move re-decides every photo with
one array comparison and regroups with index arrays; thumbnails are decoded only when a tile is
painted, on a thread pool, and kept in a bounded cache.

Keys: arrows move; Space/Enter opens the photo large with its heatmaps; N "not this category";
1…9 "move to" that category (M: a menu of them); A "also belongs in…"."""

from __future__ import annotations

import atexit
import functools
import threading
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QIcon, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QVBoxLayout,
    QWidget,
)

from ..sorting.review_table import COPY, FAILED, NONE, SORTED, Decided, ReviewTable, odds_margin
from .widgets import menu_text, score_digits, wheel_only_when_focused


@functools.lru_cache(maxsize=64)
def _swatch(colour: str) -> QIcon:
    pix = QPixmap(12, 12)
    pix.fill(QColor(colour))
    return QIcon(pix)


def score_vs_threshold(score: float, threshold: float) -> str:
    """"0.71 < 0.76", with more decimals where two would read "0.05 < 0.05"."""
    digits = score_digits(score, threshold)
    return f"{score:.{digits}f}{' ≥ ' if score >= threshold else ' < '}{threshold:.{digits}f}"

THUMB = 112
BARS = 3  # categories shown on a tile: where it goes first, then the closest to going
#: "Near the threshold" read wrong for photos at 0.00 that only the familiarity check keeps out
#: (two tryouts): the group is named for what to do, its tooltip and each tile say why
NEAR_GROUP = "Check first"
GROUP_TIPS = {NEAR_GROUP: "Photos the model was least sure about: near a threshold, or kept out of a category only "
                          "because they look unlike its examples while the category model alone says yes. Each "
                          "tile's tooltip and the preview pane say which."}
NONE_GROUP = "No category"
FAILED_GROUP = "Could not read"
#: identical photos within one folder are sorted once: the others are listed here too (a tryout
#: found "Already sorted — 2" on a first sort into empty folders and could not tell why)
SORTED_GROUP = "Already sorted or a duplicate"
ALL_GROUP = "All photos"


# --------------------------------------------------------------------------- thumbnails
def _decode_thumbnail(path: str, size: int) -> QImage:
    from .categories import pil_to_qimage

    try:
        from .. import media
        from ..imaging import make_thumbnail

        if media.kind_of(path) in ("videos", "raw") or path.lower().endswith(".pdf"):
            return pil_to_qimage(media.thumbnail(path, size))  # a video's poster frame, a RAW's preview
        return pil_to_qimage(make_thumbnail(path, size))
    except Exception:
        return QImage()


_CACHES: weakref.WeakSet[ThumbnailCache] = weakref.WeakSet()


@atexit.register
def _stop_all_caches() -> None:
    for cache in list(_CACHES):
        cache.close()


class ThumbnailCache(QObject):
    """Thumbnails decoded on two plain threads when first asked for, newest request first (the
    tiles on screen now), kept in a bounded LRU cache.

    Plain threads and a GUI-thread timer, not QThreadPool + QRunnable: dropping queued
    QRunnables (QThreadPool.clear, needed when the grid scrolls on) deletes Python-owned objects
    from C++ and corrupted the interpreter (``Fatal Python error: none_dealloc`` while scrolling
    20,000 photos in benchmarks/responsiveness.py)."""

    ready = Signal(str)

    def __init__(self, size: int = THUMB, capacity: int = 3000, threads: int = 2) -> None:
        super().__init__()
        self.size, self.capacity = size, capacity
        self._cache: OrderedDict[str, QPixmap] = OrderedDict()
        self._pending: set[str] = set()  # asked for, not delivered (GUI thread only)
        self._want: list[str] = []  # to decode, newest last (under _cv)
        self._done: deque[tuple[str, QImage]] = deque()
        self._cv = threading.Condition()
        self._threads = [threading.Thread(target=self._work, name=f"thumbnails-{i}", daemon=True) for i in range(threads)]
        self._started = False
        self._stopping = False
        _CACHES.add(self)
        self._timer = QTimer(self)
        self._timer.setInterval(30)
        self._timer.timeout.connect(self._drain)
        self.placeholder = QPixmap(size, size)
        self.placeholder.fill(QColor(128, 128, 128, 60))

    def get(self, path: str) -> QPixmap:
        pm = self._cache.get(path)
        if pm is not None:
            self._cache.move_to_end(path)
            return pm
        if path not in self._pending:
            self._pending.add(path)
            with self._cv:
                self._want.append(path)
                self._cv.notify()
            if not self._started:
                self._started = True
                for t in self._threads:
                    t.start()
            if not self._timer.isActive():
                self._timer.start()
        return self.placeholder

    def forget_pending(self) -> None:
        """Drop loads not started yet: the grid now shows other photos."""
        with self._cv:
            for p in self._want:
                self._pending.discard(p)
            self._want.clear()

    def _work(self) -> None:
        while True:
            with self._cv:
                while not self._want and not self._stopping:
                    self._cv.wait()
                if self._stopping:
                    return
                path = self._want.pop()  # newest first: what is on screen now
            self._done.append((path, _decode_thumbnail(path, self.size)))

    def close(self) -> None:
        """Stop the decoding threads (at exit: none may touch Qt while the interpreter ends)."""
        with self._cv:
            self._stopping = True
            self._want.clear()
            self._cv.notify_all()
        for t in self._threads:
            if t.is_alive():
                t.join(2)
        self._done.clear()

    def _drain(self) -> None:
        while self._done:
            path, img = self._done.popleft()
            self._pending.discard(path)
            self._cache[path] = QPixmap.fromImage(img) if not img.isNull() else self.placeholder
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
            self.ready.emit(path)
        if not self._pending:
            self._timer.stop()

    def wait(self, ms: int = 30000) -> None:
        """Until every thumbnail asked for is delivered (screenshots, tests)."""
        end = time.monotonic() + ms / 1000
        while self._pending and time.monotonic() < end:
            time.sleep(0.01)
            self._drain()


# --------------------------------------------------------------------------- the model
def unlike_reason(categories: Sequence[str]) -> str:
    """Why a photo the familiarity check keeps out is in "check first" (the tile's tooltip and the
    preview pane say it in the same words)."""
    names = ", ".join(categories)
    return (f"Check: the category model alone says {names}, but the photo is unlike your {names} examples, so it "
            f"stays out of {names}")


class ReviewModel(QAbstractListModel):
    """The photos of one group: an index array into the table; everything else is computed
    when a tile is painted."""

    PathRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, thumbs: ThumbnailCache) -> None:
        super().__init__()
        self.thumbs = thumbs
        self.colours: dict[str, str] = {}
        self.table: ReviewTable | None = None
        self.decided: Decided | None = None
        self.changed = np.zeros(0, dtype=bool)
        self.changed_why = "changed with the new model"  # what the highlighted photos did, and why
        self.corrections: dict[str, tuple[str, ...]] = {}
        self.rows = np.zeros(0, dtype=np.int64)
        self.group_cat = -1  # the category this group is about, or -1
        self._pos: dict[int, int] | None = None
        thumbs.ready.connect(self._thumb_ready)

    def set_rows(self, rows: np.ndarray, group_cat: int) -> None:
        self.beginResetModel()
        self.rows, self.group_cat, self._pos = rows, group_cat, None
        self.endResetModel()

    def refresh_all(self) -> None:
        """Same photos, new decisions: repaint (no relayout)."""
        if len(self.rows):
            self.dataChanged.emit(self.index(0), self.index(len(self.rows) - 1))

    def position(self, table_row: int) -> int | None:
        if self._pos is None:
            self._pos = {int(r): i for i, r in enumerate(self.rows)}
        return self._pos.get(table_row)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self.rows)

    def path(self, row: int) -> str:
        assert self.table is not None
        return self.table.paths[int(self.rows[row])]

    def tile(self, row: int) -> dict:
        """What one tile shows: name, the categories that matter with score and threshold."""
        t, d = self.table, self.decided
        assert t is not None and d is not None
        i = int(self.rows[row])
        d_out = int(d.outcome[i])
        shown: list[tuple[str, float, float, bool, str]] = []
        unlike = t.unlike_examples_of(i, d.thresholds) if not d.corrected[i] else []
        if d_out != FAILED or not t.fixed[i]:
            valid = np.flatnonzero(t.scores[i] >= 0)
            # the group's category, where it goes, a category only the familiarity check keeps it
            # out of (what "check first" is about: a tryout saw such tiles show other rows), then
            # the closest misses (closest in odds: a 0.71 against 0.76 before a 0.00 against 0.05)
            order = sorted(valid, key=lambda j: (j != self.group_cat, not d.todo[i, j], t.categories[j] not in unlike,
                                                 -odds_margin(float(t.scores[i, j]), float(d.thresholds[j]))))
            for j in order[:BARS]:
                name = t.categories[j]
                shown.append((name, float(t.scores[i, j]), float(d.thresholds[j]), bool(d.todo[i, j]),
                              self.colours.get(name, "#669bbc")))
        decision = t.plan.decisions[i]
        where = {COPY: ", ".join(t.categories[j] for j in np.flatnonzero(d.todo[i])), NONE: "no category",
                 SORTED: "already sorted", FAILED: "cannot be read"}[d_out]
        if d_out == SORTED and t.identical[i] and decision.message:
            where = f"nowhere again: {decision.message}, which is sorted"
        elif d_out == COPY and t.fixed[i] and decision.message and decision.message.startswith("copied to"):
            where = decision.message  # a past run: "copied to pets in run 3; its copy in pets was removed since"
        said = self.corrections.get(t.paths[i])
        problem = (decision.message or decision.reason or "") if d_out == FAILED else ""
        problem = problem.removeprefix(f"{t.paths[i]}: ")  # the error names the file: the tile and tooltip do already
        return {"name": Path(t.paths[i]).name, "bars": shown, "outcome": d_out, "where": where,
                "corrected": bool(d.corrected[i]), "said": said, "changed": bool(self.changed[i]) if len(self.changed) else False,
                "problem": problem, "unlike": unlike}

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self.table is None:
            return None
        row = index.row()
        if role == self.PathRole:
            return self.path(row)
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbs.get(self.path(row))
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole, Qt.ItemDataRole.ToolTipRole):
            tile = self.tile(row)
            scores = ", ".join(f"{n} {s:.{score_digits(s, th)}f} (threshold {th:.{score_digits(s, th)}f})"
                               for n, s, th, _go, _c in tile["bars"])
            if role == Qt.ItemDataRole.DisplayRole:
                return tile["name"]
            if role == Qt.ItemDataRole.AccessibleTextRole:
                return f"{tile['name']}: goes to {tile['where']}. {scores}"
            extra = ""
            if tile["corrected"]:
                extra += f"\nYour correction wins: {', '.join(tile['said'] or ()) or 'none of these'}."
            if tile["changed"]:
                extra += f"\n{self.changed_why[:1].upper()}{self.changed_why[1:]}."
            if tile["unlike"]:
                extra += f"\n{unlike_reason(tile['unlike'])}."
            return f"{self.path(row)}\nGoes to {tile['where']}. {tile['problem']}\n{scores}{extra}"
        return None

    def _thumb_ready(self, path: str) -> None:
        if self.table is None:
            return
        i = self.table.row_of.get(path)
        row = self.position(i) if i is not None else None
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])


class TileDelegate(QStyledItemDelegate):
    """Paints a tile: the thumbnail, the name, and one bar per category that matters — its
    score, a tick at its threshold, filled in the category's colour when the photo goes there.
    Text is elided to the tile, so nothing is clipped whatever the scores become."""

    def __init__(self, model: ReviewModel, parent=None) -> None:
        super().__init__(parent)
        self.model = model

    def line_height(self, option) -> int:
        return option.fontMetrics.height() + 2

    def tile_size(self, font: QFont, categories: Sequence[str] = ()) -> QSize:
        """Wide enough for the longest category name (bold) and its numbers, within reason:
        longer names are elided, the numbers never are."""
        bold = _bar_font(font)
        bold.setBold(True)
        fm = QFontMetrics(bold)
        longest = max((fm.horizontalAdvance(c) for c in categories), default=fm.horizontalAdvance("documents"))
        wanted = min(longest, fm.horizontalAdvance("Documents_")) + fm.horizontalAdvance(" 0.00 ≥ 0.00") + 20
        line = QFontMetrics(font).height() + 2
        return QSize(max(THUMB + 36, wanted), THUMB + 8 + line * (1 + BARS) + BARS * 4)

    def sizeHint(self, option, index) -> QSize:
        return self.tile_size(option.font, self.model.table.categories if self.model.table else [])

    def paint(self, p: QPainter, option, index) -> None:
        row = index.row()
        tile = self.model.tile(row)
        r = option.rect.adjusted(2, 2, -2, -2)
        pal = option.palette
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        if option.state & QStyle.StateFlag.State_Selected:
            p.fillRect(r, _alpha(pal.highlight().color(), 110))
        elif tile["changed"]:
            p.fillRect(r, QColor(243, 167, 18, 70))
        pm = self.model.thumbs.get(self.model.path(row))
        if not pm.isNull():
            x = r.x() + (r.width() - pm.width()) // 2
            y = r.y() + 4 + (THUMB - pm.height()) // 2
            p.drawPixmap(x, y, pm)
        if tile["corrected"]:
            p.setPen(QPen(QColor("#2a9d8f"), 3))
            p.drawRect(QRectF(r.x() + (r.width() - THUMB) / 2, r.y() + 4, THUMB, THUMB))
        fm = option.fontMetrics
        line = fm.height() + 2
        y = r.y() + THUMB + 8
        mark = "✎ " if tile["corrected"] else "● " if tile["changed"] else ""
        p.setPen(pal.text().color())
        p.drawText(QRectF(r.x() + 2, y, r.width() - 4, line), Qt.AlignmentFlag.AlignCenter,
                   fm.elidedText(mark + tile["name"], Qt.TextElideMode.ElideMiddle, r.width() - 4))
        y += line
        if tile["outcome"] == FAILED and not tile["bars"]:
            # the reason gets the lines the bars would have used, wrapped from its start: one
            # centred line elided to the tile read "e file is trunc" (tryout); the tooltip has it all
            p.setPen(QColor("#c0392b"))
            p.setFont(option.font)
            lines = wrap_lines(p.fontMetrics(), "⚠ " + (tile["problem"] or "unreadable"), r.width() - 8,
                               max(1, int((r.bottom() - y) // line)))
            for text in lines:
                p.drawText(QRectF(r.x() + 4, y, r.width() - 8, line), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                           text)
                y += line
        elif tile["corrected"]:
            said = ", ".join(tile["said"] or ()) or "none"
            p.setPen(QColor("#2a9d8f"))
            p.drawText(QRectF(r.x() + 2, y, r.width() - 4, line), Qt.AlignmentFlag.AlignCenter,
                       fm.elidedText(f"you: {said}", Qt.TextElideMode.ElideRight, r.width() - 4))
            y += line + 4
        small = _bar_font(option.font)
        for name, score, threshold, goes, colour in tile["bars"][: BARS - (1 if tile["corrected"] else 0)]:
            self._bar(p, QRectF(r.x() + 4, y, r.width() - 8, line + 3), name, score, threshold, goes, colour, small, pal)
            y += line + 4
        p.restore()

    @staticmethod
    def _bar(p, rect: QRectF, name, score, threshold, goes, colour, font, pal) -> None:
        font.setBold(goes)
        p.setFont(font)
        fm = p.fontMetrics()
        nums = score_vs_threshold(score, threshold)
        nums_w = fm.horizontalAdvance(nums)
        text_h = rect.height() - 4
        p.setPen(pal.text().color())
        p.drawText(QRectF(rect.x(), rect.y(), rect.width() - nums_w - 4, text_h),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                   fm.elidedText(name, Qt.TextElideMode.ElideRight, int(rect.width() - nums_w - 4)))
        p.drawText(QRectF(rect.right() - nums_w, rect.y(), nums_w, text_h),
                   Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, nums)
        bar = QRectF(rect.x(), rect.bottom() - 3, rect.width(), 3)
        p.fillRect(bar, _alpha(pal.text().color(), 40))
        fill = QColor(colour)
        if not goes:
            fill.setAlpha(110)
        p.fillRect(QRectF(bar.x(), bar.y(), bar.width() * max(0.0, min(1.0, score)), bar.height()), fill)
        tx = bar.x() + bar.width() * threshold
        p.fillRect(QRectF(tx - 1, bar.y() - 2, 2, bar.height() + 3), pal.text().color())


def wrap_lines(fm: QFontMetrics, text: str, width: int, max_lines: int) -> list[str]:
    """``text`` in at most ``max_lines`` lines no wider than ``width``, broken between words from
    its start; what does not fit ends the last line in "…" (a word wider than a line is elided)."""
    words = text.split()
    lines: list[str] = []
    while words and len(lines) < max_lines:
        line = words.pop(0)
        while words and fm.horizontalAdvance(f"{line} {words[0]}") <= width:
            line += " " + words.pop(0)
        if len(lines) == max_lines - 1 and words:  # the last line: the rest, elided
            line = " ".join([line, *words])
            words = []
        lines.append(fm.elidedText(line, Qt.TextElideMode.ElideRight, width))
    return lines


def _bar_font(font: QFont) -> QFont:
    """The tiles' score lines: a little smaller than the text, so two tiles fit side by side."""
    small = QFont(font)
    if font.pointSizeF() > 0:
        small.setPointSizeF(font.pointSizeF() * 0.9)
    elif font.pixelSize() > 0:
        small.setPixelSize(max(8, round(font.pixelSize() * 0.9)))
    return small


def _alpha(c: QColor, a: int) -> QColor:
    c = QColor(c)
    c.setAlpha(a)
    return c


class PhotoGrid(QListView):
    """The virtualised grid; keys for opening and correcting the current photo."""

    open_requested = Signal(str)
    not_this_requested = Signal(str)
    also_requested = Signal(str)
    move_requested = Signal(str, object)  # (photo, category name) or (photo, None): ask which

    def __init__(self) -> None:
        super().__init__()
        self.categories: list[str] = []  # 1…9 move to these
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(400)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setSpacing(2)
        self.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        self.setAccessibleName("Photos in the selected group")
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        #: Said in the middle of the grid when the group shown has no photos: an emptied group
        #: stays open after a correction, and a blank grid looked like photos still loading.
        self.empty_text = ""

    def paintEvent(self, e) -> None:
        super().paintEvent(e)
        if self.empty_text and self.model() is not None and self.model().rowCount() == 0:
            p = QPainter(self.viewport())
            p.setPen(self.palette().placeholderText().color())
            p.drawText(self.viewport().rect().adjusted(12, 12, -12, -12),
                       int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), self.empty_text)
            p.end()

    def current_path(self) -> str | None:
        idx = self.currentIndex()
        return idx.data(ReviewModel.PathRole) if idx.isValid() else None

    def keyPressEvent(self, e) -> None:
        path = self.current_path()
        key, plain = e.key(), not (e.modifiers() & ~Qt.KeyboardModifier.KeypadModifier)
        if path and key in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.open_requested.emit(path)
            return
        if path and plain and key == Qt.Key.Key_N:
            self.not_this_requested.emit(path)
            return
        if path and plain and key == Qt.Key.Key_A:
            self.also_requested.emit(path)
            return
        if path and plain and key == Qt.Key.Key_M:
            self.move_requested.emit(path, None)
            return
        if path and plain and Qt.Key.Key_1 <= key <= Qt.Key.Key_9:
            k = key - Qt.Key.Key_1
            if k < len(self.categories):
                self.move_requested.emit(path, self.categories[k])
            return
        super().keyPressEvent(e)

    def _menu(self, pos) -> None:
        path = self.current_path()
        if not path:
            return
        m = QMenu(self)
        m.addAction("Open large (Space)", lambda: self.open_requested.emit(path))
        m.addAction("Not this category (N)", lambda: self.not_this_requested.emit(path))
        move = m.addMenu("Move to… (M, or 1–9)")
        for k, name in enumerate(self.categories):
            move.addAction(f"{k + 1}  {menu_text(name)}" if k < 9 else menu_text(name),
                           functools.partial(self.move_requested.emit, path, name))
        m.addAction("Also belongs in… (A)", lambda: self.also_requested.emit(path))
        m.addSeparator()
        m.addAction("Show in file manager", lambda: show_in_file_manager(path))
        self.context_menu = m
        m.popup(self.viewport().mapToGlobal(pos))


def show_in_file_manager(path: str) -> None:
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices

    QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(path).parent)))


#: The grid's keys as Help → Keyboard shortcuts lists them (ReviewGrid.keyPressEvent answers them).
GRID_KEYS = [
    ("Arrow keys", "move between photos"),
    ("Space or Enter", "open the photo large (Space or Esc closes it)"),
    ("1–9", "it belongs in that category only: {categories}; it becomes an example"),
    # (a tryout read "none of these" and saw N take a photo out of People only, leaving it in Pets)
    ("N", "not this category: out of the open group's category (in Check first, No category or All "
          "photos: out of every category — none of these); it becomes an example"),
    ("A", "also belongs in… (choose a category)"),
    ("M", "move to… (choose a category)"),
]

SORTS = ["Score, high first", "Score, low first", "Closest to threshold", "Name"]


class GroupList(QListWidget):
    """The list of groups. The grid's keys (N, A, M, 1–9, Space, Enter) reach the photo selected in
    the grid from here too: after clicking a group, its first photo shows selected and in the
    preview pane, yet N went to the list's type-ahead and jumped to "No category" (tryout)."""

    def __init__(self, grid: PhotoGrid) -> None:
        super().__init__()
        self.grid = grid

    def keyPressEvent(self, e) -> None:
        key, plain = e.key(), not (e.modifiers() & ~Qt.KeyboardModifier.KeypadModifier)
        grid_key = key in (Qt.Key.Key_N, Qt.Key.Key_A, Qt.Key.Key_M, Qt.Key.Key_Space, Qt.Key.Key_Return,
                           Qt.Key.Key_Enter) or Qt.Key.Key_1 <= key <= Qt.Key.Key_9
        if plain and grid_key and self.grid.current_path():
            self.grid.keyPressEvent(e)
            return
        super().keyPressEvent(e)


class ReviewView(QWidget):
    """Groups on the left ("Pets — 109"), the grid of the selected group, sort and filter."""

    photo_selected = Signal(str)
    nothing_selected = Signal()  # the group shown is empty: the preview pane clears

    def __init__(self) -> None:
        super().__init__()
        self.thumbs = ThumbnailCache()
        self.model = ReviewModel(self.thumbs)
        self.grid = PhotoGrid()
        self.groups_list = GroupList(self.grid)
        self.groups_list.setAccessibleName("Destination groups")
        self.groups_list.setMaximumWidth(200)
        self.groups_list.setWordWrap(True)  # "Already sorted or a duplicate — 4" wraps, never cut
        self.groups_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.groups_list.currentRowChanged.connect(lambda _r: self._show_group())
        self.grid.setModel(self.model)
        self.delegate = TileDelegate(self.model, self.grid)
        self.grid.setItemDelegate(self.delegate)
        self._set_tile_size(self.delegate.tile_size(self.grid.font()))
        self.grid.selectionModel().currentChanged.connect(self._current_changed)
        self.sort = QComboBox()
        wheel_only_when_focused(self.sort)
        self.sort.addItems(SORTS)
        self.sort.setAccessibleName("Sort photos by")
        self.sort.currentIndexChanged.connect(lambda _i: self._show_group())
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by file name…")
        self.filter.setAccessibleName("Filter photos by file name")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(lambda _t: self._show_group())
        self.groups: OrderedDict[str, np.ndarray] = OrderedDict()
        self._keys: list[str] = []
        self._near_cat = np.zeros(0, dtype=np.int64)
        self._shown_group: str | None = None  # the group the grid shows (its place is kept on a regroup)
        self._shown_table: ReviewTable | None = None
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

    def _set_tile_size(self, size: QSize) -> None:
        """Tiles of ``size``; the grid never shorter than one whole row of them (squeezed on a
        small screen it showed one clipped tile — tryout)."""
        self.grid.setGridSize(size)
        self.grid.setMinimumHeight(size.height() + 2 * self.grid.frameWidth() + 4)

    @property
    def table(self) -> ReviewTable | None:
        return self.model.table

    def set_decided(self, table: ReviewTable, decided: Decided, colours: dict[str, str],
                    changed: np.ndarray | None = None, corrections: dict | None = None,
                    changed_why: str = "changed with the new model", rescored: bool = False) -> None:
        """Regroup (thresholds moved, a correction, or a new preview); keeps the selected group
        and photo. Costs array operations, not per-photo Python, when only thresholds moved.
        ``rescored``: the table is the open preview's photos scored again (a correction's quick
        retrain), so the person is still going through it and a group they emptied stays open (it
        jumped to another group — tryout); a new preview opens on a group with photos."""
        new_table = table is not self.model.table
        m = self.model
        # read the selection before the model changes: its rows index the table it was made for
        old_path = self.grid.current_path()
        keep_group = self.current_group()
        if new_table:  # another preview: the view must never see new tables with old rows
            m.beginResetModel()
            m.rows, m._pos = np.zeros(0, dtype=np.int64), None
        m.colours = colours
        m.table, m.decided = table, decided
        m.changed = changed if changed is not None else np.zeros(len(table), dtype=bool)
        m.changed_why = changed_why
        m.corrections = dict(corrections or {})
        if new_table:
            m.endResetModel()
        self.grid.categories = list(table.categories)
        if new_table:
            size = self.delegate.tile_size(self.grid.font(), table.categories)
            if size != self.grid.gridSize():
                self._set_tile_size(size)
        keep_path = old_path if old_path is not None and old_path in table.row_of else None
        self._near_cat = table.near(decided)
        groups: OrderedDict[str, np.ndarray] = OrderedDict()
        if not (len(table) and table.fixed.all()):  # a past run is shown as it happened: nothing to check
            groups[NEAR_GROUP] = np.flatnonzero(self._near_cat >= 0)
        copy = decided.outcome == COPY
        for j, c in enumerate(table.categories):
            groups[c] = np.flatnonzero(copy & decided.todo[:, j])
        groups[NONE_GROUP] = np.flatnonzero(decided.outcome == NONE)
        groups[SORTED_GROUP] = np.flatnonzero(decided.outcome == SORTED)
        groups[FAILED_GROUP] = np.flatnonzero(decided.outcome == FAILED)
        groups[ALL_GROUP] = np.arange(len(table))
        self.groups = groups
        keys = list(groups)
        self.groups_list.blockSignals(True)
        if keys != self._keys:
            self.groups_list.clear()
            for name in keys:
                self.groups_list.addItem(QListWidgetItem(name))
        self._keys = keys
        for r, (name, rows) in enumerate(groups.items()):
            item = self.groups_list.item(r)
            item.setText(f"{name} — {len(rows)}")
            item.setToolTip(GROUP_TIPS.get(name, item.text()))
            if name in colours:  # a swatch: coloured text was unreadable for dark colours in the dark theme
                item.setIcon(_swatch(colours[name]))
        if keep_group in keys and (not new_table or rescored or len(groups[keep_group])):
            row = keys.index(keep_group)
        else:  # a new preview opens on photos, not on an empty group kept from the last one
            row = next((r for r, name in enumerate(keys) if len(groups[name])), 0)
        self.groups_list.setCurrentRow(row)
        self.groups_list.blockSignals(False)
        self._show_group(keep_path, force=new_table)

    def near_category(self, i: int) -> int:
        """The category table row ``i`` is in "check first" for (-1: none), as the groups were made."""
        return int(self._near_cat[i]) if 0 <= i < len(self._near_cat) else -1

    def current_group(self) -> str | None:
        r = self.groups_list.currentRow()
        return self._keys[r] if 0 <= r < len(self._keys) else None

    def select_group(self, name: str) -> None:
        self.groups_list.setCurrentRow(self._keys.index(name))

    def _rows_of_group(self, name: str) -> tuple[np.ndarray, int]:
        t, d = self.model.table, self.model.decided
        assert t is not None and d is not None
        rows = self.groups.get(name, np.zeros(0, dtype=np.int64))
        cat = t.categories.index(name) if name in t.categories else -1
        text = self.filter.text().strip().lower()
        if text and len(rows):
            names = t.names_lower
            rows = rows[np.fromiter((text in names[i] for i in rows), dtype=bool, count=len(rows))]
        if not len(rows):
            return rows, cat
        how = self.sort.currentText()
        if how == "Name":
            key = np.array([t.names_lower[i] for i in rows])
            return rows[np.argsort(key, kind="stable")], cat
        scores = t.scores[rows]
        if cat >= 0:
            score, margin = scores[:, cat], np.abs(scores[:, cat] - d.thresholds[cat])
        else:
            score = scores.max(axis=1) if scores.shape[1] else np.zeros(len(rows))
            gaps = np.abs(scores - d.thresholds[None, :])
            gaps[scores < 0] = np.inf
            margin = gaps.min(axis=1) if scores.shape[1] else np.zeros(len(rows))
        key = {"Score, high first": -score, "Score, low first": score}.get(how, margin)
        return rows[np.argsort(key, kind="stable")], cat

    def _show_group(self, keep_path: str | None = None, force: bool = True) -> None:
        name = self.current_group()
        if self.model.table is None or name is None:
            return
        rows, cat = self._rows_of_group(name)
        self.grid.empty_text = self._empty_text(name)
        keep_path = keep_path or self.grid.current_path()
        if not force and cat == self.model.group_cat and np.array_equal(rows, self.model.rows):
            self.model.refresh_all()  # same photos, in the same order: repaint only
            return
        t = self.model.table
        same_group = cat == self.model.group_cat and name == self._shown_group
        old_rows = self.model.rows if self._shown_table is t else np.zeros(0, dtype=np.int64)
        bar = self.grid.verticalScrollBar()
        scrolled = bar.value() if same_group else 0
        self.thumbs.forget_pending()
        self.model.set_rows(rows, cat)
        self._shown_group, self._shown_table = name, t
        pos = self.model.position(t.row_of[keep_path]) if keep_path in t.row_of else None
        if pos is None and same_group and keep_path in t.row_of:
            pos = self._next_kept(old_rows, t.row_of[keep_path])
        row = pos if pos is not None else (0 if len(rows) else -1)
        if row >= 0:
            self.grid.setCurrentIndex(self.model.index(row))
        else:
            self.nothing_selected.emit()
        if same_group:
            # a correction regrouped the photos the person is going through: their place in the
            # grid stays (the reset scrolled to the top and selected the first tile — tryout)
            self.grid.setLayoutMode(QListView.LayoutMode.SinglePass)  # batched, the range is short of the place
            self.grid.doItemsLayout()
            self.grid.setLayoutMode(QListView.LayoutMode.Batched)
            bar.setValue(scrolled)
            if row >= 0:
                self.grid.scrollTo(self.model.index(row), QListView.ScrollHint.EnsureVisible)
        elif row >= 0:
            # another group that holds the selected photo: its row at the top, or the group from its
            # start when the photo is on its first screen (the selection scrolled just far enough,
            # leaving it at the bottom and the top row cut — tryout)
            index = self.model.index(row)
            self.grid.scrollTo(index, QListView.ScrollHint.PositionAtTop)
            if self.grid.visualRect(index).bottom() + bar.value() < self.grid.viewport().height():
                bar.setValue(0)

    def _empty_text(self, name: str) -> str:
        """What an empty group means, in the words of its name."""
        text = self.filter.text().strip()
        if text and len(self.groups.get(name, ())):
            return f"No photo in this group has “{text}” in its name."
        past = self.model.table is not None and len(self.model.table) and bool(self.model.table.fixed.all())
        return {NEAR_GROUP: "Nothing left to check first.",
                NONE_GROUP: "Every photo goes to at least one category.",
                SORTED_GROUP: "No photo is already sorted or a duplicate.",
                FAILED_GROUP: "Every photo could be read.",
                ALL_GROUP: "No photos."}.get(name, f"No photos {'were copied' if past else 'go'} to {name}.")

    def _next_kept(self, old_rows: np.ndarray, left: int) -> int | None:
        """Where the selection goes when the selected photo left the group (a correction): the
        photo that followed it, else the one before it."""
        hit = np.flatnonzero(old_rows == left)
        if not len(hit):
            return None
        k = int(hit[0])
        for i in [*range(k + 1, len(old_rows)), *range(k - 1, -1, -1)]:
            pos = self.model.position(int(old_rows[i]))
            if pos is not None:
                return pos
        return None

    def _current_changed(self, current, _previous) -> None:
        if current.isValid():
            self.photo_selected.emit(current.data(ReviewModel.PathRole))

    def paths(self) -> list[str]:
        t = self.model.table
        return [t.paths[int(i)] for i in self.model.rows] if t is not None else []
