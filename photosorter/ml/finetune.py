"""Opt-in fine-tuning of the top of the backbone, kept only when it helps (issue 13, item 6).

Why opt-in and why only the top: the frozen backbone with a cross-validated head (training.py) is
cheap and, with 20 examples per category, hard to beat. Fine-tuning the *last* layers of the
network (for EfficientNet-Lite: the final 1×1 convolution 320→1280 and its batch norm, 410k
weights) can adapt the features to the user's categories without the cost or the overfitting of
training the whole network on a laptop CPU:

* the frozen part's activations (the input of the top) are computed once per example and view
  (the same clean + augmented views as the frozen training: the light augmentation), so each
  epoch runs only the top (about a tenth of the network) forward and backward;
* each cross-validation fold starts from that fold's *frozen* head (same folds as the frozen
  training, read from the model's fold map) and trains top + head with a small learning rate for a
  few epochs, keeping the epoch with the best loss on the held-out fold (the frozen start counts:
  a fold that never improves stays frozen);
* every example is then scored by a fold model that never saw it, for the fine-tuned *and* the
  frozen fold models on the same activations, thresholds are chosen on those held-out scores, and
  the fine-tuned model is kept **only when its cross-validated macro-F1 is higher**. Both figures
  and the reason are stored in the model's description (``fine_tune``).

When kept, the top is trained once more on all examples (for the median best epoch count of the
folds), stored in the model file (``backbone_top.*`` tensors; the model's ``weights_id`` names
the base weights plus a digest of the top), and the ordinary training runs on the fine-tuned
features, so scoring, the gate and every later path work unchanged through an
:class:`Embedder` whose top is replaced (:func:`fine_tuned_embedder`). The figures shown for a
kept model are the held-out ones of the fine-tuning stage (the final top saw every example).
A fine-tuned model has its own feature cache entries and its own stored background (features of
different weights are not comparable), so the estimate on the user's other photos starts empty.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .. import errors, imaging, media
from ..jobs import CancelToken, ProgressFn, no_progress, stage
from .backbones import _state_digest
from .calibration import choose_threshold, compute_metrics
from .dataset import LabeledPhotos
from .features import Embedder
from .head import HeadEnsemble
from .preprocess import augmented_view, eval_view, model_input
from .training import TrainOptions, TrainResult, fold_key, train_from_photos

#: How many of the last modules of each backbone's ``body`` are fine-tuned. EfficientNet-Lite:
#: conv_head + bn2 (the 1×1 convolution to 1280 channels and its batch norm with ReLU6).
TOP_MODULES = {"efficientnet_lite0": 2, "efficientnet_lite2": 2, "tiny": 2}


@dataclass
class FineTuneOptions:
    epochs: int = 3  # a few passes: the top starts from ImageNet weights and the head from the frozen one
    lr_top: float = 1e-4  # small: adapt the features, do not forget ImageNet
    lr_head: float = 3e-4
    weight_decay: float = 1e-4
    batch_size: int = 32
    #: keep the fine-tuned model only when its cross-validated macro-F1 beats the frozen one's by more than this
    min_gain: float = 0.0


def supports(backbone: str) -> bool:
    return backbone in TOP_MODULES


def split_body(body: nn.Module, backbone: str) -> tuple[nn.Sequential, nn.Sequential]:
    """(frozen part, top): the top's modules are the body's own (shared, not copied)."""
    if not isinstance(body, nn.Sequential):
        raise errors.ModelError(f"{backbone} cannot be fine-tuned (its network is not a plain sequence of layers).")
    n = TOP_MODULES[backbone]
    return body[:-n], body[-n:]


def trainable_state(top: nn.Module) -> dict[str, torch.Tensor]:
    """The top's float tensors (weights and batch-norm statistics; not the int64 step counter)."""
    return {k: v.detach().float().contiguous().clone() for k, v in top.state_dict().items() if v.is_floating_point()}


def fine_tuned_weights_id(base_weights_id: str, state: dict[str, torch.Tensor]) -> str:
    return f"{base_weights_id}+ft-{_state_digest(state)}"


