"""A trained classifier and its backbone, loaded once, scoring photos and labelled folders."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import errors
from ..jobs import CancelToken, ProgressFn, no_progress
from ..media.video import combine as combine_frames
from .background import MIN_BACKGROUND_PHOTOS, StoredBackground
from .calibration import compute_metrics
from .classifier import Classifier, read_model_file
from .dataset import scan_labeled_folder
from .faces import FaceResult
from .features import Embedder, EmbedFailure, FeatureCache
from .finetune import embedder_for
from .person import analyzer_for
from .preprocess import eval_view


@dataclass
class PhotoScore:
    path: Path
    sha256: str
    scores: dict[str, float]
    categories: list[str]  # those at or above their threshold
    #: the category model's own probability, before the check that the photo looks like the
    #: category's examples (and before face evidence): where it passes a threshold the final score
    #: does not, the photo "looks like X, but unlike your examples" — worth a look in review
    #: (an obvious dog of a breed no example shows scores pets 0.00, a tryout found)
    head: dict[str, float] = field(default_factory=dict)


@dataclass
class PhotoFailure:
    path: Path
    reason: str  # stable code, e.g. "truncated"
    message: str


class ScoringRun(Iterator["PhotoScore | PhotoFailure"]):
    """What one :meth:`Scorer.score_paths` call returns: its photos in order, scored as they are
    taken (streaming, as a generator would), together with what the call measured against.

    ``start`` does the work that must come before the first photo (reading ahead to enrich the
    stored background, gating the classifier) and returns the number of background photos the
    familiarity gate measured against (0: ImageNet's flat prior) and the iterator of results.
    It runs once, on the first photo or the first read of ``background_photos``, whichever comes
    first — so that figure always describes the photos this call scores, never another call's.
    """

    def __init__(self, start: Callable[[], tuple[int, Iterator[PhotoScore | PhotoFailure]]]) -> None:
        self._start = start
        self._started: tuple[int, Iterator[PhotoScore | PhotoFailure]] | None = None
        self.failures: list[PhotoFailure] = []  # the photos that could not be scored, so far

    def _begin(self) -> tuple[int, Iterator[PhotoScore | PhotoFailure]]:
        if self._started is None:
            self._started = self._start()
        return self._started

    @property
    def background_photos(self) -> int:
        """Photos the familiarity gate measured against in this call (0: flat prior)."""
        return self._begin()[0]

    def __iter__(self) -> ScoringRun:
        return self

    def __next__(self) -> PhotoScore | PhotoFailure:
        r = next(self._begin()[1])
        if isinstance(r, PhotoFailure):
            self.failures.append(r)
        return r


class Scorer:
    """Scores photos with one model against one stored background.

    The Scorer owns the background (see background.py), so every path that scores through it —
    predict, explain, the preview pane, the sort preview, sort and the watcher — measures
    familiarity against the same "photos in general", and a photo's decision depends only on
    (photo, model, stored background, thresholds), never on the other photos in the same call.
    """

    def __init__(self, classifier: Classifier, embedder: Embedder, background: StoredBackground | None = None) -> None:
        embedder = embedder_for(classifier, embedder)  # a fine-tuned model: its own top of the backbone
        if embedder.model.weights_id != classifier.weights_id:
            raise errors.ModelError(
                f"This model was trained on {classifier.backbone} weights '{classifier.weights_id}', but the "
                f"loaded backbone has '{embedder.model.weights_id}'. Use the same --weights file as for training."
            )
        self.classifier = classifier
        self.embedder = embedder
        self.background = background
        self.threshold_overrides: dict[str, float] = {}  # the user's slider choices, by category
        self._gated: tuple[tuple, Classifier] | None = None

    @classmethod
    def for_app(cls, classifier: Classifier, embedder: Embedder) -> Scorer:
        """A scorer with the app's stored background for this backbone (under the data folder)."""
        embedder = embedder_for(classifier, embedder)
        return cls(classifier, embedder, StoredBackground.for_app(embedder.model.weights_id, embedder.spec.feature_dim))

    @classmethod
    def from_file(cls, model_path: str | Path, weights: str | Path | None = None, cache: FeatureCache | None = None,
                  app_background: bool = True) -> Scorer:
        tensors, doc = read_model_file(Path(model_path))  # read and verified once
        embedder = Embedder(doc["backbone"], weights=weights, cache=cache)
        clf = Classifier.from_contents(tensors, doc, Path(model_path), imagenet_head=embedder.model.imagenet_head)
        return cls.for_app(clf, embedder) if app_background else cls(clf, embedder)

    # ------------------------------------------------------------------ background
    def gated_classifier(self, background: str = "auto") -> Classifier:
        """The classifier with its familiarity gate measured against the stored background
        (``"off"``, no background or fewer than MIN_BACKGROUND_PHOTOS photos: ImageNet's flat prior).
        Cached until the stored background changes."""
        if background not in ("auto", "off"):
            raise errors.UsageError("background must be 'auto' or 'off'")
        bg = self.background
        if background == "off" or bg is None:
            return self.classifier
        bg.refresh()
        if len(bg) < MIN_BACKGROUND_PHOTOS:
            return self.classifier
        key = (id(self.classifier), bg.version)
        if self._gated is None or self._gated[0] != key:
            self._gated = (key, self.classifier.with_background(bg.features()))
        return self._gated[1]

    def enrich_background(self, items: Iterable[tuple[str, np.ndarray]]) -> int:
        """Add photos (content hash, clean features) to the stored background and save it."""
        if self.background is None:
            return 0
        self.background.refresh()
        added = self.background.add(items)
        if added:
            self.background.save()
        return added

    # ------------------------------------------------------------------ scoring
    def image_scores(self, image, background: str = "auto", faces=None) -> np.ndarray:
        """Per-category scores of one decoded photo (no file: e.g. a generated image). Photos that
        are files go through :meth:`score_paths`, which uses the feature cache, so every path
        scores a file from the very same numbers. ``faces``: its FaceResult when known (e.g.
        ``self.faces_of(path)``); found in ``image`` when the model has categories about people."""
        feats = self.embedder.forward_u8(eval_view(image, self.embedder.spec)[None])
        feats = feats.astype(np.float16).astype(np.float32)  # the cache's precision, as score_paths sees it
        if self.classifier.people is not None and faces is None:  # issue 17
            faces = analyzer_for(self.embedder).for_image(image)
        return self.gated_classifier(background).scores(feats, faces=None if faces is None else [faces])[0]

    def score_photo(self, path: str | Path, background: str = "auto") -> PhotoScore | PhotoFailure:
        """One photo, exactly as `sort`, `predict` and the watcher score it."""
        return next(iter(self.score_paths([path], background=background)))

    def readable_photo(self, path: str | Path, background: str = "auto") -> PhotoScore:
        """:meth:`score_photo` for a caller that shows one photo: one that cannot be read raises
        BadImageError."""
        r = self.score_photo(path, background)
        if isinstance(r, PhotoFailure):
            raise errors.BadImageError(r.message, path=path)
        return r

    def scores_of(self, path: str | Path, background: str = "auto") -> np.ndarray:
        """(C,) scores of one photo file, in category order (the preview pane's call); a photo
        that cannot be read raises BadImageError."""
        r = self.readable_photo(path, background)
        return np.array([r.scores[c] for c in self.classifier.categories])

    def faces_of(self, path: str | Path, sha: str | None = None):
        """The photo's faces (cached), or None when this model has no categories about people (issue 17)."""
        if self.classifier.people is None:
            return None
        return analyzer_for(self.embedder).for_path(path, sha)

    def video_faces_of(self, path: str | Path, sha: str | None, frames: int) -> list[FaceResult] | None:
        """The faces of each of a video's ``frames`` scored keyframes, or None without categories about people."""
        if self.classifier.people is None:
            return None
        return analyzer_for(self.embedder).for_video(path, sha, frames=frames)

    def score_paths(
        self,
        paths: Iterable[str | Path],
        progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None,
        total: int | None = None,
        background: str = "auto",
        enrich: bool = False,
    ) -> ScoringRun:
        """Score photos in order against the stored background (``"off"``: ImageNet's flat prior).

        ``enrich=True`` (sort, the sort preview, the watcher): read all photos first and add them
        to the stored background, then score every one against the enriched background — so a
        first sort of a new folder learns what that roll looks like, and every later view of the
        folder (preview pane, predict, explain) sees the same background and the same decision.
        Without it photos stream through and the background is only read. The returned
        :class:`ScoringRun` also says which background the gate measured against."""
        results: Iterable = self.embedder.iter_embed(paths, views=1, progress=progress, cancel=cancel, total=total)

        def start() -> tuple[int, Iterator[PhotoScore | PhotoFailure]]:
            nonlocal results
            if enrich and background == "auto" and self.background is not None:
                results = list(results)
                self.enrich_background((r.sha256, r.features[0]) for r in results if not isinstance(r, EmbedFailure))
            clf = self.gated_classifier(background)
            # read ahead, the photos were all counted already: a model about people then looks for
            # faces in each, its own long step (a tryout saw the bar sit at 100% for 20 s, wordless)
            faces_step = progress if isinstance(results, list) and clf.people is not None and clf.people.active else None
            return clf.background_photos, self._scored(results, clf, faces_step)

        return ScoringRun(start)

    def _scored(self, results: Iterable, clf: Classifier,
                faces_step: ProgressFn | None = None) -> Iterator[PhotoScore | PhotoFailure]:
        thresholds = np.array([self.threshold_overrides.get(c, t) for c, t in zip(clf.categories, clf.thresholds)])
        n = len(results) if isinstance(results, list) else 0
        for i, r in enumerate(results):
            if faces_step is not None:
                faces_step(i, n, f"Looking for faces: {r.path.name}")
            if isinstance(r, EmbedFailure):
                yield PhotoFailure(r.path, r.error.reason, str(r.error))
                continue
            if r.kind == "videos":  # one row per sampled frame → the video's score (media.video.combine)
                # issue 17: a model about people reads the faces of the very keyframes scored (cached)
                frame_faces = self.video_faces_of(r.path, r.sha256, len(r.features))
                frame_scores, frame_head = clf.scores_with_head(r.features, faces=frame_faces)
                s, head = combine_frames(frame_scores), combine_frames(frame_head)
            else:
                faces = self.faces_of(r.path, r.sha256)  # issue 17: None unless the model has person categories
                scores, heads = clf.scores_with_head(r.features[:1], faces=None if faces is None else [faces])
                s, head = scores[0], heads[0]
            yield PhotoScore(
                r.path, r.sha256, {c: float(v) for c, v in zip(clf.categories, s)}, clf.decide(s[None], thresholds)[0],
                {c: float(v) for c, v in zip(clf.categories, head)},
            )

    def evaluate_folder(
        self, test_dir: str | Path, progress: ProgressFn = no_progress, cancel: CancelToken | None = None,
        background: str = "auto",
    ) -> dict:
        """Metrics on a labelled folder. ``background="auto"`` measures what the app would decide
        after sorting this folder: the folder joins a private copy of the stored background (the
        user's stored background is left unchanged). ``"off"``: ImageNet's flat prior."""
        clf = self.classifier
        photos = scan_labeled_folder(test_dir, clf.categories)
        scorer = self
        if background == "auto":
            bg = self.background.copy_in_memory() if self.background is not None else StoredBackground(
                None, self.embedder.model.weights_id, self.embedder.spec.feature_dim)
            scorer = Scorer(self.classifier, self.embedder, bg)
            scorer.threshold_overrides = dict(self.threshold_overrides)
        rows, truth, images, failed = [], [], [], []
        scored = scorer.score_paths(photos.paths, progress, cancel, background=background, enrich=background == "auto")
        for r, y in zip(scored, photos.labels):
            if isinstance(r, PhotoFailure):
                failed.append({"file": str(r.path), "reason": r.reason, "message": r.message})
                continue
            rows.append([r.scores[c] for c in clf.categories])
            truth.append(y)
            images.append({
                "file": str(r.path.relative_to(Path(test_dir))) if r.path.is_relative_to(Path(test_dir)) else str(r.path),
                "labels": [c for c, v in zip(clf.categories, y) if v > 0.5],
                "predicted": r.categories,
                "scores": r.scores,
            })
        if not rows:
            raise errors.InputError("No usable test photos were found.", path=test_dir)
        metrics = compute_metrics(np.array(truth), np.array(rows), clf.thresholds, clf.categories)
        metrics["images"] = images
        metrics["failed"] = failed
        metrics["warnings"] = photos.warnings
        metrics["background_photos"] = scored.background_photos
        return metrics
