"""The user's own photos as "none of these" examples (ml/reliable_negatives.py, issue 13 item 3):
which background photos are picked, that members are not, and what training does with them."""

from __future__ import annotations

import numpy as np
import pytest

from photosorter.ml import training
from photosorter.ml.model_description import ModelDescription
from photosorter.ml.reliable_negatives import MIN_PHOTOS, background_key, reliable_negatives
from photosorter.ml.training import TrainOptions, fit_classifier

D = 16


def _axis(*weights: float) -> np.ndarray:
    v = np.zeros(D)
    v[: len(weights)] = weights
    return v


A, B = _axis(6), _axis(0, 6)
UNRELATED = _axis(4, 0, 6)  # leans towards A: a head that knows only A and B says A


def _draw(rng, centre, k, spread=0.7) -> np.ndarray:
    return (centre + rng.normal(0, spread, (k, D))).astype(np.float32)


def _examples(rng):
    x = np.concatenate([_draw(rng, A, 20), _draw(rng, B, 20)])
    y = np.r_[np.tile([1.0, 0.0], (20, 1)), np.tile([0.0, 1.0], (20, 1))].astype(np.float32)
    return x, y


def test_picks_the_unrelated_photos_and_leaves_the_members_alone():
    rng = np.random.default_rng(0)
    x, y = _examples(rng)
    bg = np.concatenate([_draw(rng, A, 30), _draw(rng, B, 30), _draw(rng, UNRELATED, 150)])
    picked = reliable_negatives(bg, x, y)
    assert not picked[:60].any()  # no member is called a negative
    assert picked[60:].mean() >= 0.8, picked[60:].mean()


def test_a_background_of_members_only_gives_almost_nothing():
    """Someone's first sort was a folder of their dog: the background is all dogs. Rocchio's rule
    alone (closer to the background's centre than to the category's) calls about half of them
    negatives — on the dev set 50 of 60 pets; the examples' own reach keeps them."""
    rng = np.random.default_rng(1)
    x, y = _examples(rng)
    dogs = _draw(rng, A, 80)
    picked = reliable_negatives(dogs, x, y)
    # a member lies farther from every example than the least typical example from its fellows
    # about once in m + 1 draws (m = 20 examples): that share, not half
    assert picked.mean() <= 0.15, picked.mean()
    b, e = dogs / np.linalg.norm(dogs, axis=1, keepdims=True), x / np.linalg.norm(x, axis=1, keepdims=True)
    centre = b.mean(0) / np.linalg.norm(b.mean(0))
    rocchio_only = (b @ centre > b @ (e[:20].mean(0) / np.linalg.norm(e[:20].mean(0)))).mean()
    assert rocchio_only >= 0.3  # what the second rule is for


def test_nothing_is_picked_from_too_few_photos_or_for_a_category_of_one_example():
    rng = np.random.default_rng(2)
    x, y = _examples(rng)
    few = _draw(rng, UNRELATED, MIN_PHOTOS - 1)
    assert not reliable_negatives(few, x, y).any()
    many = _draw(rng, UNRELATED, 100)
    one = np.c_[y, np.r_[1.0, np.zeros(len(y) - 1)]].astype(np.float32)  # a third category with one example
    assert not reliable_negatives(many, x, one).any()
    assert background_key(many[0]) == background_key(many[0].copy()) != background_key(many[1])


