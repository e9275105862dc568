"""Opt-in fine-tuning of the top of the backbone (ml/finetune.py, issue 13 item 6), on the tiny backbone."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from photosorter import errors
from photosorter.cli import main
from photosorter.jobs import CancelToken
from photosorter.ml import finetune
from photosorter.ml.classifier import Classifier
from photosorter.ml.dataset import scan_labeled_folder
from photosorter.ml.features import Embedder
from photosorter.ml.finetune import FineTuneOptions, fine_tune_stage
from photosorter.ml.scoring import Scorer
from photosorter.ml.training import TrainOptions, train_from_photos
from photosorter.samples import make_labeled_folder

OPTS = TrainOptions(views=2, folds=3, max_epochs=10)


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    return make_labeled_folder(tmp_path_factory.mktemp("ex"), per_category=7, seed=4, rel_size=0.6)


@pytest.fixture(scope="module")
def frozen(examples):
    """One frozen training, shared (fine_tune_stage copies what it changes)."""
    emb = Embedder("tiny")
    photos = scan_labeled_folder(examples)
    return photos, emb, train_from_photos(photos, emb, OPTS)


def _stage(frozen, monkeypatch, frozen_f1: float, tuned_f1: float, **kw):
    """Run the stage with the two cross-validated macro-F1 figures forced (first call: frozen)."""
    real = finetune._macro_f1
    forced = iter([frozen_f1, tuned_f1])

    def fake(labels, logits, categories):
        _f1, m = real(labels, logits, categories)
        return next(forced), m

    monkeypatch.setattr(finetune, "_macro_f1", fake)
    photos, emb, result = frozen
    import copy

    return fine_tune_stage(photos, emb, copy.deepcopy(result), OPTS, FineTuneOptions(epochs=2), **kw)


def test_frozen_model_is_kept_when_fine_tuning_does_not_improve(frozen, monkeypatch):
    out = _stage(frozen, monkeypatch, 0.80, 0.80)  # equal is not an improvement
    clf = out.classifier
    assert clf.backbone_top is None and clf.weights_id == frozen[1].model.weights_id
    info = clf.description.fine_tune
    assert info["kept"] == "frozen" and "did not improve" in info["reason"]
    assert "familiarity gate" not in info["reason"]  # words a user knows (tryout: jargon)
    assert info["frozen_macro_f1"] == 0.8 and info["fine_tuned_macro_f1"] == 0.8


def test_progress_words_count_each_phase_to_its_end(frozen, monkeypatch):
    """Tryout: "Fine-tuning: epoch 11 of 18" then 100% — the count ran over every phase, including
    the final one that does not run when the fine-tuned network is not kept."""
    import re

    said: list[str] = []
    _stage(frozen, monkeypatch, 0.80, 0.80, progress=lambda d, t, m: said.append(m))
    epochs = [(m, *map(int, re.search(r"pass (\d+) of (\d+)", m).groups())) for m in said if "pass" in m]
    assert epochs and all(e <= of for _m, e, of in epochs), epochs
    folds = {re.search(r"round (\d+) of (\d+)", m).group(0) for m, _e, _of in epochs}
    k = len(folds)
    assert k >= 2 and epochs[-1][0].startswith(f"Fine-tuning: round {k} of {k}, pass 2 of 2"), epochs[-1]


def test_fine_tuned_model_is_kept_when_it_improves_and_round_trips(frozen, monkeypatch, tmp_path):
    photos, emb, _r = frozen
    out = _stage(frozen, monkeypatch, 0.70, 0.90)
    clf = out.classifier
    info = clf.description.fine_tune
    assert info["kept"] == "fine-tuned" and "improved" in info["reason"] and "not the table's figures" in info["reason"]
    # Tryout finding: the table showed the stage's figures beside the final training's confusion
    # matrix. The table's metrics are the final training's, from the same held-out scores.
    from photosorter.ml.calibration import compute_metrics
    oof = clf.description.out_of_fold
    labels = np.zeros((len(oof["paths"]), len(clf.categories)))
    for i, idx in enumerate(oof["labels"]):
        labels[i, list(idx)] = 1.0
    again = compute_metrics(labels, np.asarray(oof["scores"], dtype=float), clf.thresholds, clf.categories)
    assert clf.metrics["macro_f1"] == pytest.approx(again["macro_f1"], abs=0.02)
    assert "optimistic" in clf.description.metrics_note
    assert clf.backbone_top and clf.base_weights_id == emb.model.weights_id
    assert clf.weights_id.startswith(emb.model.weights_id + "+ft-")
    # the top really changed, and the model's features are the fine-tuned ones
    base_top = finetune.split_body(emb.model.body, "tiny")[1]
    assert any(not torch.equal(v, base_top.state_dict()[k]) for k, v in clf.backbone_top.items())
    # saved, loaded through the normal path (Scorer.from_file: base backbone + stored top) → identical scores
    path = clf.save(tmp_path / "ft.safetensors")
    live = Scorer(clf, Embedder("tiny"))  # in memory, fresh cache (training cached features from fp16 activations)
    loaded = Scorer.from_file(path, app_background=False)
    assert loaded.classifier.weights_id == clf.weights_id
    assert loaded.classifier.description.fine_tune == info
    assert loaded.embedder.model.weights_id == clf.weights_id != emb.model.weights_id
    paths = photos.paths[:6]
    a = np.array([[r.scores[c] for c in clf.categories] for r in live.score_paths(paths, background="off")])
    b = np.array([[r.scores[c] for c in clf.categories] for r in loaded.score_paths(paths, background="off")])
    np.testing.assert_array_equal(a, b)
    # and the frozen backbone alone would score differently: the stored top is used
    frozen_feats = np.stack([r.features[0] for r in emb.embed(paths)])
    assert not np.allclose(clf.scores(frozen_feats), a, atol=1e-6)


def test_fine_tuned_model_with_other_base_weights_is_refused_with_retrain(frozen, monkeypatch, tmp_path):
    out = _stage(frozen, monkeypatch, 0.70, 0.90)
    clf = out.classifier
    clf.base_weights_id = "tiny-someoneelses"
    with pytest.raises(errors.ModelError, match="retrain"):
        Scorer(clf, frozen[1])
    clf.base_weights_id = frozen[1].model.weights_id
    clf.backbone_top = {k: v + 1.0 for k, v in clf.backbone_top.items()}  # layers that do not match the id
    with pytest.raises(errors.ModelFileError, match="Retrain"):
        finetune.fine_tuned_embedder(frozen[1], clf.backbone_top, clf.weights_id)


def test_cancel_stops_fine_tuning(frozen):
    import copy

    photos, emb, result = frozen
    token = CancelToken()
    seen = []

    def progress(done, total, msg):
        seen.append(msg)
        if "pass " in msg:
            token.cancel()

    with pytest.raises(errors.CancelledError):
        fine_tune_stage(photos, emb, copy.deepcopy(result), OPTS, FineTuneOptions(epochs=3), progress=progress,
                        cancel=token)
    assert sum("pass " in m for m in seen) == 1  # stopped within the next pass


def test_train_fine_tune_json_says_what_was_kept(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(finetune, "FineTuneOptions", lambda: FineTuneOptions(epochs=1))  # the CLI's path, shorter
    examples = make_labeled_folder(tmp_path / "ex", per_category=4, seed=5, rel_size=0.6)
    model = tmp_path / "m.safetensors"
    code = main(["train", str(examples), "--model", str(model), "--backbone", "tiny", "--views", "1",
                 "--fine-tune", "--json", "-q"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    ft = out["fine_tune"]
    assert ft["kept"] in ("frozen", "fine-tuned") and ft["reason"]
    assert (ft["kept"] == "fine-tuned") == (ft["fine_tuned_macro_f1"] > ft["frozen_macro_f1"])
    loaded = Classifier.load(model)
    assert loaded.description.fine_tune == ft
    assert (loaded.backbone_top is not None) == (ft["kept"] == "fine-tuned")


def test_fine_tuned_layers_round_trip_and_a_file_claiming_them_without_any_is_refused(tmp_path):
    """The model file keeps the fine-tuned layers exactly; a description that says "fine-tuned"
    without the layers is a damaged file (a clear "retrain"), not a crash or a silently frozen model."""
    from photosorter.ml.classifier import read_model_file

    emb = Embedder("tiny")
    photos = scan_labeled_folder(make_labeled_folder(tmp_path / "ex", per_category=4, seed=8, rel_size=0.6))
    clf = train_from_photos(photos, emb, TrainOptions(views=1, folds=2, max_epochs=5)).classifier
    top = finetune.trainable_state(finetune.split_body(emb.model.body, "tiny")[1])
    clf.backbone_top = {k: v * 0.5 for k, v in top.items()}
    clf.base_weights_id = emb.model.weights_id
    loaded = Classifier.load(clf.save(tmp_path / "ft.safetensors"))
    assert loaded.base_weights_id == emb.model.weights_id
    assert all(torch.equal(loaded.backbone_top[k], v) for k, v in clf.backbone_top.items())
    tensors, doc = read_model_file(tmp_path / "ft.safetensors")
    tensors = {k: v for k, v in tensors.items() if not k.startswith("backbone_top.")}
    with pytest.raises(errors.ModelFileError, match="fine-tuned"):
        Classifier.from_contents(tensors, doc, tmp_path / "ft.safetensors")
