"""int8 backbones for sorting large batches: ~4x the fp32 network speed for ResNet50 on x86.

Static post-training quantization (PyTorch FX graph mode, per-channel int8 weights, activation
ranges observed on calibration photos). Quantization error depends on the weights and on the
photos, so the quantized network is never trusted blindly: :class:`Int8Runner` calibrates on
the first photos it sees (their fp32 features are what gets used for them), quantizes, and checks
the int8 features of held-back photos against their fp32 features. Only when every one of them is
within :data:`MIN_COSINE` does it switch to int8; otherwise it stays in fp32 for the session.

The cosine is taken *after subtracting the mean feature of the photos seen*: what tells photos
apart is how their features differ from each other, and a network whose features share a large
common component (a randomly initialised ResNet50 is an extreme case) can show a raw cosine of
0.9996 to fp32 while int8 noise swamps the differences — measured: 35–80% of decisions changed.
The centred cosine exposes exactly that.

Only ResNet50 is offered: EfficientNet-Lite0's depthwise convolutions measured *slower* in int8
on this CPU and its features drifted far (cosine 0.65 to fp32), see README "Performance".
"""

from __future__ import annotations

import copy
import logging
import threading
import time
import warnings

import torch
from torch import nn

from . import numerics
from .numerics import INT8_BACKBONES, int8_engine  # noqa: F401  (their home is numerics; kept importable here)

log = logging.getLogger(__name__)

CALIBRATION_PHOTOS = 24  # observer statistics saturate well before this on ResNet50
CHECK_PHOTOS = 8
#: int8 features must point the same way as fp32 ones (centred on the mean feature of the photos
#: seen): every checked photo at least this close — the bar every fast mode's run-time check uses.
MIN_COSINE = numerics.MIN_COSINE


class _Pooled(nn.Module):
    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).mean(dim=(2, 3))


def quantize(body: nn.Module, calibration: torch.Tensor) -> nn.Module:
    """int8 copy of ``body`` + global average pooling, calibrated on normalised images."""
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    engine = int8_engine()
    if engine is None:
        raise RuntimeError("this CPU has no quantized kernels")
    torch.backends.quantized.engine = engine
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FX quantization's deprecation notices are not for users
        model = _Pooled(copy.deepcopy(body)).eval()
        prepared = prepare_fx(model, get_default_qconfig_mapping(engine), example_inputs=(calibration[:1],))
        with torch.no_grad():
            for chunk in calibration.split(8):
                prepared(chunk)
        return convert_fx(prepared)


class Int8Runner:
    """Turns fp32 feature extraction into int8 once calibration and the check have passed."""

    def __init__(self, body: nn.Module, require_check: bool = True) -> None:
        self.body = body
        self.require_check = require_check  # False only for speed benchmarks with untrained weights
        self.model: nn.Module | None = None
        self.failed = False
        self.report: dict = {}
        self._seen: list[torch.Tensor] = []
        self._seen_feats: list[torch.Tensor] = []
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self.model is not None

    def features(self, x: torch.Tensor, fp32: nn.Module) -> torch.Tensor:
        """Features of normalised images ``x``: int8 when ready, else fp32 (collecting calibration)."""
        with self._lock:
            model = self.model
            if model is None:
                out = fp32(x)
                if not self.failed:
                    self._collect(x, out)
                return out
        with torch.no_grad():
            return model(x.contiguous())

    def _collect(self, x: torch.Tensor, out: torch.Tensor) -> None:
        self._seen.append(x.detach().contiguous())
        self._seen_feats.append(out.detach().float())
        if sum(len(t) for t in self._seen) < CALIBRATION_PHOTOS + CHECK_PHOTOS:
            return
        images, feats = torch.cat(self._seen), torch.cat(self._seen_feats)
        self._seen, self._seen_feats = [], []
        calib, check = images[:CALIBRATION_PHOTOS], images[CALIBRATION_PHOTOS:]
        start = time.perf_counter()
        try:
            model = quantize(self.body, calib)
            with torch.no_grad():
                q = model(check)
        except Exception as exc:  # no kernels, an untraceable model: stay in fp32
            self.failed = True
            self.report = {"ok": False, "reason": f"{type(exc).__name__}: {exc}"}
            log.warning("int8 mode unavailable, staying in fp32: %s", exc)
            return
        exact = feats[CALIBRATION_PHOTOS:]
        raw = torch.nn.functional.cosine_similarity(q, exact, dim=1)
        use, self.report = numerics.verdict(
            "int8", q, exact, feats.mean(dim=0, keepdim=True), MIN_COSINE, self.require_check,
            raw_min_cosine=round(float(raw.min()), 5), checked_photos=len(check), calibration_photos=len(calib),
            seconds=round(time.perf_counter() - start, 2))
        if use:
            self.model = model
        else:
            self.failed = True
