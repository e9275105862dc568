"""Model files are data: round trip exactly, refuse anything damaged, foreign or pickled."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from photosorter import errors
from photosorter.ml.classifier import Classifier
from photosorter.ml.training import TrainOptions, fit_classifier


def _toy_classifier(gate_head=None) -> tuple[Classifier, np.ndarray]:
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 1, (2, 32)) * 3
    y = np.repeat(np.eye(2), 12, axis=0).astype(np.float32)
    x = (y @ centers + rng.normal(0, 1, (24, 32)))[:, None, :].astype(np.float32)
    clf = fit_classifier(x, y, ["Food", "Pets"], backbone="tiny", weights_id="w", imagenet_head=gate_head,
                         opts=TrainOptions(views=1, folds=3, max_epochs=30))
    return clf, x[:, 0, :]


def test_round_trip_gives_identical_scores(tmp_path):
    clf, x = _toy_classifier()
    path = clf.save(tmp_path / "m.safetensors")
    loaded = Classifier.load(path)
    assert loaded.categories == ["Food", "Pets"]
    np.testing.assert_allclose(loaded.thresholds, clf.thresholds, atol=1e-6)
    np.testing.assert_allclose(loaded.scores(x), clf.scores(x), atol=1e-5)
    assert loaded.metrics["per_category"]["Food"]["support"] == 12
    assert not list(tmp_path.glob(".pending-*")), "temp file left behind"


def test_round_trip_with_concept_gate(tmp_path):
    head = torch.nn.Linear(32, 10)
    clf, x = _toy_classifier(gate_head=head)
    loaded = Classifier.load(clf.save(tmp_path / "m.safetensors"), imagenet_head=head)
    np.testing.assert_allclose(loaded.scores(x), clf.scores(x), atol=1e-5)


@pytest.mark.parametrize("where", [0.3, 0.6, 0.95])
def test_flipped_byte_is_refused(tmp_path, where):
    clf, _ = _toy_classifier()
    path = clf.save(tmp_path / "m.safetensors")
    data = bytearray(path.read_bytes())
    data[int(len(data) * where)] ^= 0x55
    path.write_bytes(bytes(data))
    with pytest.raises(errors.ModelFileError):
        Classifier.load(path)


def test_truncated_model_refused(tmp_path):
    clf, _ = _toy_classifier()
    path = clf.save(tmp_path / "m.safetensors")
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(errors.ModelFileError):
        Classifier.load(path)


def test_foreign_safetensors_refused(tmp_path):
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(3)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(errors.ModelFileError, match="not a photosorter model"):
        Classifier.load(tmp_path / "other.safetensors")


def test_edited_metadata_refused(tmp_path):
    """Changing a threshold in the JSON without the checksum is tampering."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    clf, _ = _toy_classifier()
    path = clf.save(tmp_path / "m.safetensors")
    with safe_open(str(path), framework="pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not iterable)
    tensors["thresholds"] = torch.tensor([0.01, 0.01])
    save_file(tensors, str(path), metadata=meta)
    with pytest.raises(errors.ModelFileError, match="checksum"):
        Classifier.load(path)


class _Exploit:
    def __reduce__(self):
        import os
        return (os.system, (f"touch {_Exploit.marker}",))


def test_pickled_model_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    _Exploit.marker = marker
    evil = tmp_path / "model.safetensors"
    evil.write_bytes(pickle.dumps(_Exploit()))
    with pytest.raises(errors.ModelFileError, match="never runs code"):
        Classifier.load(evil)
    torch_evil = tmp_path / "model.pt"
    torch.save({"x": _Exploit()}, torch_evil)
    with pytest.raises(errors.ModelFileError):
        Classifier.load(torch_evil)
    assert not marker.exists()


def test_missing_model_file_says_train_first(tmp_path):
    with pytest.raises(errors.ModelFileError, match="Train one first"):
        Classifier.load(tmp_path / "nope.safetensors")


def test_model_description_is_typed_and_round_trips_through_the_file(tmp_path):
    """The training summary is a frozen ModelDescription (not a free dict), stored as the file's
    ``info`` object: every field survives save/load, and unknown keys are kept, not dropped."""
    import dataclasses

    from photosorter.ml.model_description import ModelDescription

    clf, _x = _toy_classifier()
    desc = clf.description
    assert isinstance(desc, ModelDescription) and desc.examples == 24 and desc.folds == 3
    assert desc.examples_per_category == {"Food": 12, "Pets": 12} and desc.none_examples == 0
    assert desc.quality is not None and {q.name for q in desc.quality} == {"Food", "Pets"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        desc.examples = 3  # type: ignore[misc]
    clf.description = dataclasses.replace(desc, warnings=("w",), skipped=(("a.jpg", "empty"),),
                                          extra={"from_a_newer_version": [1, 2]})
    loaded = Classifier.load(clf.save(tmp_path / "m.safetensors"))
    assert loaded.description == clf.description
    doc = loaded.description.to_document()  # what the file stores: unknown keys written back
    assert doc["examples"] == 24 and doc["from_a_newer_version"] == [1, 2]


def test_model_file_from_format_1_loads_its_description():
    """A model written before the typed description (tests/data, by c66333f's code) reads into it."""
    from pathlib import Path

    loaded = Classifier.load(Path(__file__).parent.parent / "data" / "model_format1_tiny.safetensors")
    d = loaded.description
    assert d.folds >= 2 and d.examples > 0 and len(d.curves) == d.folds
    assert sum(d.examples_per_category.values()) >= d.examples - d.none_examples
    assert d.continued_folds == 0 and not d.extra


def test_description_with_wrong_types_falls_back_to_defaults():
    """The description never feeds scoring: odd values from another version must not refuse a model."""
    from photosorter.ml.model_description import ModelDescription

    d = ModelDescription.from_document({"examples": "many", "quality": [{"oops": 1}], "curves": 3, "folds": 4})
    assert d.examples == 0 and d.quality is None and d.curves == () and d.folds == 4
