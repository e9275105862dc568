"""Which numeric mode the backbone runs in: fp32, bf16 where the CPU computes it natively, or int8.

bf16 autocast speeds ResNet50 up ~1.4x end to end on CPUs with avx512_bf16 or AMX — and is ~5x
*slower* on AVX2-only CPUs, where it is emulated. So it is only offered behind a real capability
check: oneDNN's own bf16 test plus the CPU flags.

Each backbone's default is the fastest mode *validated* for it on real photos
(``benchmarks/numerics_check.py`` and README "Performance"): a mode is validated when, trained and
evaluated end to end in it, the dev-set top-1 and macro-F1 (mean over training seeds) stay within
0.5 points of fp32. EfficientNet-Lite0 in bf16: within 0.25 points on hymenoptera and flowers (six
seeds; a single seed differs by up to a point either way, which is seed noise, not bf16), so it
runs bf16 where the CPU has it natively.

ResNet50's real ImageNet weights were not available here to validate it offline, so its bf16 default
(:data:`SELF_CHECKED`) is checked at run time instead, on the user's own photos with the user's own
weights: :class:`Bf16Check` computes the first photos of each session in both fp32 and bf16 and
switches to bf16 only if every one of them keeps a centred cosine of at least :data:`MIN_COSINE` to
its fp32 features (those photos keep their exact fp32 features); otherwise the session stays fp32.
For scale: EfficientNet-Lite0's validated bf16 measures a centred cosine of 0.998 or more on real
photos; a *randomly initialised* ResNet50 measures 0.987–0.992 on real photos and 0.90–0.995 on
generated ones (random networks amplify rounding noise far more than trained ones), so the check
is close to the line for a network nobody would sort with.
``PHOTOSORTER_NUMERIC_MODE=fp32|bf16|int8|auto`` overrides; Exact in Settings pins fp32.
The mode is part of the feature-cache key, so cached features of different modes never mix (a
checked mode's first photos are cached with their exact fp32 features under its key).

int8 (static quantization, see :mod:`.quantize`) is offered for ResNet50 where the CPU has
quantized kernels; it checks itself against fp32 on the first photos of each session and stays in
fp32 when the features drift (the same :data:`MIN_COSINE`).
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time

import torch
from torch import nn

log = logging.getLogger(__name__)

MODES = ("fp32", "bf16", "int8")
DEFAULT_MODE = "fp32"
#: the fast mode validated per backbone (used where the CPU runs it natively)
VALIDATED = {"efficientnet_lite0": "bf16"}
#: the fast mode used by default where native, after a run-time check against fp32 (Bf16Check)
SELF_CHECKED = {"resnet50": "bf16"}
#: a fast mode's features must point the same way as fp32's, centred on the mean feature of the
#: photos checked (what tells photos apart is how they differ): every checked photo this close.
MIN_COSINE = 0.99
BF16_CHECK_PHOTOS = 16


@functools.lru_cache(maxsize=1)
def native_bf16() -> bool:
    try:
        if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
            return False
    except Exception:
        return False
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:  # not Linux: trust oneDNN's check
        return True
    return "avx512_bf16" in flags or "amx_bf16" in flags


def available_modes(backbone: str | None = None) -> list[str]:
    """Modes this CPU runs natively, for ``backbone`` (None: the modes every backbone has)."""
    from .quantize import INT8_BACKBONES, int8_engine

    modes = ["fp32", "bf16"] if native_bf16() else ["fp32"]
    if backbone in INT8_BACKBONES and int8_engine() is not None:
        modes.append("int8")
    return modes


def choose_mode(requested: str | None = None, backbone: str | None = None) -> str:
    """None → the environment's choice, else the backbone's validated (or run-time checked) mode
    where native, else fp32; 'auto' → the fastest mode this CPU offers for the backbone (int8, then bf16); an explicit
    mode is honoured where supported, else fp32."""
    modes = available_modes(backbone)
    requested = requested or os.environ.get("PHOTOSORTER_NUMERIC_MODE")
    if requested is None:
        fast = VALIDATED.get(backbone or "") or SELF_CHECKED.get(backbone or "")
        return fast if fast in modes else DEFAULT_MODE
    if requested == "auto":
        return "int8" if "int8" in modes else "bf16" if "bf16" in modes else "fp32"
    if requested not in MODES:
        from .. import errors

        source = "The PHOTOSORTER_NUMERIC_MODE environment variable" if requested == os.environ.get(
            "PHOTOSORTER_NUMERIC_MODE") else "The numeric mode"
        raise errors.UsageError(f"{source} is {requested!r}; use one of {', '.join(MODES)} or auto (or unset it).")
    return requested if requested in modes else "fp32"


def checked_at_run_time(mode: str, backbone: str | None) -> bool:
    """bf16 for a backbone not validated offline: :class:`Bf16Check` decides per session."""
    return mode == "bf16" and VALIDATED.get(backbone or "") != "bf16"


def centred_cosine(fast: torch.Tensor, exact: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """Per-photo cosine between fast and exact features after subtracting ``mean`` (see MIN_COSINE).

    A raw cosine hides drift in networks whose features share a large common component: a random
    ResNet50 in int8 shows 0.9996 raw while 35–80% of decisions change (see quantize)."""
    return nn.functional.cosine_similarity(fast.float() - mean, exact.float() - mean, dim=1)


def verdict(kind: str, fast: torch.Tensor, exact: torch.Tensor, mean: torch.Tensor, min_cosine: float,
            require_check: bool, **details) -> tuple[bool, dict]:
    """A fast mode's run-time check (bf16 here, int8 in :mod:`.quantize`): use it only if every
    checked photo keeps a centred cosine of ``min_cosine`` to fp32 (or the check is not required,
    for speed benchmarks). Returns whether to use it and the report, logged either way."""
    cos = centred_cosine(fast, exact, mean)
    report = {"ok": bool(cos.min() >= min_cosine), "min_cosine": round(float(cos.min()), 5),
              "mean_cosine": round(float(cos.mean()), 5), **details}
    use = report["ok"] or not require_check
    if use:
        log.info("%s backbone active: %s", kind, report)
    else:
        log.warning("%s features too far from fp32 (%s): staying in fp32", kind, report)
    return use, report


class Bf16Check:
    """bf16 features once the first :data:`BF16_CHECK_PHOTOS` photos of the session agree with fp32.

    Until then every batch is computed both ways and the fp32 result is what callers get, so the
    check never changes a decision; after a failed check the session simply stays fp32."""

    def __init__(self, require_check: bool = True) -> None:
        self.require_check = require_check  # False only for speed benchmarks with untrained weights
        self.active = False
        self.failed = False
        self.report: dict = {}
        self._exact: list[torch.Tensor] = []
        self._fast: list[torch.Tensor] = []
        self._seconds = 0.0
        self._lock = threading.Lock()

    def features(self, x: torch.Tensor, model: nn.Module) -> torch.Tensor:
        with self._lock:
            active, failed = self.active, self.failed
        if active:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return model(x).float()
        exact = model(x).float()
        if failed:
            return exact
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            fast = model(x).float()
        with self._lock:
            self._seconds += time.perf_counter() - start
            self._exact.append(exact)
            self._fast.append(fast)
            if sum(len(t) for t in self._exact) >= BF16_CHECK_PHOTOS and not (self.active or self.failed):
                self._decide()
        return exact

    def _decide(self) -> None:
        exact, fast = torch.cat(self._exact), torch.cat(self._fast)
        self._exact, self._fast = [], []
        use, self.report = verdict("bf16", fast, exact, exact.mean(dim=0, keepdim=True), MIN_COSINE,
                                   self.require_check, checked_photos=len(exact),
                                   extra_seconds=round(self._seconds, 2))
        self.active, self.failed = use, not use
