"""Per-category Grad-CAM (Selvaraju et al.): where in the photo the evidence for a category lies.

For category c, the heatmap is ReLU(Σ_k α_ck A_k), where A is the target layer's activation and
α_ck the spatial mean of ∂logit_c/∂A_k — computed on the *raw logit* of the category through
the trained head and the frozen backbone. One forward pass serves all categories; each category
then costs one backward pass from the logits to the target layer (the layers above the target
are all that is re-traversed, so this is cheap).

Hooks live only inside the :class:`GradCAM` context manager and are removed on exit, also on
errors, so repeated use leaves the model exactly as it was.

Target layers: ``"last"`` (the backbone's last convolutional block: 7×7 at 224 px, the seed
design) or ``"fine"`` (one stage earlier: 14×14, sharper outlines, a little noisier).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from .. import errors
from .backbones import BackboneSpec, FeatureExtractor
from .head import HeadEnsemble
from .preprocess import eval_view, normalize


def target_layer(model: FeatureExtractor, which: str = "last") -> nn.Module:
    """Each backbone declares its Grad-CAM layers: the body's last block, or one stage earlier."""
    body = model.body
    if which == "last":
        return body[-1]
    if which == "fine":
        if model.spec_name == "resnet50":
            return body[-2]  # layer3: 14x14
        if model.spec_name == "efficientnet_lite0":
            return body[2][-3]  # blocks stage 4 (112 ch, stride 16): 14x14
        return body[-3]  # tiny: the previous conv block
    raise errors.UsageError(f"Unknown Grad-CAM layer '{which}'. Use 'last' or 'fine'.")


class GradCAM:
    """``with GradCAM(model, head, spec) as cam: maps, logits = cam(image)``"""

    def __init__(self, model: FeatureExtractor, head: HeadEnsemble, spec: BackboneSpec, layer: str = "last") -> None:
        self.model, self.head, self.spec = model, head, spec
        self.layer = target_layer(model, layer)
        self._handle = None
        self._activation: torch.Tensor | None = None

    def __enter__(self) -> "GradCAM":
        def hook(_module, _inputs, output):
            # The backbone is frozen (no parameter wants a gradient), so graft a leaf here from
            # which gradients can be taken; everything above it is recorded from this point on.
            act = output.detach().requires_grad_(True)
            self._activation = act
            return act

        self._handle = self.layer.register_forward_hook(hook)
        return self

    def __exit__(self, *exc) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        self._activation = None

    def __call__(self, image: Image.Image, categories: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Heatmaps (C, h, w) in [0, 1] for the listed category indices, and all raw logits."""
        if self._handle is None:
            raise RuntimeError("use GradCAM inside a 'with' block")
        x = normalize(eval_view(image, self.spec)[None], self.spec)
        self.head.eval()
        with torch.enable_grad():
            feats = self.model(x)
            logits = self.head(feats)[0]
            act = self._activation
            assert act is not None
            idx = list(range(logits.shape[0])) if categories is None else categories
            maps = []
            for n, c in enumerate(idx):
                (grad,) = torch.autograd.grad(logits[c], act, retain_graph=n < len(idx) - 1)
                weights = grad.mean(dim=(2, 3), keepdim=True)
                cam = torch.relu((weights * act).sum(dim=1))[0]
                maps.append(cam.detach())
        out = torch.stack(maps).numpy().astype(np.float64)
        peak = out.reshape(len(out), -1).max(axis=1)
        out = np.divide(out, peak[:, None, None], out=np.zeros_like(out), where=peak[:, None, None] > 0)
        self._activation = None
        return out, logits.detach().numpy()


# --------------------------------------------------------------------------- rendering


def _inferno_like(v: np.ndarray) -> np.ndarray:
    """A perceptually ordered dark-blue → red → yellow map, without a matplotlib dependency."""
    stops = np.array([[0.0, 0, 0, 40], [0.25, 60, 20, 140], [0.5, 200, 40, 90], [0.75, 250, 140, 20], [1.0, 255, 250, 160]])
    out = np.empty(v.shape + (3,), dtype=np.float64)
    for ch in range(3):
        out[..., ch] = np.interp(v, stops[:, 0], stops[:, ch + 1])
    return out.astype(np.uint8)


def upsample(heat: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Smoothly resize a (h, w) map in [0, 1] to the photo's (width, height)."""
    img = Image.fromarray((np.clip(heat, 0, 1) * 65535).astype(np.uint16).astype(np.int32), mode="I")
    big = np.asarray(img.resize(size, Image.Resampling.BICUBIC), dtype=np.float64) / 65535
    return np.clip(big, 0, 1)


@dataclass
class Rendered:
    original: Image.Image
    overlay: Image.Image
    heatmap: Image.Image


def render(photo: Image.Image, heat: np.ndarray, opacity: float = 0.5) -> Rendered:
    """Original, overlay (heat blended with ``opacity``) and the colour-mapped heatmap alone.

    The heatmap covers the whole photo as the user sees it: the classifier scored the whole
    (EXIF-oriented) frame, squeezed to a square, so cell (i, j) maps to the same fraction of
    the photo's height and width.
    """
    big = upsample(heat, photo.size)
    coloured = Image.fromarray(_inferno_like(big))
    overlay = Image.blend(photo.convert("RGB"), coloured, float(np.clip(opacity, 0.0, 1.0)))
    return Rendered(photo, overlay, coloured)
