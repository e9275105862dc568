"""Labelled photo folders → (paths, multi-hot labels).

Layout: one sub-folder per category; a sub-folder named ``_none`` holds photos that belong to no
category. A photo is identified by its *content* (SHA-256 of its bytes), never by its file name:
identical files in several sub-folders are one photo with several labels, and two different photos
that happen to share a name (``IMG_0001.JPG`` from two phones) are two examples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import errors
from ..imaging import file_hash, looks_like_image

NONE_FOLDER = "_none"


@dataclass
class LabeledPhotos:
    categories: list[str]
    paths: list[Path]
    labels: np.ndarray  # (n, C) float32 multi-hot; an all-zero row is a "none of these" photo
    warnings: list[str] = field(default_factory=list)
    #: every file holding row i's content, one per sub-folder it was found in (empty: only paths[i])
    sources: list[list[Path]] = field(default_factory=list)

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
    by_content: dict[str, tuple[list[Path], set[int]]] = {}
    for sub in subdirs:
        if sub.name != NONE_FOLDER and sub.name not in index:
            continue
        for f in sorted(sub.iterdir()):
            if not looks_like_image(f):
                continue
            try:
                key = file_hash(f)
            except OSError:  # unreadable: kept as its own example, so training reports it by name
                key = f"unreadable:{f}"
            files, labels = by_content.setdefault(key, ([], set()))
            files.append(f)
            if sub.name != NONE_FOLDER:
                labels.add(index[sub.name])
    paths = [files[0] for files, _ in by_content.values()]
    y = np.zeros((len(paths), len(categories)), dtype=np.float32)
    for i, (_, labels) in enumerate(by_content.values()):
        for j in labels:
            y[i, j] = 1.0
    sources = [list(files) for files, _ in by_content.values()]
    extra = sum(len(f) - 1 for f in sources)
    if extra:
        warnings.append(f"{extra} duplicate example photo(s) (identical files in several places) were counted once, "
                        "with the labels of every folder they are in.")
    return LabeledPhotos(categories, paths, y, warnings, sources)
