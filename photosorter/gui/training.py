"""Train tab: progress with stage and ETA, Cancel, live loss curves (one chart per fold), and
results people can act on — per-category figures, a confusion matrix, the examples each category
gets wrong (open, remove or move them) and the honest quality estimate (ml/quality.py).

The training job itself lives here too (not in the main window): reading new examples ahead of
training, training, cancelling, and showing what came out."""

from __future__ import annotations

import re
import time
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ..errors import PhotosorterError
from ..ml import confusion
from ..ml.train_progress import ROUNDS_EXPLAINED
from ..reporting import counted
from .backbone_comparison import ComparisonView, TrainExtras, train_with_extras
from .loss_chart import LossChart
from .training_results import ConfusionTable, MistakesView
from .workers import JobWorker, start_job

COLUMNS = ("Category", "Precision", "Recall", "F1", "Threshold", "Examples")
SHORT_COLUMNS = ("Name", "Prec.", "Rec.", "F1", "Thr.", "Ex.")  # full names in the tooltips
#: What each column means, in words (a tryout found the tooltips only repeated the names).
COLUMN_TIPS = (
    "Category",
    "Precision: of the examples this category took in, the share that really belong to it "
    "(judged on your examples; the estimate on your other photos is in the text below).",
    "Recall: of this category's own examples, the share it took in (the rest it would miss).",
    "F1: precision and recall in one number (their harmonic mean); 1.00 is perfect.",
    "Threshold: the score a photo needs to be copied into this category (Sort tab's sliders move it).",
    "Examples: how many example photos this category has.",
)


class AdviceView(QTextBrowser):
    """The Train tab's advice: rich text that scrolls by itself. (A word-wrapped label in a scroll
    area was sized for another width than it got once the scroll bar appeared, so the last
    categories' lines could not be scrolled to — a tryout read them only by copying the text.)"""

    def __init__(self) -> None:
        super().__init__()
        self._html = ""
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setOpenLinks(False)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.viewport().setAutoFillBackground(False)  # the tab's own background, as a label had
        self.setAccessibleName("Advice")

    def setText(self, html: str) -> None:
        self._html = html
        self.setHtml(html)

    def text(self) -> str:
        """The advice as set (HTML), as QLabel.text gave it."""
        return self._html


