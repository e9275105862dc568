"""Training: examples → cached features → cross-validated heads → calibrated classifier.

Why cross-validation: people give a handful of examples per category. A single validation split
of 20% would leave two photos to choose a threshold from. Instead the examples are split into
K folds (near-duplicates kept together, so a burst of five shots of one dish never straddles
train and validation); each fold's head trains on the rest with early stopping on its held-out
fold, keeping its best weights. The K heads together are the model (their logits averaged), and
their out-of-fold scores — every example scored by a head that never saw it — choose each
category's threshold and give honest metrics.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from .. import errors
from ..jobs import CancelToken, ProgressFn, no_progress
from .calibration import choose_threshold, compute_metrics
from .classifier import Classifier
from .dataset import LabeledPhotos, scan_labeled_folder
from .features import Embedder, Embedding, EmbedFailure
from .head import Head, HeadEnsemble
from .openset import DEFAULT_QUANTILE, ConceptGate, Gate, NeighbourGate

FEW_EXAMPLES = 10


@dataclass
class TrainOptions:
    views: int = 4  # clean view + 3 augmented views per example
    folds: int = 5
    max_epochs: int = 200
    patience: int = 6  # heads reach their best validation loss within a few epochs
    lr: float = 1e-3
    weight_decay: float = 1e-3
    batch_size: int = 256
    near_duplicate: float = 0.97  # cosine similarity that makes two examples one group
    gate_quantile: float = DEFAULT_QUANTILE
    seed: int = 0


@dataclass
class FoldCurve:
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int = 0


@dataclass
class TrainResult:
    classifier: Classifier
    skipped: list[tuple[str, str]]  # (path, reason) of examples that could not be used
    warnings: list[str]
    seconds: float


# --------------------------------------------------------------------------- pieces


def near_duplicate_groups(feats: np.ndarray, threshold: float) -> np.ndarray:
    """Union-find over pairs with cosine similarity ≥ threshold; returns a group id per row."""
    n = len(feats)
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    x = feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
    for start in range(0, n, 512):
        sims = x[start : start + 512] @ x.T
        for a, b in zip(*np.nonzero(sims >= threshold)):
            i, j = find(start + int(a)), find(int(b))
            if i != j:
                parent[max(i, j)] = min(i, j)
    return np.array([find(i) for i in range(n)])


def assign_folds(labels: np.ndarray, groups: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Group-aware, roughly label-stratified fold ids: groups are dealt round-robin, rarest
    label first, so every fold sees every category when the counts allow it."""
    rng = np.random.default_rng(seed)
    uniq = np.unique(groups)
    rng.shuffle(uniq)
    counts = labels.sum(0)
    def key(g: int) -> float:
        lab = labels[groups == g].max(0)
        return float(counts[lab > 0].min()) if lab.any() else float("inf")
    order = sorted(uniq, key=key)
    fold_of_group = {g: i % k for i, g in enumerate(order)}
    return np.array([fold_of_group[g] for g in groups])


