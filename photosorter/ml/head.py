"""The multi-label head: standardise → Linear(D, 256) → ReLU → Dropout(0.4) → Linear(256, C).

Sigmoid outputs (not softmax), so a photo can belong to several categories or to none. Inputs
are standardised with statistics of the training features, stored in the head itself, so a saved
head needs nothing else to score a feature vector.
"""

from __future__ import annotations

import torch
from torch import nn

HIDDEN = 256
DROPOUT = 0.4


class Head(nn.Module):
    def __init__(self, in_dim: int, n_out: int, hidden: int = HIDDEN, dropout: float = DROPOUT) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(in_dim))
        self.register_buffer("scale", torch.ones(in_dim))
        self.fc1 = nn.Linear(in_dim, hidden)
        self.drop = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raw logits (Grad-CAM and the loss want these, not probabilities)."""
        x = (x - self.mean) * self.scale
        return self.fc2(self.drop(torch.relu(self.fc1(x))))


class HeadEnsemble(nn.Module):
    """The cross-validation fold heads, averaged in logit space: one raw logit per category."""

    def __init__(self, heads: list[Head]) -> None:
        super().__init__()
        self.heads = nn.ModuleList(heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([h(x) for h in self.heads]).mean(0)
