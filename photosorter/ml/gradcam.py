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

Three additions, all measured on planted-object photos (README, "Explanations"):

* augmented Grad-CAM (``GradCAM(..., augment=True)``, method ``augmented``, the app's default;
  cf. Morbidelli et al., "Augmented Grad-CAM", 2020). Two changes to the seed design:

  - the same Grad-CAM on the scored view's eight rotations and mirror images, each map turned
    back onto the photo, normalised and averaged (one batched forward pass, one backward per
    category). A single 10×10 map is noisy in ways tied to the grid and the view (a cell beside
    the object, at the border); what the eight agree on is the object.
  - for a category the photo scores *negative* for (logit < 0), the channel weights are the
    head's gradient at the training photos' mean feature vector instead of at this photo. The
    head is piecewise linear (ReLU); at a photo where another category's object holds this
    category down, the gradient mostly describes that suppression ("no red disc here" counts as
    evidence for the blue square), so its map pointed at empty background. Taken at a neutral
    point it shows where this photo holds the category's evidence. Positive categories, the
    decisions the app acts on, keep their own gradient (and the faithfulness check below).

  Measured on planted objects (benchmarks/explain_check.py, README "Explanations": blue square
  beside a red disc 94% vs 81.5%) and on real photos (as faithful: the check below flags 32 of
  153 hymenoptera explanations vs 34 for the seed design).

