"""Training results people can act on: the held-out predictions become a confusion matrix and a
list of the examples each category gets wrong; fixing one goes through the library."""

from __future__ import annotations

import numpy as np

from photosorter.library import Library
from photosorter.ml import confusion
from photosorter.ml.training import TrainOptions, fit_classifier


def blobs(seed: int = 3, n_per: int = 20, dim: int = 32):
    rng = np.random.default_rng(seed)
    centers = np.random.default_rng(0).normal(0, 1, (2, dim)) * 4
    y = np.repeat(np.eye(2), n_per, axis=0).astype(np.float32)
    x = (y @ centers + rng.normal(0, 1, (len(y), dim))).astype(np.float32)
    # 6 "none of these" photos far from both, and one cat photo labelled dog (a wrong drop)
    none = (rng.normal(0, 1, (6, dim)) - centers.mean(0) * 3).astype(np.float32)
    x = np.concatenate([x, none])
    y = np.concatenate([y, np.zeros((6, 2), np.float32)])
    y[0] = [0, 1]  # example 0 sits among the cats, labelled dog
    paths = [f"/photos/{i:02d}.jpg" for i in range(len(y))]
    return x[:, None, :], y, paths


def test_confusion_matrix_and_mistakes_come_from_the_held_out_predictions():
    x, y, paths = blobs()
    clf = fit_classifier(x, y, ["cat", "dog"], backbone="t", weights_id="w", imagenet_head=None,
                         opts=TrainOptions(views=1, folds=4, max_epochs=30), paths=paths)
    oof = clf.description.out_of_fold
    assert oof is not None and oof["paths"] == paths
    m = confusion.confusion(oof, clf.categories, clf.thresholds)
    assert m is not None and m.names == ["cat", "dog", "none"]
    # every example counted in its label's row (single-label examples: once); none row = 6
    assert [sum(r) for r in m.counts] == [19, 21, 6]
    # the matrix agrees with the reported recall of each category
    for j, name in enumerate(clf.categories):
        recall = clf.metrics["per_category"][name]["recall"]
        assert m.counts[j][j] == round(recall * sum(m.counts[j]))
    # the mislabelled photo: dog's examples missed it, it would go to cat
    dog = confusion.mistakes(oof, clf.categories, clf.thresholds, "dog")
    wrong = [k for k in dog if k.path == paths[0]]
    assert wrong and wrong[0].kind == "missed" and wrong[0].predicted == ("cat",) and wrong[0].truth == ("dog",)
    assert "cat" in wrong[0].explain()
    assert paths[0] in m.paths[(1, 0)]  # the cell "labelled dog, put in cat"
    cell = confusion.cell_mistakes(oof, clf.categories, clf.thresholds, 1, 0)
    assert [c.path for c in cell] == m.paths[(1, 0)]
    # cat would take it in, seen from cat's side
    assert any(k.path == paths[0] and k.kind == "taken" for k in confusion.mistakes(oof, clf.categories,
                                                                                       clf.thresholds, "cat"))


def test_relabel_and_remove_go_through_the_library():
    lib = Library()
    lib.add_category("cat")
    lib.add_category("dog")
    lib.category("dog").examples.append("/photos/00.jpg")
    lib.none_examples.append("/photos/40.jpg")
    confusion.relabel(lib, "/photos/00.jpg", "cat")
    assert lib.category("cat").examples == ["/photos/00.jpg"] and lib.category("dog").examples == []
    confusion.relabel(lib, "/photos/40.jpg", "dog")
    assert lib.none_examples == [] and lib.category("dog").examples == ["/photos/40.jpg"]
    confusion.remove(lib, "/photos/40.jpg")
    assert lib.category("dog").examples == [] and lib.labeled_photos().paths == [lib.labeled_photos().paths[0]]


def test_models_without_held_out_scores_say_so():
    assert not confusion.available({})
    assert confusion.confusion({}, ["a"], [0.5]) is None
    assert confusion.mistakes({}, ["a"], [0.5], "a") == []
