"""What a trained model says about itself: a typed, frozen record instead of a free dict.

The model file keeps this under the ``info`` key of its JSON document (classifier.py), as it
always has, so files written before this type existed load unchanged. Reading is lenient on
purpose: the description is information for the user and for continuing training, never input to
scoring, so a field that is missing or of an unexpected type (an older or newer photosorter wrote
it) falls back to its default instead of refusing a model that scores fine. Keys this version does
not know are kept in ``extra`` and written back, so saving never loses what a newer version wrote.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .quality import CategoryQuality


@dataclass(frozen=True)
class ModelDescription:
    """The training summary stored with a model (see fit_classifier / train_from_photos)."""

    examples: int = 0  # distinct example photos trained on
    examples_per_category: dict[str, int] = field(default_factory=dict)
    none_examples: int = 0  # "none of these" examples (belonging to no category)
    #: photos of the stored background learned from as "none of these" (reliable_negatives.py)
    background_negatives: int = 0
    folds: int = 0
    views: int = 0
    options: dict[str, Any] = field(default_factory=dict)  # TrainOptions as a dict
    curves: tuple[dict[str, Any], ...] = ()  # per fold: train_loss, val_loss, best_epoch
    metrics_note: str = ""
    notes: tuple[str, ...] = ()
    #: The honest estimate on the user's other photos (quality.py); None: the model predates it.
    quality: tuple[CategoryQuality, ...] | None = None
    quality_summary: str | None = None
    #: every example's held-out scores and labels (confusion.record); None: the model predates it
    out_of_fold: dict[str, Any] | None = None
    continued_folds: int = 0  # folds that continued from the previous model's heads
    example_folds: dict[str, int] = field(default_factory=dict)  # example fingerprint → its fold
    timings: dict[str, float] = field(default_factory=dict)  # seconds per training stage
    people: dict[str, Any] | None = None  # issue 17: what the face evidence found, per category
    warnings: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()  # (example path, why it was not used)
    train_seconds: float | None = None
    #: train --compare-backbones: per backbone its cross-validated F1 and seconds, the winner "kept"
    backbone_comparison: tuple[dict[str, Any], ...] = ()
    #: train --fine-tune (ml/finetune.py): frozen vs fine-tuned cross-validated macro-F1, which was kept and why
    fine_tune: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # keys this version does not know

    # ----------------------------------------------------------------- file form
    def to_document(self) -> dict[str, Any]:
        """The JSON object stored as ``info`` in the model file (None fields are left out)."""
        doc: dict[str, Any] = dict(self.extra)
        for f in dataclasses.fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if value is None:
                continue
            if f.name == "quality":
                value = [q.as_dict() for q in value]
            elif f.name == "skipped":
                value = [list(s) for s in value]
            elif isinstance(value, tuple):
                value = list(value)
            doc[f.name] = value
        return doc

    @classmethod
    def from_document(cls, doc: Mapping[str, Any] | None) -> ModelDescription:
        """Read the stored ``info`` object; see the module docstring for why this is lenient."""
        doc = dict(doc or {})
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        values: dict[str, Any] = {}
        for name in known & doc.keys():
            value = _read(name, doc[name])
            if value is not _BAD:
                values[name] = value
        extra = {k: v for k, v in doc.items() if k not in known}
        return cls(**values, extra=extra)


_BAD = object()


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _read(name: str, v: Any) -> Any:
    """One stored field, checked and converted; _BAD when it is not of the expected shape."""
    if name in ("examples", "none_examples", "background_negatives", "folds", "views", "continued_folds"):
        return v if _is_int(v) else _BAD
    if name in ("metrics_note",):
        return v if isinstance(v, str) else _BAD
    if name == "quality_summary":
        return v if isinstance(v, str) else _BAD
    if name == "train_seconds":
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else _BAD
    if name in ("examples_per_category", "example_folds"):
        if isinstance(v, dict) and all(isinstance(k, str) and _is_int(n) for k, n in v.items()):
            return dict(v)
        return _BAD
    if name == "timings":
        if isinstance(v, dict) and all(isinstance(t, (int, float)) for t in v.values()):
            return dict(v)
        return _BAD
    if name == "out_of_fold":
        ok = isinstance(v, dict) and all(isinstance(v.get(k), list) for k in ("paths", "scores", "labels"))
        return dict(v) if ok and len(v["paths"]) == len(v["scores"]) == len(v["labels"]) else _BAD
    if name in ("options", "people", "fine_tune"):
        return dict(v) if isinstance(v, dict) else _BAD
    if name in ("curves", "backbone_comparison"):
        return tuple(dict(c) for c in v) if isinstance(v, list) and all(isinstance(c, dict) for c in v) else _BAD
    if name in ("notes", "warnings"):
        return tuple(v) if isinstance(v, list) and all(isinstance(s, str) for s in v) else _BAD
    if name == "skipped":
        if isinstance(v, list) and all(isinstance(s, (list, tuple)) and len(s) == 2 for s in v):
            return tuple((str(p), str(r)) for p, r in v)
        return _BAD
    if name == "quality":
        if not isinstance(v, list) or not all(isinstance(q, dict) for q in v):
            return _BAD
        names = {f.name for f in dataclasses.fields(CategoryQuality)}
        try:
            return tuple(CategoryQuality(**{k: q[k] for k in names & q.keys()}) for q in v)
        except TypeError:  # a required field (name, status, background_photos) is missing
            return _BAD
    return _BAD