class StepEta:
    """Time left, from the pace of the step that is running now.

    Why per step: training's steps run at very different paces — reading examples whose features
    are cached takes a moment for 40% of the bar, then the folds take the rest at a crawl — so one
    pace over the whole bar said "about 3 s left" for a training that had a minute to go. While a
    step that is not the last runs, the time left is said for *that step* only; in the last step
    it is the time left for the whole job. Nothing is said until the step has made some headway.
    """

    STEP = re.compile(r"Step (\d+) of (\d+)")
    FOLD = re.compile(r"round (\d+) of (\d+)")
    MIN_SECONDS = 1.0  # of the current step, before any estimate
    MIN_SHARE = 0.02  # of the bar, within the current step, before any estimate

    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self.key: str | None = None
        self.since = 0.0
        self.from_done = 0
        self.from_count = 0
        self.fold = 0  # the fold running now (1-based), 0 before any
        self.fold_since = 0.0  # when it started
        self.folds_timed = 0  # folds seen from start to end in this step
        self.fold_seconds = 0.0  # and the time they took

    @classmethod
    def step_of(cls, message: str) -> str:
        """What stays the same while one step runs ("efficientnet_lite2: Step 1 of 2", "Fine-tuning")."""
        m = cls.STEP.search(message)
        if m:
            return message[: m.end()]
        return re.sub(r"\d+", "#", message.split("(")[0].split(" — ")[0]).strip()

    @classmethod
    def _count(cls, message: str) -> tuple[int, int] | None:
        """The step's own "i of n" in its words ("reading examples, 30 of 120"), if any."""
        m = cls.STEP.search(message)
        found = re.search(r"(\d+) of (\d+)", message[m.end():] if m else message)
        return (int(found.group(1)), int(found.group(2))) if found else None

    def text(self, done: int, total: int, message: str) -> str:
        now = self.clock()
        key = self.step_of(message)
        count = self._count(message)
        step = self.STEP.match(message)  # a plain training's own steps (not a comparison's, not fine-tuning's)
        fold = self.FOLD.search(message) if step is not None and step.group(1) == step.group(2) else None
        if key != self.key:
            self.key, self.since, self.from_done = key, now, done
            self.from_count = count[0] if count else 0
            self.fold, self.fold_since, self.folds_timed, self.fold_seconds = 0, now, 0, 0.0
            if fold:
                self.fold = int(fold.group(1))
            return ""
        if fold:
            return self._folds_left(now, int(fold.group(1)), int(fold.group(2)))
        spent = now - self.since
        if total <= 0 or done >= total or spent < self.MIN_SECONDS:
            return ""
        m = self.STEP.search(message)
        if m is None or m.group(1) == m.group(2):  # the last step: its pace over the rest of the bar
            moved = done - self.from_done
            if moved < self.MIN_SHARE * total:
                return ""
            left, where = spent * (total - done) / moved, ""
        else:  # an earlier step: only its own end can be told, from its own count
            if count is None or count[0] >= count[1] or count[0] - self.from_count < max(1, self.MIN_SHARE * count[1]):
                return ""
            left, where = spent * (count[1] - count[0]) / (count[0] - self.from_count), " in this step"
        return self._words(left, where)

    @staticmethod
    def _words(left: float, where: str = "") -> str:
        return f" — about {max(1, round(left))} s left{where}" if left < 90 else f" — about {left / 60:.0f} min left{where}"

    def _folds_left(self, now: float, fold: int, folds: int) -> str:
        """Training's folds: from the time whole folds took, counting down within a fold. The bar
        fills a fold hyperbolically (its number of epochs is unknown: early stopping), so its pace
        slowed through every fold and the time left grew while the folds ran (tryout)."""
        if fold != self.fold:
            if self.fold and fold > self.fold:  # one (or more) folds ended
                self.folds_timed += fold - self.fold
                self.fold_seconds += now - self.fold_since
            self.fold, self.fold_since = fold, now
        if not self.folds_timed:  # nothing to go on before the first fold has ended
            return ""
        per_fold = self.fold_seconds / self.folds_timed
        into = min(now - self.fold_since, 0.9 * per_fold)  # a long fold holds at a tenth, not at zero
        return self._words(per_fold * (folds - fold + 1) - into)


def hints(clf) -> list[str]:
    """Plain-language advice: first how it would do on the user's other photos (quality.py), then
    from the cross-validated metrics on the examples."""
    out = []
    desc = clf.description
    quality = desc.quality
    if quality is None:
        out.append("How well this sorts your other photos is unknown (model trained by an older version: train again).")
    else:
        out.append(desc.quality_summary or "")
        for q in quality:
            if q.precision is not None and not q.advice:  # advice already says it, with what to do
                out.append(f"{q.name}: of {q.background_photos} photos seen so far, about {q.taken} would go "
                           f"here; expected precision {q.precision:.2f} (likely {q.precision_low:.2f}–"
                           f"{q.precision_high:.2f}).")
            out.extend(a for a in q.advice if a not in out and "unknown" not in a)
    per = clf.metrics.get("per_category", {})
    for name, m in per.items():
        n = desc.examples_per_category.get(name, m.get("support", 0))
        if n < 10:
            out.append(f"{name}: only {n} examples — add more (10 or more) for reliable sorting.")
        elif m["recall"] < 0.8:
            out.append(f"{name}: misses {100 * (1 - m['recall']):.0f}% of its examples — add more varied examples.")
        elif m["precision"] < 0.8:
            out.append(f"{name}: {100 * (1 - m['precision']):.0f}% of what it picks belongs elsewhere — "
                       "add examples to the categories it confuses, or some 'none of these' photos.")
    if desc.background_negatives:
        out.append(f"Also learned from {counted(desc.background_negatives, 'of your other photos', 'of your other photos')}"
                   " as 'none of these': photos the app has seen that are unlike every category's examples.")
    if not desc.none_examples:
        out.append("Tip: a few 'none of these' photos (from your camera roll, belonging nowhere) help keep "
                   "unrelated photos out of every category.")
    return out


