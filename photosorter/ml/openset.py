"""Keeping photos that belong to no category out of every category.

A sigmoid head trained only on positive examples of a few categories has never seen "anything
else", so it happily scores a sunset as 0.9 "Bees". The gate answers a different question
for each category: *does this photo look like the examples of that category, more than like
photos in general?*

``ConceptGate`` (backbones with an ImageNet head): the backbone's own 1000-class ImageNet
classifier describes a photo as a distribution p(x) over concepts ("ant", "daisy", "plate",
"web site", ...). A category c is summarised by the mean concept profile m_c of its examples,
"photos in general" by a background profile b. Under a latent-concept model the density ratio
P(x | c) / P(x | background) = (p(x)·m_c / π) / (p(x)·b / π) (π: ImageNet's flat class prior), so

    familiarity_c(x) = log(p(x)·m_c) − log(p(x)·b)

The background is ImageNet's flat prior by default. When we know what the user's photos look like
— the folder being sorted, the camera roll being watched — its mean profile replaces it (shrunk
toward the flat prior while few photos are known). That is positive-unlabelled learning without
labels or retraining: on the open-set dev check it lifts the AUROC of "member vs unrelated photo"
from 0.92 to 0.97.

``NeighbourGate`` (backbones without one, e.g. ``tiny``): mean cosine similarity to the k
nearest examples of the category; it ignores the background.

Calibration is conformal-style and uses positives only: each example is scored against the
*other* examples of its category (leave one out); τ_c is the ``quantile`` of those scores, i.e.
about that share of genuine members would fail the gate. Below τ_c the gate decays smoothly
(in units of the spread of the held-out scores) instead of cutting hard, so scores stay
continuous for threshold sliders (steeply: see DECAY). τ is recomputed whenever the background
changes.
"""

from __future__ import annotations

import copy

import numpy as np

