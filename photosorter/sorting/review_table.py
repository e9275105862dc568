"""A preview's decisions as arrays, so the review grid can re-decide 20,000 photos in
milliseconds while a threshold slider moves, and the person's corrections win over the model.

:func:`planner.rethreshold` builds a new Decision per photo (~0.1 s for 20,000 photos, too slow
for every slider step). Here the scores are one ``(photos × categories)`` matrix; moving a
threshold is one comparison, and the groups of the review grid ("Pets — 109", "Near the
threshold") are index arrays. A Plan (for Apply) is built only when asked, by :meth:`to_plan`,
and gives exactly what ``rethreshold`` gives, except for corrected photos.

A correction is the person's word on one photo: the categories it belongs in (an empty tuple:
none of them). It wins over the scores — a photo moved out of "ants" never goes to "ants"
however the retrained model scores it — and is shown as such."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .planner import Decision, Plan

COPY, NONE, SORTED, FAILED = 0, 1, 2, 3
OUTCOMES = ("copy", "no_category", "already_sorted", "failed")
# "Near the threshold": the score's odds within a factor e**NEAR_LOGIT of the threshold's odds
# (about ±0.12 around a threshold of 0.5, ±0.02 around 0.05). An absolute band (±0.1) put every
# photo scoring 0.00 "near" a threshold of 0.05, so the "check first" group held every photo.
NEAR_LOGIT = 0.5
#: "The category model says yes": its sigmoid at even odds or more. With a low threshold (0.05)
#: "head ≥ threshold" alone flagged 13 documents-lookalikes, none of them documents, on the
#: camera-roll dev set; at even odds it flagged 25 photos, 15 of them real members the
#: familiarity check had kept out (every missed food and vehicle, 7 of 19 missed pets).
HEAD_SAYS_YES = 0.5


def unlike_examples_mask(head: np.ndarray, scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """The rule, for one photo's row or for a whole table: the category model alone says yes (at
    even odds and at the threshold), the final score stays under the threshold — only the check that
    the photo looks like the category's examples keeps it out. The review grid, its tiles and the
    preview pane all ask this one rule."""
    return (head >= np.maximum(thresholds, HEAD_SAYS_YES)) & (scores >= 0) & (scores < thresholds)


def odds_margin(score: float, threshold: float) -> float:
    """How far a score is above (+) or below (-) its threshold in log-odds: 0.71 vs 0.76 is near,
    0.00 vs 0.05 is far (the same 0.05 apart on the probability scale)."""
    def logit(p: float) -> float:  # _logit for one number: tiles call this while painting
        p = min(max(p, 1e-4), 1 - 1e-4)
        return math.log(p / (1 - p))

    return logit(score) - logit(threshold)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


@dataclass
class Decided:
    """Every photo's outcome under some thresholds and corrections."""

    outcome: np.ndarray  # (n,) int8: COPY / NONE / SORTED / FAILED
    todo: np.ndarray  # (n, k) bool: the categories each photo is copied into
    corrected: np.ndarray  # (n,) bool: the person's word decided this photo
    thresholds: np.ndarray  # (k,)

    def counts(self) -> dict[str, int]:
        c = np.bincount(self.outcome, minlength=4)
        return {name: int(c[i]) for i, name in enumerate(OUTCOMES)}

    def per_category(self) -> np.ndarray:
        return (self.todo & (self.outcome == COPY)[:, None]).sum(axis=0)

    def key(self, i: int) -> tuple[int, tuple[int, ...]]:
        """What a photo's destination is, comparable between two Decided."""
        return int(self.outcome[i]), tuple(np.flatnonzero(self.todo[i]).tolist())


