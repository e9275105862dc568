"""Which numeric mode the backbone runs in: fp32, bf16 where the CPU computes it natively, or int8.

bf16 autocast speeds ResNet50 up ~1.4x end to end on CPUs with avx512_bf16 or AMX — and is ~5x
*slower* on AVX2-only CPUs, where it is emulated. So it is only offered behind a real capability
check: oneDNN's own bf16 test plus the CPU flags.

The default is fp32, because bf16 is not decision-neutral: measured on the dev sets, scoring
bf16 features with an fp32-trained model changed 1.3% (hymenoptera) and 0.5% (flowers) of the
decisions (feature cosine to fp32: mean 0.999, min 0.993). ``PHOTOSORTER_NUMERIC_MODE=bf16``
(or ``auto``: bf16 where native) opts in. Features from different modes never mix: the mode is
part of the feature-cache key.

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
    """None → the environment's choice or fp32; 'auto' → the fastest mode this CPU offers for the
    backbone (int8, then bf16); an explicit mode is honoured where supported, else fp32."""
    requested = requested or os.environ.get("PHOTOSORTER_NUMERIC_MODE") or DEFAULT_MODE
    modes = available_modes(backbone)
    if requested == "auto":
        return "int8" if "int8" in modes else "bf16" if "bf16" in modes else "fp32"
    if requested not in MODES:
        raise ValueError(f"unknown numeric mode {requested!r}; use one of {MODES} or 'auto'")
    return requested if requested in modes else "fp32"
