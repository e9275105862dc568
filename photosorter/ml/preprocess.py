"""The one preprocessing path shared by training, scoring and Grad-CAM, so they cannot drift.

The whole photo is resized to the network's square input (no centre crop): a category's evidence
may sit anywhere in the frame (a receipt in a corner, a pet at the edge), and a full view makes
every Grad-CAM cell map onto a known region of the photo. Views are uint8 CHW tensors;
normalisation happens in the consumer, on the batch.
"""

from __future__ import annotations

import random

import numpy as np
import torch
from PIL import Image, ImageEnhance

from .backbones import BackboneSpec


def to_tensor_u8(img: Image.Image) -> torch.Tensor:
    arr = np.asarray(img, dtype=np.uint8)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).contiguous()


def eval_view(img: Image.Image, spec: BackboneSpec) -> torch.Tensor:
    """The view the classifier scores: the whole oriented photo squeezed to input_size²."""
    side = spec.input_size
    return to_tensor_u8(img.resize((side, side), Image.Resampling.BILINEAR))


def augmented_view(img: Image.Image, spec: BackboneSpec, seed: int) -> torch.Tensor:
    """A random but reproducible variation: crop (70-100% area), flip, small rotation, colour.

    Seeded by (photo hash, view index) so cached features stay valid between runs.
    """
    rng = random.Random(seed)
    w, h = img.size
    scale = rng.uniform(0.70, 1.0)
    cw, ch = max(1, int(w * scale ** 0.5)), max(1, int(h * scale ** 0.5))
    left, top = rng.randint(0, w - cw), rng.randint(0, h - ch)
    view = img.crop((left, top, left + cw, top + ch))
    angle = rng.uniform(-12, 12)
    view = view.rotate(angle, resample=Image.Resampling.BILINEAR, expand=False, fillcolor=(124, 116, 104))
    if rng.random() < 0.5:
        view = view.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    view = ImageEnhance.Brightness(view).enhance(rng.uniform(0.75, 1.25))
    view = ImageEnhance.Contrast(view).enhance(rng.uniform(0.75, 1.25))
    view = ImageEnhance.Color(view).enhance(rng.uniform(0.7, 1.3))
    side = spec.input_size
    return to_tensor_u8(view.resize((side, side), Image.Resampling.BILINEAR))


def normalize(batch_u8: torch.Tensor, spec: BackboneSpec) -> torch.Tensor:
    mean = torch.tensor(spec.mean, dtype=torch.float32).view(1, 3, 1, 1) * 255.0
    std = torch.tensor(spec.std, dtype=torch.float32).view(1, 3, 1, 1) * 255.0
    return (batch_u8.float() - mean) / std


def model_input(batch_u8: torch.Tensor, spec: BackboneSpec) -> torch.Tensor:
    """Normalised, in the memory layout the Embedder keeps the backbone's weights in
    (channels-last: ~12% faster on CPU than feeding it NCHW)."""
    return normalize(batch_u8, spec).contiguous(memory_format=torch.channels_last)
