"""Backbones for tests about choosing between backbones: one that sees nothing useful ("blind")
and one whose weights are missing ("missing"), registered beside the tiny random one."""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from photosorter import errors
from photosorter.ml import backbones


class _Noise(nn.Module):
    """Features that are noise, the same for the same pixels: a backbone that sees nothing useful."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = []
        for img in x:
            g = torch.Generator().manual_seed(int(img.float().sum().item() * 1000) % (2**31))
            out.append(torch.randn(16, 2, 2, generator=g))
        return torch.stack(out)


def _blind(weights):
    return backbones.FeatureExtractor(_Noise(), "blind", "blind-1")


def _missing(weights):
    raise errors.WeightsUnavailableError("weights for 'missing' are not on this computer")


def register_fake_backbones(monkeypatch) -> None:
    tiny = backbones.BACKBONES["tiny"]
    monkeypatch.setitem(backbones.BACKBONES, "blind", dataclasses.replace(tiny, name="blind", feature_dim=16, builder=_blind))
    monkeypatch.setitem(backbones.BACKBONES, "missing", dataclasses.replace(tiny, name="missing", builder=_missing))
