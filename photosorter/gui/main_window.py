"""The main window: categories on the left, Train / Sort / Watch in the middle, the preview on the
right. Every long job runs on a worker thread; torch and the model load lazily there."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox, QColorDialog, QFileDialog, QHBoxLayout, QInputDialog, QLabel, QListWidget, QMainWindow, QMenu,
    QMessageBox, QProgressBar, QPushButton, QSplitter, QSystemTrayIcon, QTabWidget, QVBoxLayout, QWidget,
)

from ..config import app_paths
from ..errors import PhotosorterError
from ..library import Library, import_labeled_folder
from .categories import CategoriesPanel
from .preview import PREVIEW_SIDE, PreviewPane
from .sorting import SortPanel
from .training import TrainingPanel
from .workers import start_job

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


class _Bridge(QObject):
    """Carries watcher-thread events onto the UI thread."""

    batch = Signal(object)
    warning = Signal(str)


class MainWindow(QMainWindow):
    def __init__(self, library: Library | None = None, welcome: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("photosorter")
        self.setWindowIcon(app_icon())
        self.resize(1360, 840)
        self.library = library or Library.load()
        self.model_path = app_paths().models_dir / "current.safetensors"
        self._embedder = None
        self._requested_mode = None
        self._classifier = None
        self._lock = threading.Lock()  # one job touches the model at a time
        self._train_job = None
        self._read_job = None  # reads newly added examples ahead of training
        self._closing = False  # set by shutdown: no new background jobs after it
        self._stopping: list[threading.Thread] = []  # watch services being stopped (shutdown joins them)
        self._read_again = False
        self.watch_service = None
        self.bridge = _Bridge()
        self.bridge.batch.connect(self._watch_batch)
        self.bridge.warning.connect(lambda m: self.status(m, 15000))

        self.categories = CategoriesPanel(self.library)
        self.training = TrainingPanel()
        self.sorting = SortPanel()
        self.preview = PreviewPane(self)
        self.watch_panel = self._build_watch_panel()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.training, "1  Train")
        self.tabs.addTab(self.sorting, "2  Sort")
        self.tabs.addTab(self.watch_panel, "3  Watch")
        split = QSplitter()
        split.addWidget(self.categories)
        split.addWidget(self.tabs)
        split.addWidget(self.preview)
        split.setSizes([300, 640, 420])
        self.setCentralWidget(split)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(240)
        self.progress.hide()
        self.statusBar().addPermanentWidget(self.progress)

        self.categories.changed.connect(self._library_changed)
        self.categories.changed.connect(self._update_train_hint)
        self.categories.photo_selected.connect(self.preview.show_photo)
        self.categories.add_requested.connect(self.add_category)
        self.categories.remove_requested.connect(self.remove_category)
        self.categories.rename_requested.connect(self.rename_category)
        self.categories.recolour_requested.connect(self.recolour_category)
        self.categories.folder_requested.connect(self.choose_category_folder)
        self.training.train_requested.connect(lambda: self.train())
        self.training.cancel_requested.connect(self.cancel_training)
        self.sorting.folder_dropped.connect(self.preview_sort)
        self.sorting.choose_requested.connect(self.choose_sort_folder)
        self.sorting.apply_requested.connect(self.apply_sort)
        self.sorting.undo_requested.connect(self.undo)
        self.sorting.photo_selected.connect(self.preview.show_photo)
        self.sorting.thresholds_changed.connect(self._save_thresholds)
        self.preview.correction.connect(self.correct)
        self._build_menus()
        self._build_tray()
        self.refresh_history()
        self.ready = False
        self._update_train_hint()
        QTimer.singleShot(0, self.warm_up)
        if self.library.watching and self.library.watched and self.model_path.exists():
            QTimer.singleShot(0, lambda: self.watch_switch.setChecked(True))  # resume background sorting
        if self.model_path.exists():
            self.status("A trained model is ready. Drop a folder on the Sort tab to preview.")
        elif welcome and not self.library.categories:
            QTimer.singleShot(200, self.first_launch)

    # ------------------------------------------------------------ small helpers
    def status(self, text: str, ms: int = 8000) -> None:
        self.statusBar().showMessage(text, ms)

    def colours(self) -> dict[str, str]:
        return {c.name: c.color for c in self.library.categories}

    def error(self, message: str) -> None:
        log.warning(message)
        self.progress.hide()
        QMessageBox.warning(self, "photosorter", message)

    def _busy(self, done: int, total: int, message: str) -> None:
        self.progress.show()
        self.progress.setRange(0, max(total, 1) if total else 0)
        self.progress.setValue(done)
        self.status(message, 3000)

    def _update_train_hint(self) -> None:
        if self._train_job is not None:
            return
        n = len(self.library.labeled_photos().paths)
        if self.library.categories and n:
            self.training.stage.setText(f"Ready to train on {n} example photos in {len(self.library.categories)} "
                                        "categories. Press Train (Ctrl+T).")

    def _save_thresholds(self, thresholds: dict) -> None:
        """Slider choices stick: the next preview and background watching use them."""
        defaults = dict(zip(self._classifier.categories, map(float, self._classifier.thresholds))) if self._classifier else {}
        self.library.threshold_overrides = {c: t for c, t in thresholds.items() if abs(t - defaults.get(c, -1)) > 1e-9}
        self.library.save()
        if self.watch_service is not None:
            self.watch_service.scorer.threshold_overrides = dict(self.library.threshold_overrides)

    def _library_changed(self) -> None:
        self.library.save()
        if self.model_path.exists():
            self.status("Examples changed: retrain (Ctrl+T) to use them — it takes seconds, features are cached.", 12000)
        self.read_examples_ahead()

    def read_examples_ahead(self) -> None:
        """Compute new examples' features in the background as soon as they are added.

        Reading a photo through the network is most of what training costs for a new example;
        doing it while the person is still choosing examples makes pressing Train take about a
        second even with a thousand examples (benchmarks/retrain.py)."""
        if not self.ready or self._closing:
            return  # warm_up is still loading the model (it calls this when done), or the window is closing
        if self._read_job is not None:
            self._read_again = True
            return
        paths = list(self.library.labeled_photos().paths)

        def job(progress, cancel, emit):
            from ..ml.training import TrainOptions

            self.embedder().embed(paths, views=TrainOptions().views, cancel=cancel)

        def finished(*_):
            self._read_job = None
            if self._read_again:
                self._read_again = False
                self.read_examples_ahead()

        self._read_job = start_job(self, job, on_done=finished, on_error=finished, on_cancel=finished)

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
        action(m, "Sort a folder…", self.choose_sort_folder, "Ctrl+O")
        m.addSeparator()
        action(m, "Settings…", self.open_settings, "Ctrl+,")
        m.addSeparator()
        action(m, "Quit", self.quit, "Ctrl+Q")
        m = self.menuBar().addMenu("&Model")
        action(m, "Train", lambda: self.train(), "Ctrl+T")
        action(m, "Train from scratch", lambda: self.train(from_scratch=True), "Ctrl+Shift+T")
        action(m, "Undo last sort run", lambda: self.undo(None), "Ctrl+Z")
        m = self.menuBar().addMenu("&View")
        action(m, "Light theme", lambda: self.window_app().set_theme("light"))
        action(m, "Dark theme", lambda: self.window_app().set_theme("dark"))
        action(m, "System theme", lambda: self.window_app().set_theme("system"))
        m = self.menuBar().addMenu("&Help")
        action(m, "About photosorter", self.about)

    def window_app(self):
        from .theme import app_theming

        return app_theming()

    def _build_tray(self) -> None:
        self.tray = None
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return
        self.tray = QSystemTrayIcon(app_icon(), self)
        menu = QMenu()
        menu.addAction("Show photosorter", self.showNormal)
        self.pause_action = menu.addAction("Pause watching", self.toggle_pause)
        menu.addAction("Quit", self.quit)
        self.tray.setContextMenu(menu)
        self.tray.setToolTip("photosorter")
        self.tray.show()

    def open_settings(self) -> None:
        from .settings import SettingsDialog

        dlg = SettingsDialog(self.library, self)
        if dlg.exec() and dlg.apply():
            self.tray_switch.setChecked(self.library.keep_watching_in_tray)
            self.status("Settings saved. Retrain (Ctrl+T) to use them.", 10000)

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
        box = QMessageBox(self)
        box.setWindowTitle("Welcome to photosorter")
        box.setText("<h3>Let's set up your categories</h3>"
                    "<p>Create categories like <i>Food</i> or <i>Receipts</i> and drop a few example photos on each "
                    "(10 or more is best). Or import a folder whose sub-folders are categories.</p>")
        create = box.addButton("Create a category", QMessageBox.ButtonRole.AcceptRole)
        imp = box.addButton("Import a folder…", QMessageBox.ButtonRole.ActionRole)
        box.addButton("Later", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        if box.clickedButton() is create:
            self.add_category()
        elif box.clickedButton() is imp:
            self.import_folder()

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
            self.categories.refresh(select=new)
            self.status("Renamed. Retrain (Ctrl+T) so the model uses the new name.")

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
        folder = QFileDialog.getExistingDirectory(self, f"Where should '{name}' copies go?", self.library.category(name).folder)
        if folder:
            self.library.category(name).folder = folder
            self.library.save()
            self.categories.refresh(select=name)

    def import_folder(self, folder: str | None = None) -> None:
        folder = folder or QFileDialog.getExistingDirectory(self, "Folder with one sub-folder per category")
        if not folder:
            return
        try:
            import_labeled_folder(folder, self.library)
        except PhotosorterError as exc:
            self.error(str(exc))
            return
        self.library.save()
        self.categories.refresh()
        self.status(f"Imported {len(self.library.categories)} categories from {folder}. Train next (Ctrl+T).")

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
                    f"{self._classifier.info.get('examples', '?')} photos. Retrain after changing examples.")

        def failed(message):
            self.ready = True
            self.status(f"The recognition model could not be loaded yet: {message}", 15000)

        self.status("Loading the recognition model in the background…", 0)
        start_job(self, job, on_done=done, on_error=failed)

    def embedder(self):
        """Load torch and the backbone on first use (called from worker threads only)."""
        from ..ml.features import Embedder, FeatureCache

        # None: PHOTOSORTER_NUMERIC_MODE, else the backbone's validated or self-checked mode (numerics.choose_mode)
        mode = {"fast": "auto", "exact": "fp32"}.get(self.library.speed)
        with self._lock:
            if (self._embedder is None or self._embedder.spec.name != self.library.backbone
                    or self._requested_mode != mode):
                self._embedder = Embedder(self.library.backbone, cache=FeatureCache(app_paths().feature_cache_file),
                                          numeric_mode=mode)
                self._requested_mode = mode
            return self._embedder

    def classifier(self):
        from ..ml.classifier import Classifier

        emb = self.embedder()
        if self._classifier is None:
            if not self.model_path.exists():
                raise PhotosorterError("There is no trained model yet: add examples and press Train (Ctrl+T).")
            self._classifier = Classifier.load(self.model_path, imagenet_head=emb.model.imagenet_head)
        return self._classifier

    def train(self, from_scratch: bool = False) -> None:
        """Train, continuing from the current model when only examples changed (seconds even with
        a thousand examples); ``from_scratch`` ignores the current model."""
        if self._train_job is not None:
            return
        if self._read_job is not None:  # training reads whatever is still unread itself
            self._read_again = False
            self._read_job.cancel()
        photos = self.library.labeled_photos()
        if not self.library.categories:
            self.error("Create a category and drop some example photos on it first.")
            return
        self.tabs.setCurrentWidget(self.training)
        self.training.begin()
        strictness = self.library.strictness

        def job(progress, cancel, emit):
            from ..ml.background import StoredBackground
            from ..ml.training import TrainOptions, train_from_photos

            emb = self.embedder()
            previous = None
            if not from_scratch and self.model_path.exists():
                try:
                    previous = self.classifier()
                except PhotosorterError:
                    previous = None  # unreadable or another backbone's model: start from scratch
            return train_from_photos(photos, emb, TrainOptions(gate_quantile=strictness), progress, cancel,
                                     on_epoch=lambda f, e, t, v: emit((f, e, t, v)), previous=previous,
                                     background=StoredBackground.for_embedder(emb).features())

        def done(result):
            self._train_job = None
            result.classifier.save(self.model_path)
            self._classifier = result.classifier
            if self.library.threshold_overrides:  # recalibrated thresholds replace old slider choices
                self.library.threshold_overrides = {}
                self.library.save()
            continued = " (continued from the previous model)" if result.classifier.info.get("continued_folds") else ""
            self.training.end(f"Trained {len(result.classifier.categories)} categories on "
                              f"{result.classifier.info['examples']} photos in {result.seconds:.1f} s{continued}.")
            self.training.show_result(result.classifier)
            if result.skipped:
                self.status(f"{len(result.skipped)} example(s) could not be read and were skipped.", 12000)

        def failed(message):
            self._train_job = None
            self.training.end("Training stopped.")
            self.error(message)

        def cancelled():
            self._train_job = None
            self.training.end("Training cancelled. The previous model (if any) is unchanged.")

        self._train_job = start_job(self, job, on_done=done, on_error=failed, on_cancel=cancelled,
                                    on_progress=self.training.on_progress,
                                    on_data=lambda d: self.training.chart.add_point(*d))

    def cancel_training(self) -> None:
        if self._train_job is not None:
            self._train_job.cancel()
            self.training.stage.setText("Cancelling…")

    # ------------------------------------------------------------ sorting
    def choose_sort_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of photos to sort")
        if folder:
            self.preview_sort([folder])

    def preview_sort(self, paths: list[str]) -> None:
        self.tabs.setCurrentWidget(self.sorting)
        dests = self.library.destinations()
        overrides = dict(self.library.threshold_overrides)
        kinds = list(self.library.kinds)

        def job(progress, cancel, emit):
            from ..ml.scoring import Scorer
            from ..sorting.ledger import Ledger
            from ..sorting.sorter import plan_sort, recover

            scorer = Scorer.for_app(self.classifier(), self.embedder())
            scorer.threshold_overrides = overrides
            ledger = Ledger(app_paths().ledger_file)
            try:
                recover(ledger)
                return plan_sort(paths, scorer, ledger, {c: dests[c] for c in scorer.classifier.categories},
                                 progress, cancel, kinds=kinds)
            finally:
                ledger.close()

        def done(plan):
            self.progress.hide()
            self.sorting.set_plan(plan, self.colours())
            self.status("Preview ready: nothing has been copied. Adjust thresholds, then Apply.")

        self.status("Scoring photos for the preview…")
        start_job(self, job, on_done=done, on_error=self.error, on_progress=self._busy)

    def apply_sort(self) -> None:
        plan = self.sorting.current_plan()
        if plan is None:
            return

        def job(progress, cancel, emit):
            from ..sorting.ledger import Ledger
            from ..sorting.sorter import apply_plan

            ledger = Ledger(app_paths().ledger_file)
            try:
                return apply_plan(plan, ledger, progress=progress, cancel=cancel,
                                  detail={"sources": sorted({str(d.path.parent) for d in plan.decisions})[:3], "gui": True})
            finally:
                ledger.close()

        def done(summary):
            self.progress.hide()
            self.sorting.plan = None
            self.sorting.apply_button.setEnabled(False)
            failed = "".join(f"<br>• {m}" for _p, _r, m in summary.failed[:8])
            self.sorting.summary.setText(
                f"<b>Done (run {summary.run_id}):</b> copied {summary.copied_photos} photos "
                f"({summary.copies_made} copies); {summary.already_sorted} already sorted; {summary.no_category} in no "
                f"category; {len(summary.failed)} failed.{failed}<br>Undo puts the copies in the trash (Ctrl+Z).")
            self.refresh_history()

        start_job(self, job, on_done=done, on_error=self.error, on_progress=self._busy)

    def undo(self, run_id) -> None:
        def job(progress, cancel, emit):
            from ..sorting.ledger import Ledger
            from ..sorting.sorter import undo_run

            ledger = Ledger(app_paths().ledger_file)
            try:
                return undo_run(ledger, run_id)
            finally:
                ledger.close()

        def done(result):
            kept = f" {len(result.kept_modified)} edited copies were kept." if result.kept_modified else ""
            errs = f" {len(result.errors)} could not be moved to the trash (left in place)." if result.errors else ""
            self.sorting.summary.setText(f"<b>Undid run {result.run_id}:</b> {len(result.trashed)} copies moved to the trash.{kept}{errs}")
            self.refresh_history()

        start_job(self, job, on_done=done, on_error=self.error)

    def refresh_history(self) -> None:
        from ..sorting.ledger import Ledger

        try:
            ledger = Ledger(app_paths().ledger_file)
            self.sorting.set_history(ledger.runs(30))
            ledger.close()
        except Exception as exc:  # a damaged ledger must not stop the window from opening
            log.warning("cannot read the ledger: %s", exc)

    # ------------------------------------------------------------ preview & corrections
    def explain_job(self, path: str, callback) -> None:
        overrides = dict(self.sorting.thresholds)  # snapshot on the UI thread: sliders may move meanwhile

        def job(progress, cancel, emit):
            from .. import imaging
            from ..ml.gradcam import explain
            from ..ml.scoring import Scorer

            from .. import media

            if media.kind_of(path) == "videos" or Path(path).suffix.lower() in media.RAW_EXTENSIONS | media.DOCUMENT_EXTENSIONS:
                from ..media.explain import explain_file

                return explain_file(path, self.classifier() if self.model_path.exists() else None,
                                    self.embedder() if self.model_path.exists() else None, overrides, PREVIEW_SIDE)
            try:
                shown = imaging.load_image(path, min_side=PREVIEW_SIDE).image.copy()
            except PhotosorterError as exc:
                return path, None, {}, {}, {}, f"Cannot show this photo: {exc}", set()
            shown.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
            if not self.model_path.exists():
                return path, shown, {}, {}, {}, "Train a model to see scores and explanations.", set()
            clf, emb = self.classifier(), self.embedder()
            scored = imaging.load_image(path, min_side=emb.spec.input_size).image
            scorer = Scorer.for_app(clf, emb)
            scores = scorer.scores_of(path)  # the core call every path shares (faces included: issue 17)
            faces = scorer.faces_of(path)  # cached; None without categories about people
            boxes = clf.people.matched_faces(faces) if faces is not None and clf.people is not None else {}
            names = clf.categories
            th = dict(zip(names, map(float, clf.thresholds)))
            th.update({k: v for k, v in overrides.items() if k in th})
            chosen = [c for c, n in enumerate(names) if scores[c] >= th[n]]
            # Grad-CAM for every category; checked against occlusion where the photo goes
            ex = explain(emb.model, clf.head, emb.spec, scored, verify=chosen, bf16=emb.bf16_active)
            flagged = {n for n, bad in zip(names, ex.flagged) if bad}
            return path, shown, dict(zip(names, map(float, scores))), th, dict(zip(names, ex.maps)), "", flagged, [], boxes

        start_job(self, job, on_done=callback, on_error=self.error)

    def correct(self, path: str, category) -> None:
        self.library.add_examples(category, [path])
        self.library.save()
        self.categories.refresh()
        where = category or "none of these"
        box = QMessageBox(self)
        box.setWindowTitle("Example added")
        box.setText(f"Added {Path(path).name} as an example of <b>{where}</b>. Retrain now? (seconds: features are cached)")
        retrain = box.addButton("Retrain now", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Later", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        if box.clickedButton() is retrain:
            self.train()

    # ------------------------------------------------------------ watching
    def _build_watch_panel(self) -> QWidget:
        w = QWidget()
        self.watch_list = QListWidget()
        self.watch_list.addItems(self.library.watched)
        add = QPushButton("Add a camera-roll / DCIM folder…")
        add.clicked.connect(self.add_watched)
        remove = QPushButton("Remove")
        remove.clicked.connect(self.remove_watched)
        self.watch_switch = QCheckBox("Keep sorting new photos in the background")
        self.watch_switch.toggled.connect(self.set_watching)
        self.tray_switch = QCheckBox("Keep watching when the window is closed (tray icon)")
        self.tray_switch.setChecked(self.library.keep_watching_in_tray)
        self.tray_switch.toggled.connect(lambda on: (setattr(self.library, "keep_watching_in_tray", on), self.library.save()))
        self.login_switch = QCheckBox("Start photosorter at login (in the tray, watching these folders)")
        from .. import autostart

        try:
            self.login_switch.setChecked(autostart.is_enabled())
        except Exception:
            self.login_switch.setEnabled(False)
        self.login_switch.toggled.connect(self.set_start_at_login)
        self.watch_status = QLabel("Not watching.")
        self.watch_status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        lay = QVBoxLayout(w)
        lay.addWidget(QLabel("<b>Watched folders</b> — new photos here are copied into their categories as they arrive"))
        lay.addWidget(self.watch_list, 1)
        lay.addLayout(row)
        lay.addWidget(self.watch_switch)
        lay.addWidget(self.tray_switch)
        lay.addWidget(self.login_switch)
        lay.addWidget(self.watch_status)
        return w

    def set_start_at_login(self, on: bool) -> None:
        from .. import autostart

        try:
            autostart.enable() if on else autostart.disable()
        except Exception as exc:  # e.g. a read-only config folder
            self.error(f"Could not change the start-at-login setting: {exc}")
            return
        self.status("photosorter will start at login." if on else "photosorter will no longer start at login.")

    def add_watched(self, folder: str | None = None) -> None:
        folder = folder or QFileDialog.getExistingDirectory(self, "Folder to watch")
        if folder and folder not in self.library.watched:
            self.library.watched.append(folder)
            self.library.save()
            self.watch_list.addItem(folder)

    def remove_watched(self) -> None:
        for it in self.watch_list.selectedItems():
            self.library.watched.remove(it.text())
            self.watch_list.takeItem(self.watch_list.row(it))
        self.library.save()

    def set_watching(self, on: bool) -> None:
        if self.library.watching != on:
            self.library.watching = on
            self.library.save()
        if not on:
            if self.watch_service is not None:
                service, self.watch_service = self.watch_service, None
                self._stop_in_background(service)
            self.watch_status.setText("Not watching.")
            self._set_tray_status("not watching")
            return
        if not self.library.watched:
            self.watch_switch.setChecked(False)
            self.error("Add a folder to watch first.")
            return
        folders = [Path(f) for f in self.library.watched]
        dests = self.library.destinations()
        overrides = dict(self.library.threshold_overrides)
        self.watch_status.setText("Starting… (loading the model)")

        kinds = list(self.library.kinds)

        def job(progress, cancel, emit):
            from ..ml.scoring import Scorer
            from ..sorting.service import WatchService

            scorer = Scorer.for_app(self.classifier(), self.embedder())
            scorer.threshold_overrides = overrides
            service = WatchService(folders, scorer, app_paths().ledger_file,
                                   {c: dests[c] for c in scorer.classifier.categories},
                                   on_batch=self.bridge.batch.emit, on_warning=self.bridge.warning.emit,
                                   kinds=kinds)
            service.start()
            return service

        def done(service):
            if not self.watch_switch.isChecked():
                self._stop_in_background(service)
                return
            self.watch_service = service
            mode = " (polling)" if service.watcher.polling else ""
            self.watch_status.setText(f"Watching {len(folders)} folder(s){mode}. New photos are sorted as they arrive.")
            self._set_tray_status(f"watching {len(folders)} folder(s)")

        def failed(message):
            self.watch_switch.setChecked(False)
            self.error(message)

        start_job(self, job, on_done=done, on_error=failed)

    def _stop_in_background(self, service) -> None:
        """Stopping joins the watcher's threads (up to a second or two): not on the UI thread. The
        thread is kept so shutdown can wait for it: a watcher still delivering a batch to a window
        being destroyed would crash Qt."""
        t = threading.Thread(target=service.stop, daemon=True, name="watch-stop")
        t.start()
        self._stopping = [x for x in self._stopping if x.is_alive()] + [t]

    def _set_tray_status(self, text: str) -> None:
        if self.tray is not None:
            self.tray.setToolTip(f"photosorter — {text}")

    def _watch_batch(self, summary) -> None:
        self.refresh_history()
        text = f"Sorted {summary.copied_photos} new photo(s)" + (f", {len(summary.failed)} could not be read" if summary.failed else "")
        self.watch_status.setText(text + ".")
        self._set_tray_status(f"watching; last: {text.lower()}")
        if self.tray is not None and summary.copied_photos:
            self.tray.showMessage("photosorter", text, QSystemTrayIcon.MessageIcon.Information, 4000)

    def toggle_pause(self) -> None:
        if self.watch_service is None:
            return
        w = self.watch_service.watcher
        if w._paused.is_set():
            w.resume()
            self.pause_action.setText("Pause watching")
        else:
            w.pause()
            self.pause_action.setText("Resume watching")

    # ------------------------------------------------------------ closing
    def closeEvent(self, event) -> None:
        if self.watch_service is not None and self.library.keep_watching_in_tray and self.tray is not None:
            self.hide()
            self.tray.showMessage("photosorter", "Still sorting new photos in the background.", QSystemTrayIcon.MessageIcon.Information, 3000)
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        self._closing = True
        if self._train_job is not None:
            self._train_job.cancel()
        if self.watch_service is not None:
            self.watch_service.stop()
            self.watch_service = None
        for t in self._stopping:
            t.join(10)
        from shiboken6 import isValid

        for job in list(getattr(self, "_jobs", ())):
            job.cancel()
            thread = job._thread
            # a job that just finished may already have had its QThread deleted (deleteLater):
            # touching it then would crash, so only wait for threads that still exist and run
            if isValid(thread) and thread.isRunning():
                thread.quit()
                thread.wait(5000)

    def quit(self) -> None:
        from PySide6.QtWidgets import QApplication

        self.shutdown()
        QApplication.quit()
