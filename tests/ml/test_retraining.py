"""Retraining after adding examples continues from the previous model — honestly and quickly.

Honest means: an example held out of fold f stays held out of fold f, so head f never trained on
it (before or now) and the cross-validated scores still come from heads that never saw the example.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from photosorter import imaging
from photosorter.ml.features import Embedder, FeatureCache
from photosorter.ml.training import TrainOptions, continue_folds, fit_classifier, fold_key


def blobs(n_per: int, seed: int, dim: int = 48) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    centers = np.random.default_rng(0).normal(0, 1, (3, dim)) * 3
    y = np.repeat(np.eye(3), n_per, axis=0).astype(np.float32)
    x = (y @ centers + rng.normal(0, 1, (len(y), dim))).astype(np.float32)
    shas = [hashlib.sha256(f"{seed}-{i}".encode()).hexdigest() for i in range(len(y))]
    return x[:, None, :], y, shas


def fit(x, y, shas, previous=None, categories=("a", "b", "c")):
    return fit_classifier(x, y, list(categories), backbone="t", weights_id="w", imagenet_head=None,
                          opts=TrainOptions(views=1, folds=4), shas=shas, previous=previous)


def test_retraining_keeps_every_known_example_in_its_fold_and_continues_every_head():
    x, y, shas = blobs(30, seed=1)
    first = fit(x, y, shas)
    assert first.description.continued_folds == 0 and len(first.description.example_folds) == 90
    x2, y2, shas2 = blobs(3, seed=2)  # 9 new examples
    again = fit(np.concatenate([x, x2]), np.concatenate([y, y2]), shas + shas2, previous=first)
    assert again.description.continued_folds == 4
    old, new = first.description.example_folds, again.description.example_folds
    assert all(new[k] == f for k, f in old.items())  # nothing moved: every head still never saw its fold
    before = np.array([old[fold_key(s)] for s in shas])
    after = np.array([new[fold_key(s)] for s in shas + shas2])
    for c in range(3):  # new examples go where their category is scarcest: the folds get more even
        spread = lambda f, lab, c=c: np.ptp(np.bincount(f[lab == c], minlength=4))  # noqa: E731
        assert spread(after, np.concatenate([y, y2]).argmax(1)) < spread(before, y.argmax(1))
    # quality holds: cross-validated F1 does not collapse when continuing
    assert again.metrics["macro_f1"] >= first.metrics["macro_f1"] - 0.05
    # continuing is much cheaper: far fewer epochs than the first training
    epochs = lambda clf: sum(len(c["val_loss"]) for c in clf.description.curves)  # noqa: E731
    assert epochs(again) < epochs(first)


def test_new_examples_are_spread_over_folds_by_label():
    labels = np.repeat(np.eye(2), 4, axis=0)
    shas = [hashlib.sha256(bytes([i])).hexdigest() for i in range(8)]
    previous = {fold_key(shas[i]): i % 2 for i in range(6)}  # examples 6 and 7 are new (label 1)
    fold, tainted = continue_folds(labels, np.arange(8), shas, previous, k=2)
    assert list(fold[:6]) == [0, 1, 0, 1, 0, 1] and not tainted
    assert sorted(fold[6:]) == [0, 1]  # label 1 had one example in each fold, so one new one goes to each


def test_a_new_near_duplicate_joining_two_folds_restarts_that_fold():
    labels = np.ones((3, 1))
    shas = [hashlib.sha256(bytes([i])).hexdigest() for i in range(3)]
    previous = {fold_key(shas[0]): 0, fold_key(shas[1]): 1}
    groups = np.array([0, 0, 0])  # the new photo 2 links photos 0 and 1 into one group
    fold, tainted = continue_folds(labels, groups, shas, previous, k=2)
    assert len(set(fold)) == 1 and tainted == {int(fold[0])}


@pytest.mark.parametrize("change", ["categories", "backbone"])
def test_anything_but_examples_changing_trains_from_scratch(change):
    x, y, shas = blobs(20, seed=3)
    first = fit(x, y, shas)
    if change == "categories":
        again = fit(x, y, shas, previous=first, categories=("a", "b", "renamed"))
    else:
        again = fit_classifier(x, y, ["a", "b", "c"], backbone="t", weights_id="other", imagenet_head=None,
                               opts=TrainOptions(views=1, folds=4), shas=shas, previous=first)
    assert again.description.continued_folds == 0


def test_unchanged_files_are_not_read_again_and_changed_ones_are(tmp_path, monkeypatch):
    from photosorter.samples import make_photo

    photo = tmp_path / "p.jpg"
    make_photo(photo, ("red_disc",), seed=1)
    embedder = Embedder("tiny", cache=FeatureCache(tmp_path / "f.sqlite3"))
    first = embedder.embed([photo], views=2)[0]
    real_read = imaging.read_file_bytes
    reads = []
    monkeypatch.setattr(imaging, "read_file_bytes", lambda p: reads.append(p) or real_read(p))
    again = embedder.embed([photo], views=2)[0]
    assert reads == [] and again.sha256 == first.sha256 and np.array_equal(again.features, first.features)
    assert again.size == first.size
    make_photo(photo, ("blue_square",), seed=2)  # rewritten in place: new content
    changed = embedder.embed([photo], views=2)[0]
    assert reads == [photo] and changed.sha256 != first.sha256
