"""Labelled photo folders → (paths, multi-hot labels).

Layout: one sub-folder per category; the same file name in several sub-folders means the photo
has several labels; a sub-folder named ``_none`` holds photos that belong to no category.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import errors
from ..imaging import looks_like_image

NONE_FOLDER = "_none"


@dataclass
class LabeledPhotos:
    categories: list[str]
    paths: list[Path]
    labels: np.ndarray  # (n, C) float32 multi-hot; an all-zero row is a "none of these" photo
    warnings: list[str] = field(default_factory=list)

    @property
    def none_count(self) -> int:
        return int((self.labels.sum(1) == 0).sum())


def scan_labeled_folder(root: str | Path, categories: list[str] | None = None) -> LabeledPhotos:
    """Read a labelled folder; ``categories`` fixes the order (e.g. a model's) when given."""
    root = Path(root)
    if not root.is_dir():
        raise errors.InputError("This is not a folder of category sub-folders.", path=root)
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    found = [p.name for p in subdirs if p.name != NONE_FOLDER]
    if categories is None:
        categories = found
    if not categories:
        raise errors.NotEnoughExamplesError(
            "No category sub-folders found. Make one sub-folder per category (e.g. Food/, Pets/) "
            "and put example photos in each.",
            path=root,
        )
    index = {name: i for i, name in enumerate(categories)}
    warnings: list[str] = [f"Sub-folder '{n}' is not a category of this model; ignored." for n in found if n not in index]
    by_name: dict[str, tuple[Path, set[int]]] = {}
    for sub in subdirs:
        if sub.name != NONE_FOLDER and sub.name not in index:
            continue
        for f in sorted(sub.iterdir()):
            if not looks_like_image(f):
                continue
            path, labels = by_name.setdefault(f.name, (f, set()))
            if sub.name != NONE_FOLDER:
                labels.add(index[sub.name])
    paths = [p for p, _ in by_name.values()]
    y = np.zeros((len(paths), len(categories)), dtype=np.float32)
    for i, (_, labels) in enumerate(by_name.values()):
        for j in labels:
            y[i, j] = 1.0
    return LabeledPhotos(categories, paths, y, warnings)