def fine_tuned_embedder(base: Embedder, top_state: dict[str, torch.Tensor], weights_id: str) -> Embedder:
    """``base`` with the top of its backbone replaced by ``top_state``: the normal scoring path for
    a fine-tuned model (own cache key through ``weights_id``). The int8 runner and the run-time
    bf16 check are tied to the frozen network, so such a mode falls back to fp32; the validated
    bf16 autocast applies to any weights and is kept."""
    name = base.spec.name
    if not supports(name):
        raise errors.ModelError(f"This model was fine-tuned on {name}, which photosorter cannot fine-tune. Retrain it.")
    emb = copy.copy(base)
    model = copy.deepcopy(base.model)
    _frozen, top = split_body(model.body, name)
    try:
        missing, unexpected = top.load_state_dict(top_state, strict=False)
    except RuntimeError as exc:
        raise errors.ModelFileError(f"The model's fine-tuned layers do not fit {name} ({str(exc).splitlines()[0]}). "
                                    "Retrain the model.") from None
    if unexpected or any(not k.endswith("num_batches_tracked") for k in missing):
        raise errors.ModelFileError(f"The model's fine-tuned layers do not fit {name}. Retrain the model.")
    if fine_tuned_weights_id(base.model.weights_id, trainable_state(top)) != weights_id:
        raise errors.ModelFileError("The model's fine-tuned layers do not match its description "
                                    "(made on other base weights, or damaged). Retrain the model.")
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    model.weights_id = weights_id
    emb.model = model
    if base.int8 is not None or base.bf16_check is not None:
        emb.numeric_mode, emb.int8, emb.bf16_check = "fp32", None, None
    return emb


def embedder_for(classifier, embedder: Embedder) -> Embedder:
    """The embedder that scores ``classifier``: ``embedder`` itself, or for a fine-tuned model the
    same backbone with the model's stored top (refused with a "retrain" message when the base
    weights differ)."""
    top = getattr(classifier, "backbone_top", None)
    if top is None or embedder.model.weights_id == classifier.weights_id:
        return embedder
    if embedder.model.weights_id != classifier.base_weights_id:
        raise errors.ModelError(
            f"This model was fine-tuned from {classifier.backbone} weights '{classifier.base_weights_id}', but the "
            f"loaded backbone has '{embedder.model.weights_id}'. Use the same weights as for training, or retrain.")
    # Remembered on the base embedder (one fine-tuned model at a time): every scorer of the same
    # model then shares one copy of the network instead of copying it per call.
    known = getattr(embedder, "_fine_tuned", None)
    if known is None or known[0] != classifier.weights_id:
        known = (classifier.weights_id, fine_tuned_embedder(embedder, top, classifier.weights_id))
        embedder._fine_tuned = known  # type: ignore[attr-defined]
    return known[1]


# --------------------------------------------------------------------------- activations


def _views(path: Path, embedder: Embedder, views: int) -> list[torch.Tensor]:
    """The same clean and augmented views the embedder makes (same seeds: features.Embedder._prepare)."""
    data = imaging.read_file_bytes(path)
    sha = imaging.content_hash(data)
    img, _fmt, _size = imaging.decode(data, min_side=embedder.spec.input_size, path=path)
    img = media.document.scoring_view(img)
    seed = int(sha[:12], 16)
    return [eval_view(img, embedder.spec)] + [augmented_view(img, embedder.spec, seed + v) for v in range(1, views)]


@torch.inference_mode()
def frozen_activations(paths: list[str], embedder: Embedder, views: int, progress: ProgressFn = no_progress,
                       cancel: CancelToken | None = None) -> torch.Tensor:
    """(n, views, C, H, W) float16: the frozen part's output for every example and view."""
    frozen, _top = split_body(embedder.model.body, embedder.spec.name)
    out: list[torch.Tensor] = []
    for i, p in enumerate(paths):
        if cancel is not None:
            cancel.raise_if_cancelled()
        x = model_input(torch.stack(_views(Path(p), embedder, views)), embedder.spec)
        out.append(frozen(x).float().contiguous().half())
        progress(i + 1, len(paths), f"Fine-tuning: reading {Path(p).name}")
    return torch.stack(out)


