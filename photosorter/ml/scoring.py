"""A trained classifier and its backbone, loaded once, scoring photos and labelled folders."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .. import errors
from ..jobs import CancelToken, ProgressFn, no_progress
from .calibration import compute_metrics
from .classifier import Classifier, read_model_file
from .dataset import scan_labeled_folder
from .features import Embedder, EmbedFailure, FeatureCache
from .person import analyzer_for
from .preprocess import eval_view


@dataclass
class PhotoScore:
    path: Path
    sha256: str
    scores: dict[str, float]
    categories: list[str]  # those at or above their threshold


@dataclass
class PhotoFailure:
    path: Path
    reason: str  # stable code, e.g. "truncated"
    message: str


#: Below this many photos in a batch, their mix says too little about "photos in general".
MIN_BACKGROUND_PHOTOS = 20


class Scorer:
    def __init__(self, classifier: Classifier, embedder: Embedder) -> None:
        if embedder.model.weights_id != classifier.weights_id:
            raise errors.ModelError(
                f"This model was trained on {classifier.backbone} weights '{classifier.weights_id}', but the "
                f"loaded backbone has '{embedder.model.weights_id}'. Use the same --weights file as for training."
            )
        self.classifier = classifier
        self.embedder = embedder
        self.threshold_overrides: dict[str, float] = {}  # the user's slider choices, by category
        self.last_background_photos = 0  # photos the gate actually measured against (0: flat prior)
        self.last_background_pool = 0  # photos offered as background (batch + history)

    @classmethod
    def from_file(cls, model_path: str | Path, weights: str | Path | None = None, cache: FeatureCache | None = None) -> "Scorer":
        tensors, doc = read_model_file(Path(model_path))  # read and verified once
        embedder = Embedder(doc["backbone"], weights=weights, cache=cache)
        clf = Classifier.from_contents(tensors, doc, Path(model_path), imagenet_head=embedder.model.imagenet_head)
        return cls(clf, embedder)

    def image_scores(self, image, faces=None) -> np.ndarray:
        """Final per-category scores of one decoded photo, through the same view `score_paths` uses.
        ``faces``: its FaceResult when known (e.g. ``self.faces_of(path)``); found in ``image`` if needed."""
        feats = self.embedder.forward_u8(eval_view(image, self.embedder.spec)[None])
        if self.classifier.people is not None and faces is None:  # issue 17
            faces = analyzer_for(self.embedder).for_image(image)
        return self.classifier.scores(feats, faces=None if faces is None else [faces])[0]

    def faces_of(self, path: str | Path, sha: str | None = None):
        """The photo's faces (cached), or None when this model has no categories about people (issue 17)."""
        if self.classifier.people is None:
            return None
        return analyzer_for(self.embedder).for_path(path, sha)

    def score_paths(
        self,
        paths: Iterable[str | Path],
        progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None,
        total: int | None = None,
        background: str = "auto",
        history: np.ndarray | None = None,
    ) -> Iterator[PhotoScore | PhotoFailure]:
        """Score photos in order. ``background="auto"``: when there are at least
        MIN_BACKGROUND_PHOTOS, the batch itself is the picture of "photos in general" that the
        familiarity gate compares against (the folder being sorted is a sample of the user's
        photos); all photos are embedded first, then scored. ``history``: features of photos seen
        before (e.g. by the watcher), added to the batch's. ``"off"``: stream, flat prior."""
        if background not in ("auto", "off"):
            raise errors.UsageError("background must be 'auto' or 'off'")
        results = self.embedder.iter_embed(paths, views=1, progress=progress, cancel=cancel, total=total)
        clf = self.classifier
        self.last_batch_features = np.zeros((0, self.embedder.spec.feature_dim), dtype=np.float32)
        if background == "auto":
            results = list(results)
            feats = [r.features[0] for r in results if not isinstance(r, EmbedFailure)]
            if feats:
                self.last_batch_features = np.stack(feats)
            pool = self.last_batch_features if history is None or not len(history) else np.concatenate([history, self.last_batch_features])
            self.last_background_pool = len(pool)
            if len(pool) >= MIN_BACKGROUND_PHOTOS:
                clf = clf.with_background(pool)
        self.last_background_photos = clf.background_photos
        thresholds = np.array([self.threshold_overrides.get(c, t) for c, t in zip(clf.categories, clf.thresholds)])
        for r in results:
            if isinstance(r, EmbedFailure):
                yield PhotoFailure(r.path, r.error.reason, str(r.error))
                continue
            faces = self.faces_of(r.path, r.sha256)  # issue 17: None unless the model has person categories
            s = clf.scores(r.features[:1], faces=None if faces is None else [faces])[0]
            yield PhotoScore(
                r.path, r.sha256, {c: float(v) for c, v in zip(clf.categories, s)}, clf.decide(s[None], thresholds)[0]
            )

    def evaluate_folder(
        self, test_dir: str | Path, progress: ProgressFn = no_progress, cancel: CancelToken | None = None,
        background: str = "auto",
    ) -> dict:
        clf = self.classifier
        photos = scan_labeled_folder(test_dir, clf.categories)
        rows, truth, images, failed = [], [], [], []
        for r, y in zip(self.score_paths(photos.paths, progress, cancel, background=background), photos.labels):
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
        metrics["background_photos"] = self.last_background_photos
        return metrics
