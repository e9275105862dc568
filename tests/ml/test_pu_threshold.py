"""Thresholds chosen with the user's unlabelled photos (ml/pu_threshold.py, issue 13 item 3)."""

from __future__ import annotations

import numpy as np

from photosorter.ml.pu_threshold import MIN_RECALL, pu_threshold
from photosorter.ml.training import TrainOptions, fit_classifier


def _pr(bg_members, bg_others, t):
    tp, fp = (bg_members >= t).sum(), (bg_others >= t).sum()
    return tp / max(1, tp + fp), tp / len(bg_members)


def test_raises_the_threshold_above_unrelated_photos_that_pass_the_gate():
    """The dev-set failure in miniature: held-out examples and real members score 0.9-1.0,
    a fifth of the unrelated photos score 0.3-0.7 (they passed the gate); the cross-validated
    threshold is the lowest allowed. The PU threshold must keep them out and keep the members."""
    rng = np.random.default_rng(0)
    held_out = rng.uniform(0.85, 1.0, 20)
    members = rng.uniform(0.85, 1.0, 60)
    others = np.r_[rng.uniform(0.3, 0.7, 100), np.zeros(400)]
    bg = np.r_[members, others]
    t = pu_threshold(bg, held_out, 0.05)
    precision, recall = _pr(members, others, t)
    assert _pr(members, others, 0.05)[0] < 0.4  # what the lowest threshold lets in
    assert precision == 1.0 and recall >= 0.9, (t, precision, recall)


def test_keeps_the_lowest_threshold_when_nothing_unrelated_scores_high():
    """Where precision is already perfect the criterion is flat; the one-standard-error rule
    must not wander up into the members (that cost recall on documents/vehicles)."""
    rng = np.random.default_rng(1)
    held_out = rng.uniform(0.6, 1.0, 20)
    bg = np.r_[rng.uniform(0.6, 1.0, 60), np.zeros(500)]
    assert pu_threshold(bg, held_out, 0.05) == np.float32(0.05)


def test_never_gives_up_more_than_half_of_the_held_out_examples():
    rng = np.random.default_rng(2)
    held_out = rng.uniform(0.0, 1.0, 40)
    bg = rng.uniform(0.0, 1.0, 1000)  # no information at all: members and others alike
    t = pu_threshold(bg, held_out, 0.05)
    assert (held_out >= t).mean() >= MIN_RECALL


def test_nothing_to_go_on_returns_the_given_threshold():
    assert pu_threshold(np.zeros(0), np.ones(5), 0.3) == 0.3
    assert pu_threshold(np.ones(100), np.zeros(0), 0.3) == 0.3


def test_training_with_a_background_keeps_more_unrelated_photos_out(monkeypatch):
    """End to end through fit_classifier on generated features: two categories, and a roll in
    which most photos are faint versions of them (same direction, 0.3 of the length), so they pass
    the familiarity gate and the head gives them middling scores — the dev-set failure. With the
    stored background the thresholds rise: the faint photos stay out, the members still go in.

    The threshold rule alone: learning from picked background photos (reliable_negatives.py)
    is off here. It picks by direction, and these faint photos point exactly where the members do,
    so what it would pick are members and their faint twins — a case it cannot help (measured on
    real photos instead, in benchmarks/accuracy.py)."""
    from photosorter.ml import training

    monkeypatch.setattr(training, "reliable_negatives", lambda b, e, lab: np.zeros(len(b), dtype=bool))
    rng = np.random.default_rng(3)
    d = 16
    ca, cb = np.zeros(d), np.zeros(d)
    ca[0], cb[1] = 6.0, 6.0

    def draw(c, k):
        return (c + rng.normal(0, 0.7, (k, d))).astype(np.float32)

    x = np.concatenate([draw(ca, 20), draw(cb, 20)])[:, None, :]
    y = np.r_[np.tile([1.0, 0.0], (20, 1)), np.tile([0.0, 1.0], (20, 1))]
    roll = np.concatenate([draw(ca, 30), draw(cb, 30), 0.3 * draw(ca, 120), 0.3 * draw(cb, 120)])
    kw = dict(backbone="tiny", weights_id="tiny", imagenet_head=None,
              opts=TrainOptions(views=1, folds=4, max_epochs=100, seed=0))
    plain = fit_classifier(x, y, ["a", "b"], **kw)
    pu = fit_classifier(x, y, ["a", "b"], background=roll, **kw)
    assert (pu.thresholds >= plain.thresholds).all()

    def kept_out_and_recall(clf):
        taken = clf.with_background(roll).scores(roll) >= clf.thresholds
        return float((~taken[60:].any(1)).mean()), float(np.r_[taken[:30, 0], taken[30:60, 1]].mean())

    (ko_plain, _), (ko_pu, rec_pu) = kept_out_and_recall(plain), kept_out_and_recall(pu)
    assert ko_plain < 0.2, ko_plain  # the lowest thresholds let the faint photos in
    assert ko_pu >= 0.9, (ko_plain, ko_pu)
    assert rec_pu >= 0.85, rec_pu