DEFAULT_QUANTILE = 0.05
TEMPERATURE = 2.0  # softens ImageNet probabilities so secondary concepts still count
MIN_SCORE_THRESHOLD = 0.05  # the lowest per-category threshold calibration may choose
BOUNDARY_WIDTH = 0.3  # in units of the held-out spread
# gate = exp(-DECAY * (τ - fam) / spread) below τ. The calibrated cut-off τ must *be* the
# boundary, whatever threshold calibration picks for the head: a photo BOUNDARY_WIDTH spreads
# below τ must end up under the lowest possible threshold, so DECAY = ln(1/0.05) / 0.3 ≈ 10.
# (A gentler decay of 3 let unfamiliar photos through whenever the head was confident and the
# category's threshold was low: 68% instead of 82% of unrelated photos kept out on the dev check.)
DECAY = float(np.log(1.0 / MIN_SCORE_THRESHOLD) / BOUNDARY_WIDTH)
NEIGHBOURS = 5
BACKGROUND_PRIOR_PHOTOS = 20.0  # the flat prior counts as this many photos when mixing
_ROWS = 256  # leave-one-out similarities are computed this many examples at a time


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _l2(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


class Gate:
    """Per-category familiarity with calibrated cut-offs. Subclasses define the score."""

    kind = "base"

    def __init__(self, n_categories: int, quantile: float = DEFAULT_QUANTILE) -> None:
        self.n_categories = n_categories
        self.quantile = quantile
        self.tau = np.full(n_categories, -np.inf, dtype=np.float64)
        self.spread = np.ones(n_categories, dtype=np.float64)

    # -- subclass API -------------------------------------------------------------
    def represent(self, feats: np.ndarray) -> np.ndarray:
        """What the gate compares photos by, computed from features. Training computes it once
        for all examples and passes slices of it to ``fit`` and ``gate_represented`` for every fold."""
        return np.atleast_2d(feats)

    def _store(self, c: int, rep: np.ndarray) -> None:
        """Keep what category c needs from its examples' representations."""
        raise NotImplementedError

    def _held_out(self, c: int) -> np.ndarray:
        """Leave-one-out familiarity of category c's examples (empty if < 2)."""
        raise NotImplementedError

    def familiarity(self, rep: np.ndarray) -> np.ndarray:
        """(n, ·) representations → (n, C) familiarity scores (higher = more like the examples)."""
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------
    def fit(self, rep: np.ndarray, labels: np.ndarray, quantile: float | None = None) -> Gate:
        """Learn from the examples' :meth:`represent` output (training computes it once for all folds)."""
        if quantile is not None:
            self.quantile = quantile
        for c in range(labels.shape[1]):
            self._store(c, rep[labels[:, c] > 0.5])
        self.calibrate()
        return self

    def calibrate(self) -> None:
        for c in range(self.n_categories):
            loo = self._held_out(c)
            if len(loo) < 2:  # too few examples to estimate anything: do not gate
                self.tau[c], self.spread[c] = -np.inf, 1.0
                continue
            self.tau[c] = float(np.quantile(loo, self.quantile))
            self.spread[c] = float(max(np.std(loo), 1e-3))

    def gate(self, feats: np.ndarray) -> np.ndarray:
        """(n, C) multipliers in [0, 1]: 1 for familiar photos, decaying for unfamiliar ones."""
        return self.gate_represented(self.represent(feats))

    def gate_represented(self, rep: np.ndarray) -> np.ndarray:
        fam = self.familiarity(rep)
        deficit = np.clip((self.tau[None, :] - fam) / self.spread[None, :], 0.0, None)
        deficit = np.where(np.isfinite(deficit), deficit, 0.0)
        return np.exp(-DECAY * deficit)

    def with_background(self, feats: np.ndarray | None) -> Gate:
        """A copy calibrated against the given photos as "photos in general" (None: default)."""
        return self


class ConceptGate(Gate):
    kind = "concept"

    def __init__(self, n_categories: int, imagenet_weight: np.ndarray, imagenet_bias: np.ndarray,
                 quantile: float = DEFAULT_QUANTILE) -> None:
        super().__init__(n_categories, quantile)
        self.w = imagenet_weight.astype(np.float32)
        self.b = imagenet_bias.astype(np.float32)
        k = self.w.shape[0]
        self.flat = np.full(k, 1.0 / k)
        self.background = self.flat.copy()
        self.background_photos = 0
        self.example_concepts: list[np.ndarray] = [np.zeros((0, k))] * n_categories
        self.profiles = np.tile(self.flat, (n_categories, 1))

    def concepts(self, feats: np.ndarray) -> np.ndarray:
        return _softmax((np.atleast_2d(feats).astype(np.float32) @ self.w.T + self.b) / TEMPERATURE).astype(np.float64)

    def represent(self, feats: np.ndarray) -> np.ndarray:
        return self.concepts(feats)

    def _store(self, c: int, rep: np.ndarray) -> None:
        self.set_example_concepts(c, rep if len(rep) else np.zeros((0, len(self.flat))))

    def set_example_concepts(self, c: int, p: np.ndarray) -> None:
        # Kept at float16 precision, as stored in model files, so a loaded gate is identical.
        p = p.astype(np.float16).astype(np.float64)
        self.example_concepts[c] = p
        if len(p):
            self.profiles[c] = p.mean(axis=0)

    def _held_out(self, c: int) -> np.ndarray:
        p = self.example_concepts[c]
        if len(p) < 2:
            return np.zeros(0)
        others = (p.sum(axis=0)[None, :] - p) / (len(p) - 1)
        num = np.einsum("ik,ik->i", p, others)
        return np.log(np.maximum(num, 1e-30)) - np.log(np.maximum(p @ self.background, 1e-30))

    def familiarity(self, p: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(p @ self.profiles.T, 1e-30)) - np.log(np.maximum(p @ self.background, 1e-30))[:, None]

    def with_background(self, feats: np.ndarray | None) -> ConceptGate:
        out = copy.copy(self)
        out.tau, out.spread = self.tau.copy(), self.spread.copy()
        if feats is None or len(feats) == 0:
            out.background, out.background_photos = self.flat.copy(), 0
        else:
            n = len(feats)
            mean = self.concepts(feats).mean(axis=0)
            out.background = (n * mean + BACKGROUND_PRIOR_PHOTOS * self.flat) / (n + BACKGROUND_PRIOR_PHOTOS)
            out.background_photos = n
        out.calibrate()
        return out


class NeighbourGate(Gate):
    kind = "neighbour"

    def __init__(self, n_categories: int, quantile: float = DEFAULT_QUANTILE) -> None:
        super().__init__(n_categories, quantile)
        self.examples: list[np.ndarray] = [np.zeros((0, 1), dtype=np.float32)] * n_categories

    def represent(self, feats: np.ndarray) -> np.ndarray:
        return _l2(np.atleast_2d(feats).astype(np.float32))

    def _store(self, c: int, rep: np.ndarray) -> None:
        ex = rep.astype(np.float16).astype(np.float32) if len(rep) else None
        self.examples[c] = ex if ex is not None else np.zeros((0, 1), dtype=np.float32)

    def _held_out(self, c: int) -> np.ndarray:
        ex = self.examples[c]
        if len(ex) < 2:
            return np.zeros(0)
        k = min(NEIGHBOURS, len(ex) - 1)
        out = np.empty(len(ex), dtype=np.float32)
        for start in range(0, len(ex), _ROWS):  # in blocks: never an (n, n) matrix in memory
            sims = ex[start : start + _ROWS] @ ex.T
            sims[np.arange(len(sims)), np.arange(start, start + len(sims))] = -np.inf
            out[start : start + len(sims)] = np.sort(sims, axis=1)[:, -k:].mean(axis=1)
        return out

    def familiarity(self, q: np.ndarray) -> np.ndarray:
        out = np.full((len(q), len(self.examples)), np.inf)
        for c, ex in enumerate(self.examples):
            if len(ex) == 0 or ex.shape[1] != q.shape[1]:
                continue
            k = min(NEIGHBOURS, len(ex))
            out[:, c] = np.sort(q @ ex.T, axis=1)[:, -k:].mean(axis=1)
        return out
