"""Backbone registry: shapes, offline behaviour, local weight files (downloads are impossible here)."""

from __future__ import annotations

import urllib.error

import pytest
import torch

from photosorter import errors
from photosorter.ml import backbones


def test_tiny_is_deterministic_and_pools():
    a, b = backbones.build_backbone("tiny"), backbones.build_backbone("tiny")
    x = torch.rand(2, 3, 64, 64)
    assert torch.equal(a(x), b(x))
    assert a(x).shape == (2, backbones.get_spec("tiny").feature_dim)
    assert not any(p.requires_grad for p in a.parameters())


def test_efficientnet_lite0_offline_weights_load():
    m = backbones.build_backbone("efficientnet_lite0")
    x = torch.zeros(1, 3, 224, 224)
    assert m(x).shape == (1, 1280)
    assert m.feature_map(x).shape == (1, 1280, 7, 7)
    assert m.imagenet_head.weight.shape == (1000, 1280)


def test_unknown_backbone_is_a_usage_error():
    with pytest.raises(errors.UsageError, match="Choose one of"):
        backbones.get_spec("vgg")


@pytest.fixture
def resnet50_state(tmp_path):
    from torchvision.models import resnet50

    torch.manual_seed(0)
    path = tmp_path / "resnet50-local.pth"
    torch.save(resnet50(weights=None).state_dict(), path)
    return path


def test_resnet50_from_local_weights_file(resnet50_state):
    m = backbones.build_backbone("resnet50", weights=resnet50_state)
    assert m(torch.zeros(1, 3, 224, 224)).shape == (1, 2048)
    assert m.feature_map(torch.zeros(1, 3, 224, 224)).shape == (1, 2048, 7, 7)
    assert m.weights_id.startswith("resnet50-")


def test_resnet50_from_cache_without_download(resnet50_state, monkeypatch):
    from photosorter.config import app_paths

    cached = app_paths().weights_dir / backbones.RESNET50_FILENAME
    cached.parent.mkdir(parents=True)
    cached.write_bytes(resnet50_state.read_bytes())
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", lambda *a, **k: pytest.fail("must not download"))
    assert backbones.build_backbone("resnet50").weights_id.startswith("resnet50-")


def test_resnet50_weights_shipped_in_a_frozen_bundle_are_used_offline(resnet50_state, monkeypatch, tmp_path):
    """packaging/build_bundle.py --resnet50-weights puts the file in the bundle's weights/ folder."""
    import sys

    bundle = tmp_path / "bundle"
    (bundle / "weights").mkdir(parents=True)
    (bundle / "weights" / backbones.RESNET50_FILENAME).write_bytes(resnet50_state.read_bytes())
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", lambda *a, **k: pytest.fail("must not download"))
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    local = backbones.build_backbone("resnet50", weights=resnet50_state)
    assert backbones.build_backbone("resnet50").weights_id == local.weights_id


def test_resnet50_offline_message_names_both_remedies(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))

    def offline(*a, **k):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(errors.WeightsUnavailableError) as info:
        backbones.build_backbone("resnet50")
    text = str(info.value)
    assert "--weights FILE" in text and "internet" in text and "efficientnet_lite0" in text


def test_wrong_weights_file_is_refused_clearly(tmp_path):
    bad = tmp_path / "bad.pth"
    torch.save({"conv.weight": torch.zeros(3)}, bad)
    with pytest.raises(errors.WeightsUnavailableError, match="does not fit ResNet50"):
        backbones.build_backbone("resnet50", weights=bad)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a weights file")
    with pytest.raises(errors.WeightsUnavailableError, match="not a readable weights file"):
        backbones.build_backbone("resnet50", weights=junk)


@pytest.mark.parametrize("name", ["tiny", "efficientnet_lite0", "resnet50"])
def test_every_backbone_explains_on_its_declared_layer(name, resnet50_state):
    """Grad-CAM, augmented Grad-CAM and occlusion work on each registered backbone's target layer,
    on the grid that layer has at the backbone's input size (7x7 for ResNet50 at 224 px)."""
    import numpy as np
    from PIL import Image

    from photosorter.ml.gradcam import explain
    from photosorter.ml.head import Head, HeadEnsemble

    spec = backbones.get_spec(name)
    model = backbones.build_backbone(name, weights=resnet50_state if name == "resnet50" else None)
    torch.manual_seed(0)
    head = HeadEnsemble([Head(spec.feature_dim, 2)]).eval()
    grid = model.feature_map(torch.zeros(1, 3, spec.input_size, spec.input_size)).shape[-1]
    photo = Image.fromarray(np.random.default_rng(0).integers(0, 255, (150, 200, 3), dtype=np.uint8))
    for method in ("gradcam", "augmented", "occlusion"):
        ex = explain(model, head, spec, photo, method=method)
        assert len(ex.maps) == 2 and all(m.shape == (grid, grid) for m in ex.maps), method
        assert all(m.min() >= 0 and m.max() <= 1 for m in ex.maps), method
    assert name != "resnet50" or grid == 7
    assert not any(m._forward_hooks for m in model.modules())
