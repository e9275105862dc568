"""The main window: categories on the left, Train / Sort / Watch in the middle, the preview on the
right. Every long job runs on a worker thread; torch and the model load lazily there."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QColor, QGuiApplication, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QColorDialog,
    QInputDialog,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSplitter,
)

from ..errors import PhotosorterError
from ..library import Library, holds_files
from ..session import Session
from .categories import ADD_PHOTOS_SHORTCUT, CategoriesPanel
from .folders import choose_folder
from .paged_tabs import PagedTabs, scroll_area_for
from .preview import PREVIEW_SIDE, PreviewPane
from .sort_tab import SortTab
from .training import TrainingPanel
from .tray import Tray, tray_available
from .watch import WatchPanel
from .workers import start_job, stop_all_jobs

log = logging.getLogger(__name__)
RESOURCES = Path(__file__).resolve().parents[2] / "resources"


def app_icon() -> QIcon:
    """The packaged icon (works from a wheel), falling back to the source tree's resources/."""
    icon = QIcon()
    for folder in (Path(__file__).with_name("icons"), RESOURCES / "icons"):
        for name in ("photosorter.svg", "photosorter.png"):
            if (folder / name).exists():
                icon.addFile(str(folder / name))
        if not icon.isNull():
            return icon
    return icon


def fit_side_panel(scroll: QScrollArea) -> None:
    """The categories panel keeps the width its buttons need: without this the splitter squeezed
    it until "Remove" read "Re" behind a horizontal scroll bar. It still scrolls vertically."""
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    part = scroll.widget()
    assert part is not None  # set before this is called
    need = part.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width() + 4
    scroll.setMinimumWidth(need)


