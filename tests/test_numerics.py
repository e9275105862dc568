"""Fast numeric modes are offered only where they run natively, and int8 checks itself against fp32."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from photosorter.ml import numerics, quantize
from photosorter.ml.backbones import build_backbone

pytestmark = pytest.mark.skipif(quantize.int8_engine() is None, reason="no quantized kernels on this CPU")


def test_int8_is_offered_for_resnet50_only_and_auto_picks_the_fastest():
    assert "int8" in numerics.available_modes("resnet50")
    assert "int8" not in numerics.available_modes("efficientnet_lite0")  # measured slower and far off
    assert numerics.choose_mode("auto", "resnet50") == "int8"
    assert numerics.choose_mode("int8", "efficientnet_lite0") == "fp32"  # not offered: falls back
    assert numerics.choose_mode(None, "resnet50") == "fp32"  # nothing validated without real weights


def test_default_is_the_validated_mode_where_native(monkeypatch):
    monkeypatch.delenv("PHOTOSORTER_NUMERIC_MODE", raising=False)
    monkeypatch.setattr(numerics, "native_bf16", lambda: True)
    assert numerics.choose_mode(None, "efficientnet_lite0") == "bf16"
    monkeypatch.setattr(numerics, "native_bf16", lambda: False)  # AVX2-only: emulated bf16 is slow
    assert numerics.choose_mode(None, "efficientnet_lite0") == "fp32"
    monkeypatch.setenv("PHOTOSORTER_NUMERIC_MODE", "fp32")
    monkeypatch.setattr(numerics, "native_bf16", lambda: True)
    assert numerics.choose_mode(None, "efficientnet_lite0") == "fp32"


def images(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 64, 64, generator=g)


def test_int8_runner_switches_only_after_the_check_passes():
    model = build_backbone("tiny").eval()
    runner = quantize.Int8Runner(model.body)
    with torch.no_grad():
        first = runner.features(images(16), model)
        assert not runner.active and torch.equal(first, model(images(16)))  # calibrating: fp32
        runner.features(images(16, seed=1), model)
        assert runner.active, runner.report
        assert runner.report["min_cosine"] >= quantize.MIN_COSINE
        x = images(8, seed=2)
        q, f = runner.features(x, model), model(x)
    assert not torch.equal(q, f)  # really the int8 network now
    cos = torch.nn.functional.cosine_similarity(q, f, dim=1)
    assert float(cos.min()) >= 0.99


def test_int8_runner_stays_in_fp32_when_features_drift(monkeypatch):
    monkeypatch.setattr(quantize, "MIN_COSINE", 1.01)  # nothing can pass
    model = build_backbone("tiny").eval()
    runner = quantize.Int8Runner(model.body)
    with torch.no_grad():
        for s in range(3):
            runner.features(images(16, seed=s), model)
        x = images(4, seed=9)
        assert not runner.active and runner.failed and not runner.report["ok"]
        assert torch.equal(runner.features(x, model), model(x))


def test_embedder_in_int8_mode_keeps_features_close_to_fp32(tmp_path, monkeypatch):
    from photosorter.ml.features import Embedder, FeatureCache
    from photosorter.samples import make_labeled_folder

    monkeypatch.setattr(quantize, "INT8_BACKBONES", ("tiny",))
    root = make_labeled_folder(tmp_path / "p", per_category=24, rel_size=0.5, seed=3)
    paths = sorted(root.rglob("*.jpg"))
    fp32 = Embedder("tiny", cache=FeatureCache(None), numeric_mode="fp32")
    int8 = Embedder("tiny", cache=FeatureCache(None), numeric_mode="int8")
    assert int8.numeric_mode == "int8" and int8.cache_key.endswith("|int8") and fp32.cache_key.endswith("|fp32")
    a = np.stack([r.features[0] for r in fp32.embed(paths)])
    b = np.stack([r.features[0] for r in int8.embed(paths)])
    assert int8.int8.active, int8.int8.report
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.min() >= 0.99 and not np.array_equal(a[-8:], b[-8:])
