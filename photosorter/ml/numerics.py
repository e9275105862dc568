"""Which numeric mode the backbone runs in: fp32, bf16 where the CPU computes it natively, or int8.

bf16 autocast speeds ResNet50 up ~1.4x end to end on CPUs with avx512_bf16 or AMX — and is ~5x
*slower* on AVX2-only CPUs, where it is emulated. So it is only offered behind a real capability
check: oneDNN's own bf16 test plus the CPU flags.

Each backbone's default is the fastest mode *validated* for it on real photos
(``benchmarks/numerics_check.py`` and README "Performance"): a mode is validated when, trained and
evaluated end to end in it, the dev-set top-1 and macro-F1 (mean over training seeds) stay within
0.5 points of fp32. EfficientNet-Lite0 in bf16: within 0.25 points on hymenoptera and flowers (six
seeds; a single seed differs by up to a point either way, which is seed noise, not bf16), so it
runs bf16 where the CPU has it natively. ResNet50's real ImageNet weights were not available to
validate anything, so it stays fp32 unless asked (Settings → Speed → Fastest, or the variable).
``PHOTOSORTER_NUMERIC_MODE=fp32|bf16|int8|auto`` overrides; Exact in Settings pins fp32.
Features from different modes never mix: the mode is part of the feature-cache key.

int8 (static quantization, see :mod:`.quantize`) is offered for ResNet50 where the CPU has
quantized kernels; it checks itself against fp32 on the first photos of each session and stays in
fp32 when the features drift (see ``quantize.MIN_COSINE``).
"""

from __future__ import annotations

import functools
import os

import torch

MODES = ("fp32", "bf16", "int8")
DEFAULT_MODE = "fp32"
#: the fast mode validated per backbone (used where the CPU runs it natively)
VALIDATED = {"efficientnet_lite0": "bf16"}


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
    """None → the environment's choice, else the backbone's validated mode where native, else
    fp32; 'auto' → the fastest mode this CPU offers for the backbone (int8, then bf16); an explicit
    mode is honoured where supported, else fp32."""
    modes = available_modes(backbone)
    requested = requested or os.environ.get("PHOTOSORTER_NUMERIC_MODE")
    if requested is None:
        validated = VALIDATED.get(backbone or "")
        return validated if validated in modes else DEFAULT_MODE
    if requested == "auto":
        return "int8" if "int8" in modes else "bf16" if "bf16" in modes else "fp32"
    if requested not in MODES:
        raise ValueError(f"unknown numeric mode {requested!r}; use one of {MODES} or 'auto'")
    return requested if requested in modes else "fp32"
