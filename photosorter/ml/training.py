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

import copy
import dataclasses
import functools
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .. import errors
from ..jobs import CancelToken, ProgressFn, no_progress
from .background import MIN_BACKGROUND_PHOTOS
from .calibration import choose_threshold, compute_metrics
from .classifier import Classifier
from .confusion import record as confusion_record
from .dataset import LabeledPhotos, scan_labeled_folder
from .features import Embedder, Embedding, EmbedFailure
from .head import Head, HeadEnsemble
from .model_description import ModelDescription
from .openset import DEFAULT_QUANTILE, ConceptGate, Gate, NeighbourGate
from .person import FaceEvidence, examine_faces
from .pu_threshold import pu_threshold
from .quality import MIN_EVIDENCE, estimate_quality, summary_line
from .reliable_negatives import background_key, reliable_negatives
from .train_progress import TrainProgress

FEW_EXAMPLES = 10


@dataclass
class TrainOptions:
    views: int = 4  # clean view + 3 augmented views per example
    folds: int = 5
    max_epochs: int = 200
    patience: int = 6  # heads reach their best validation loss within a few epochs
    warm_patience: int = 2  # a head continued from the previous model starts near its optimum
    lr: float = 1e-3
    weight_decay: float = 1e-3
    batch_size: int = 256
    near_duplicate: float = 0.97  # cosine similarity that makes two examples one group
    gate_quantile: float = DEFAULT_QUANTILE
    seed: int = 0
    faces: bool = True  # issue 17: notice categories about people and use faces as evidence for them
    #: learn from the stored background's photos unlike every category as "none of these"
    #: (reliable_negatives.py); off only to measure what it does (benchmarks/accuracy.py)
    background_negatives: bool = True


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


def _rarest_label_count(labels: np.ndarray, groups: np.ndarray, g: int) -> float:
    """How many examples the rarest category of group ``g`` has (inf for "none of these" groups):
    groups are placed rarest first, so scarce categories get spread over the folds."""
    lab = labels[groups == g].max(0)
    return float(labels.sum(0)[lab > 0].min()) if lab.any() else float("inf")


