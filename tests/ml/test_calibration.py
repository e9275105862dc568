from __future__ import annotations

import numpy as np
import pytest

from photosorter.ml.calibration import choose_threshold, compute_metrics


def test_threshold_sits_in_the_middle_of_a_clean_gap():
    scores = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    truth = np.array([0, 0, 0, 1, 1, 1])
    assert choose_threshold(scores, truth) == pytest.approx(0.5)


def test_threshold_maximises_f1_with_overlap():
    scores = np.array([0.1, 0.35, 0.4, 0.45, 0.6, 0.9])
    truth = np.array([0, 1, 0, 1, 1, 1])
    t = choose_threshold(scores, truth)
    pred = scores >= t
    tp = (pred & (truth == 1)).sum()
    f1 = 2 * tp / (pred.sum() + truth.sum())
    assert f1 == pytest.approx(max(
        2 * ((scores >= c) & (truth == 1)).sum() / ((scores >= c).sum() + truth.sum()) for c in scores
    ))


def test_no_negatives_means_default_threshold():
    assert choose_threshold(np.array([0.2, 0.9]), np.array([1, 1])) == 0.5


def test_metrics_by_hand():
    truth = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    scores = np.array([[0.9, 0.1], [0.2, 0.3], [0.8, 0.7], [0.6, 0.1]])
    m = compute_metrics(truth, scores, np.array([0.5, 0.5]), ["a", "b"])
    assert m["per_category"]["a"] == {"precision": pytest.approx(2 / 3), "recall": 1.0, "f1": pytest.approx(0.8), "threshold": 0.5, "support": 2}
    assert m["per_category"]["b"]["recall"] == 0.5
    assert m["exact_match"] == 0.5  # rows 0 and 2 are entirely right
    assert m["top1"] == 1.0  # single-label rows 0 and 1: best score is the true category
    assert m["none_correct"] == 0.0