def _pooled(top: nn.Module, act: torch.Tensor) -> torch.Tensor:
    return top(act.float()).mean(dim=(2, 3))


# --------------------------------------------------------------------------- one fold


def _fine_tune(top: nn.Sequential, head: nn.Module, act: torch.Tensor, y: torch.Tensor, val_act: torch.Tensor | None,
               val_y: torch.Tensor | None, opts: FineTuneOptions, epochs: int, seed: int,
               cancel: CancelToken | None, tick, on_epoch: Callable[[int, float, float], None] | None = None) -> int:
    """Train ``top`` and ``head`` in place on activations ``act`` (N, V, C, H, W); with a validation
    part, keep the best epoch by held-out loss (-1: the starting weights). Returns that epoch.
    ``on_epoch(epoch, train_loss, val_loss)`` after each epoch that has a validation part."""
    torch.manual_seed(seed)
    for p in top.parameters():
        p.requires_grad_(True)
    optim = torch.optim.AdamW([{"params": list(top.parameters()), "lr": opts.lr_top},
                               {"params": list(head.parameters()), "lr": opts.lr_head}], weight_decay=opts.weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    n, v = act.shape[:2]
    x = act.reshape(n * v, *act.shape[2:])
    yy = y.repeat_interleave(v, dim=0)

    def val_loss() -> float:
        assert val_act is not None and val_y is not None
        top.eval(), head.eval()
        with torch.no_grad():
            return float(loss_fn(head(_pooled(top, val_act)), val_y))

    best_epoch, best_state = -1, None
    best = val_loss() if val_act is not None and len(val_act) else float("inf")
    if val_act is not None:
        best_state = (copy.deepcopy(top.state_dict()), copy.deepcopy(head.state_dict()))
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        top.eval()  # batch norm keeps its ImageNet statistics: batches of a few photos would spoil them
        head.train()
        perm = torch.randperm(len(x), generator=gen)
        total = 0.0
        for i in range(0, len(x), opts.batch_size):
            if cancel is not None:
                cancel.raise_if_cancelled()
            idx = perm[i: i + opts.batch_size]
            optim.zero_grad(set_to_none=True)
            loss = loss_fn(head(_pooled(top, x[idx])), yy[idx])
            loss.backward()
            optim.step()
            total += float(loss.detach()) * len(idx)
        tick()
        if val_act is not None and len(val_act):
            val = val_loss()
            if on_epoch is not None:
                on_epoch(epoch, total / len(x), val)
            if val < best - 1e-5:
                best, best_epoch = val, epoch
                best_state = (copy.deepcopy(top.state_dict()), copy.deepcopy(head.state_dict()))
    if best_state is not None:
        top.load_state_dict(best_state[0])
        head.load_state_dict(best_state[1])
    top.eval(), head.eval()
    for p in top.parameters():
        p.requires_grad_(False)
    return best_epoch if val_act is not None else epochs - 1


def _macro_f1(labels: np.ndarray, logits: np.ndarray, categories: list[str]) -> tuple[float, dict]:
    scores = 1.0 / (1.0 + np.exp(-logits))
    th = np.array([choose_threshold(scores[:, j], labels[:, j]) for j in range(labels.shape[1])])
    m = compute_metrics(labels, scores, th, categories)
    return float(m["macro_f1"]), m


# --------------------------------------------------------------------------- the stage


def fine_tune_stage(photos: LabeledPhotos, embedder: Embedder, frozen: TrainResult, opts: TrainOptions | None = None,
                    ft: FineTuneOptions | None = None, progress: ProgressFn = no_progress,
                    cancel: CancelToken | None = None, memo: dict | None = None,
                    on_epoch: Callable[[int, int, float, float], None] | None = None) -> TrainResult:
    """Try fine-tuning on top of a finished frozen training ``frozen`` (same examples, same
    embedder); return the fine-tuned training if its cross-validated macro-F1 is higher, else
    ``frozen``. Either way the model's description says which was kept and why (``fine_tune``).
    ``memo``: a dict that keeps the frozen part's activations between calls on the same examples
    (benchmarks train several seeds; the app trains once). ``on_epoch(fold, epoch, train_loss,
    val_loss)`` feeds the Train tab's curves for the stage's folds (minutes on a laptop CPU)."""
    opts, ft = opts or TrainOptions(), ft or FineTuneOptions()
    start = time.perf_counter()
    clf = frozen.classifier

    def verdict(result: TrainResult, info: dict) -> TrainResult:
        info["seconds"] = round(time.perf_counter() - start, 2)
        c = result.classifier
        c.description = dataclasses.replace(c.description, fine_tune=info)
        return result

    if not supports(embedder.spec.name):
        return verdict(frozen, {"kept": "frozen", "reason": f"{embedder.spec.name} cannot be fine-tuned here "
                                f"(supported: {', '.join(n for n in TOP_MODULES if n != 'tiny')})."})
    oof = clf.description.out_of_fold or {}
    paths = [str(p) for p in oof.get("paths", [])]
    labels = np.zeros((len(paths), len(clf.categories)))  # stored as the category indices of each example
    for i, idx in enumerate(oof.get("labels", [])):
        labels[i, list(idx)] = 1.0
    heads: list[nn.Module] = list(clf.head.heads)
    if not paths or any(media.kind_of(Path(p)) != "stills" for p in paths):
        return verdict(frozen, {"kept": "frozen", "reason": "Fine-tuning uses still photos only; some examples are "
                                "videos, RAW files or documents."})
    shas = [imaging.content_hash(imaging.read_file_bytes(Path(p))) for p in paths]
    folds_map = clf.description.example_folds
    if len(folds_map) == 0 or any(fold_key(s) not in folds_map for s in shas):
        return verdict(frozen, {"kept": "frozen", "reason": "The frozen training's folds are not known."})
    fold = np.array([folds_map[fold_key(s)] for s in shas])
    k = len(heads)
    total = len(paths) + k * ft.epochs + ft.epochs
    done = 0

    steps = stage(progress, 0.0, 0.85)  # the final training on the kept top is the last 15% of the bar

    # Words per phase: a count over all phases ("epoch 11 of 18") stopped short of its end whenever
    # the fine-tuned network was not kept, since the last phase then never runs (tryout). "Round" and
    # "pass" are the Train tab's words for a fold and an epoch (train_progress.ROUNDS_EXPLAINED).
    phase, phase_epoch, phase_epochs = "", 0, ft.epochs

    def tick() -> None:
        nonlocal done, phase_epoch
        done += 1
        phase_epoch += 1
        steps(done, total, f"Fine-tuning: {phase}, pass {phase_epoch} of {phase_epochs}")

    def read_progress(i: int, _n: int, msg: str) -> None:
        nonlocal done
        done = i
        steps(done, total, msg)

    t_act = time.perf_counter()
    key = (embedder.model.weights_id, tuple(paths), opts.views)
    act = memo.get(key) if memo is not None else None
    if act is None:
        act = frozen_activations(paths, embedder, opts.views, read_progress, cancel)
        if memo is not None:
            memo.clear()
            memo[key] = act
    act_seconds = time.perf_counter() - t_act
    y = torch.as_tensor(labels, dtype=torch.float32)
    base_top = split_body(embedder.model.body, embedder.spec.name)[1]
    frozen_logits = np.zeros(labels.shape)
    tuned_logits = np.zeros(labels.shape)
    best_epochs: list[int] = []
    with torch.no_grad():
        for f in range(k):
            va = torch.as_tensor(fold == f)
            frozen_logits[va.numpy()] = heads[f].eval()(_pooled(base_top, act[va, 0])).numpy()
    for f in range(k):
        phase, phase_epoch = f"round {f + 1} of {k}", 0
        tr, va = torch.as_tensor(fold != f), torch.as_tensor(fold == f)
        top, head = copy.deepcopy(base_top), copy.deepcopy(heads[f])
        best_epochs.append(_fine_tune(top, head, act[tr], y[tr], act[va, 0], y[va], ft, ft.epochs,
                                      opts.seed * 100 + f, cancel, tick,
                                      functools.partial(on_epoch, f) if on_epoch is not None else None))
        with torch.no_grad():
            tuned_logits[va.numpy()] = head(_pooled(top, act[va, 0])).numpy()
    categories = list(clf.categories)
    f1_frozen, _m = _macro_f1(labels, frozen_logits, categories)
    f1_tuned, tuned_metrics = _macro_f1(labels, tuned_logits, categories)
    info = {"frozen_macro_f1": round(f1_frozen, 4), "fine_tuned_macro_f1": round(f1_tuned, 4),
            "folds": k, "best_epochs": best_epochs, "epochs": ft.epochs, "activation_seconds": round(act_seconds, 2),
            "layers": f"the last {TOP_MODULES[embedder.spec.name]} modules of {embedder.spec.name}",
            "basis": "held-out head scores of the same folds, before the familiarity gate"}
    if not f1_tuned > f1_frozen + ft.min_gain:
        return verdict(frozen, {**info, "kept": "frozen", "reason": (
            f"not kept — it did not improve on your examples: judged on examples each model never saw, the "
            f"fine-tuned network scored {f1_tuned:.3f} and the unchanged one {f1_frozen:.3f} (macro-F1 of the "
            "category scores alone, before the check against unfamiliar photos, so not the table's figures). "
            "The unchanged network is kept.")})
    # Kept: the final top on every example, for the epochs the folds found best (at least one).
    epochs = max(1, int(np.median([e + 1 for e in best_epochs])))
    top, head = copy.deepcopy(base_top), HeadEnsemble(copy.deepcopy(heads))  # type: ignore[arg-type]  # Heads
    phase, phase_epoch, phase_epochs = "the kept network on all examples", 0, epochs
    _fine_tune(top, head, act, y, None, None, ft, epochs, opts.seed * 100 + k, cancel, tick)
    state = trainable_state(top)
    tuned = fine_tuned_embedder(embedder, state, fine_tuned_weights_id(embedder.model.weights_id, state))
    with torch.no_grad():  # the fine-tuned features of every view go into the cache: no second read
        for sha, a in zip(shas, act):
            tuned.cache.put(tuned.cache_key, sha, _pooled(top, a).numpy())
    result = train_from_photos(photos, tuned, opts, progress=stage(progress, 0.85, 1.0), cancel=cancel)
    c = result.classifier
    c.backbone_top, c.base_weights_id = state, embedder.model.weights_id
    # The table, the confusion matrix and the wrong examples all come from this final training's
    # held-out scores, so they agree with each other (a tryout saw the table show the fine-tuning
    # stage's figures beside a matrix of this training's). Its top saw every example, so they are
    # optimistic; the honest comparison is the verdict's, from the stage's own folds.
    del tuned_metrics
    c.description = dataclasses.replace(
        c.description,
        metrics_note="cross-validated heads on the fine-tuned network, whose top saw every example: optimistic; "
                     "the fine-tuning verdict compares fold models that never saw an example",
        warnings=(*c.description.warnings, "A fine-tuned model has its own stored background: the estimate on "
                                           "your other photos fills in as you sort."),
        backbone_comparison=clf.description.backbone_comparison)
    result.seconds += frozen.seconds
    return verdict(result, {**info, "kept": "fine-tuned", "final_epochs": epochs, "reason": (
        f"kept — it improved on your examples: judged on examples each model never saw, the fine-tuned "
        f"network scored {f1_tuned:.3f} and the unchanged one {f1_frozen:.3f} (macro-F1 of the category scores "
        "alone, before the check against unfamiliar photos, so not the table's figures). The fine-tuned network "
        "is used from now on.")})
