"""Compare backbones on the user's own examples and keep the best one (issue 13, item 6).

Why: which pretrained network describes *these* categories best depends on the categories (the
design this product comes from trains its head on several backbones and keeps the one with the
best F1 on held-out examples). Training already scores every example with a head that never saw
it (cross-validation, training.py), so the comparison costs one training per backbone and no
held-out photos: the winner is the backbone whose cross-validated macro-F1 is highest; a tie
keeps the one listed first (list the cheaper backbone first). The comparison is kept in the
model's info (``backbone_comparison``) so the CLI and the Train tab can show it.

Caveat stated where the figures are shown: cross-validated F1 on the examples says nothing about
the photos the user never labelled (the quality estimate, quality.py, does), and with few
examples differences of a point or two are noise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import errors
from ..jobs import CancelToken, ProgressFn, no_progress, stage
from .dataset import LabeledPhotos
from .features import Embedder, FeatureCache
from .training import TrainOptions, TrainResult, train_from_photos


@dataclass
class Comparison:
    result: TrainResult  # the winner's training
    embedder: Embedder  # the winner's backbone, loaded
    rows: list[dict]  # per backbone: name, macro_f1, micro_f1, seconds, or error


def compare_backbones(
    photos: LabeledPhotos,
    names: list[str],
    opts: TrainOptions | None = None,
    cache: FeatureCache | None = None,
    background_for: Callable[[Embedder], np.ndarray | None] = lambda _e: None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
    weights: dict[str, str] | None = None,
    on_epoch: Callable[[int, int, float, float], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> Comparison:
    """Train on every backbone in ``names`` and keep the one with the best cross-validated macro-F1.

    A backbone that cannot be loaded (weights missing, offline) is reported in its row and
    skipped; if none can be loaded the first one's error is raised. ``background_for(embedder)``
    gives that backbone's stored background (features of different networks are not comparable).
    ``on_stage(text)`` says which backbone trains next and ``on_epoch`` feeds its loss curves, so the
    Train tab shows each training live instead of a still chart for minutes."""
    if not names:
        raise errors.UsageError("Name at least one backbone to compare.")
    rows: list[dict] = []
    best: tuple[float, int, TrainResult, Embedder] | None = None
    first_error: errors.PhotosorterError | None = None
    unique = list(dict.fromkeys(names))  # each once, in the order given
    for i, name in enumerate(unique):
        part = stage(progress, i / len(unique), (i + 1) / len(unique))  # one bar for the whole comparison

        def step(done: int, total: int, msg: str, name: str = name, part: ProgressFn = part) -> None:
            part(done, total, f"{name}: {msg}")

        try:
            embedder = Embedder(name, weights=(weights or {}).get(name), cache=cache)
        except errors.WeightsUnavailableError as exc:
            rows.append({"backbone": name, "error": str(exc)})
            first_error = first_error or exc
            continue
        if on_stage is not None:
            on_stage(f"{name} ({i + 1} of {len(unique)})")
        result = train_from_photos(photos, embedder, opts, progress=step, cancel=cancel, on_epoch=on_epoch,
                                   background=background_for(embedder))
        m = result.classifier.metrics
        rows.append({"backbone": name, "macro_f1": round(float(m.get("macro_f1", 0.0)), 4),
                     "micro_f1": round(float(m.get("micro_f1", 0.0)), 4), "seconds": round(result.seconds, 2)})
        score = float(m.get("macro_f1", 0.0))
        if best is None or score > best[0]:
            best = (score, i, result, embedder)
    if best is None:
        assert first_error is not None
        raise first_error
    _score, _i, result, embedder = best
    for row in rows:
        row["kept"] = row["backbone"] == embedder.spec.name
    clf = result.classifier
    clf.description = dataclasses.replace(clf.description, backbone_comparison=tuple(rows))
    return Comparison(result, embedder, rows)
