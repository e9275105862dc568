"""Train → save → evaluate → predict through the real CLI, on generated photos (tiny backbone)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from photosorter.cli import main
from photosorter.ml.dataset import scan_labeled_folder
from photosorter.ml.features import Embedder
from photosorter.ml.training import TrainOptions, train_from_folder
from photosorter.samples import make_labeled_folder


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    # Big objects: the tiny random network only sees colour statistics of the whole frame.
    make_labeled_folder(root / "train", per_category=14, seed=1, rel_size=0.6)
    make_labeled_folder(root / "test", per_category=8, seed=2, rel_size=0.6)
    return root


def run_json(capsys, *argv) -> dict:
    code = main(list(map(str, argv)))
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def test_train_evaluate_predict_with_tiny(data, tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    train = run_json(capsys, "train", data / "train", "--model", model, "--backbone", "tiny", "--json", "-q")
    assert model.is_file() and train["categories"] == ["blue_square", "red_disc"]
    ev = run_json(capsys, "evaluate", data / "test", "--model", model, "--json", "-q")
    assert set(ev) >= {"per_category", "micro_f1", "macro_f1", "exact_match", "none_correct", "images"}
    assert ev["none_correct"] is None  # no _none folder
    assert len(ev["images"]) == 16
    first = ev["images"][0]
    assert set(first) >= {"file", "labels", "scores"} and set(first["scores"]) == {"blue_square", "red_disc"}
    # Colour alone separates these; even a random network's features must learn it.
    assert ev["macro_f1"] >= 0.8, ev
    assert ev["per_category"]["red_disc"]["support"] == 8
    pred = run_json(capsys, "predict", *sorted((data / "test" / "red_disc").glob("*.jpg"))[:3], "--model", model, "--json", "-q")
    assert all("red_disc" in p["scores"] for p in pred["photos"])


def test_multilabel_none_and_duplicates(tmp_path):
    root = make_labeled_folder(tmp_path / "ex", per_category=6, none=4, seed=3)
    # The same photo in both folders = both labels; a byte-identical copy under another name collapses.
    shutil.copy(root / "red_disc" / "red_disc_000.jpg", root / "blue_square" / "red_disc_000.jpg")
    shutil.copy(root / "red_disc" / "red_disc_001.jpg", root / "red_disc" / "copy_of_001.jpg")
    photos = scan_labeled_folder(root)
    assert photos.categories == ["blue_square", "red_disc"]
    row = photos.paths.index(next(p for p in photos.paths if p.name == "red_disc_000.jpg"))
    assert photos.labels[row].tolist() == [1.0, 1.0]
    assert photos.none_count == 4
    result = train_from_folder(root, Embedder("tiny"), TrainOptions(views=2, folds=3, max_epochs=20))
    desc = result.classifier.description
    assert desc.examples == len(photos.paths)  # the identical copy was collapsed when scanning
    assert not any(p.name == "copy_of_001.jpg" for p in photos.paths) or not any(p.name == "red_disc_001.jpg" for p in photos.paths)
    assert desc.none_examples == 4
    assert any("duplicate" in w for w in result.warnings)
    assert any("only" in w and "add more" in w for w in result.warnings)


def test_bad_examples_are_skipped_with_reasons(tmp_path):
    root = make_labeled_folder(tmp_path / "ex", per_category=6, seed=4)
    (root / "red_disc" / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (root / "red_disc" / "empty.jpg").write_bytes(b"")
    result = train_from_folder(root, Embedder("tiny"), TrainOptions(views=1, folds=2, max_epochs=10))
    reasons = dict((p.split("/")[-1], r) for p, r in result.skipped)
    assert "broken.jpg" in reasons and "empty.jpg" in reasons
    assert "empty" in reasons["empty.jpg"]


def test_retraining_reuses_cached_features(tmp_path, monkeypatch):
    from photosorter.config import app_paths
    from photosorter.ml.features import FeatureCache

    root = make_labeled_folder(tmp_path / "ex", per_category=8, seed=5)
    embedder = Embedder("tiny", cache=FeatureCache(app_paths().feature_cache_file))
    calls = []
    real = embedder.forward_u8
    monkeypatch.setattr(embedder, "forward_u8", lambda b: calls.append(len(b)) or real(b))
    opts = TrainOptions(views=3, folds=2, max_epochs=10)
    train_from_folder(root, embedder, opts)
    first = sum(calls)
    assert first == 16 * 3
    make_labeled_folder(tmp_path / "more", per_category=1, seed=6)
    shutil.copy(next((tmp_path / "more" / "red_disc").glob("*.jpg")), root / "red_disc" / "new.jpg")
    calls.clear()
    train_from_folder(root, embedder, opts)
    assert sum(calls) == 3  # only the new photo's views went through the network


def test_open_set_gate_keeps_strangers_out():
    """Photos far from every category's examples must score below every threshold."""
    from photosorter.ml.training import fit_classifier

    rng = np.random.default_rng(0)
    centers = rng.normal(0, 1, (3, 64)) * 4
    y = np.repeat(np.eye(2), 30, axis=0).astype(np.float32)
    x = (y @ centers[:2] + rng.normal(0, 1, (60, 64))).astype(np.float32)
    clf = fit_classifier(x[:, None, :], y, ["a", "b"], backbone="t", weights_id="t", imagenet_head=None,
                         opts=TrainOptions(views=1, folds=3))
    strangers = (centers[2] + rng.normal(0, 1, (40, 64))).astype(np.float32)
    members = (np.repeat(np.eye(2), 20, axis=0) @ centers[:2] + rng.normal(0, 1, (40, 64))).astype(np.float32)
    assert not any(clf.decide(clf.scores(strangers))), "a stranger was put in a category"
    kept = [d for d in clf.decide(clf.scores(members)) if d]
    assert len(kept) >= 36  # ≥ 90% of genuine members still sorted


def test_near_identical_examples_still_train_with_a_warning(tmp_path):
    """A burst of near-identical shots per category must not leave a fold without data."""
    from PIL import Image

    root = tmp_path / "ex"
    for name, colour in (("red", (200, 30, 30)), ("blue", (30, 40, 200))):
        (root / name).mkdir(parents=True)
        for i in range(5):
            img = Image.new("RGB", (80, 60), colour)
            img.putpixel((i, 0), (i * 40, i * 40, i * 40))  # different bytes, same picture
            img.save(root / name / f"{name}_{i}.jpg", quality=90 - i)
    result = train_from_folder(root, Embedder("tiny"), TrainOptions(views=1, folds=3, max_epochs=10))
    assert any("near-duplicates" in w for w in result.warnings)
    assert result.classifier.description.folds >= 2
