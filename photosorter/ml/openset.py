"""Keeping photos that belong to no category out of every category.

A sigmoid head trained only on positive examples of a few categories has never seen "anything
else", so it happily scores a sunset as 0.9 "Bees". The gate answers a different question
for each category: *does this photo look like the examples of that category at all?*

``ConceptGate`` (backbones with an ImageNet head): the backbone's own 1000-class ImageNet
classifier describes a photo as a distribution p(x) over concepts ("ant", "daisy", "plate",
"web site", ...). A category c is summarised by the mean concept profile m_c of its examples.
Under a latent-concept model, P(x | c) / P(x) = Σ_k p_k(x) m_ck / P(k) — with ImageNet's flat
prior that is proportional to p(x)·m_c, so log(p(x)·m_c) is a likelihood-ratio familiarity.

``NeighbourGate`` (backbones without one, e.g. ``tiny``): mean cosine similarity to the k
nearest examples of the category.

Calibration is conformal-style and uses positives only: each example is scored against the
*other* examples of its category (leave one out); τ_c is the ``quantile`` of those scores, i.e.
about that share of genuine members would fail the gate. Below τ_c the gate decays smoothly
(in units of the spread of the held-out scores) instead of cutting hard, so scores stay
continuous for threshold sliders.
"""

from __future__ import annotations

import numpy as np

DEFAULT_QUANTILE = 0.05
TEMPERATURE = 2.0  # softens ImageNet probabilities so secondary concepts still count
DECAY = 3.0  # gate = exp(-DECAY * (τ - fam) / spread) below τ
NEIGHBOURS = 5


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _l2(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


class Gate:
    """Per-category familiarity with calibrated cut-offs. Subclasses define the score."""

    kind = "base"

    def __init__(self, n_categories: int) -> None:
        self.tau = np.full(n_categories, -np.inf, dtype=np.float64)
        self.spread = np.ones(n_categories, dtype=np.float64)

    # -- subclass API -------------------------------------------------------------
    def _fit_category(self, c: int, feats: np.ndarray) -> np.ndarray:
        """Store what category c needs; return leave-one-out familiarity of its examples."""
        raise NotImplementedError

    def familiarity(self, feats: np.ndarray) -> np.ndarray:
        """(n, D) features → (n, C) familiarity scores (higher = more like the examples)."""
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------
    def fit(self, feats: np.ndarray, labels: np.ndarray, quantile: float = DEFAULT_QUANTILE) -> "Gate":
        for c in range(labels.shape[1]):
            pos = feats[labels[:, c] > 0.5]
            loo = self._fit_category(c, pos)
            if len(loo) < 2:  # too few examples to estimate anything: do not gate
                self.tau[c], self.spread[c] = -np.inf, 1.0
                continue
            self.tau[c] = float(np.quantile(loo, quantile))
            self.spread[c] = float(max(np.std(loo), 1e-3))
        return self

    def gate(self, feats: np.ndarray) -> np.ndarray:
        """(n, C) multipliers in [0, 1]: 1 for familiar photos, decaying for unfamiliar ones."""
        fam = self.familiarity(feats)
        deficit = np.clip((self.tau[None, :] - fam) / self.spread[None, :], 0.0, None)
        deficit = np.where(np.isfinite(deficit), deficit, 0.0)
        return np.exp(-DECAY * deficit)


class ConceptGate(Gate):
    kind = "concept"

    def __init__(self, n_categories: int, imagenet_weight: np.ndarray, imagenet_bias: np.ndarray) -> None:
        super().__init__(n_categories)
        self.w = imagenet_weight.astype(np.float32)
        self.b = imagenet_bias.astype(np.float32)
        self.profiles = np.full((n_categories, self.w.shape[0]), 1.0 / self.w.shape[0], dtype=np.float64)

    def concepts(self, feats: np.ndarray) -> np.ndarray:
        return _softmax((feats.astype(np.float32) @ self.w.T + self.b) / TEMPERATURE).astype(np.float64)

    def _fit_category(self, c: int, feats: np.ndarray) -> np.ndarray:
        if len(feats) == 0:
            return np.zeros(0)
        p = self.concepts(feats)
        total = p.sum(axis=0)
        self.profiles[c] = total / len(p)
        if len(p) < 2:
            return np.zeros(0)
        others = (total[None, :] - p) / (len(p) - 1)
        return np.log(np.maximum(np.einsum("ik,ik->i", p, others), 1e-30))

    def familiarity(self, feats: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(self.concepts(feats) @ self.profiles.T, 1e-30))


class NeighbourGate(Gate):
    kind = "neighbour"

    def __init__(self, n_categories: int) -> None:
        super().__init__(n_categories)
        self.examples: list[np.ndarray] = [np.zeros((0, 1), dtype=np.float32)] * n_categories

    def _fit_category(self, c: int, feats: np.ndarray) -> np.ndarray:
        ex = _l2(feats.astype(np.float32))
        self.examples[c] = ex
        if len(ex) < 2:
            return np.zeros(0)
        sims = ex @ ex.T
        np.fill_diagonal(sims, -np.inf)
        k = min(NEIGHBOURS, len(ex) - 1)
        return np.sort(sims, axis=1)[:, -k:].mean(axis=1)

    def familiarity(self, feats: np.ndarray) -> np.ndarray:
        q = _l2(feats.astype(np.float32))
        out = np.full((len(q), len(self.examples)), np.inf)
        for c, ex in enumerate(self.examples):
            if len(ex) == 0 or ex.shape[1] != q.shape[1]:
                continue
            k = min(NEIGHBOURS, len(ex))
            out[:, c] = np.sort(q @ ex.T, axis=1)[:, -k:].mean(axis=1)
        return out