def assign_folds(labels: np.ndarray, groups: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Group-aware, roughly label-stratified fold ids: groups are dealt round-robin, rarest
    label first, so every fold sees every category when the counts allow it."""
    rng = np.random.default_rng(seed)
    uniq = np.unique(groups)
    rng.shuffle(uniq)
    order = sorted(uniq, key=lambda g: _rarest_label_count(labels, groups, g))
    fold_of_group = {g: i % k for i, g in enumerate(order)}
    return np.array([fold_of_group[g] for g in groups])


def fold_key(sha: str) -> str:
    """How the model file remembers which fold an example was held out in (short, still unique)."""
    return sha[:16]


def continue_folds(
    labels: np.ndarray, groups: np.ndarray, shas: list[str], previous: dict[str, int], k: int
) -> tuple[np.ndarray, set[int]]:
    """Fold ids that keep every known example where the previous model held it out.

    That is what makes continuing the previous fold heads honest: head f never trained on an
    example of fold f, before or now, so its out-of-fold scores still come from a head that never
    saw the example. New groups are dealt to the fold that has the fewest examples of their
    labels. Returns the folds and the set of folds whose old head is no longer clean (a new
    near-duplicate joined two groups from different folds): those start from scratch.
    """
    n = len(labels)
    fold = np.full(n, -1)
    tainted: set[int] = set()
    new_groups: list[int] = []
    for g in np.unique(groups):
        members = np.flatnonzero(groups == g)
        known = [previous[fold_key(shas[i])] for i in members if fold_key(shas[i]) in previous]
        known = [f for f in known if 0 <= f < k]
        if not known:
            new_groups.append(int(g))
            continue
        chosen = Counter(known).most_common(1)[0][0]
        fold[members] = chosen
        if len(set(known)) > 1:
            tainted.add(chosen)
    def rarity(g: int) -> tuple[float, str]:  # ties broken by content, not by order of arrival
        return _rarest_label_count(labels, groups, g), min(shas[i] for i in np.flatnonzero(groups == g))

    for g in sorted(new_groups, key=rarity):
        members = np.flatnonzero(groups == g)
        lab = labels[members].max(0) > 0
        loads = [(float(labels[fold == f][:, lab].sum()), int((fold == f).sum()), f) for f in range(k)]
        fold[members] = min(loads)[2]
    return fold, tainted


def _optimizer(params, opts: TrainOptions) -> torch.optim.Optimizer:
    try:  # the fused CPU kernel is ~3x faster per step (PyTorch >= 2.4)
        return torch.optim.AdamW(params, lr=opts.lr, weight_decay=opts.weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(params, lr=opts.lr, weight_decay=opts.weight_decay)


def train_head(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    opts: TrainOptions,
    seed: int,
    cancel: CancelToken | None = None,
    on_epoch: Callable[[int, float, float], None] | None = None,
    init: Head | None = None,
) -> tuple[Head, FoldCurve]:
    """One head with early stopping on validation loss; returns the best epoch's weights.

    With ``init`` (the previous model's head for this fold) training continues from its weights,
    which stay the answer unless an epoch beats them on the validation fold."""
    torch.manual_seed(seed)
    xt = torch.as_tensor(x_train, dtype=torch.float32)
    yt = torch.as_tensor(y_train, dtype=torch.float32)
    xv = torch.as_tensor(x_val, dtype=torch.float32)
    yv = torch.as_tensor(y_val, dtype=torch.float32)
    if init is not None:
        head, patience = copy.deepcopy(init), opts.warm_patience
    else:
        head, patience = Head(xt.shape[1], yt.shape[1]), opts.patience
        head.mean.copy_(xt.mean(0))
        head.scale.copy_(1.0 / xt.std(0).clamp_min(1e-4))
    with torch.no_grad():  # once, not per batch
        zt, zv = head.standardize(xt), head.standardize(xv)
    optim = _optimizer(head.parameters(), opts)
    loss_fn = nn.BCEWithLogitsLoss()
    curve = FoldCurve()
    best_loss, best_state, bad = float("inf"), None, 0
    if init is not None and len(zv):
        with torch.no_grad():
            best_loss = float(loss_fn(head.eval().forward_standardized(zv), yv))
        best_state, curve.best_epoch = {k: v.clone() for k, v in head.state_dict().items()}, -1
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(opts.max_epochs):
        if cancel is not None:
            cancel.raise_if_cancelled()
        head.train()
        perm = torch.randperm(len(zt), generator=gen)
        total = 0.0
        for i in range(0, len(zt), opts.batch_size):
            idx = perm[i : i + opts.batch_size]
            optim.zero_grad(set_to_none=True)
            loss = loss_fn(head.forward_standardized(zt[idx]), yt[idx])
            loss.backward()
            optim.step()
            total += float(loss.detach()) * len(idx)
        head.eval()
        with torch.no_grad():
            val = float(loss_fn(head.forward_standardized(zv), yv)) if len(zv) else total / len(zt)
        curve.train_loss.append(total / len(zt))
        curve.val_loss.append(val)
        if on_epoch is not None:
            on_epoch(epoch, curve.train_loss[-1], val)
        if val < best_loss - 1e-5:
            best_loss, bad, curve.best_epoch = val, 0, epoch
            best_state = {k: v.clone() for k, v in head.state_dict().items()}
        else:
            bad += 1
            if bad >= patience:
                break
    if best_state is not None:
        head.load_state_dict(best_state)
    return head.eval(), curve


def previous_heads(previous, categories: list[str], backbone: str, weights_id: str, dim: int,
                   k: int) -> tuple[list[Head], dict[str, int]] | None:
    """The previous model's fold heads and fold map, if training can continue from them.

    Only when nothing but the examples changed: same backbone weights, same categories in the
    same order, same number of folds. Anything else trains from scratch."""
    if previous is None or previous.backbone != backbone or previous.weights_id != weights_id:
        return None
    folds = previous.description.example_folds
    heads = list(getattr(previous.head, "heads", []))
    if list(previous.categories) != list(categories) or not folds or len(heads) != k:
        return None
    if any(not isinstance(h, Head) or h.fc1.in_features != dim for h in heads):
        return None
    return heads, {str(key): int(f) for key, f in folds.items()}


def make_gate(embedder_head: nn.Module | None, n_categories: int) -> Gate:
    if embedder_head is not None:
        w, b = embedder_head.weight, embedder_head.bias  # nn.Linear (ImageNet classifier)
        assert isinstance(w, torch.Tensor) and isinstance(b, torch.Tensor)
        return ConceptGate(n_categories, w.detach().numpy(), b.detach().numpy())
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
    shas: list[str] | None = None,
    previous: Classifier | None = None,
    background: np.ndarray | None = None,
    faces: FaceEvidence | None = None,
    paths: list[str] | None = None,
) -> Classifier:
    """Cross-validated training on precomputed features ``feats`` of shape (n, views, D).

    ``on_epoch(fold, epoch, train_loss, val_loss)`` feeds live curves. ``shas`` (content hashes
    of the examples) let the model remember each example's fold, so the next training can continue
    from this model (``previous``) instead of starting over: that is what makes adding a few
    examples to a thousand take a second or two. ``background``: features of the stored
    background (the user's photos in general): its photos unlike every category join the examples
    as "none of these" (reliable_negatives.py), it sets where each category ends (pu_threshold.py)
    and it gives the honest quality estimate (quality.py).
    ``paths`` (one file per example) are kept with the held-out scores, for the confusion matrix
    and the examples each category gets wrong (confusion.py)."""
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
    t_fit = time.perf_counter()
    n_examples = n
    use_bg = background is not None and len(background) >= MIN_BACKGROUND_PHOTOS
    # The user's photos that surely belong nowhere join as "none of these" (reliable_negatives.py).
    picked = (reliable_negatives(background, feats[:, 0, :], labels)
              if use_bg and background is not None and opts.background_negatives
              else np.zeros(0 if background is None else len(background), dtype=bool))
    if picked.any():
        assert background is not None
        extra = np.asarray(background, dtype=feats.dtype)[picked]
        feats = np.concatenate([feats, np.repeat(extra[:, None, :], feats.shape[1], axis=1)])
        labels = np.concatenate([labels, np.zeros((len(extra), n_cat), dtype=labels.dtype)])
        if shas is not None:  # their folds are remembered too, so continuing stays honest
            shas = list(shas) + [background_key(x) for x in extra]
        if faces is not None:  # the background keeps no faces
            faces = dataclasses.replace(faces, faces=list(faces.faces) + [None] * len(extra))
        n = len(feats)
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
    warm = previous_heads(previous, categories, backbone, weights_id, feats.shape[2], k) if shas else None
    init_heads: list[Head | None] = [None] * k
    if warm is not None and shas is not None:
        fold, tainted = continue_folds(labels, groups, shas, warm[1], k)
        init_heads = [None if f in tainted else h for f, h in enumerate(warm[0])]
    else:
        fold = assign_folds(labels, groups, k, opts.seed)
    t_heads = time.perf_counter()
    gate_rep = make_gate(imagenet_head, n_cat).represent(clean)  # once for all folds
    oof_logits = np.zeros((n, n_cat))
    oof_gate = np.ones((n, n_cat))
    oof_gate_bg = np.ones((n, n_cat))  # the same, gated against the stored background (as scoring is)
    oof_gate_bg_images = np.ones((n, n_cat))  # ... from the image features alone (no face evidence)
    heads: list[Head] = []
    curves: list[FoldCurve] = []
    for f in range(k):
        tr, va = fold != f, fold == f
        progress(f, k, f"Training: fold {f + 1} of {k}")
        x_tr = feats[tr].reshape(-1, feats.shape[2])
        y_tr = np.repeat(labels[tr], feats.shape[1], axis=0)
        head, curve = train_head(x_tr, y_tr, clean[va], labels[va], opts, seed=opts.seed * 100 + f, cancel=cancel,
                                 on_epoch=functools.partial(on_epoch, f) if on_epoch else None,
                                 init=init_heads[f])
        with torch.no_grad():
            oof_logits[va] = head(torch.as_tensor(clean[va], dtype=torch.float32)).numpy()
        fold_gate = make_gate(imagenet_head, n_cat).fit(gate_rep[tr], labels[tr], opts.gate_quantile)
        oof_gate[va] = fold_gate.gate_represented(gate_rep[va])
        if use_bg:
            oof_gate_bg[va] = fold_gate.with_background(background).gate_represented(gate_rep[va])
            oof_gate_bg_images[va] = oof_gate_bg[va]  # before face evidence: the stored background's scale
        if faces is not None:  # issue 17: face evidence learned from this fold's training part only
            oof_gate[va] = faces.fold_gate(oof_gate[va], tr, va, labels)
            if use_bg:
                oof_gate_bg[va] = faces.fold_gate(oof_gate_bg[va], tr, va, labels)
        heads.append(head)
        curves.append(curve)
        best = "kept the previous weights" if curve.best_epoch < 0 else f"best at pass {curve.best_epoch + 1}"
        progress(f + 1, k, f"Training: round {f + 1} of {k} ({best})")
    t_calibrate = time.perf_counter()
    oof_scores = 1.0 / (1.0 + np.exp(-oof_logits)) * oof_gate
    # The picked background photos count as "none of these" for the cross-validated threshold;
    # the figures shown describe the user's own examples.
    thresholds = np.array([choose_threshold(oof_scores[:, j], labels[:, j]) for j in range(n_cat)])
    gate = make_gate(imagenet_head, n_cat).fit(gate_rep, labels, opts.gate_quantile)
    ex = slice(0, n_examples)
    metrics = compute_metrics(labels[ex], oof_scores[ex], thresholds, categories)
    people = faces.fit(np.ones(n, dtype=bool), labels) if faces is not None else None  # issue 17
    clf = Classifier(backbone, weights_id, list(categories), thresholds, HeadEnsemble(heads).eval(), gate, metrics,
                     people=people)
    if use_bg:
        assert background is not None
        # float32 like the scores the app decides on (a float64 1.0 is not a float32 0.99999994)
        # The stored background keeps image features only, no faces: it is scored without face
        # evidence (Classifier.scores would demand it), on the scale of the image features alone.
        on_bg = clf.with_background(background)
        bg_scores = (on_bg.head_probabilities(background) * on_bg.gate.gate(background)).astype(np.float32)
        oof_bg = (1.0 / (1.0 + np.exp(-oof_logits)) * oof_gate_bg).astype(np.float32)
        # Face-count ("about faces") categories: their face evidence only ever *multiplies* the
        # image score by a gate <= 1, so the image-only score is an upper bound of the score the
        # app decides on. Their examples are put on that same image-only scale, and the threshold
        # chosen there is conservative when applied to the full score: every photo it admits also
        # clears it without faces, so the background count it was chosen on can only overstate
        # what the category takes in. Person categories replace the image gate by identity, which
        # the stored background cannot show: they keep their cross-validated threshold.
        kinds = people.kinds if people is not None else [None] * n_cat
        image_scale = [j for j, kind in enumerate(kinds) if kind == "faces"]
        oof_bg[:, image_scale] = (1.0 / (1.0 + np.exp(-oof_logits[:, image_scale]))
                                  * oof_gate_bg_images[:, image_scale]).astype(np.float32)
        # The picked photos are scored by the one fold head that never learned from them: the
        # final heads all did, and would call them surer negatives than a new photo like them.
        bg_scores[picked] = oof_bg[n_examples:]
        oof_bg, labels_ex = oof_bg[ex], labels[ex]
        identity = {j for j, kind in enumerate(kinds) if kind == "person"}
        if len(background) >= MIN_EVIDENCE:  # the user's photos say where each category ends (pu_threshold.py)
            for j in sorted(set(range(n_cat)) - identity):
                thresholds[j] = max(thresholds[j], pu_threshold(bg_scores[:, j], oof_bg[labels_ex[:, j] > 0.5, j],
                                                                float(thresholds[j])))
            clf.thresholds = thresholds
            metrics = compute_metrics(labels_ex, oof_scores[ex], thresholds, categories)
            clf.metrics = metrics
        quality = estimate_quality(bg_scores, oof_bg, labels_ex, thresholds, categories, seed=opts.seed)
    else:
        quality = estimate_quality(np.zeros((0 if background is None else len(background), n_cat)),
                                   np.zeros((0, n_cat)), np.zeros((0, n_cat)), thresholds, categories)
    clf.description = ModelDescription(
        examples=int(n_examples),
        examples_per_category={c: int(v) for c, v in zip(categories, counts)},
        none_examples=int((labels[ex].sum(1) == 0).sum()),
        background_negatives=int(picked.sum()),
        folds=k,
        views=int(feats.shape[1]),
        options=asdict(opts),
        curves=tuple(asdict(c) for c in curves),
        metrics_note="cross-validated: each example scored by a head that never saw it",
        notes=tuple(notes),
        quality=tuple(quality),
        quality_summary=summary_line(quality),
        # the held-out scores the metrics come from, per example (confusion.py)
        out_of_fold=confusion_record(oof_scores[ex], labels[ex], paths if paths is not None else [""] * n_examples),
        continued_folds=sum(h is not None for h in init_heads),
        example_folds={fold_key(sha): int(f) for sha, f in zip(shas, fold)} if shas else {},
        timings={"grouping": round(t_heads - t_fit, 3), "heads": round(t_calibrate - t_heads, 3),
                 "calibration_and_gate": round(time.perf_counter() - t_calibrate, 3)},
        people=faces.about if faces is not None else None,  # issue 17
    )
    return clf


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
    previous: Classifier | None = None,
    background: np.ndarray | None = None,
) -> TrainResult:
    """Examples → trained classifier. With ``previous`` (the current model) training continues
    from it when only the examples changed; otherwise it starts from scratch. ``background``:
    the stored background's features (background.py), for the estimate of how the model does on
    the user's other photos."""
    opts = opts or TrainOptions()
    start = time.perf_counter()
    n = len(photos.paths)
    # One source for the bar and its text (train_progress.py): reading photos, then the folds.
    tracker = progress if isinstance(progress, TrainProgress) else TrainProgress(progress)

    def read_progress(done: int, _t: int, msg: str) -> None:
        tracker.reading_progress(done, n, msg)

    tracker.reading_progress(0, n)
    results = embedder.embed(photos.paths, views=opts.views, progress=read_progress, cancel=cancel)
    embed_seconds = time.perf_counter() - start
    feats, labels, shas, skipped = collect_features(results, photos.labels)
    first_file: dict[str, str] = {}
    for r in results:
        if isinstance(r, Embedding):
            first_file.setdefault(r.sha256, str(r.path))
    warnings = list(photos.warnings)
    dupes = n - len(skipped) - len(feats)
    if dupes:
        warnings.append(f"{dupes} duplicate example photo(s) (identical files) were counted once.")
    for c, k in zip(photos.categories, labels.sum(0)):
        if 0 < k < FEW_EXAMPLES:
            warnings.append(f"{c}: only {int(k)} examples — add more (10 or more) for reliable sorting.")

    def fold_progress(done: int, k: int, msg: str) -> None:
        tracker.fold_progress(done, k, msg.rpartition("(")[2].rstrip(")") if msg.endswith(")") else "")

    def epoch_done(fold: int, epoch: int, train_loss: float, val_loss: float) -> None:
        tracker.epoch_done(fold, epoch)
        if on_epoch is not None:
            on_epoch(fold, epoch, train_loss, val_loss)

    evidence = examine_faces(embedder, results, shas, labels, photos.categories, opts.gate_quantile, cancel,
                             lambda m: tracker.reading_progress(n, n, m)) if opts.faces else None  # issue 17
    clf = fit_classifier(
        feats, labels, photos.categories,
        backbone=embedder.spec.name, weights_id=embedder.model.weights_id,
        imagenet_head=embedder.model.imagenet_head, opts=opts, progress=fold_progress, cancel=cancel, on_epoch=epoch_done,
        shas=shas, previous=previous, background=background, faces=evidence, paths=[first_file[s] for s in shas],
    )
    seconds = time.perf_counter() - start
    warnings += clf.description.notes
    clf.description = dataclasses.replace(
        clf.description, warnings=tuple(warnings), skipped=tuple(skipped), train_seconds=seconds,
        timings={"features": round(embed_seconds, 3), **clf.description.timings})
    return TrainResult(clf, skipped, warnings, seconds)


def train_from_folder(
    examples_dir: str | Path,
    embedder: Embedder,
    opts: TrainOptions | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
    previous: Classifier | None = None,
    background: np.ndarray | None = None,
) -> TrainResult:
    return train_from_photos(scan_labeled_folder(examples_dir), embedder, opts, progress, cancel, previous=previous,
                             background=background)