def train_head(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    opts: TrainOptions,
    seed: int,
    cancel: CancelToken | None = None,
    on_epoch: Callable[[int, float, float], None] | None = None,
) -> tuple[Head, FoldCurve]:
    """One head with early stopping on validation loss; returns the best epoch's weights."""
    torch.manual_seed(seed)
    xt = torch.as_tensor(x_train, dtype=torch.float32)
    yt = torch.as_tensor(y_train, dtype=torch.float32)
    xv = torch.as_tensor(x_val, dtype=torch.float32)
    yv = torch.as_tensor(y_val, dtype=torch.float32)
    head = Head(xt.shape[1], yt.shape[1])
    head.mean.copy_(xt.mean(0))
    head.scale.copy_(1.0 / xt.std(0).clamp_min(1e-4))
    optim = torch.optim.AdamW(head.parameters(), lr=opts.lr, weight_decay=opts.weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    curve = FoldCurve()
    best_loss, best_state, bad = float("inf"), None, 0
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(opts.max_epochs):
        if cancel is not None:
            cancel.raise_if_cancelled()
        head.train()
        perm = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for i in range(0, len(xt), opts.batch_size):
            idx = perm[i : i + opts.batch_size]
            optim.zero_grad(set_to_none=True)
            loss = loss_fn(head(xt[idx]), yt[idx])
            loss.backward()
            optim.step()
            total += float(loss.detach()) * len(idx)
        head.eval()
        with torch.no_grad():
            val = float(loss_fn(head(xv), yv)) if len(xv) else total / len(xt)
        curve.train_loss.append(total / len(xt))
        curve.val_loss.append(val)
        if on_epoch is not None:
            on_epoch(epoch, curve.train_loss[-1], val)
        if val < best_loss - 1e-5:
            best_loss, bad, curve.best_epoch = val, 0, epoch
            best_state = {k: v.clone() for k, v in head.state_dict().items()}
        else:
            bad += 1
            if bad >= opts.patience:
                break
    if best_state is not None:
        head.load_state_dict(best_state)
    return head.eval(), curve


def make_gate(embedder_head: nn.Module | None, n_categories: int) -> Gate:
    if embedder_head is not None:
        return ConceptGate(n_categories, embedder_head.weight.detach().numpy(), embedder_head.bias.detach().numpy())
    return NeighbourGate(n_categories)


# --------------------------------------------------------------------------- whole job


def fit_classifier(
    feats: np.ndarray,
    labels: np.ndarray,
    categories: list[str],
    *,
    backbone: str,
    weights_id: str,
    imagenet_head: nn.Module | None,
    opts: TrainOptions | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
    on_epoch: Callable[[int, int, float, float], None] | None = None,
) -> Classifier:
    """Cross-validated training on precomputed features ``feats`` of shape (n, views, D).

    ``on_epoch(fold, epoch, train_loss, val_loss)`` feeds live curves."""
    opts = opts or TrainOptions()
    n, _views, _dim = feats.shape
    n_cat = len(categories)
    counts = labels.sum(0)
    if n_cat == 0:
        raise errors.NotEnoughExamplesError("There are no categories to learn.")
    too_few = [c for c, k in zip(categories, counts) if k < 2]
    if too_few:
        raise errors.NotEnoughExamplesError(
            f"Each category needs at least 2 usable example photos; {', '.join(too_few)} "
            "has fewer. Add examples (10 or more work well)."
        )
    clean = feats[:, 0, :]
    groups = near_duplicate_groups(clean, opts.near_duplicate)
    notes: list[str] = []
    per_category_groups = [len(np.unique(groups[labels[:, j] > 0.5])) for j in range(n_cat)]
    if min(per_category_groups) < 2:
        # Keeping near-duplicates together would leave some category with nothing to hold out:
        # split its examples individually (the held-out estimates will be optimistic).
        crowded = [c for c, g in zip(categories, per_category_groups) if g < 2]
        notes.append(f"{', '.join(crowded)}: the examples are near-duplicates of each other (e.g. a burst of one "
                     "scene); add more varied photos, or the accuracy shown will be optimistic.")
        groups = np.arange(n)
    k = int(max(2, min(opts.folds, counts.min(), len(np.unique(groups)))))
    fold = assign_folds(labels, groups, k, opts.seed)
    oof_logits = np.zeros((n, n_cat))
    oof_gate = np.ones((n, n_cat))
    heads: list[Head] = []
    curves: list[FoldCurve] = []
    for f in range(k):
        tr, va = fold != f, fold == f
        x_tr = feats[tr].reshape(-1, feats.shape[2])
        y_tr = np.repeat(labels[tr], feats.shape[1], axis=0)
        head, curve = train_head(x_tr, y_tr, clean[va], labels[va], opts, seed=opts.seed * 100 + f, cancel=cancel,
                                 on_epoch=(lambda e, t, v, f=f: on_epoch(f, e, t, v)) if on_epoch else None)
        with torch.no_grad():
            oof_logits[va] = head(torch.as_tensor(clean[va], dtype=torch.float32)).numpy()
        fold_gate = make_gate(imagenet_head, n_cat).fit(clean[tr], labels[tr], opts.gate_quantile)
        oof_gate[va] = fold_gate.gate(clean[va])
        heads.append(head)
        curves.append(curve)
        progress(f + 1, k, f"Training: fold {f + 1} of {k} (best epoch {curve.best_epoch + 1})")
    oof_scores = 1.0 / (1.0 + np.exp(-oof_logits)) * oof_gate
    thresholds = np.array([choose_threshold(oof_scores[:, j], labels[:, j]) for j in range(n_cat)])
    gate = make_gate(imagenet_head, n_cat).fit(clean, labels, opts.gate_quantile)
    metrics = compute_metrics(labels, oof_scores, thresholds, categories)
    info = {
        "examples": int(n),
        "examples_per_category": {c: int(v) for c, v in zip(categories, counts)},
        "none_examples": int((labels.sum(1) == 0).sum()),
        "folds": k,
        "views": int(feats.shape[1]),
        "options": asdict(opts),
        "curves": [asdict(c) for c in curves],
        "metrics_note": "cross-validated: each example scored by a head that never saw it",
        "notes": notes,
    }
    return Classifier(backbone, weights_id, list(categories), thresholds, HeadEnsemble(heads).eval(), gate, metrics, info)


def collect_features(
    results: list[Embedding | EmbedFailure], labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[str], list[tuple[str, str]]]:
    """Drop failures and collapse byte-identical examples (merging their labels)."""
    by_sha: dict[str, int] = {}
    feats: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    shas: list[str] = []
    skipped: list[tuple[str, str]] = []
    for r, y in zip(results, labels):
        if isinstance(r, EmbedFailure):
            skipped.append((str(r.path), str(r.error)))
            continue
        if r.sha256 in by_sha:
            i = by_sha[r.sha256]
            ys[i] = np.maximum(ys[i], y)
            continue
        by_sha[r.sha256] = len(feats)
        feats.append(r.features)
        ys.append(y.copy())
        shas.append(r.sha256)
    if not feats:
        raise errors.NotEnoughExamplesError("None of the example photos could be read.")
    return np.stack(feats), np.stack(ys), shas, skipped


def train_from_photos(
    photos: LabeledPhotos,
    embedder: Embedder,
    opts: TrainOptions | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
    on_epoch: Callable[[int, int, float, float], None] | None = None,
) -> TrainResult:
    opts = opts or TrainOptions()
    start = time.perf_counter()
    n = len(photos.paths)
    # Progress is reported over one scale: reading photos, then the folds.
    total = n + opts.folds

    def read_progress(done: int, _t: int, msg: str) -> None:
        progress(done, total, f"Reading examples: {msg}")

    results = embedder.embed(photos.paths, views=opts.views, progress=read_progress, cancel=cancel)
    feats, labels, _shas, skipped = collect_features(results, photos.labels)
    warnings = list(photos.warnings)
    dupes = n - len(skipped) - len(feats)
    if dupes:
        warnings.append(f"{dupes} duplicate example photo(s) (identical files) were counted once.")
    for c, k in zip(photos.categories, labels.sum(0)):
        if 0 < k < FEW_EXAMPLES:
            warnings.append(f"{c}: only {int(k)} examples — add more (10 or more) for reliable sorting.")

    def fold_progress(done: int, k: int, msg: str) -> None:
        progress(n + round(done * opts.folds / k), total, msg)

    clf = fit_classifier(
        feats, labels, photos.categories,
        backbone=embedder.spec.name, weights_id=embedder.model.weights_id,
        imagenet_head=embedder.model.imagenet_head, opts=opts, progress=fold_progress, cancel=cancel, on_epoch=on_epoch,
    )
    seconds = time.perf_counter() - start
    warnings += clf.info.get("notes", [])
    clf.info.update({"warnings": warnings, "skipped": skipped, "train_seconds": seconds})
    return TrainResult(clf, skipped, warnings, seconds)


def train_from_folder(
    examples_dir: str | Path,
    embedder: Embedder,
    opts: TrainOptions | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> TrainResult:
    return train_from_photos(scan_labeled_folder(examples_dir), embedder, opts, progress, cancel)
