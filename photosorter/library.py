"""The user's setup: categories (name → destination folder, colour), their example photos, the
"none of these" examples, watched folders and preferences. A versioned JSON file, written
atomically; the GUI edits it, the core reads it. Qt-free.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import platformdirs

from . import errors
from .config import app_paths
from .imaging import looks_like_image
from .sorting.paths import validate_category_name

SCHEMA_VERSION = 1
PALETTE = ["#e4572e", "#29335c", "#f3a712", "#669bbc", "#a8c686", "#8e6c8a", "#2a9d8f", "#e76f51"]


@dataclass
class Category:
    name: str
    folder: str
    color: str = PALETTE[0]
    examples: list[str] = field(default_factory=list)


@dataclass
class Library:
    categories: list[Category] = field(default_factory=list)
    none_examples: list[str] = field(default_factory=list)
    watched: list[str] = field(default_factory=list)
    watching: bool = False
    backbone: str = "efficientnet_lite0"
    strictness: float = 0.05
    keep_watching_in_tray: bool = True
    speed: str = "default"  # "default": modes validated per backbone; "exact": fp32; "fast": any native fast mode
    threshold_overrides: dict[str, float] = field(default_factory=dict)
    kinds: list[str] = field(default_factory=lambda: ["stills", "videos", "raw"])  # what sorting looks at
    path: Path | None = field(default=None, repr=False, compare=False)

    # ------------------------------------------------------------ categories
    def category(self, name: str) -> Category:
        for c in self.categories:
            if c.name == name:
                return c
        raise errors.UsageError(f"There is no category '{name}'.")

    def add_category(self, name: str, folder: str | Path | None = None, color: str | None = None) -> Category:
        name = validate_category_name(name)
        if any(c.name.casefold() == name.casefold() for c in self.categories):
            raise errors.CategoryNameError(f"There is already a category called '{name}'.")
        folder = Path(folder) if folder else default_sorted_root() / name
        cat = Category(name, str(folder), color or PALETTE[len(self.categories) % len(PALETTE)])
        self.categories.append(cat)
        return cat

    def rename_category(self, old: str, new: str) -> None:
        new = validate_category_name(new)
        if new.casefold() != old.casefold() and any(c.name.casefold() == new.casefold() for c in self.categories):
            raise errors.CategoryNameError(f"There is already a category called '{new}'.")
        cat = self.category(old)
        if Path(cat.folder) == default_sorted_root() / old:
            cat.folder = str(default_sorted_root() / new)
        cat.name = new
        if old in self.threshold_overrides:
            self.threshold_overrides[new] = self.threshold_overrides.pop(old)

    def remove_category(self, name: str) -> None:
        self.categories.remove(self.category(name))
        self.threshold_overrides.pop(name, None)

    def add_examples(self, name: str | None, paths: list[str | Path]) -> int:
        """Add photos (folders are expanded) to a category, or to "none of these" when name is
        None. Returns how many were new."""
        target = self.none_examples if name is None else self.category(name).examples
        known = set(target)
        added = 0
        for p in expand_photos(paths):
            s = str(p)
            if s not in known:
                target.append(s)
                known.add(s)
                added += 1
        return added

    def remove_example(self, name: str | None, path: str) -> None:
        target = self.none_examples if name is None else self.category(name).examples
        if path in target:
            target.remove(path)

    def labeled_photos(self):
        """Examples as a LabeledPhotos for training (a photo in several categories = several labels)."""
        from .ml.dataset import LabeledPhotos

        names = [c.name for c in self.categories]
        index: dict[str, int] = {}
        paths: list[Path] = []
        rows: list[np.ndarray] = []
        for j, c in enumerate(self.categories):
            for e in c.examples:
                if e not in index:
                    index[e] = len(paths)
                    paths.append(Path(e))
                    rows.append(np.zeros(len(names), dtype=np.float32))
                rows[index[e]][j] = 1.0
        for e in self.none_examples:
            if e not in index:
                index[e] = len(paths)
                paths.append(Path(e))
                rows.append(np.zeros(len(names), dtype=np.float32))
        labels = np.stack(rows) if rows else np.zeros((0, len(names)), dtype=np.float32)
        return LabeledPhotos(names, paths, labels)

    def destinations(self) -> dict[str, Path]:
        return {c.name: Path(c.folder) for c in self.categories}

    # ------------------------------------------------------------ persistence
    def save(self, path: str | Path | None = None) -> Path:
        path = Path(path or self.path or app_paths().library_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {k: v for k, v in asdict(self).items() if k != "path"}
        doc["schema_version"] = SCHEMA_VERSION
        fd, tmp = tempfile.mkstemp(prefix=".pending-", suffix=".json", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        self.path = path
        return path

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Library":
        path = Path(path or app_paths().library_file)
        if not path.exists():
            lib = cls()
            lib.path = path
            return lib
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            version = int(doc.pop("schema_version", 1))
            if version > SCHEMA_VERSION:
                raise errors.UsageError(f"{path} was written by a newer photosorter; update photosorter to open it.")
            cats = [Category(**c) for c in doc.pop("categories", [])]
            known = {f for f in cls.__dataclass_fields__ if f not in ("categories", "path")}
            lib = cls(categories=cats, **{k: v for k, v in doc.items() if k in known})
        except (json.JSONDecodeError, TypeError, ValueError) as exc:
            # Never lose the user's setup silently: keep the damaged file next to a fresh one.
            backup = path.with_suffix(".damaged.json")
            os.replace(path, backup)
            raise errors.UsageError(f"Your category setup could not be read ({exc}); it was kept as {backup}.") from None
        lib.path = path
        return lib


def default_sorted_root() -> Path:
    home = os.environ.get("PHOTOSORTER_HOME")
    if home:
        return Path(home) / "Sorted"
    return Path(platformdirs.user_pictures_dir()) / "Sorted"


def expand_photos(paths: list[str | Path]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and looks_like_image(f)))
        elif looks_like_image(p):
            out.append(p)
    return out


def import_labeled_folder(root: str | Path, library: Library | None = None) -> Library:
    """The seed layout (one sub-folder per category; the same file name in several sub-folders
    = several labels; ``_none``) as a Library."""
    from .ml.dataset import scan_labeled_folder

    photos = scan_labeled_folder(root)
    lib = library or Library()
    for name in photos.categories:
        if not any(c.name == name for c in lib.categories):
            lib.add_category(name)
    for path, row in zip(photos.paths, photos.labels):
        names = [photos.categories[j] for j in np.flatnonzero(row)]
        if not names:
            lib.add_examples(None, [path])
        for n in names:
            # The same file name in several sub-folders: each sub-folder holds its own copy.
            lib.add_examples(n, [Path(root) / n / path.name])
    return lib