def train_hint(library) -> str:
    """What to do next, from the library as it is now (never a hint left over from before)."""
    if not library.categories:
        return "Create a category (Ctrl+N) and drop a few example photos on it, then train."
    few = [c.name for c in library.categories if len(c.examples) < 2]
    if few:
        return (f"Add at least two examples to {', '.join(few)} (10 or more work well), then train.")
    n = len(library.labeled_photos().paths)
    return (f"Ready to train on {counted(n, 'example photo')} in {counted(len(library.categories), 'category', 'categories')}."
            " Press Train (Ctrl+T).")


class TrainingPanel(QWidget):
    train_requested = Signal()
    cancel_requested = Signal()

    def __init__(self, window=None) -> None:
        super().__init__()
        self.main_window = window  # provides session, library, categories, status(), error(), open_large()
        self._train_job: JobWorker | None = None
        self._read_job: JobWorker | None = None  # reads newly added examples ahead of training
        self._read_again = False
        self._train_again = False
        self.model = None  # the classifier whose results are shown
        self.edited: set[str] = set()  # examples removed or moved since that model was trained
        self.train_button = QPushButton("Train (Ctrl+T)")
        self.train_button.clicked.connect(self.train_requested.emit)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_requested.emit)
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        self.bar.setAccessibleName("Training progress")
        self.bar.setMinimumWidth(60)  # beside the buttons it set the tab's width at 200%
        self.stage = QLabel("Add at least two examples to each category, then train.")
        self.stage.setWordWrap(True)
        self.stage.setToolTip(ROUNDS_EXPLAINED)
        self.bar.setToolTip(ROUNDS_EXPLAINED)
        self.chart = LossChart()
        self.chart.setToolTip(ROUNDS_EXPLAINED)
        self.table = QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        for c, tip in enumerate(COLUMN_TIPS):
            header = self.table.horizontalHeaderItem(c)
            if header is not None:
                header.setToolTip(tip)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.setAccessibleName("Per-category results; select a row to see its mistakes")
        self.table.currentCellChanged.connect(lambda row, *_: self.show_category_mistakes(row))
        self.table.cellClicked.connect(lambda row, _col: self.show_category_mistakes(row))
        self.matrix = ConfusionTable()
        self.matrix.cell_chosen.connect(self.show_cell)
        self.mistakes = MistakesView()
        grid = self.mistakes.grid
        grid.open_requested.connect(self._open)
        grid.remove_requested.connect(self.remove_example)
        grid.relabel_requested.connect(self.relabel_example)
        self.edited_note = QLabel()
        self.edited_note.setWordWrap(True)
        self.edited_note.hide()
        self.advice = AdviceView()
        self.extras = TrainExtras(window.library if window is not None else None)  # issue 13 item 6
        self.comparison = ComparisonView()
        top = QHBoxLayout()
        top.addWidget(self.train_button)
        top.addWidget(self.cancel_button)
        top.addWidget(self.bar, 1)
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.setChildrenCollapsible(False)
        left = QWidget()
        left_lay = QVBoxLayout(left)
        left_lay.setContentsMargins(0, 0, 0, 0)
        matrix_title = QLabel("<b>Confusion matrix</b> (held out; row: label, column: put in)")
        matrix_title.setWordWrap(True)
        left_lay.addWidget(matrix_title)
        left_lay.addWidget(self.matrix, 1)
        lower.addWidget(left)
        lower.addWidget(self.mistakes)
        lower.setSizes([360, 280])
        lower.setMinimumHeight(190)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.extras)
        lay.addWidget(self.stage)
        lay.addWidget(self.chart, 2)
        heading = QLabel("<b>How well it learned</b> (cross-validated: each example judged by a model that never saw "
                         "it). Select a category to see the examples it gets wrong.")
        heading.setWordWrap(True)
        lay.addWidget(heading)
        lay.addWidget(self.table, 2)
        lay.addWidget(self.comparison)
        lay.addWidget(lower, 3)
        lay.addWidget(self.edited_note)
        # the advice can run to a line or two per category: it scrolls instead of being cut off
        self.advice.setMinimumHeight(self.advice.fontMetrics().lineSpacing() * 4)
        self.advice.setMaximumHeight(self.advice.fontMetrics().lineSpacing() * 9)
        lay.addWidget(self.advice, 1)
        self.table.viewport().installEventFilter(self)  # its header names follow its own width
        self._eta = StepEta()

    def resizeEvent(self, event) -> None:
        """Wrapped labels need more height when the tab is narrow (200% scaling); the scroll area
        around the tabs only knows that through the minimum height, else rows overlap."""
        super().resizeEvent(event)
        self._fit_minimum_height()  # (the table's column names follow its own resize: eventFilter)

    #: The per-category table always shows this many rows (or all, if fewer) without scrolling: it is
    #: the tab's main result, and with the comparison shown it was squeezed to a row and a half.
    TABLE_ROWS_SHOWN = 4

    def _fit_table_height(self, rows: int) -> None:
        shown = min(rows, self.TABLE_ROWS_SHOWN)
        row = self.table.verticalHeader().defaultSectionSize()
        header = self.table.horizontalHeader().sizeHint().height()
        self.table.setMinimumHeight(header + shown * row + 2 * self.table.frameWidth())

    def _fit_table_headers(self) -> None:
        """Short column names where the full ones do not fit (200%: "recisio", cut at both ends)."""
        header = self.table.horizontalHeader()
        font = header.font()
        font.setBold(True)
        fm = QFontMetrics(font)
        room = self.table.viewport().width() / len(COLUMNS) - 12
        names = COLUMNS if all(fm.horizontalAdvance(n) <= room for n in COLUMNS) else SHORT_COLUMNS
        for c, name in enumerate(names):
            item = self.table.horizontalHeaderItem(c)
            if item is not None and item.text() != name:
                item.setText(name)

    def eventFilter(self, watched, e) -> bool:
        # the table's width settles after this tab's resize: measured there, the short names
        # stayed after the window grew back (tryout: "Prec. / Rec." at full size)
        if e.type() == QEvent.Type.Resize and watched is self.table.viewport():
            self._fit_table_headers()
        return super().eventFilter(watched, e)

    def event(self, e) -> bool:
        if e.type() == QEvent.Type.LayoutRequest:  # a child's minimum changed after our resize (the
            QTimer.singleShot(0, self, self._fit_minimum_height)  # loss chart's second row of folds at 200%)
        return super().event(e)

    def _fit_minimum_height(self) -> None:
        lay = self.layout()
        if lay is not None and lay.hasHeightForWidth():
            # the *minimum* for this width: the preferred height made the tab (and with it every
            # tab) taller than a 1360×840 window, so the Sort tab's Apply scrolled out of sight
            need = lay.totalMinimumHeightForWidth(self.width())
            if need > 0 and need != self.minimumHeight():
                self.setMinimumHeight(need)

    # ------------------------------------------------------------ progress
    def begin(self) -> None:
        self._eta = StepEta()
        self.chart.clear()
        self.bar.setRange(0, 0)
        self.extras.setEnabled(False)  # they say what *this* training does; changed midway they lied
        self.train_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.stage.setText("Loading the recognition model…")

    def on_progress(self, done: int, total: int, message: str) -> None:
        """``done``/``total`` and ``message`` come from one place (ml/train_progress.py)."""
        self.bar.setRange(0, max(1, total))
        self.bar.setValue(done)
        self.stage.setText(f"{message}{self._eta.text(done, total, message)}")

    def end(self, message: str) -> None:
        self.extras.setEnabled(True)
        self.bar.setRange(0, 1)
        self.bar.setValue(1 if message.startswith("Trained") else 0)
        self.train_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.stage.setText(message)

    def update_hint(self) -> None:
        """The hint follows the library (examples added, imported, moved); never during training."""
        if self._train_job is not None or self.main_window is None:
            return
        self.stage.setText(train_hint(self.main_window.library))

    # ------------------------------------------------------------ the jobs
    def read_examples_ahead(self) -> None:
        """Compute new examples' features in the background as soon as they are added.

        Reading a photo through the network is most of what training costs for a new example;
        doing it while the person is still choosing examples makes pressing Train take about a
        second even with a thousand examples (benchmarks/retrain.py)."""
        w = self.main_window
        if not w.ready or w._closing:
            return  # warm_up is still loading the model (it calls this when done), or the window is closing
        if self._read_job is not None:
            self._read_again = True
            return
        paths = list(w.library.labeled_photos().paths)
        session = w.session

        def job(progress, cancel, emit):
            from ..ml.training import TrainOptions

            session.embedder().embed(paths, views=TrainOptions().views, cancel=cancel)

        def finished(*_):
            self._read_job = None
            if self._read_again:
                self._read_again = False
                self.read_examples_ahead()

        self._read_job = start_job(w, job, on_done=finished, on_error=finished, on_cancel=finished)

    def _model_installed(self) -> None:
        """A new model is current: the open preview and the photo in the preview pane are scored
        again by it (the pane kept the old model's scores after a training finished — tryout)."""
        w = self.main_window
        w.rescore_preview()
        w.preview.reload()

    def train(self, from_scratch: bool = False, switch_tab: bool = True, quick: bool = False) -> None:
        """Train, continuing from the current model when only examples changed (seconds even with
        a thousand examples); ``from_scratch`` ignores the current model. ``quick`` (the retrain a
        correction starts) never runs the opt-in extras: a tryout saw one correction start a
        minute of comparing and fine-tuning that switched the recognition model back and forth."""
        w = self.main_window
        if self._train_job is not None:
            return
        if self._read_job is not None:  # training reads whatever is still unread itself
            self._read_again = False
            self._read_job.cancel()
        photos = w.library.labeled_photos()
        if not w.library.categories:
            w.error("Create a category and drop some example photos on it first.")
            return
        if switch_tab:
            w.tabs.setCurrentWidget(self)
        self._train_again = False
        self.begin()
        strictness = w.library.strictness
        session = w.session
        compare, fine_tune = (False, False) if quick else (w.library.compare_backbones, w.library.fine_tune)
        before = {"fine_tuned": False}  # what the model being replaced was (read in the worker)

        def job(progress, cancel, emit):
            from ..ml.background import StoredBackground
            from ..ml.train_progress import TrainProgress
            from ..ml.training import TrainOptions, train_from_photos

            emb = session.embedder()
            before["fine_tuned"] = session.model_path.exists() and _fine_tuned(session)
            previous = None
            if not from_scratch and session.model_path.exists():
                try:
                    previous = session.classifier()
                except PhotosorterError:
                    previous = None  # unreadable or another backbone's model: start from scratch
            tracker = TrainProgress(progress)  # the bar and its text from one computation
            if compare or fine_tune:  # the opt-in extras (backbone_comparison.py)
                return train_with_extras(photos, session, TrainOptions(gate_quantile=strictness), compare=compare,
                                         fine_tune=fine_tune, progress=progress, cancel=cancel,
                                         on_epoch=lambda f, e, t, v: emit((f, e, t, v, tracker.folds)),
                                         previous=previous, on_stage=lambda name: emit(("stage", name)),
                                         background_for=lambda e: StoredBackground.for_embedder(e).features())
            return train_from_photos(photos, emb, TrainOptions(gate_quantile=strictness), tracker, cancel,
                                     on_epoch=lambda f, e, t, v: emit((f, e, t, v, tracker.folds)), previous=previous,
                                     background=StoredBackground.for_embedder(emb).features())

        def done(result):
            self._train_job = None
            switched = ""
            if isinstance(result, tuple):  # with extras: (result, the backbone kept)
                result, kept = result
                # The chart shows the model that was kept, not whichever stage trained last.
                tuned = " (fine-tuned)" if result.classifier.backbone_top else ""
                self.chart.start_stage(f"kept: {kept}{tuned}")
                if kept != w.library.backbone:  # the comparison chose another backbone: the app now uses it
                    switched = (f" Comparing backbones chose {kept} (best cross-validated F1 on your examples); the app "
                                f"uses it from now on instead of {w.library.backbone} — it may sort more slowly, and "
                                "what it learned from the photos you sorted belongs to the old model: sort or watch a "
                                "folder again, then train, to get the estimate on your photos and the thresholds it "
                                "sets back (a tryout saw them reset). File → Settings → Recognition model switches back.")
                    w.library.backbone = kept
                    w.library.save()
            # the running watcher uses it at once; a correction's quick retrain keeps the sliders
            was = session.thresholds()
            dropped = session.install_model(result.classifier, keep_choices=quick)
            now = session.thresholds()
            moved = {c: (was[c], t) for c, t in now.items() if c in was and c not in dropped and abs(t - was[c]) >= 0.01}
            if moved:  # the sliders move with the model: say so (a tryout saw nature go 0.05 → 0.22 unannounced)
                words = ", ".join(f"{c} {a:.2f} → {b:.2f}" for c, (a, b) in moved.items())
                switched += f" Thresholds recalibrated: {words}."
                if quick:
                    # (a quick retrain follows a correction or a rename: "with your correction" after
                    # a rename named a correction nobody made)
                    w.status(f"Retrained after your change; thresholds recalibrated: {words}.", 15000)
                    w.recalibrated = words  # the re-scored preview's status line says it again
            if dropped:  # say it: a slider moving back by itself reads as a bug (tryout)
                switched += (" Your threshold choices (" + ", ".join(f"{c} {t:.2f}" for c, t in dropped.items())
                             + ") were replaced by this model's calibrated thresholds.")
            continued = " (continued from the previous model)" if result.classifier.description.continued_folds else ""
            self.end(f"Trained {counted(len(result.classifier.categories), 'category', 'categories')} on "
                     f"{counted(result.classifier.description.examples, 'photo')} in {result.seconds:.1f} s"
                     f"{continued}.{switched}"
                     + (" The fine-tuned model was replaced by one on the unchanged network (tick Fine-tune and "
                        "train to fine-tune again)." if before["fine_tuned"] and not result.classifier.backbone_top else ""))
            self.show_result(result.classifier)
            if result.skipped:
                w.status(f"{len(result.skipped)} example(s) could not be read and were skipped.", 12000)
            if self._train_again:  # corrections arrived while training
                self.train(switch_tab=False, quick=True)
            else:
                self._model_installed()

        def failed(message):
            self._train_job = None
            self.end("Training stopped.")
            if getattr(w, "sorting", None) is not None:
                w.sorting.no_new_model()
            w.error(message)

        def cancelled():
            self._train_job = None
            self.end("Training cancelled. The previous model (if any) is unchanged.")
            if getattr(w, "sorting", None) is not None:
                w.sorting.no_new_model()

        self._train_job = start_job(w, job, on_done=done, on_error=failed, on_cancel=cancelled,
                                    on_progress=self.on_progress, on_data=self._chart_data)

    def _chart_data(self, data: tuple) -> None:
        """Loss points from the training job; ("stage", name) starts the curves of the next training
        within the job (compare backbones, fine-tune)."""
        if data and data[0] == "stage":
            self.chart.start_stage(str(data[1]))
        else:
            self.chart.add_point(*data)

    def cancel_training(self) -> None:
        if self._train_job is not None:
            self._train_job.cancel()
            self.stage.setText("Cancelling…")

    # ------------------------------------------------------------ results
    def show_result(self, clf) -> None:
        self.model = clf
        self.edited = set()
        self.edited_note.hide()
        per = clf.metrics.get("per_category", {})
        self.table.blockSignals(True)
        self.table.setRowCount(len(per))
        counts = clf.description.examples_per_category
        self._fit_table_height(len(per))
        for r, (name, m) in enumerate(per.items()):
            vals = [name, f"{m['precision']:.2f}", f"{m['recall']:.2f}", f"{m['f1']:.2f}", f"{m['threshold']:.2f}",
                    str(counts.get(name, m["support"]))]
            for c, v in enumerate(vals):
                item = QTableWidgetItem(v)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(r, c, item)
        self.table.blockSignals(False)
        if not self.chart.folds:
            curves = list(clf.description.curves)
            self.chart.set_fold_count(len(curves))
            for fold, curve in enumerate(curves):
                for e, (t, v) in enumerate(zip(curve["train_loss"], curve["val_loss"])):
                    self.chart.add_point(fold, e, t, v)
        self.matrix.set_matrix(confusion.confusion(clf.description.out_of_fold, clf.categories, clf.thresholds))
        if confusion.available(clf.description.out_of_fold):
            # start with the category that gets the most examples wrong: the first thing to fix
            wrong = [len(confusion.mistakes(clf.description.out_of_fold, clf.categories, clf.thresholds, c)) for c in clf.categories]
            if wrong:
                worst = max(range(len(wrong)), key=wrong.__getitem__)
                self.table.selectRow(worst)
                self.show_category_mistakes(worst)  # also when that row was already current (a retrain)
        else:
            self.mistakes.heading.setText("This model was trained by an older version: train again to see the "
                                          "confusion matrix and the examples it gets wrong.")
            self.mistakes.grid.clear()
        tips = hints(clf) + [f"⚠ {w}" for w in clf.description.warnings if "only" not in w]
        people = getattr(clf, "people", None)  # issue 17: which categories are about people, how sure
        if people is not None:  # after the verdict on the whole model (hints' first line), not before it
            tips += [f"<b>{name}</b>: {text}" for name, text in people.describe().items()]
        # never "healthy" without evidence from the user's own photos (hints always says which)
        self.advice.setText("<br>".join(t for t in tips if t))
        self.comparison.show_model(clf)

    def show_category_mistakes(self, row: int) -> None:
        clf = self.model
        if clf is None or not 0 <= row < len(clf.categories) or not confusion.available(clf.description.out_of_fold):
            return
        name = self.table.item(row, 0).text() if self.table.item(row, 0) else clf.categories[row]
        found = [m for m in confusion.mistakes(clf.description.out_of_fold, clf.categories, clf.thresholds, name)
                 if m.path not in self.edited]
        self.mistakes.show_category(name, found, list(clf.categories))

    def show_cell(self, row: int, col: int) -> None:
        clf = self.model
        if clf is None or self.matrix.matrix is None:
            return
        names = self.matrix.matrix.names
        found = [m for m in confusion.cell_mistakes(clf.description.out_of_fold, clf.categories, clf.thresholds, row, col)
                 if m.path not in self.edited]
        self.mistakes.show_cell(names[row], names[col], found, list(clf.categories))

    def stop_thumbnails(self, wait_ms: int = 3000) -> None:
        """Window closing: no thumbnail decoding may outlive the widgets it reports to."""
        thumbs = self.mistakes.grid.thumbs
        thumbs.forget_pending()
        thumbs.wait(wait_ms)

    # ------------------------------------------------------------ fixing examples
    def _open(self, path: str) -> None:
        if self.main_window is not None:
            self.main_window.open_large(path, held_out=self.mistakes.grid.mistake_of(path))

    def remove_example(self, path: str) -> None:
        """Stop using ``path`` as an example (the photo itself stays where it is)."""
        confusion.remove(self.main_window.library, path)
        self._examples_edited(path, f"Removed {Path(path).name} from the examples (the file is untouched).")

    def relabel_example(self, path: str, to) -> None:
        """Make ``path`` an example of ``to`` only (None: "none of these")."""
        confusion.relabel(self.main_window.library, path, to)
        where = to or "none of these"
        self._examples_edited(path, f"{Path(path).name} is now an example of {where}.")

    def _examples_edited(self, path: str, message: str) -> None:
        w = self.main_window
        self.edited.add(path)
        self.mistakes.grid.drop_path(path)
        w.library.save()
        w.categories.refresh()
        w._library_changed()
        self.edited_note.setText(f"<b>{len(self.edited)} example(s) changed</b> since this training — retrain "
                                 "(Ctrl+T) to update these results.")
        self.edited_note.show()
        w.status(f"{message} Retrain (Ctrl+T) to use it.", 12000)


def _fine_tuned(session) -> bool:
    """Whether the current model carries a fine-tuned top (ml/finetune.py)."""
    try:
        return bool(session.classifier().backbone_top)
    except Exception:  # unreadable or another backbone's model: nothing to say about it
        return False
