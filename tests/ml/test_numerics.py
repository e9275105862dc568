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
    # ResNet50's default fast mode is bf16 (checked at run time, Bf16Check) where native, never int8
    assert numerics.choose_mode(None, "resnet50") == ("bf16" if numerics.native_bf16() else "fp32")


def test_default_is_the_validated_mode_where_native(monkeypatch):
    monkeypatch.delenv("PHOTOSORTER_NUMERIC_MODE", raising=False)
    monkeypatch.setattr(numerics, "native_bf16", lambda: True)
    assert numerics.choose_mode(None, "efficientnet_lite0") == "bf16"
    monkeypatch.setattr(numerics, "native_bf16", lambda: False)  # AVX2-only: emulated bf16 is slow
    assert numerics.choose_mode(None, "efficientnet_lite0") == "fp32"
    monkeypatch.setenv("PHOTOSORTER_NUMERIC_MODE", "fp32")
    monkeypatch.setattr(numerics, "native_bf16", lambda: True)
    assert numerics.choose_mode(None, "efficientnet_lite0") == "fp32"


def test_resnet50_bf16_is_checked_at_run_time_efficientnet_bf16_is_validated(monkeypatch):
    monkeypatch.delenv("PHOTOSORTER_NUMERIC_MODE", raising=False)
    monkeypatch.setattr(numerics, "native_bf16", lambda: True)
    assert numerics.choose_mode(None, "resnet50") == "bf16"
    assert numerics.checked_at_run_time("bf16", "resnet50")
    assert not numerics.checked_at_run_time("bf16", "efficientnet_lite0")
    assert not numerics.checked_at_run_time("fp32", "resnet50")
    monkeypatch.setattr(numerics, "native_bf16", lambda: False)
    assert numerics.choose_mode(None, "resnet50") == "fp32"


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

    monkeypatch.setattr(numerics, "INT8_BACKBONES", ("tiny",))
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


needs_bf16 = pytest.mark.skipif(not numerics.native_bf16(), reason="this CPU has no native bf16")


class _Smooth(torch.nn.Module):
    """A convolution (autocast runs it in bf16) whose features differ a lot between photos, so
    bf16 rounding barely moves them."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.adaptive_avg_pool2d(self.conv(x), 4).flatten(1).float()


@needs_bf16
def test_bf16_check_switches_only_after_the_first_photos_agree_with_fp32():
    check, model = numerics.Bf16Check(), _Smooth()
    with torch.inference_mode():
        for s in range(numerics.BF16_CHECK_PHOTOS // 8):
            x = images(8, seed=s)
            assert not check.active and torch.equal(check.features(x, model), model(x))  # exact while checking
        assert check.active and check.report["ok"], check.report
        assert check.report["min_cosine"] >= numerics.MIN_COSINE and check.report["checked_photos"] == 16
        x = images(8, seed=7)
        fast, exact = check.features(x, model), model(x)
    assert not torch.equal(fast, exact)  # really bf16 now
    assert float(torch.nn.functional.cosine_similarity(fast, exact).min()) >= 0.99


@needs_bf16
def test_bf16_check_keeps_fp32_for_the_session_when_features_drift(monkeypatch):
    monkeypatch.setattr(numerics, "MIN_COSINE", 1.01)  # nothing can pass
    check, model = numerics.Bf16Check(), _Smooth()
    with torch.inference_mode():
        for s in range(4):
            check.features(images(8, seed=s), model)
        x = images(8, seed=9)
        assert check.failed and not check.active and not check.report["ok"]
        assert torch.equal(check.features(x, model), model(x))


@needs_bf16
def test_embedder_checks_bf16_only_where_it_was_not_validated(monkeypatch):
    from photosorter.ml.features import Embedder, FeatureCache

    monkeypatch.delenv("PHOTOSORTER_NUMERIC_MODE", raising=False)
    monkeypatch.setattr(numerics, "SELF_CHECKED", {"tiny": "bf16"})
    emb = Embedder("tiny", cache=FeatureCache(None))
    assert emb.numeric_mode == "bf16" and emb.bf16_check is not None and emb.cache_key.endswith("|bf16")
    u8 = (images(16) * 40 + 120).clamp(0, 255).to(torch.uint8)
    exact = Embedder("tiny", cache=FeatureCache(None), numeric_mode="fp32").forward_u8(u8)
    assert np.array_equal(emb.forward_u8(u8), exact)  # the checked photos get their fp32 features
    assert emb.bf16_check.report["checked_photos"] == 16
    monkeypatch.setattr(numerics, "SELF_CHECKED", {})
    assert Embedder("tiny", cache=FeatureCache(None), numeric_mode="fp32").bf16_check is None