class MainWindow(QMainWindow):
    def __init__(self, library: Library | None = None, welcome: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("photosorter")
        self.setWindowIcon(app_icon())
        self.session = Session(library or Library.load())
        self._closing = False  # set by shutdown: no new background jobs after it
        self.recalibrated = ""  # thresholds a correction's retrain moved, for the re-scored preview to say

        self.categories = CategoriesPanel(self.library)
        self.training = TrainingPanel(self)  # the Train tab, with its jobs
        self.sorting = SortTab(self)  # the Sort tab, with its jobs
        self.preview = PreviewPane(self)
        self.watch = WatchPanel(self.session, self)
        self.watch_panel = self.watch
        self.tabs = PagedTabs()  # each page scrolls under a tab bar that stays in view
        self.tabs.addTab(self.training, "1  Train")
        self.tabs.addTab(self.sorting, "2  Sort")
        self.tabs.addTab(self.watch, "3  Watch")
        split = QSplitter()
        split.setChildrenCollapsible(False)
        # each column scrolls: on a small or scaled screen (1280×800 at 200% is 640×400) a part
        # scrolls instead of growing the window past the screen. The tabs' pages scroll inside
        # the tab widget, so the tab bar never scrolls out of view (PagedTabs).
        self.categories_scroll = scroll_area_for(self.categories)
        self.preview_scroll = scroll_area_for(self.preview)
        for column in (self.categories_scroll, self.tabs, self.preview_scroll):
            split.addWidget(column)
        self.split = split
        fit_side_panel(self.categories_scroll)
        split.setSizes([max(300, self.categories_scroll.minimumWidth()), 640, 420])
        self.setCentralWidget(split)
        self.fit_to_screen()
        # the preview never narrower than its own minimum: squeezed, it scrolled sideways at 200%
        bar = self.preview_scroll.verticalScrollBar().sizeHint().width()
        self.preview_scroll.setMinimumWidth(self.preview.minimumWidth() + bar + 2)
        if self.width() < 1000:  # 200% scaling: the tabs (where the work is) get most of what is left
            rest = self.width() - self.categories_scroll.minimumWidth()
            pane = max(rest // 4, self.preview_scroll.minimumWidth())
            split.setSizes([self.categories_scroll.minimumWidth(), rest - pane, pane])
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(240)
        self.progress.hide()
        self.statusBar().addPermanentWidget(self.progress)

        self.categories.changed.connect(self._library_changed)
        # an example a correction made, taken back in the panel: the open preview forgets that word
        self.categories.examples_removed.connect(lambda name, paths: self.sorting.withdraw_corrections(paths, name))
        self.categories.examples_moved.connect(self.sorting.withdraw_corrections)
        # any refresh of the category list (drops, import, corrections, moved examples) renews the hint
        self.categories.list.model().rowsInserted.connect(lambda *_: QTimer.singleShot(0, self._update_train_hint))
        self.categories.photo_selected.connect(self.preview.show_photo)
        self.categories.open_requested.connect(self.open_large)  # double-click / Enter on an example
        self.categories.add_requested.connect(self.add_category)
        self.categories.remove_requested.connect(self.remove_category)
        self.categories.rename_requested.connect(self.rename_category)
        self.categories.recolour_requested.connect(self.recolour_category)
        self.categories.folder_requested.connect(self.choose_category_folder)
        self.training.train_requested.connect(lambda: self.train())
        self.training.cancel_requested.connect(self.training.cancel_training)
        self.sorting.photo_selected.connect(self.preview.show_photo)
        self.sorting.nothing_selected.connect(self.preview.clear)
        self.sorting.thresholds_changed.connect(self._save_thresholds)
        self.sorting.decisions_changed.connect(self.preview.refresh_decision)
        self.sorting.open_requested.connect(self.open_large)
        self.sorting.correction.connect(self.correct)
        self.preview.correction.connect(self.correct)
        self.watch.batch_sorted.connect(self._watch_batch)
        self.watch.state_changed.connect(self._set_tray_status)
        self._build_menus()
        self._build_tray()
        self.refresh_history()
        self.ready = False
        self._update_train_hint()
        QTimer.singleShot(0, self.warm_up)
        if self.library.watching and self.library.watched and self.model_path.exists():
            QTimer.singleShot(0, lambda: self.watch.switch.setChecked(True))  # resume background sorting
        if self.model_path.exists():
            self.status("A trained model is ready. Drop a folder on the Sort tab to preview.")
        elif welcome and not self.library.categories:
            QTimer.singleShot(200, self.first_launch)

    # ------------------------------------------------------------ the shared state
    @property
    def library(self) -> Library:
        return self.session.library

    @property
    def model_path(self) -> Path:
        return self.session.model_path

    @property
    def watch_service(self):
        return self.session.watch_service

    @property
    def _classifier(self):
        return self.session.loaded_classifier

    # the Train tab's jobs, by their old names
    _train_job = property(lambda self: self.training._train_job)
    _read_job = property(lambda self: self.training._read_job)

    @property
    def _train_again(self) -> bool:
        return self.training._train_again

    @_train_again.setter
    def _train_again(self, value: bool) -> None:
        self.training._train_again = value

    def train(self, from_scratch: bool = False, switch_tab: bool = True, quick: bool = False) -> None:
        self.training.train(from_scratch, switch_tab, quick)

    def cancel_training(self) -> None:
        self.training.cancel_training()

    def read_examples_ahead(self) -> None:
        self.training.read_examples_ahead()

    def _update_train_hint(self) -> None:
        self.training.update_hint()

    # the Watch tab's controls, by their old names
    watch_switch = property(lambda self: self.watch.switch)
    tray_switch = property(lambda self: self.watch.tray_switch)
    watch_status = property(lambda self: self.watch.status)
    watch_list = property(lambda self: self.watch.list)

    def add_watched(self, folder: str | None = None) -> None:
        self.watch.add_folder(folder)

    def embedder(self):
        """Load torch and the backbone on first use (called from worker threads only)."""
        return self.session.embedder()

    def classifier(self):
        return self.session.classifier()

    def fit_to_screen(self) -> None:
        """Open at a comfortable size that never exceeds the screen (at 125% or 200% scaling the
        screen is only 1280 or 800 device-independent pixels wide), and never grow past it:
        long labels wrap instead of widening the window."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        avail = screen.availableGeometry() if screen is not None else None
        w, h = 1360, 840
        if avail is not None and avail.width() > 0:
            w, h = min(w, int(avail.width() * 0.95)), min(h, int(avail.height() * 0.92))
            self.setMaximumSize(avail.width(), avail.height())
        self.resize(w, h)

    # ------------------------------------------------------------ small helpers
    def status(self, text: str, ms: int = 8000) -> None:
        self.statusBar().showMessage(text, ms)

    def colours(self) -> dict[str, str]:
        return {c.name: c.color for c in self.library.categories}

    def error(self, message: str) -> None:
        log.warning(message)
        self.progress.hide()
        QMessageBox.warning(self, "photosorter", message)

    def busy(self, doing: str):
        """A job's progress callback: the status bar's bar, and "<doing>: <what now> (i of n)".
        A bare file name, or "done", said nothing about which job it came from (tryout)."""

        def report(done: int, total: int, message: str) -> None:
            self.progress.show()
            self.progress.setRange(0, max(total, 1) if total else 0)
            self.progress.setValue(done)
            step = message if ": " in message else f"{doing}: {message}" if message and message != "done" else doing
            count = f" ({done} of {total})" if total else ""
            self.status(f"{step}{count}", 3000)

        return report

    def _save_thresholds(self, thresholds: dict) -> None:
        """Slider choices stick: the next preview and background watching (at once) use them."""
        self.session.save_threshold_choices(thresholds)

    def _library_changed(self) -> None:
        self.library.save()
        if self.model_path.exists():
            self.status("Examples changed: retrain (Ctrl+T) to use them — it takes seconds, features are cached.", 12000)
        self.read_examples_ahead()

    # ------------------------------------------------------------ menus, shortcuts, tray
    def _build_menus(self) -> None:
        def action(menu: QMenu, text: str, slot, shortcut=None) -> QAction:
            a = QAction(text, self)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
            a.triggered.connect(slot)
            menu.addAction(a)
            return a

        m = self.menuBar().addMenu("&File")
        action(m, "New category…", self.add_category, "Ctrl+N")
        action(m, "Import a folder of category sub-folders…", self.import_folder, "Ctrl+I")
        self.add_photos_action = action(m, "Add photos to the selected category…", self.categories.choose_photos,
                                        ADD_PHOTOS_SHORTCUT)
        action(m, "Sort a folder…", self.choose_sort_folder, "Ctrl+O")
        m.addSeparator()
        action(m, "Settings…", self.open_settings, "Ctrl+,")
        m.addSeparator()
        action(m, "Quit", self.quit, "Ctrl+Q")
        m = self.menuBar().addMenu("&Model")
        action(m, "Train", lambda: self.train(), "Ctrl+T")
        action(m, "Train from scratch", lambda: self.train(from_scratch=True), "Ctrl+Shift+T")
        self.undo_action = action(m, "Undo last sort run", lambda: self.undo(None), "Ctrl+Z")
        m = self.menuBar().addMenu("&View")
        # the tabs from anywhere (Ctrl+Tab works only with the focus inside the tabs)
        for i, name in enumerate(("Train", "Sort", "Watch")):
            action(m, f"{name} tab", lambda _c=False, i=i: self.tabs.setCurrentIndex(i), f"Ctrl+{i + 1}")
        m.addSeparator()
        themes = QActionGroup(self)  # one checked: the menu shows the current theme
        themes.setExclusive(True)
        self.theme_actions: dict[str, QAction] = {}
        for key, text in (("light", "Light theme"), ("dark", "Dark theme"), ("system", "System theme")):
            a = action(m, text, lambda _c=False, key=key: self.theming().set_theme(key))
            a.setCheckable(True)
            a.setChecked(key == "system")  # what the app starts with (app.py)
            themes.addAction(a)
            self.theme_actions[key] = a
        m = self.menuBar().addMenu("&Help")
        action(m, "Keyboard shortcuts", self.show_shortcuts, QKeySequence.StandardKey.HelpContents)
        action(m, "About photosorter", self.about)

    def theming(self):
        from .theme import app_theming

        return app_theming()

    def _build_tray(self) -> None:
        self.tray = Tray(self, app_icon()) if tray_available() else None

    def open_settings(self) -> None:
        from .settings import SettingsDialog

        dlg = SettingsDialog(self.library, self)
        if dlg.exec() and dlg.apply():
            self.watch.tray_switch.setChecked(self.library.keep_watching_in_tray)
            self.status("Settings saved. Retrain (Ctrl+T) to use them.", 10000)

    def show_shortcuts(self) -> None:
        """Help → Keyboard shortcuts (F1): non-modal, so it can stay open beside the review grid."""
        from .shortcuts import shortcuts_html

        table = self.sorting.table
        names = list(table.categories) if table is not None else [c.name for c in self.library.categories]
        box = QMessageBox(QMessageBox.Icon.NoIcon, "Keyboard shortcuts", shortcuts_html(self.menuBar(), names),
                          QMessageBox.StandardButton.Close, self)
        box.setModal(False)
        self.shortcuts_box = box  # kept: a non-modal box without an owner would be collected
        box.show()

    def about(self) -> None:
        from html import escape

        from .. import __version__
        from ..about import components

        rows = "".join(f"<tr><td>{escape(c.name)}</td><td>{escape(c.version)}</td><td>{escape(c.licence)}</td></tr>"
                       for c in components())
        QMessageBox.about(self, "About photosorter", (
            f"<h3>photosorter {__version__}</h3><p>Learns your photo categories from examples and copies "
            "new photos into them. Originals are never changed. MIT licence.</p>"
            "<p>Built with these components and model weights:</p>"
            f"<table cellspacing='4'><tr><th align='left'>Component</th><th align='left'>Version</th>"
            f"<th align='left'>Licence</th></tr>{rows}</table>"))

    # ------------------------------------------------------------ categories
    def first_launch(self) -> None:
        """The welcome, beside the categories panel rather than over it (centred on the window it
        hid the panel's heading that says where examples go). Not modal: the window stays usable."""
        box = QMessageBox(self)
        box.setWindowTitle("Welcome to photosorter")
        box.setText("<h3>Let's set up your categories</h3>"
                    "<p>Create categories like <i>Food</i> or <i>Receipts</i> and drop a few example photos on each "
                    "(10 or more is best). Or import a folder whose sub-folders are categories.</p>")
        create = box.addButton("Create a category", QMessageBox.ButtonRole.AcceptRole)
        imp = box.addButton("Import a folder…", QMessageBox.ButtonRole.ActionRole)
        box.addButton("Later", QMessageBox.ButtonRole.RejectRole)
        self.welcome_box = box

        def answered(button) -> None:
            if button is create:
                self.add_category()
            elif button is imp:
                self.import_folder()

        box.buttonClicked.connect(answered)
        # shown, not open(): open() is window-modal, and the File menu and Ctrl+I — the README's
        # first step — did nothing while the welcome was up (tryout)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.show()
        self.place_welcome(box)

    def _welcome_done(self) -> None:
        """Categories exist now (made or imported with the menu while the welcome was up): the
        welcome goes (a tryout found it still up over the loss curves after an import)."""
        box = getattr(self, "welcome_box", None)
        if box is not None and self.library.categories and box.isVisible():
            box.close()

    def place_welcome(self, box: QMessageBox) -> None:
        """Put ``box`` near the top of the tabs, right of the categories panel (which it talks
        about), over the still empty training chart rather than the Train tab's controls, and on
        the screen. Centred on a small or 200%-scaled window it covered the panel."""
        box.adjustSize()
        size = box.sizeHint().expandedTo(box.size())
        area = self.tabs
        top_left = area.mapToGlobal(QPoint(0, 0))
        panel_right = self.categories_scroll.mapToGlobal(QPoint(self.categories_scroll.width(), 0)).x()
        x = max(panel_right + 8, top_left.x() + max(0, (area.width() - size.width()) // 2))
        y = top_left.y() + min(80, max(0, area.height() - size.height()))
        chart = self.training.chart  # empty until the first training: the one place it hides nothing
        if chart.isVisible():  # (higher up it covered the Fine-tune check box)
            y = max(y, chart.mapToGlobal(QPoint(0, 0)).y() + 4)
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is not None:  # never off the screen, even if that means over the panel
            avail = screen.availableGeometry()
            x = max(avail.left(), min(x, avail.right() - size.width()))
            y = max(avail.top(), min(y, avail.bottom() - size.height()))
        box.move(x, y)

    def add_category(self, name: str | None = None) -> None:
        if not name:
            name, ok = QInputDialog.getText(self, "New category", "Name (e.g. Food):")
            if not ok or not name:
                return
        try:
            cat = self.library.add_category(name)
        except PhotosorterError as exc:
            self.error(str(exc))
            return
        self.library.save()
        self.categories.refresh(select=cat.name)
        self._welcome_done()
        self.status(f"Category '{cat.name}' created; copies will go to {cat.folder}. Drop example photos on it.")

    def rename_category(self, old: str) -> None:
        new, ok = QInputDialog.getText(self, "Rename category", "New name:", text=old)
        if ok and new and new != old:
            try:
                self.library.rename_category(old, new)
            except PhotosorterError as exc:
                self.error(str(exc))
                return
            self.library.save()
            self.sorting.rename_in_corrections(old, new)
            self.categories.refresh(select=new)
            folder = self.library.category(new).folder
            if not self.model_path.exists():
                self.status(f"Renamed. Copies go to {folder}.", 12000)
                return
            # The model knows categories by name: retrain it now (features are cached: seconds), as a
            # correction does. A tryout renamed Vehicles to Cars and was stopped at the next sort by
            # "The model knows Vehicles, which is no longer a category here. Retrain first."
            self.status(f"Renamed. Copies go to {folder}. Retraining so the model uses the new name…", 12000)
            if self._train_job is not None:
                self._train_again = True
            else:
                self.train(switch_tab=False, quick=True)

    def remove_category(self, name: str) -> None:
        if QMessageBox.question(self, "Remove category", f"Remove '{name}'? Its examples stay on disk; already "
                                "sorted copies stay in their folder.") == QMessageBox.StandardButton.Yes:
            self.library.remove_category(name)
            self.library.save()
            self.categories.refresh()

    def recolour_category(self, name: str) -> None:
        c = QColorDialog.getColor(QColor(self.library.category(name).color), self, f"Colour for {name}")
        if c.isValid():
            self.library.category(name).color = c.name()
            self.library.save()
            self.categories.refresh(select=name)

    def choose_category_folder(self, name: str) -> None:
        old = self.library.category(name).folder
        folder = choose_folder(self, f"Where should '{name}' copies go?", "destination", old)
        if folder:
            try:
                self.library.set_folder(name, folder)
            except PhotosorterError as exc:
                self.error(str(exc))
                return
            self.library.save()
            self.session.rearm()  # a running watcher copies the next photo to the new folder
            self.categories.refresh(select=name)
            kept = Path(old) != Path(folder) and holds_files(Path(old))
            # not a move (a tryout expected one, and found the next sort copying the sorted photos
            # again into the new folder)
            self.status(f"New '{name}' photos will be copied to {folder}."
                        + (f" Photos already in {old} stay there; sorting them again copies them here too."
                           if kept else ""), 15000)

    def import_folder(self, folder: str | None = None) -> None:
        folder = folder or choose_folder(self, "Folder with one sub-folder per category", "import")
        if not folder:
            return
        from ..importing import import_examples

        try:
            report = import_examples(folder, self.library)
        except PhotosorterError as exc:
            self.error(str(exc))
            return
        self.library.save()
        self.categories.refresh()
        self._welcome_done()
        self.last_import = report
        self.categories.header.setText(report.text())
        self.status(report.text() + " Train next (Ctrl+T).", 20000)
        if report.skipped_files or report.skipped_folders:
            box = QMessageBox(QMessageBox.Icon.Information, "Import", report.text(limit=20), parent=self)
            box.setDetailedText("\n".join(f"{p}: {why}" for p, why in report.skipped_folders + report.skipped_files))
            box.open()  # not modal: the import is done, this only reports

    # ------------------------------------------------------------ model
    def warm_up(self) -> None:
        """Load torch and the backbone in the background as soon as the window is up.

        Importing torch holds Python's GIL for a while (loading its native libraries), which would
        make the window stutter; doing it now, while the user is looking around, keeps training and
        sorting smooth later."""

        def job(progress, cancel, emit):
            self.embedder()
            if self.model_path.exists():
                self.classifier()

        def done(_):
            self.ready = True
            self.status("Ready.", 3000)
            self.read_examples_ahead()
            if self._classifier is not None and self._train_job is None:
                self.training.show_result(self._classifier)
                self.training.stage.setText(
                    f"Current model: {len(self._classifier.categories)} categories, trained on "
                    f"{self._classifier.description.examples or '?'} photos. Retrain after changing examples.")

        def failed(message):
            self.ready = True
            self.status(f"The recognition model could not be loaded yet: {message}", 15000)

        self.status("Loading the recognition model in the background…", 0)
        start_job(self, job, on_done=done, on_error=failed)

    # ------------------------------------------------------------ sorting (the Sort tab's jobs: sort_tab.py)
    def choose_sort_folder(self) -> None:
        self.sorting.choose_sort_folder()

    def preview_sort(self, paths: list[str], rescore: bool = False) -> None:
        self.sorting.preview_sort(paths, rescore)

    def rescore_preview(self) -> None:
        self.sorting.rescore_preview()

    def apply_sort(self) -> None:
        self.sorting.apply_sort()

    def undo(self, run_id) -> None:
        self.sorting.undo(run_id)

    def refresh_history(self) -> None:
        self.sorting.refresh_history()

    # ------------------------------------------------------------ preview & corrections
    def explain_job(self, path: str, callback) -> None:
        """Scores and heatmaps of one photo, off the UI thread. Explanations run one at a time; a
        newer request (the next photo under the arrow keys) cancels an older one."""
        overrides = dict(self.sorting.thresholds) or None  # snapshot on the UI thread: sliders may move meanwhile
        token = self.session.new_explain_token()
        session = self.session

        def job(progress, cancel, emit):
            return session.explain_photo(path, PREVIEW_SIDE, overrides, cancel=token).as_tuple()

        start_job(self, job, on_done=callback, on_error=self.error)

    def open_large(self, path: str, held_out=None) -> None:
        """``held_out``: the Train tab's ml.confusion.Mistake, shown beside the final model's score."""
        from .preview import PhotoDialog

        self.photo_dialog = PhotoDialog(self, path, held_out)
        self.photo_dialog.open()

    def correct(self, path: str, category) -> None:
        """A correction becomes an example and a quick retrain starts (features are cached: about
        a second); when it is done the open preview is re-scored in place and a running watcher
        uses the new model. Corrections made while training are picked up by one more round."""
        if self.sorting.copying == "apply" and self.sorting.wait_for_copying():
            return  # (the pane's buttons; the grid's keys are refused the same way)
        past = self.sorting.past_run_of(path)
        if past is not None:  # a past run is shown as it happened: the grid refuses corrections there, so does the pane
            self.status(f"Run {past} is shown read-only: open a preview to correct photos.", 8000)
            return
        if isinstance(category, tuple):  # the review grid: the categories the photo belongs in
            labels = category
        else:  # the preview pane: "Not X" (none of these) or "also belongs in X"
            labels = (*self.sorting.labels_of(path), category) if category else ()
            if self.sorting.table is not None and path in self.sorting.table.row_of:
                self.sorting.remember_correction(path, labels)  # the person's word wins in the open preview
        labels = self.sorting.names_now(labels)  # the grid may use names from before a rename
        if self.sorting.has_copies(path):
            self.sorting.correct_copied(path, labels)  # its copies already exist: say so, offer the trash
        known = {c.name for c in self.library.categories}
        gone = [c for c in labels if c not in known]
        note = f" ({', '.join(gone)} is no longer a category: not added there)" if gone else ""
        labels = tuple(c for c in labels if c not in gone)
        self.library.relabel(path, labels)
        self.library.save()
        self.categories.refresh()
        if self.preview.path == path:
            self.preview.refresh_decision()  # the pane says what the grid says
        where = ", ".join(labels) or "none of these"
        self.status(f"Added {Path(path).name} as an example of {where}{note}. Retraining…", 8000)
        if not self.model_path.exists():
            return
        if self._train_job is not None:
            self._train_again = True
            return
        self.train(switch_tab=False, quick=True)

    # ------------------------------------------------------------ watching
    def _set_tray_status(self, text: str) -> None:
        if self.tray is not None:
            self.tray.set_status(text)

    def _watch_batch(self, summary) -> None:
        self.refresh_history()
        if self.tray is not None and summary.copied_photos:
            self.tray.notify(f"Sorted {summary.copied_photos} new photo(s)")

    # ------------------------------------------------------------ closing
    def closeEvent(self, event) -> None:
        if self.watch_service is not None and self.library.keep_watching_in_tray and not self._closing:
            if self.tray is not None:
                self.hide()
                self.tray.notify("Still sorting new photos in the background.", 3000)
                event.ignore()
                return
            if not self.confirm_quit_without_tray():
                event.ignore()
                return
        self.shutdown()
        event.accept()

    def confirm_quit_without_tray(self) -> bool:
        """No system tray here (stock GNOME): the window cannot hide into one, so closing it would
        stop the background sorting the person asked for. Say so and ask."""
        box = QMessageBox(QMessageBox.Icon.Question, "Keep watching?",
                          "This desktop has no system tray, so photosorter cannot keep sorting new photos once "
                          "its window is closed.", parent=self)
        box.setInformativeText("Minimise the window to keep watching, or quit and stop watching.")
        minimise = box.addButton("Keep watching (minimise)", QMessageBox.ButtonRole.RejectRole)
        box.addButton("Quit and stop watching", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(minimise)
        self.quit_question = box  # set before exec: tests answer it
        box.exec()
        if box.clickedButton() is minimise:
            self.showMinimized()
            return False
        return True

    def shutdown(self) -> None:
        self._closing = True
        if self._train_job is not None:
            self._train_job.cancel()
        self.session.stop_watch(wait=True)
        self.watch.join_stopping(10)
        self.training.stop_thumbnails()
        stop_all_jobs(self)  # the window's jobs and every tab's (read-ahead, training, previews…)

    def quit(self) -> None:
        from PySide6.QtWidgets import QApplication

        self.shutdown()
        QApplication.quit()
