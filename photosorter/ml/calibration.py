"""Per-category thresholds (F1 on held-out scores) and the metrics people and scripts read."""

from __future__ import annotations

import numpy as np

DEFAULT_THRESHOLD = 0.5
MIN_THRESHOLD, MAX_THRESHOLD = 0.05, 0.95


def choose_threshold(scores: np.ndarray, truth: np.ndarray) -> float:
    """The threshold maximising F1 on held-out scores of one category.

    Among equally good cut-offs we take the middle of the best interval (the widest margin on
    both sides), not its edge, so one unlucky example does not decide it. Without held-out
    positives *and* negatives there is nothing to choose from: 0.5.
    """
    scores = np.asarray(scores, dtype=np.float64)
    truth = np.asarray(truth) > 0.5
    if truth.sum() == 0 or (~truth).sum() == 0:
        return DEFAULT_THRESHOLD
    order = np.argsort(-scores)
    s, t = scores[order], truth[order]
    tp = np.cumsum(t)
    fp = np.cumsum(~t)
    f1 = 2 * tp / (tp + fp + t.sum())
    # Cutting between position i and i+1 (predict the first i+1 as positive) is only possible
    # where consecutive scores differ.
    valid = np.append(s[:-1] > s[1:], True)
    f1 = np.where(valid, f1, -1.0)
    best = f1.max()
    candidates = np.flatnonzero(np.isclose(f1, best))
    i = candidates[len(candidates) // 2]
    lower = s[i + 1] if i + 1 < len(s) else 0.0
    return float(np.clip((s[i] + lower) / 2.0, MIN_THRESHOLD, MAX_THRESHOLD))


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def compute_metrics(truth: np.ndarray, scores: np.ndarray, thresholds: np.ndarray, categories: list[str]) -> dict:
    """Per-category precision/recall/F1/support and overall micro/macro F1, exact match,
    top-1 (single-label photos: is the highest-scoring category the right one) and the share of
    no-category photos that were correctly left out (None when there are none)."""
    truth = np.asarray(truth) > 0.5
    pred = np.asarray(scores) >= np.asarray(thresholds)[None, :]
    per: dict[str, dict] = {}
    tps = fps = fns = 0
    f1s = []
    for j, name in enumerate(categories):
        tp = int((pred[:, j] & truth[:, j]).sum())
        fp = int((pred[:, j] & ~truth[:, j]).sum())
        fn = int((~pred[:, j] & truth[:, j]).sum())
        p, r, f = _prf(tp, fp, fn)
        per[name] = {"precision": p, "recall": r, "f1": f, "threshold": float(thresholds[j]), "support": int(truth[:, j].sum())}
        tps, fps, fns = tps + tp, fps + fp, fns + fn
        if truth[:, j].sum() > 0:
            f1s.append(f)
    none_rows = truth.sum(1) == 0
    single = truth.sum(1) == 1
    n = len(truth)
    return {
        "per_category": per,
        "micro_f1": _prf(tps, fps, fns)[2],
        "macro_f1": float(np.mean(f1s)) if f1s else 0.0,
        "exact_match": float((pred == truth).all(1).mean()) if n else 0.0,
        "top1": float((np.asarray(scores)[single].argmax(1) == truth[single].argmax(1)).mean()) if single.any() else None,
        "none_correct": float((~pred[none_rows].any(1)).mean()) if none_rows.any() else None,
        "images": int(n),
    }
