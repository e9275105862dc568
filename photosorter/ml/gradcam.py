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

Two additions, both measured on planted-object photos (README, "Explanations"):

* :func:`occlusion` — the slower, more faithful alternative: hide each patch of a 5×5 grid (its
  pixels replaced by the photo's mean colour) and measure how much each category's logit drops.
  It answers "what does the score depend on" directly instead of through gradients; where two
  objects share a photo it put each category's peak on its own object more often than Grad-CAM.
* :func:`faithfulness` — the check behind the "look twice" flag: hide the cells Grad-CAM marks as
  hot (≥ half its peak) and compare the logit drop with the largest drop any single occlusion
  patch causes. Heat that sits where the evidence is removes at least that much; heat that lies
  elsewhere removes little (ratio < :data:`FAITHFUL_MIN`), and the explanation is flagged.
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

OCCLUSION_GRID = 5  # 25 extra forward passes: ~0.6 s for all categories with EfficientNet-Lite0 here
FAITHFUL_MIN = 0.5  # flag below this (measured: README, "Explanations")


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


# --------------------------------------------------------------------------- occlusion, faithfulness


def _mean_filled(u8: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``u8`` (1, 3, S, S) with the pixels where ``mask`` (.., S, S) is 1 replaced by its mean colour."""
    x = u8.float()
    mean = x.mean(dim=(2, 3), keepdim=True)
    return (x * (1 - mask) + mean * mask).round().to(torch.uint8)


@torch.no_grad()
def _logits(model: FeatureExtractor, head: HeadEnsemble, spec: BackboneSpec, u8: torch.Tensor,
            batch: int = 8) -> np.ndarray:
    head.eval()
    return torch.cat([head(model(normalize(u8[i:i + batch], spec))) for i in range(0, len(u8), batch)]).numpy()


@dataclass
class Occlusion:
    maps: np.ndarray  # (C, g, g) in [0, 1]: share of the largest drop, per patch
    drops: np.ndarray  # (C, g, g) raw logit drops (negative: hiding the patch raised the logit)
    logits: np.ndarray  # (C,) of the unoccluded view


def occlusion(model: FeatureExtractor, head: HeadEnsemble, spec: BackboneSpec, image: Image.Image,
              grid: int = OCCLUSION_GRID) -> Occlusion:
    """Per-category occlusion sensitivity on the view the classifier scores (see module doc)."""
    u8 = eval_view(image, spec)[None]
    size = u8.shape[-1]
    edges = np.linspace(0, size, grid + 1).round().astype(int)
    masks = torch.zeros(grid * grid, 1, size, size)
    for r in range(grid):
        for c in range(grid):
            masks[r * grid + c, :, edges[r]:edges[r + 1], edges[c]:edges[c + 1]] = 1
    views = torch.cat([u8, _mean_filled(u8.expand(len(masks), -1, -1, -1), masks)])
    logits = _logits(model, head, spec, views)
    drops = (logits[:1] - logits[1:]).T.reshape(-1, grid, grid)
    peak = np.clip(drops, 0, None).reshape(len(drops), -1).max(axis=1)
    maps = np.divide(np.clip(drops, 0, None), peak[:, None, None], out=np.zeros_like(drops),
                     where=peak[:, None, None] > 0)
    return Occlusion(maps, drops, logits[0])


def faithfulness(model: FeatureExtractor, head: HeadEnsemble, spec: BackboneSpec, image: Image.Image,
                 heat: np.ndarray, categories: list[int], occluded: Occlusion) -> np.ndarray:
    """For each listed category: logit drop from hiding its hot cells ÷ the largest one-patch drop.

    ≥ 1: the highlighted area holds at least as much evidence as the most important patch; near 0:
    hiding what the heatmap highlights barely changes the score — the heat is not where the
    decision comes from. NaN where no patch lowers the logit at all (nothing to compare with)."""
    u8 = eval_view(image, spec)[None]
    size = u8.shape[-1]
    masks = []
    for m in heat:
        hot = torch.from_numpy((m >= 0.5).astype(np.float32))[None, None]
        masks.append(torch.nn.functional.interpolate(hot, size=(size, size), mode="nearest")[0])
    views = _mean_filled(u8.expand(len(masks), -1, -1, -1), torch.stack(masks))
    logits = _logits(model, head, spec, views)
    out = np.full(len(categories), np.nan)
    for n, c in enumerate(categories):
        best = float(occluded.drops[c].max())
        if best > 0:
            out[n] = (float(occluded.logits[c]) - float(logits[n, c])) / best
    return out


# --------------------------------------------------------------------------- what the app shows

METHODS = ("checked", "gradcam", "occlusion")


def on_grid(coarse: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A coarse map resampled (bilinear) onto the Grad-CAM grid, so every method's map has the
    same native resolution and the same cell-to-photo geometry; peak kept at 1."""
    t = torch.nn.functional.interpolate(torch.as_tensor(coarse, dtype=torch.float64)[None, None], size=tuple(shape),
                                        mode="bilinear", align_corners=False)[0, 0].numpy()
    peak = t.max()
    return t / peak if peak > 0 else t


@dataclass
class Explanation:
    maps: list[np.ndarray]  # one (h, w) map in [0, 1] per requested category, all on the Grad-CAM grid
    methods: list[str]  # "gradcam" or "occlusion", per category
    faithfulness: list[float | None]  # Grad-CAM's check (None when not computed)
    flagged: list[bool]  # Grad-CAM's heat was not where the evidence is
    logits: np.ndarray


def explain(model: FeatureExtractor, head: HeadEnsemble, spec: BackboneSpec, image: Image.Image,
            categories: list[int] | None = None, method: str = "checked", layer: str = "last",
            verify: list[int] | None = None) -> Explanation:
    """Per-category explanation of the scored view.

    ``checked`` (the default): Grad-CAM, verified by :func:`faithfulness`; where it fails the check
    the occlusion map is shown instead and the category is flagged. ``verify`` limits the check to
    those category indices (the app passes the categories the photo goes to: a decision is what
    needs a trustworthy explanation; the others keep plain Grad-CAM). ``gradcam``: unverified and
    fast (~20 ms). ``occlusion``: always the occlusion map (~0.7 s)."""
    if method not in METHODS:
        raise errors.UsageError(f"Unknown explanation method '{method}'. Use one of: {', '.join(METHODS)}.")
    with GradCAM(model, head, spec, layer) as cam:
        heat, logits = cam(image, categories)
    idx = list(range(len(logits))) if categories is None else list(categories)
    n = len(idx)
    if method == "gradcam" or (method == "checked" and verify is not None and not set(verify) & set(idx)):
        return Explanation(list(heat), ["gradcam"] * n, [None] * n, [False] * n, logits)
    occ = occlusion(model, head, spec, image)
    if method == "occlusion":
        return Explanation([on_grid(occ.maps[c], heat.shape[1:]) for c in idx], ["occlusion"] * n, [None] * n,
                           [False] * n, logits)
    checked = [n_ for n_, c in enumerate(idx) if verify is None or c in verify]  # not empty: see above
    faith = np.full(n, np.nan)  # NaN: not checked, or nothing to compare with — never flagged
    faith[checked] = faithfulness(model, head, spec, image, heat[checked], [idx[n_] for n_ in checked], occ)
    flagged = [bool(f < FAITHFUL_MIN) for f in faith]
    maps = [on_grid(occ.maps[c], heat.shape[1:]) if bad else heat[n_] for n_, (c, bad) in enumerate(zip(idx, flagged))]
    methods = ["occlusion" if bad else "gradcam" for bad in flagged]
    return Explanation(maps, methods, [None if np.isnan(f) else round(float(f), 3) for f in faith], flagged, logits)


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