* :func:`occlusion` — the slower, more faithful alternative: hide each patch of a 5×5 grid (its
  pixels replaced by the photo's mean colour) and measure how much each category's logit drops.
  It answers "what does the score depend on" directly instead of through gradients, on a
  coarser grid (less precise for small objects).
* :func:`faithfulness` — the check behind the "look twice" flag: hide the cells Grad-CAM marks as
  hot (≥ half its peak) and compare the logit drop with the largest drop any single occlusion
  patch causes. Heat that sits where the evidence is removes at least that much; heat that lies
  elsewhere removes little (ratio < :data:`FAITHFUL_MIN`), and the explanation is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.hooks import RemovableHandle

from .. import errors
from .backbones import BackboneSpec, FeatureExtractor
from .head import Head, HeadEnsemble
from .preprocess import eval_view, model_input

AUGMENTED_VIEWS = tuple((k, f) for k in range(4) for f in (False, True))  # quarter turns × mirror
OCCLUSION_GRID = 5  # 25 extra forward passes, all categories at once: ~0.7 s fp32 / ~0.35 s bf16 (EfficientNet-Lite0 here)
FAITHFUL_MIN = 0.5  # flag below this (measured: README, "Explanations")


def target_layer(model: FeatureExtractor, which: str = "last") -> nn.Module:
    """Each backbone declares its Grad-CAM layers: the body's last block, or one stage earlier."""
    body = cast(nn.Sequential, model.body)  # every backbone's body is a Sequential of stages
    if which == "last":
        return body[-1]
    if which == "fine":
        if model.spec_name == "resnet50":
            return body[-2]  # layer3: 14x14
        if model.spec_name in ("efficientnet_lite0", "efficientnet_lite2"):
            return cast(nn.Sequential, body[2])[-3]  # blocks stage 4 (112 ch, stride 16): 14x14
        return body[-3]  # tiny: the previous conv block
    raise errors.UsageError(f"Unknown Grad-CAM layer '{which}'. Use 'last' or 'fine'.")


def _turn(x: torch.Tensor, quarter_turns: int, mirror: bool) -> torch.Tensor:
    """One of the eight symmetries of a square (last two dims)."""
    x = torch.rot90(x, quarter_turns, dims=(-2, -1))
    return x.flip(-1) if mirror else x


def _turn_back(x: torch.Tensor, quarter_turns: int, mirror: bool) -> torch.Tensor:
    return torch.rot90(x.flip(-1) if mirror else x, -quarter_turns, dims=(-2, -1))


def _peak_normalised(maps: torch.Tensor) -> torch.Tensor:
    """Each (h, w) map in the batch scaled to peak 1 (all-zero maps stay zero)."""
    peak = maps.flatten(1).max(dim=1).values.view(-1, 1, 1)
    return torch.where(peak > 0, maps / peak.clamp_min(1e-12), torch.zeros_like(maps))


class GradCAM:
    """``with GradCAM(model, head, spec) as cam: maps, logits = cam(image)``

    ``augment=True``: augmented Grad-CAM over :data:`AUGMENTED_VIEWS` (module doc)."""

    def __init__(self, model: FeatureExtractor, head: HeadEnsemble, spec: BackboneSpec, layer: str = "last",
                 augment: bool = False) -> None:
        self.model, self.head, self.spec = model, head, spec
        self.layer = target_layer(model, layer)
        self.views = AUGMENTED_VIEWS if augment else ((0, False),)
        self.neutral_weights = augment  # the app's explanation; plain Grad-CAM stays the seed design
        self._neutral_cache: dict[int, torch.Tensor] = {}
        self._handle: RemovableHandle | None = None
        self._calling = False
        self._activation: torch.Tensor | None = None

    def __enter__(self) -> GradCAM:
        def hook(_module, _inputs, output):
            # The backbone is frozen (no parameter wants a gradient), so graft a leaf here from
            # which gradients can be taken; everything above it is recorded from this point on.
            # Only during this explainer's own call: another GradCAM (or plain scoring) on the same
            # model meanwhile must see the layer untouched.
            if not self._calling:
                return None
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

    def _neutral(self, c: int) -> torch.Tensor:
        """∂logit_c/∂features at the training photos' mean feature vector (kept in the head for
        standardising): Grad-CAM's channel weights taken at a neutral point, where no category's
        evidence is held down by another's (module doc)."""
        if c not in self._neutral_cache:
            centre = torch.stack([cast(Head, h).mean for h in self.head.heads]).mean(0).detach().clone().requires_grad_(True)
            with torch.enable_grad():
                (grad,) = torch.autograd.grad(self.head(centre[None])[0, c], centre)
            self._neutral_cache[c] = grad
        return self._neutral_cache[c]

    def __call__(self, image: Image.Image, categories: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Heatmaps (C, h, w) in [0, 1] for the listed category indices, and all raw logits (of the
        view as scored, the first of the views)."""
        if self._handle is None:
            raise RuntimeError("use GradCAM inside a 'with' block")
        u8 = eval_view(image, self.spec)[None]
        x = model_input(torch.cat([_turn(u8, k, m) for k, m in self.views]), self.spec)
        self.head.eval()
        with torch.enable_grad():
            self._calling = True
            try:
                feats = self.model(x)
            finally:
                self._calling = False
            logits = self.head(feats)  # (views, C); each view's logits depend on its own activation only
            act = self._activation
            assert act is not None
            idx = list(range(logits.shape[1])) if categories is None else categories
            maps = []
            for c in idx:
                if logits[0, c] > 0 or not self.neutral_weights:
                    (grad,) = torch.autograd.grad(logits[:, c].sum(), act, retain_graph=True)
                    weights = grad.mean(dim=(2, 3), keepdim=True)
                else:
                    weights = self._neutral(c).view(1, -1, 1, 1)
                cams = _peak_normalised(torch.relu((weights * act.detach()).sum(dim=1)))
                maps.append(torch.stack([_turn_back(m, k, f) for m, (k, f) in zip(cams, self.views)]).mean(0))
        out = _peak_normalised(torch.stack(maps)).numpy().astype(np.float64)
        self._activation = None
        return out, logits[0].detach().numpy()


# --------------------------------------------------------------------------- occlusion, faithfulness


def _mean_filled(u8: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``u8`` (1, 3, S, S) with the pixels where ``mask`` (.., S, S) is 1 replaced by its mean colour."""
    x = u8.float()
    mean = x.mean(dim=(2, 3), keepdim=True)
    return (x * (1 - mask) + mean * mask).round().to(torch.uint8)


@torch.no_grad()
def _logits(model: FeatureExtractor, head: HeadEnsemble, spec: BackboneSpec, u8: torch.Tensor,
            batch: int = 8, bf16: bool = False) -> np.ndarray:
    """Logits of many views. ``bf16``: the backbone under bfloat16 autocast, as the app scores on
    CPUs with native bf16 (half the time; measured on 153 real photos: the faithfulness flag
    agreed with fp32 on 152, median difference of the ratio 0.06)."""
    head.eval()
    out = []
    for i in range(0, len(u8), batch):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            feats = model(model_input(u8[i:i + batch], spec))
        out.append(head(feats.float()))
    return torch.cat(out).numpy()


@dataclass
class Occlusion:
    maps: np.ndarray  # (C, g, g) in [0, 1]: share of the largest drop, per patch
    drops: np.ndarray  # (C, g, g) raw logit drops (negative: hiding the patch raised the logit)
    logits: np.ndarray  # (C,) of the unoccluded view


def occlusion(model: FeatureExtractor, head: HeadEnsemble, spec: BackboneSpec, image: Image.Image,
              grid: int = OCCLUSION_GRID, bf16: bool = False) -> Occlusion:
    """Per-category occlusion sensitivity on the view the classifier scores (see module doc)."""
    u8 = eval_view(image, spec)[None]
    size = u8.shape[-1]
    edges = np.linspace(0, size, grid + 1).round().astype(int)
    masks = torch.zeros(grid * grid, 1, size, size)
    for r in range(grid):
        for c in range(grid):
            masks[r * grid + c, :, edges[r]:edges[r + 1], edges[c]:edges[c + 1]] = 1
    views = torch.cat([u8, _mean_filled(u8.expand(len(masks), -1, -1, -1), masks)])
    logits = _logits(model, head, spec, views, bf16=bf16)
    drops = (logits[:1] - logits[1:]).T.reshape(-1, grid, grid)
    maps = _peak_normalised(torch.from_numpy(np.clip(drops, 0, None))).numpy()
    return Occlusion(maps, drops, logits[0])


def faithfulness(model: FeatureExtractor, head: HeadEnsemble, spec: BackboneSpec, image: Image.Image,
                 heat: np.ndarray, categories: list[int], occluded: Occlusion, bf16: bool = False) -> np.ndarray:
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
    logits = _logits(model, head, spec, views, bf16=bf16)
    out = np.full(len(categories), np.nan)
    for n, c in enumerate(categories):
        best = float(occluded.drops[c].max())
        if best > 0:
            out[n] = (float(occluded.logits[c]) - float(logits[n, c])) / best
    return out


# --------------------------------------------------------------------------- what the app shows

METHODS = ("checked", "augmented", "gradcam", "occlusion")


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
    methods: list[str]  # "augmented", "gradcam" or "occlusion", per category
    faithfulness: list[float | None]  # Grad-CAM's check (None when not computed)
    flagged: list[bool]  # Grad-CAM's heat was not where the evidence is
    logits: np.ndarray


def explain(model: FeatureExtractor, head: HeadEnsemble, spec: BackboneSpec, image: Image.Image,
            categories: list[int] | None = None, method: str = "checked", layer: str = "last",
            verify: list[int] | None = None, bf16: bool = False) -> Explanation:
    """Per-category explanation of the scored view.

    ``checked`` (the default): augmented Grad-CAM, verified by :func:`faithfulness`; where it fails
    the check the occlusion map is shown instead and the category is flagged. ``verify`` limits
    the check to those category indices (the app passes the categories the photo goes to: a
    decision is what needs a trustworthy explanation; the others keep the unverified map).
    ``augmented``: augmented Grad-CAM, unverified (~0.25 s). ``gradcam``: the seed design, one view,
    unverified and fastest (~20 ms). ``occlusion``: always the occlusion map (~0.7 s in fp32).
    ``bf16``: run the occlusion passes in bfloat16 (pass True where the app scores in bf16)."""
    if method not in METHODS:
        raise errors.UsageError(f"Unknown explanation method '{method}'. Use one of: {', '.join(METHODS)}.")
    shown = "augmented" if method in ("checked", "augmented") else "gradcam"  # occlusion: only its grid
    with GradCAM(model, head, spec, layer, augment=shown == "augmented") as cam:
        heat, logits = cam(image, categories)
    idx = list(range(len(logits))) if categories is None else list(categories)
    n = len(idx)
    if method in ("gradcam", "augmented") or (method == "checked" and verify is not None and not set(verify) & set(idx)):
        return Explanation(list(heat), [shown] * n, [None] * n, [False] * n, logits)
    occ = occlusion(model, head, spec, image, bf16=bf16)
    if method == "occlusion":
        return Explanation([on_grid(occ.maps[c], heat.shape[1:]) for c in idx], ["occlusion"] * n, [None] * n,
                           [False] * n, logits)
    checked = [n_ for n_, c in enumerate(idx) if verify is None or c in verify]  # not empty: see above
    faith = np.full(n, np.nan)  # NaN: not checked, or nothing to compare with — never flagged
    faith[checked] = faithfulness(model, head, spec, image, heat[checked], [idx[n_] for n_ in checked], occ, bf16)
    flagged = [bool(f < FAITHFUL_MIN) for f in faith]
    maps = [on_grid(occ.maps[c], heat.shape[1:]) if bad else heat[n_] for n_, (c, bad) in enumerate(zip(idx, flagged))]
    methods = ["occlusion" if bad else shown for bad in flagged]
    return Explanation(maps, methods, [None if np.isnan(f) else round(float(f), 3) for f in faith], flagged, logits)


# --------------------------------------------------------------------------- rendering


def _inferno_like(v: np.ndarray) -> np.ndarray:
    """A perceptually ordered dark-blue → red → yellow map, without a matplotlib dependency."""
    stops = np.array([[0.0, 0, 0, 40], [0.25, 60, 20, 140], [0.5, 200, 40, 90], [0.75, 250, 140, 20], [1.0, 255, 250, 160]])
    out = np.empty((*v.shape, 3), dtype=np.float64)
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