def test_training_learns_from_them_and_keeps_new_unrelated_photos_out(monkeypatch):
    """The product of the above: photos like the picked ones that arrive *later* (never in the
    background) stay out, members still go in; the figures shown describe the examples only."""
    rng = np.random.default_rng(3)
    x, y = _examples(rng)
    bg = np.concatenate([_draw(rng, A, 30), _draw(rng, B, 30), _draw(rng, UNRELATED, 150)])
    new_unrelated, new_members = _draw(rng, UNRELATED, 200), np.concatenate([_draw(rng, A, 50), _draw(rng, B, 50)])
    kw = dict(backbone="tiny", weights_id="tiny", imagenet_head=None,
              opts=TrainOptions(views=1, folds=4, max_epochs=100, seed=0),
              shas=[f"{i:016x}" + "0" * 48 for i in range(len(x))], background=bg)
    with_them = fit_classifier(x[:, None, :], y, ["a", "b"], **kw)
    with monkeypatch.context() as m:
        m.setattr(training, "reliable_negatives", lambda b, e, lab: np.zeros(len(b), dtype=bool))
        without = fit_classifier(x[:, None, :], y, ["a", "b"], **kw)

    # The head learns that such photos are neither a nor b (here the familiarity gate would keep
    # these ones out anyway; on a real roll many pass it, which is where the head's word counts)
    says_a = (without.head_probabilities(new_unrelated)[:, 0].mean(), with_them.head_probabilities(new_unrelated)[:, 0].mean())
    assert says_a[1] <= 0.5 * says_a[0] and says_a[0] >= 0.5, says_a
    assert (~(with_them.with_background(bg).scores(new_unrelated) >= with_them.thresholds).any(1)).mean() >= 0.9
    taken = with_them.with_background(bg).scores(new_members) >= with_them.thresholds
    assert np.r_[taken[:50, 0], taken[50:, 1]].mean() >= 0.9
    desc = with_them.description
    assert desc.background_negatives >= 120 and without.description.background_negatives == 0
    assert desc.examples == 40 and desc.none_examples == 0
    assert sum(m["support"] for c, m in with_them.metrics["per_category"].items()) == 40
    assert len(desc.out_of_fold["labels"]) == 40
    assert len(desc.example_folds) == 40 + desc.background_negatives  # their folds are remembered too


def test_a_model_description_from_before_reads_as_none_picked():
    assert ModelDescription.from_document({"examples": 3}).background_negatives == 0
    assert ModelDescription.from_document({"background_negatives": 7}).background_negatives == 7
    assert ModelDescription.from_document({"background_negatives": "x"}).background_negatives == 0


@pytest.mark.parametrize("continued", [False, True])
def test_continuing_from_the_previous_model_keeps_the_picked_photos_in_their_folds(continued):
    rng = np.random.default_rng(4)
    x, y = _examples(rng)
    bg = np.concatenate([_draw(rng, A, 30), _draw(rng, UNRELATED, 100)])
    kw = dict(backbone="tiny", weights_id="tiny", imagenet_head=None,
              opts=TrainOptions(views=1, folds=4, max_epochs=60, seed=0), background=bg)
    shas = [f"{i:016x}" + "0" * 48 for i in range(len(x))]
    first = fit_classifier(x[:, None, :], y, ["a", "b"], shas=shas, **kw)
    more = np.concatenate([x, _draw(rng, A, 1)])
    again = fit_classifier(more[:, None, :], np.r_[y, [[1.0, 0.0]]].astype(np.float32), ["a", "b"],
                           shas=[*shas, f"{999:016x}" + "0" * 48], previous=first if continued else None, **kw)
    kept = {k: f for k, f in first.description.example_folds.items() if k in again.description.example_folds}
    if continued:
        assert again.description.continued_folds >= 1
        assert all(again.description.example_folds[k] == f for k, f in kept.items())
    assert again.description.background_negatives == first.description.background_negatives > 0


def test_the_train_tab_says_how_many_of_your_photos_it_learned_from(monkeypatch):
    pytest.importorskip("PySide6")
    import dataclasses

    from photosorter.gui.training import hints

    rng = np.random.default_rng(5)
    x, y = _examples(rng)
    bg = np.concatenate([_draw(rng, A, 20), _draw(rng, UNRELATED, 80)])
    clf = fit_classifier(x[:, None, :], y, ["a", "b"], backbone="tiny", weights_id="tiny", imagenet_head=None,
                         opts=TrainOptions(views=1, folds=3, max_epochs=30, seed=0), background=bg)
    n = clf.description.background_negatives
    assert n > 0
    assert any(f"Also learned from {n} of your other photos as 'none of these'" in h for h in hints(clf))
    clf.description = dataclasses.replace(clf.description, background_negatives=0)
    assert not any("Also learned from" in h for h in hints(clf))