@dataclass
class ReviewTable:
    """The plan's photos as arrays (built once per preview, in one pass)."""

    plan: Plan
    categories: list[str]
    paths: list[str]
    scores: np.ndarray  # (n, k) float32; -1 where a photo has no score for a category
    done: np.ndarray  # (n, k) bool: already sorted there by an earlier run
    fixed: np.ndarray  # (n,) bool: scores do not decide (unreadable, no content hash)
    identical: np.ndarray  # (n,) bool: identical to another photo of this preview
    fixed_outcome: np.ndarray  # (n,) int8
    fixed_todo: np.ndarray  # (n, k) bool
    names_lower: list[str] = field(default_factory=list)
    row_of: dict[str, int] = field(default_factory=dict)
    head: np.ndarray | None = None  # (n, k) float32: before the familiarity check; -1 unknown

    @classmethod
    def from_plan(cls, plan: Plan, frozen: bool = False) -> ReviewTable:
        """One pass over the decisions (~30 ms for 20,000: the app builds it on the worker
        thread that made the plan). ``frozen``: every decision stays as it is whatever the
        thresholds (a past run, shown read-only)."""
        cats = list(plan.destinations) or sorted({c for d in plan.decisions for c in d.scores})
        n, k = len(plan.decisions), len(cats)
        decisions = plan.decisions
        scores = np.array([[d.scores.get(c, -1.0) for c in cats] for d in decisions], dtype=np.float32).reshape(n, k)
        done = np.zeros((n, k), dtype=bool)
        fixed = np.zeros(n, dtype=bool)
        identical = np.zeros(n, dtype=bool)
        fixed_outcome = np.full(n, NONE, dtype=np.int8)
        fixed_todo = np.zeros((n, k), dtype=bool)
        paths = [str(d.path) for d in decisions]
        code = {name: i for i, name in enumerate(OUTCOMES)}
        for i, d in enumerate(decisions):
            if d.done_before:
                done[i] = [c in d.done_before for c in cats]
            if frozen or d.outcome == "failed" or d.sha256 is None or (d.outcome == "already_sorted" and not d.scores):
                fixed[i] = True
                fixed_outcome[i] = code.get(d.outcome, NONE)
                fixed_todo[i] = [c in d.categories for c in cats]
            if d.message and d.message.startswith("identical to"):
                identical[i] = True
        names = [p.rsplit("/", 1)[-1].lower() for p in paths]
        head = np.array([[d.head.get(c, -1.0) for c in cats] for d in decisions], dtype=np.float32).reshape(n, k)
        return cls(plan, cats, paths, scores, done, fixed, identical, fixed_outcome, fixed_todo, names,
                   {p: i for i, p in enumerate(paths)}, head)

    def __len__(self) -> int:
        return len(self.paths)

    def threshold_vector(self, thresholds: Mapping[str, float]) -> np.ndarray:
        return np.array([thresholds.get(c, self.plan.thresholds.get(c, 0.5)) for c in self.categories], dtype=np.float32)

    def decide(self, thresholds: Mapping[str, float],
               corrections: Mapping[str, Sequence[str]] | None = None) -> Decided:
        """Every photo's destination under these thresholds; corrected photos go where the
        person said (minus where they already are)."""
        t = self.threshold_vector(thresholds)
        chosen = self.scores >= t[None, :]
        corrected = np.zeros(len(self), dtype=bool)
        for path, cats in (corrections or {}).items():
            i = self.row_of.get(path)
            if i is None or self.fixed[i]:
                continue
            corrected[i] = True
            chosen[i] = [c in cats for c in self.categories]
        todo = chosen & ~self.done
        outcome = np.where(chosen.any(axis=1), np.where(todo.any(axis=1), COPY, SORTED), NONE).astype(np.int8)
        outcome[self.identical] = SORTED
        todo[self.identical] = False
        outcome[self.fixed] = self.fixed_outcome[self.fixed]
        todo[self.fixed] = self.fixed_todo[self.fixed]
        return Decided(outcome, todo, corrected, t)

    def unlike_examples_of(self, i: int, thresholds: np.ndarray) -> list[str]:
        """One photo's categories that only the familiarity check keeps it out of."""
        if self.head is None or self.fixed[i]:
            return []
        mask = unlike_examples_mask(self.head[i], self.scores[i], thresholds)
        return [c for c, on in zip(self.categories, mask) if on]

    def unlike_examples(self, decided: Decided) -> np.ndarray:
        """(n, k) bool: the category model alone would put the photo there, the check that it looks
        like the category's examples keeps it out ("looks like pets, but unlike your examples")."""
        if self.head is None or not self.categories:
            return np.zeros(self.scores.shape, dtype=bool)
        return unlike_examples_mask(self.head, self.scores, decided.thresholds[None, :])

    def near(self, decided: Decided) -> np.ndarray:
        """(n,) index of the category each photo is nearest the threshold of, or -1. Also near: a
        photo that only the familiarity check keeps out of a category (the check decays steeply, so
        such photos score 0.00 and were never "near" — the group a tryout found always empty)."""
        gap = np.abs(_logit(self.scores) - _logit(decided.thresholds)[None, :])
        gap[self.scores < 0] = np.inf
        best = gap.argmin(axis=1) if self.categories else np.zeros(len(self), dtype=np.int64)
        ok = (gap[np.arange(len(self)), best] < NEAR_LOGIT) if self.categories else np.zeros(len(self), dtype=bool)
        unlike = self.unlike_examples(decided)
        if self.head is not None and self.categories:
            strongest = np.where(unlike, self.head, -1.0).argmax(axis=1)
            best = np.where(ok, best, strongest)
            ok |= unlike.any(axis=1)
        ok &= ~self.fixed & ~decided.corrected
        return np.where(ok, best, -1)

    def to_plan(self, thresholds: Mapping[str, float], corrections: Mapping[str, Sequence[str]] | None = None) -> Plan:
        """The Plan Apply carries out: ``rethreshold``'s, with the corrections applied."""
        d = self.decide(thresholds, corrections)
        out: list[Decision] = []
        for i, old in enumerate(self.plan.decisions):
            if self.fixed[i]:
                out.append(old)
                continue
            cats = [self.categories[j] for j in np.flatnonzero(d.todo[i])]
            message = old.message
            if d.corrected[i]:
                said = ", ".join(c for c in self.categories if c in (corrections or {}).get(self.paths[i], ())) or "none"
                message = f"corrected by you: {said}"
            out.append(dataclasses.replace(old, outcome=OUTCOMES[d.outcome[i]], categories=cats, message=message))
        return Plan(out, self.plan.destinations, dict(thresholds), self.plan.background_photos, self.plan.resolved,
                    self.plan.category_ids)
