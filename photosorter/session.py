"""Qt-free application state the GUI (and the CLI) share: the library, the current model, the
thresholds the user chose, explanations of one photo, and the running watch service.

Why one object: every setting that changes how photos are sorted (a category's folder, a
retrained model, a slider) must reach *every* consumer at once — the open preview, the next
sort and a watcher already running in the background. Keeping the model cache, the threshold
merge and the watch service together makes "re-arm everything" one call (:meth:`Session.rearm`).

All scoring goes through :class:`photosorter.ml.scoring.Scorer` (:meth:`Session.scorer`), so a
change in how the scorer decides (e.g. a stored background) applies here too.

Thread-safety: methods marked "worker thread" may block (loading torch, running the network);
the GUI calls them from its job threads. Explanations run one at a time on a private copy of the
backbone (Grad-CAM installs hooks on a layer: a concurrent forward pass on the shared model would
overwrite the activations it differentiates); a newer explanation request cancels an older one.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import errors
from .config import app_paths
from .jobs import CancelToken
from .library import Library

if TYPE_CHECKING:  # the ML stack loads on first use, in a worker thread
    import numpy as np

    from .ml.backbones import FeatureExtractor
    from .ml.classifier import Classifier
    from .ml.features import Embedder
    from .ml.scoring import Scorer

#: Scores below this are "nothing of this category here": no heatmap is drawn for them (Grad-CAM
#: maps are normalised to their own peak, so even a photo scoring 0.00 would get a bright map).
MIN_SCORE_FOR_HEATMAP = 0.05


@dataclass
class PhotoExplanation:
    """One photo as the preview shows it: its scores, the thresholds, and per-category maps."""

    path: str
    shown: object | None  # PIL image sized for display, or None when it cannot be read
    scores: dict[str, float] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    maps: dict[str, np.ndarray] = field(default_factory=dict)  # category → heat array; absent: nothing to show
    message: str = ""
    flagged: set[str] = field(default_factory=set)
    frames: list = field(default_factory=list)  # a video's sampled frames (ml.media_explain.FrameExplanation)
    face_boxes: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)  # issue 17
    #: the category model's own scores, before the familiarity check (ml.scoring.PhotoScore.head)
    head: dict[str, float] = field(default_factory=dict)

    def as_tuple(self) -> tuple:
        return (self.path, self.shown, self.scores, self.thresholds, self.maps, self.message, self.flagged,
                self.frames, self.face_boxes, self.head)


class Session:
    def __init__(self, library: Library, model_path: Path | None = None) -> None:
        self.library = library
        self.model_path = Path(model_path or app_paths().models_dir / "current.safetensors")
        self._embedder: Embedder | None = None
        self._requested_mode: str | None = None
        self._classifier: Classifier | None = None
        self._app_scorer: Scorer | None = None  # Scorer with the stored background, reused while model and backbone stay
        self._lock = threading.RLock()  # loading/replacing the model
        self._explain_lock = threading.Lock()  # one explanation at a time
        self._explain_model: tuple[Embedder, FeatureExtractor] | None = None  # (embedder it was copied from, private copy)
        self._explain_token: CancelToken | None = None
        self._explain_token_lock = threading.Lock()
        self.watch_service = None
        self._watch_callbacks: tuple[Callable, Callable] | None = None

    # ------------------------------------------------------------ model cache
    @property
    def has_model(self) -> bool:
        return self.model_path.exists()

    @property
    def loaded_classifier(self):
        """The classifier if already loaded (never loads: safe on the UI thread)."""
        return self._classifier

    def embedder(self):
        """Load torch and the backbone on first use (worker thread)."""
        from .ml.features import Embedder, FeatureCache

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
        """The trained model (worker thread); raises when there is none yet."""
        from .ml.classifier import Classifier

        emb = self.embedder()
        with self._lock:
            if self._classifier is None:
                if not self.model_path.exists():
                    raise errors.PhotosorterError("There is no trained model yet: add examples and press Train (Ctrl+T).")
                self._classifier = Classifier.load(self.model_path, imagenet_head=emb.model.imagenet_head)
            return self._classifier

    def install_model(self, classifier, keep_choices: bool = False) -> dict[str, float]:
        """A newly trained model becomes current: saved, cached, and handed to a running watcher.

        Recalibrated thresholds replace old slider choices (they were chosen against the old
        model's scores) — except after the quick retrain a correction starts (``keep_choices``):
        it continues from the model the choices were made on and moves its scores little, and a
        tryout saw a slider set to 0.31 jump back to 0.11 at the next key press. Returns the
        choices that were dropped."""
        classifier.save(self.model_path)
        with self._lock:
            self._classifier = classifier
        before = dict(self.library.threshold_overrides)
        kept = {c: t for c, t in before.items() if c in classifier.categories} if keep_choices else {}
        if kept != before:
            self.library.threshold_overrides = kept
            self.library.save()
        self.rearm()
        return {c: t for c, t in before.items() if c not in kept}

    # ------------------------------------------------------------ thresholds & scoring
    def default_thresholds(self) -> dict[str, float]:
        clf = self._classifier
        return dict(zip(clf.categories, map(float, clf.thresholds))) if clf is not None else {}

    def thresholds(self, overrides: dict[str, float] | None = None) -> dict[str, float]:
        """The model's calibrated thresholds with the user's choices (or ``overrides``) on top."""
        th = self.default_thresholds()
        chosen = self.library.threshold_overrides if overrides is None else overrides
        th.update({k: float(v) for k, v in chosen.items() if k in th})
        return th

    def save_threshold_choices(self, thresholds: dict[str, float]) -> None:
        """Slider choices stick: only those that differ from the calibrated value are stored; the
        running watcher uses them from its next photo on."""
        defaults = self.default_thresholds()
        self.library.threshold_overrides = {c: float(t) for c, t in thresholds.items()
                                            if abs(t - defaults.get(c, -1)) > 1e-9}
        self.library.save()
        self.rearm()

    def scorer(self, overrides: dict[str, float] | None = None) -> Scorer:
        """A Scorer on the current model with the user's thresholds (worker thread)."""
        from .ml.scoring import Scorer

        clf, emb = self.classifier(), self.embedder()
        with self._lock:
            base = self._app_scorer
            if base is None or base.classifier is not clf or base.embedder is not emb:
                base = self._app_scorer = Scorer.for_app(clf, emb)  # the stored background, as every path
            base.gated_classifier()  # measured once per background version, shared by the copies below
        scorer = copy.copy(base)
        scorer.threshold_overrides = dict(self.library.threshold_overrides if overrides is None else overrides)
        return scorer

    def destinations(self, categories: list[str]) -> dict[str, Path]:
        dests = self.library.destinations()
        missing = [c for c in categories if c not in dests]
        if missing:
            raise errors.UsageError(
                f"The model was trained when a category was called {', '.join(missing)}; it has been renamed or "
                "removed since. Train again (Ctrl+T) first: with the photos' features cached it takes seconds.")
        return {c: dests[c] for c in categories}

    def plan(self, paths: list[str], progress=None, cancel=None, overrides: dict[str, float] | None = None,
             kinds=None, background: str = "auto"):
        """Dry run of ``paths`` (worker thread or ``photosorter sort`` without --model/--dest): a
        SortPlan, nothing copied. ``kinds``: the library's unless given."""
        from .jobs import no_progress
        from .sorting.ledger import Ledger
        from .sorting.sorter import plan_sort, recover

        scorer = self.scorer(overrides)
        ledger = Ledger(app_paths().ledger_file)
        try:
            recover(ledger)
            return plan_sort(paths, scorer, ledger, self.destinations(scorer.classifier.categories),
                             progress or no_progress, cancel, background=background,
                             kinds=list(self.library.kinds if kinds is None else kinds),
                             category_ids=self.library.category_ids())
        finally:
            ledger.close()

    # ------------------------------------------------------------ explanations
    def new_explain_token(self) -> CancelToken:
        """A token for the next explanation; the previous request (if still waiting or running)
        is cancelled — the person has moved on to another photo."""
        token = CancelToken()
        with self._explain_token_lock:
            if self._explain_token is not None:
                self._explain_token.cancel()
            self._explain_token = token
        return token

    def _private_model(self, emb):
        """A copy of the backbone used only for explanations (hooks never touch the scoring model)."""
        if self._explain_model is None or self._explain_model[0] is not emb:
            self._explain_model = (emb, copy.deepcopy(emb.model))
        return self._explain_model[1]

    def explain_photo(self, path: str, side: int, overrides: dict[str, float] | None = None,
                      cancel: CancelToken | None = None) -> PhotoExplanation:
        """Scores and per-category heatmaps of one photo (worker thread). Raises CancelledError
        when a newer request came in before or while this one ran."""
        from . import imaging, media

        cancel = cancel or CancelToken()
        if media.kind_of(path) in ("videos", "raw") or Path(path).suffix.lower() in media.DOCUMENT_EXTENSIONS:
            return self._explain_media(path, side, overrides, cancel)
        try:
            shown = imaging.load_image(path, min_side=side).image.copy()
        except errors.PhotosorterError as exc:
            return PhotoExplanation(path, None, message=f"Cannot show this photo: {exc}")
        shown.thumbnail((side, side))
        if not self.model_path.exists():
            return PhotoExplanation(path, shown, message="Train a model to see scores and explanations.")
        cancel.raise_if_cancelled()
        import numpy as np

        from .ml.finetune import embedder_for
        from .ml.gradcam import explain
        from .sorting.review_table import unlike_examples_mask

        clf = self.classifier()
        emb = embedder_for(clf, self.embedder())  # a fine-tuned model explains through its own top
        scored = imaging.load_image(path, min_side=emb.spec.input_size).image
        cancel.raise_if_cancelled()
        names = clf.categories
        th = self.thresholds(overrides)
        with self._explain_lock:
            cancel.raise_if_cancelled()
            scorer = self.scorer(overrides)
            decided = scorer.readable_photo(path)  # the core call every path shares (cached features, stored background)
            scores = np.array([decided.scores[n] for n in names])
            head = np.array([decided.head.get(n, -1.0) for n in names])
            faces = scorer.faces_of(path)  # issue 17: cached; None without categories about people
            chosen = [c for c, n in enumerate(names) if scores[c] >= th[n]]
            # Grad-CAM (of the category model) for every category; checked against occlusion where
            # the photo goes, and where only the familiarity check keeps it out: the pane shows that
            # map and says so (it said "nothing of it was found" beside "the model alone says Pets")
            unlike = unlike_examples_mask(head, scores, np.array([th[n] for n in names]))
            verify = sorted(set(chosen) | set(np.flatnonzero(unlike).tolist()))
            ex = explain(self._private_model(emb), clf.head, emb.spec, scored, verify=verify, bf16=emb.bf16_active)
        flagged = {n for n, bad in zip(names, ex.flagged) if bad}
        maps = {n: m for n, m, s, u in zip(names, ex.maps, scores, unlike) if s >= MIN_SCORE_FOR_HEATMAP or u}
        boxes = clf.people.matched_faces(faces) if faces is not None and clf.people is not None else {}
        return PhotoExplanation(path, shown, dict(zip(names, map(float, scores))), th, maps, "", flagged,
                                face_boxes=boxes, head={n: float(h) for n, h in zip(names, head) if h >= 0})

    def _explain_media(self, path: str, side: int, overrides: dict[str, float] | None,
                       cancel: CancelToken) -> PhotoExplanation:
        """A video's sampled frames, a RAW's or a PDF's view (ml.media_explain), scored like `sort` does."""
        from .ml.media_explain import explain_file

        if not self.model_path.exists():
            return PhotoExplanation(*explain_file(path, None, None, {}, side))
        from .ml.finetune import embedder_for

        clf = self.classifier()
        emb = embedder_for(clf, self.embedder())  # a fine-tuned model explains through its own top
        chosen = dict(self.library.threshold_overrides if overrides is None else overrides)
        with self._explain_lock:
            cancel.raise_if_cancelled()
            result = explain_file(path, clf, emb, chosen, side, scorer=self.scorer(overrides),
                                  model=self._private_model(emb))
        return PhotoExplanation(*result)

    # ------------------------------------------------------------ watching
    def start_watch(self, on_batch: Callable, on_warning: Callable):
        """Start background sorting of the library's watched folders (worker thread)."""
        from .sorting.service import WatchService

        folders = [Path(f) for f in self.library.watched]
        if not folders:
            raise errors.UsageError("Add a folder to watch first.")
        scorer = self.scorer()
        service = WatchService(folders, scorer, app_paths().ledger_file,
                               self.destinations(scorer.classifier.categories),
                               on_batch=on_batch, on_warning=on_warning, kinds=list(self.library.kinds),
                               category_ids=self.library.category_ids())
        service.start()
        return service

    def rearm(self) -> None:
        """Hand the current model, thresholds and destination folders to the running watcher.

        Called after any change that affects sorting. The watcher reads ``scorer`` and
        ``destinations`` afresh for every batch, so the next photo already uses them; the
        features it has seen (its picture of the camera roll) stay valid (same backbone)."""
        service = self.watch_service
        if service is None:
            return
        from .ml.scoring import Scorer

        clf = self._classifier or service.scorer.classifier
        emb = self._embedder or service.scorer.embedder
        if emb.spec.name != service.scorer.embedder.spec.name:
            return  # another backbone: the GUI restarts the watcher instead
        scorer = Scorer.for_app(clf, emb)
        scorer.threshold_overrides = dict(self.library.threshold_overrides)
        service.kinds = list(self.library.kinds)
        dests = self.library.destinations()
        service.destinations = {c: dests[c] for c in clf.categories if c in dests}
        service.category_ids = self.library.category_ids()  # (a rename keeps a category's id)
        service.scorer = scorer

    def stop_watch(self, wait: bool = True) -> threading.Thread | None:
        """Stop the watcher. Stopping joins its threads (a second or two): with ``wait=False`` it
        happens on a helper thread, which is returned so a caller can join it at exit."""
        service, self.watch_service = self.watch_service, None
        if service is None:
            return None
        if wait:
            service.stop()
            return None
        t = threading.Thread(target=service.stop, daemon=True, name="watch-stop")
        t.start()
        return t
