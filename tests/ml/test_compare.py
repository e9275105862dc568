"""Comparing backbones on the user's examples (ml/compare.py, issue 13 item 6)."""

from __future__ import annotations

import json

import pytest
from fake_backbones import register_fake_backbones

from photosorter import errors
from photosorter.cli import main
from photosorter.ml.compare import compare_backbones
from photosorter.ml.dataset import scan_labeled_folder
from photosorter.ml.training import TrainOptions
from photosorter.samples import make_labeled_folder


@pytest.fixture
def registered(monkeypatch):
    register_fake_backbones(monkeypatch)


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    root = tmp_path_factory.mktemp("ex")
    make_labeled_folder(root, per_category=14, seed=1, rel_size=0.6)
    return root


def test_keeps_the_backbone_with_the_best_cross_validated_f1(registered, examples):
    opts = TrainOptions(views=1, folds=3, max_epochs=30)
    won = compare_backbones(scan_labeled_folder(examples), ["blind", "missing", "tiny"], opts)
    rows = {r["backbone"]: r for r in won.rows}
    assert won.embedder.spec.name == "tiny" and won.result.classifier.backbone == "tiny"
    assert rows["tiny"]["macro_f1"] > rows["blind"]["macro_f1"]  # listed first, but it sees nothing
    assert rows["tiny"]["kept"] and not rows["blind"]["kept"]
    assert "not on this computer" in rows["missing"]["error"]  # reported, not a crash
    assert list(won.result.classifier.description.backbone_comparison) == won.rows


def test_no_loadable_backbone_raises_its_error(registered, examples):
    with pytest.raises(errors.WeightsUnavailableError):
        compare_backbones(scan_labeled_folder(examples), ["missing"], TrainOptions(views=1, folds=2, max_epochs=5))


def test_train_json_shows_the_comparison_and_saves_the_winner(registered, tmp_path, capsys):
    examples = make_labeled_folder(tmp_path / "ex", per_category=6, seed=3, rel_size=0.6)
    model = tmp_path / "m.safetensors"
    code = main(["train", str(examples), "--model", str(model), "--backbone", "tiny", "--views", "1",
                 "--compare-backbones", "missing,tiny", "--json", "-q"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["backbone"] == "tiny" and model.is_file()
    assert [r["backbone"] for r in out["backbone_comparison"]] == ["missing", "tiny"]
    assert [r["kept"] for r in out["backbone_comparison"]] == [False, True]
    assert "error" in out["backbone_comparison"][0] and out["backbone_comparison"][1]["macro_f1"] >= 0
    assert main(["train", str(examples), "--model", str(model), "--compare-backbones", "nonsense", "-q"]) == 2
