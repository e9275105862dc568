"""Labelled photo folders → (paths, multi-hot labels).

Layout: one sub-folder per category; a sub-folder named ``_none`` holds photos that belong to no
category. A photo is identified by its *content* (SHA-256 of its bytes), never by its file name:
identical files in several sub-folders are one photo with several labels, and two different photos
that happen to share a name (``IMG_0001.JPG`` from two phones) are two examples.

Files are found by the one folder walker (media/walk.py), with the rules sorting uses: hidden and
temporary names are ignored; a symbolic link, FIFO or device is not read but named in the
warnings (a FIFO would block the read forever). Only photos directly in a category folder count.

A category folder that is itself a symbolic link (``train/pets -> /somewhere/private``) is
refused with an InputError (exit 3) naming it and its target: its photos live somewhere else,
which the person may not mean to hand over, and skipping it would quietly train (or evaluate)
without that category. The check is repeated around listing each folder, so a folder swapped for
a link while it is read is refused too.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import errors
from ..imaging import file_hash, looks_like_image
from ..media.walk import anchor, is_temp_name, walk_photos

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
    entries = sorted(p for p in root.iterdir() if not is_temp_name(p.name))
    linked = [p for p in entries if p.is_symlink() and p.is_dir()]
    subdirs = [p for p in entries if p.is_dir()]
    found = [p.name for p in subdirs if p.name != NONE_FOLDER]
    if categories is None:
        categories = found
    _refuse_linked_folders([p for p in linked if p.name == NONE_FOLDER or p.name in categories])
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
        for f in example_files(sub, warnings):
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


def _refuse_linked_folders(linked: list[Path]) -> None:
    """InputError (exit 3) naming every category folder that is a symbolic link, and where it points."""
    if not linked:
        return
    shown = "; ".join(f"'{p.name}' points to {os.path.realpath(p)}" for p in linked)
    raise errors.InputError(
        f"{len(linked)} category folder(s) are symbolic links ({shown}). photosorter does not read "
        "example photos through a link, because the photos it points to are somewhere else. "
        "Replace each link with a real folder holding the photos (copy them in), or remove it, "
        "and run again.", path=linked[0].parent)


def _identity(folder: Path) -> tuple[int, int] | None:
    """(device, inode) of ``folder`` itself when it is a real folder, not a link to one."""
    try:
        st = os.lstat(folder)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None


def example_files(folder: Path, warnings: list[str] | None = None) -> list[Path]:
    """The photos directly in one example folder, in name order, found by the one walker (its
    rules for links, hidden and temporary names); what it had to skip goes to ``warnings``.
    Paths are given below ``folder`` as named by the caller, not its resolved location.
    A folder that is a symbolic link (before or after it is listed) is refused: InputError."""
    before = _identity(folder)
    if before is None and folder.is_symlink():
        _refuse_linked_folders([folder])
    real = anchor(folder)
    out = []
    listed = list(walk_photos([folder], kinds=("stills",), recursive=False))
    if before is not None and _identity(folder) != before:  # swapped (for a link) while listed
        if folder.is_symlink():
            _refuse_linked_folders([folder])
        raise errors.InputError("This example folder was replaced while it was being read; run again.", path=folder)
    for found in listed:
        if found.problem is not None:
            if warnings is not None and looks_like_image(found.path):
                warnings.append(f"Example {found.problem[1]}")
            continue
        if looks_like_image(found.path):  # stills, but not documents: examples are photos
            out.append(folder / found.path.relative_to(real) if found.path.is_relative_to(real) else found.path)
    return out
