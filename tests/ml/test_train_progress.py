"""The Train tab's bar and its text come from one computation, so they cannot disagree (the
bar stood at 98% while the text said "fold 1 of 5": photos and folds were counted on one scale)."""

from __future__ import annotations

import re

from photosorter.ml.dataset import scan_labeled_folder
from photosorter.ml.features import Embedder
from photosorter.ml.training import TrainOptions, train_from_photos
from photosorter.samples import make_labeled_folder


def test_bar_and_text_agree_through_a_real_training(tmp_path):
    data = make_labeled_folder(tmp_path / "ex", per_category=6, rel_size=0.6, seed=7)
    calls: list[tuple[int, int, str]] = []
    train_from_photos(scan_labeled_folder(data), Embedder("tiny"), TrainOptions(views=1, folds=3, faces=False, max_epochs=12),
                      progress=lambda d, t, m: calls.append((d, t, m)))
    fractions = [d / t for d, t, _ in calls]
    assert fractions == sorted(fractions), "the bar never goes back"
    assert fractions[-1] == 1.0
    saw_fold = False
    for (_d, _t, m), frac in zip(calls, fractions):
        fold = re.search(r"round (\d+) of (\d+)", m)
        if fold:  # while fold i of k trains, the folds after it still have their part of the bar
            saw_fold = True
            i, k = int(fold.group(1)), int(fold.group(2))
            assert k == 3
            assert frac <= 1 - (k - i) / k * 0.3 + 1e-3, (m, frac)
    assert saw_fold
    # in the tab's words only: a round's note said "best epoch 59" (tryout)
    assert not any(re.search(r"\b(fold|epoch)", m) for _d, _t, m in calls), [m for _d, _t, m in calls]
    assert any("best at pass" in m for _d, _t, m in calls)
    # and in the exact shares the bar uses (train_progress.py): fold i of k lies within fold i's share
    from photosorter.ml.train_progress import READ_SHARE

    for (_d, _t, m), frac in zip(calls, fractions):
        fold = re.search(r"round (\d+) of (\d+)", m)
        if fold:
            i, k = int(fold.group(1)), int(fold.group(2))
            assert READ_SHARE + (1 - READ_SHARE) * (i - 1) / k - 1e-3 <= frac
            assert frac <= READ_SHARE + (1 - READ_SHARE) * i / k + 1e-3, (m, frac)
        elif "reading" in m:
            assert frac <= READ_SHARE + 1e-3, (m, frac)


def test_fold_count_is_known_before_the_first_fold_ends():
    from photosorter.ml.train_progress import READ_SHARE, TrainProgress

    seen = []
    p = TrainProgress(lambda d, t, m: seen.append(m))
    p.reading_progress(150, 150)
    p.fold_progress(0, 5)
    p.epoch_done(0, 3)
    assert p.folds == 5 and seen[-1] == "Step 2 of 2 — learning, round 1 of 5, pass 4"
    assert p.fraction() < READ_SHARE + (1 - READ_SHARE) / 5
