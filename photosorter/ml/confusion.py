"""What the cross-validation got wrong, in a form people can act on: a confusion matrix and, per
category, the example photos it gets wrong.

Training already scores every example with a head that never saw it (training.py, "out of
fold"); those scores give the per-category precision and recall. A table of numbers does not say
*what to do*, though. The confusion matrix says which categories are mixed up with which (Lobe
and Teachable Machine show one), and the list of wrong examples shows the actual photos — often a
mislabelled example or one that belongs in two categories, fixed in a second.

Everything here is plain data (no Qt): the model file keeps the held-out scores in its
description (``ModelDescription.out_of_fold``, made by ``record``), and ``confusion``/``mistakes``
read them back with the model's thresholds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: The row and column for "no category": an example labelled "none of these", or one that no
#: category's threshold accepted.
NONE = "none"


def record(scores: np.ndarray, labels: np.ndarray, paths: Sequence[str]) -> dict:
    """The held-out scores of every example, as the model file stores them (JSON-safe, compact).

    ``scores`` (n, C): each example scored by a head that never saw it; ``labels`` (n, C) multi-hot;
    ``paths``: one file per example (its first copy when identical files were merged)."""
    return {
        "paths": [str(p) for p in paths],
        "scores": np.round(np.asarray(scores, dtype=np.float64), 4).tolist(),
        "labels": [[int(j) for j in np.flatnonzero(row > 0.5)] for row in np.asarray(labels)],
    }


@dataclass(frozen=True)
class Mistake:
    """One example a category gets wrong. ``kind``: "missed" (an example of the category that
    its threshold turned away) or "taken" (an example of something else it would take in)."""

    path: str
    category: str
    kind: str
    truth: tuple[str, ...]  # its labels ("none" when it is a none-of-these example)
    predicted: tuple[str, ...]  # where the held-out model would put it ("none" when nowhere)
    score: float  # its held-out score for ``category``
    threshold: float

    def explain(self) -> str:
        """One line for a tooltip: what is wrong, in plain words."""
        truth, pred = ", ".join(self.truth), ", ".join(self.predicted)
        said = (f"Labelled {truth}; a model that never saw it scored it {self.score:.2f} for {self.category} "
                f"(threshold {self.threshold:.2f})")
        if self.kind == "missed":
            return f"{said}, so it would go to {pred} instead."
        if self.kind == "taken":
            return f"{said}, so {self.category} would take it in (it would go to {pred})."
        return f"{said}: right."


@dataclass(frozen=True)
class Confusion:
    """``counts[i][j]``: examples labelled ``rows[i]`` that the held-out model put in ``cols[j]``.

    Both axes are the categories followed by "none". An example with several labels, or one
    accepted by several categories, counts once in every (label, predicted) pair, so a row can sum
    to more than its examples; for single-label examples (the usual case) each row sums to the
    number of examples."""

    names: list[str]
    counts: list[list[int]]
    paths: dict[tuple[int, int], list[str]]  # the examples behind each non-empty cell

    @property
    def rows(self) -> list[str]:
        return self.names

    @property
    def cols(self) -> list[str]:
        return self.names

    def wrong(self) -> int:
        """Off-diagonal total: how many (label, prediction) pairs disagree."""
        return sum(c for i, row in enumerate(self.counts) for j, c in enumerate(row) if i != j)


OutOfFold = Mapping[str, Any] | None  # ModelDescription.out_of_fold: what ``record`` made


def _held_out(oof: OutOfFold) -> tuple[list[str], np.ndarray, list[list[int]]] | None:
    if not oof or not oof.get("paths"):
        return None
    return list(oof["paths"]), np.asarray(oof["scores"], dtype=np.float64), [list(x) for x in oof["labels"]]


def available(oof: OutOfFold) -> bool:
    """Whether the model kept its held-out scores (models from older versions did not)."""
    return _held_out(oof) is not None


def _predicted(scores: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    return scores >= np.asarray(thresholds, dtype=np.float64)[None, :]


def confusion(oof: OutOfFold, categories: Sequence[str], thresholds: Sequence[float]) -> Confusion | None:
    """The confusion matrix of the held-out predictions at ``thresholds`` (None: not recorded)."""
    held = _held_out(oof)
    if held is None:
        return None
    paths, scores, labels = held
    names = [*categories, NONE]
    none = len(categories)
    counts = [[0] * len(names) for _ in names]
    cells: dict[tuple[int, int], list[str]] = {}
    pred = _predicted(scores, thresholds)
    for i, path in enumerate(paths):
        truth = labels[i] or [none]
        got = [int(j) for j in np.flatnonzero(pred[i])] or [none]
        for t in truth:
            for p in got:
                counts[t][p] += 1
                cells.setdefault((t, p), []).append(path)
    return Confusion(names, counts, cells)


def mistakes(oof: OutOfFold, categories: Sequence[str], thresholds: Sequence[float], category: str) -> list[Mistake]:
    """The examples ``category`` gets wrong: its examples it would miss, then the other examples it
    would take in; the worst first (furthest from the threshold on the wrong side)."""
    held = _held_out(oof)
    if held is None or category not in categories:
        return []
    paths, scores, labels = held
    j = list(categories).index(category)
    t = float(thresholds[j])
    pred = _predicted(scores, thresholds)
    out: list[Mistake] = []
    for i, path in enumerate(paths):
        truth = tuple(categories[k] for k in labels[i]) or (NONE,)
        got = tuple(categories[int(k)] for k in np.flatnonzero(pred[i])) or (NONE,)
        member, taken = j in labels[i], bool(pred[i, j])
        if member != taken:
            out.append(Mistake(path, category, "missed" if member else "taken", truth, got, float(scores[i, j]), t))
    return sorted(out, key=lambda m: (m.kind != "missed", -abs(m.score - m.threshold)))


def cell_mistakes(oof: OutOfFold, categories: Sequence[str], thresholds: Sequence[float], row: int,
                  col: int) -> list[Mistake]:
    """The examples behind one cell of the confusion matrix (labelled ``row``, put in ``col``)."""
    held = _held_out(oof)
    if held is None:
        return []
    paths, scores, labels = held
    none = len(categories)
    pred = _predicted(scores, thresholds)
    out = []
    for i, path in enumerate(paths):
        truth_idx = labels[i] or [none]
        got_idx = [int(k) for k in np.flatnonzero(pred[i])] or [none]
        if row in truth_idx and col in got_idx:
            # seen from the labelled category when it has one (it missed the photo), else from the
            # category that took it in
            j = row if row != none else col
            kind = "missed" if row != none else "taken"
            if j == none:  # a none example that went nowhere: not a mistake, shown as it is
                j, kind = 0, "right"
            truth = tuple(categories[k] for k in labels[i]) or (NONE,)
            got = tuple(categories[k] for k in got_idx if k != none) or (NONE,)
            score = float(scores[i, j]) if len(categories) else 0.0
            out.append(Mistake(path, categories[j] if len(categories) else NONE,
                               "right" if row == col else kind, truth, got, score, float(thresholds[j])))
    return out


def relabel(library, path: str, to: str | None) -> None:
    """Make ``path`` an example of ``to`` only (None: "none of these"), through the library's API:
    removed from every category (and the none list) it was in, then added where it belongs."""
    library.relabel(path, [to] if to is not None else [])


def remove(library, path: str) -> None:
    """Stop using ``path`` as an example anywhere (the file itself is never touched)."""
    for c in library.categories:
        library.remove_example(c.name, path)
    library.remove_example(None, path)
