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


class FastDropout(nn.Dropout):
    """Ordinary inverted dropout, with the mask drawn by ``rand`` instead of ``bernoulli_``.

    On CPU ``bernoulli_`` is about 3x slower than ``rand`` and was 15% of head training time;
    the mask has the same distribution (each unit kept with probability 1 - p, scaled by 1/(1 - p)).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand_like(x) >= self.p
        return x * keep * (1.0 / (1.0 - self.p))


class Head(nn.Module):
    # buffers (saved with the model, not trained): the training features' mean and 1/std
    mean: torch.Tensor
    scale: torch.Tensor

    def __init__(self, in_dim: int, n_out: int, hidden: int = HIDDEN, dropout: float = DROPOUT) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(in_dim))
        self.register_buffer("scale", torch.ones(in_dim))
        self.fc1 = nn.Linear(in_dim, hidden)
        self.drop = FastDropout(dropout)
        self.fc2 = nn.Linear(hidden, n_out)

    def standardize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) * self.scale

    def forward_standardized(self, z: torch.Tensor) -> torch.Tensor:
        """Logits of already standardised inputs: training standardises its data once, not per batch."""
        return self.fc2(self.drop(torch.relu(self.fc1(z))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raw logits (Grad-CAM and the loss want these, not probabilities)."""
        return self.forward_standardized(self.standardize(x))


class HeadEnsemble(nn.Module):
    """The cross-validation fold heads, averaged in logit space: one raw logit per category."""

    def __init__(self, heads: list[Head]) -> None:
        super().__init__()
        self.heads = nn.ModuleList(heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([h(x) for h in self.heads]).mean(0)
