"""The user's setup: categories (name → destination folder, colour), their example photos, the
"none of these" examples, watched folders and preferences. A versioned JSON file, written
atomically; the GUI edits it, the core reads it. Qt-free.
"""

from __future__ import annotations

import colorsys
import contextlib
import json
import os
import sys
import tempfile
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import config, errors
from .config import app_paths
from .imaging import looks_like_image
from .media.walk import anchor, walk_photos
from .names import validate_category_name

#: 2: categories carry a lasting ``id`` (version 1 files load, and get ids). A photosorter that
#: knows only version 1 says "written by a newer photosorter" instead of taking the ids for damage.
SCHEMA_VERSION = 2
PALETTE = ["#e4572e", "#29335c", "#f3a712", "#669bbc", "#a8c686", "#8e6c8a", "#2a9d8f", "#e76f51"]


@dataclass
class Category:
    name: str
    folder: str
    color: str = PALETTE[0]
    examples: list[str] = field(default_factory=list)
    #: lasting identity (names change): recorded with every copy, so a copy stays this category's
    #: through renames — two renames (A→X, then B→A) made "A" name the other category's copies
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:  # a new category
            self.id = uuid.uuid4().hex


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
    compare_backbones: bool = False  # Train tab: train on every offline backbone, keep the best (issue 13 item 6)
    fine_tune: bool = False  # Train tab: try fine-tuning the top of the backbone, kept only if it helps
    path: Path | None = field(default=None, repr=False, compare=False)

    # ------------------------------------------------------------ categories
    def category(self, name: str) -> Category:
        for c in self.categories:
            if c.name == name:
                return c
        raise errors.UsageError(f"There is no category '{name}'.")

    def add_category(self, name: str, folder: str | Path | None = None, color: str | None = None) -> Category:
        """A new category. Its default folder is ``Sorted/<name>``, or ``Sorted/<name> (2)`` … when
        another category has that one (after "Pets" was renamed "Animals", Animals keeps
        Sorted/Pets, and a new "Pets" must not share it)."""
        name = validate_category_name(name)
        if any(c.name.casefold() == name.casefold() for c in self.categories):
            raise errors.CategoryNameError(f"There is already a category called '{name}'.")
        if folder:
            self._check_folder_free(Path(folder), name)
            folder = Path(folder)
        else:
            folder = default_sorted_root() / name
            k = 2
            while self.folder_owner(folder) is not None:
                folder, k = default_sorted_root() / f"{name} ({k})", k + 1
        cat = Category(name, str(folder), color or self.free_colour())
        self.categories.append(cat)
        return cat

    def free_colour(self) -> str:
        """A swatch no category uses yet: the palette first, then further hues spread by the golden
        angle. (By count, removing a category and adding one gave two categories one colour, and a
        ninth category repeated the first: in the grid their score bars could not be told apart.)"""
        used = {c.color.casefold() for c in self.categories}
        for colour in PALETTE:
            if colour.casefold() not in used:
                return colour
        for i in range(1, 1000):
            hue = (0.07 + i * 0.618034) % 1.0
            r, g, b = colorsys.hsv_to_rgb(hue, 0.75 if i % 2 else 0.55, 0.6 if i % 3 == 0 else 0.75)
            colour = f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"
            if colour not in used:
                return colour
        return PALETTE[len(self.categories) % len(PALETTE)]

    def folder_owner(self, folder: str | Path, besides: str | None = None) -> str | None:
        """The category (other than ``besides``) whose folder is ``folder`` on disk (links and
        ``..`` resolved), if any.

        Why one folder per category: a copy is known by the folder it is in (a rename keeps the
        folder, and the ledger keeps the old name). Two categories on one folder cannot tell their
        copies apart: a correction "not B" on a photo copied for A would trash A's copy (an attack)."""
        mine = _real(folder)
        return next((c.name for c in self.categories if c.name != besides and _real(c.folder) == mine), None)

    def _check_folder_free(self, folder: Path, name: str | None) -> None:
        owner = self.folder_owner(folder, besides=name)
        if owner is not None:
            raise errors.UsageError(f"{folder} is already the folder of '{owner}': two categories cannot share a folder "
                                    "(their copies could not be told apart). Choose another folder.")

    def set_folder(self, name: str, folder: str | Path) -> None:
        """Where ``name``'s copies go from now on; refused when another category's folder is there."""
        cat = self.category(name)
        self._check_folder_free(Path(folder), name)
        cat.folder = str(folder)

    def rename_category(self, old: str, new: str) -> None:
        new = validate_category_name(new)
        if new.casefold() != old.casefold() and any(c.name.casefold() == new.casefold() for c in self.categories):
            raise errors.CategoryNameError(f"There is already a category called '{new}'.")
        cat = self.category(old)
        follows = default_sorted_root() / new
        if (Path(cat.folder) == default_sorted_root() / old and not holds_files(Path(cat.folder))
                and self.folder_owner(follows, besides=old) is None):
            # the folder follows the name only while nothing was sorted into it: otherwise the
            # category's photos would be split over two folders (and copied again into the new one)
            cat.folder = str(follows)
        cat.name = new
        if old in self.threshold_overrides:
            self.threshold_overrides[new] = self.threshold_overrides.pop(old)

    def remove_category(self, name: str) -> None:
        self.categories.remove(self.category(name))
        self.threshold_overrides.pop(name, None)

    def add_examples(self, name: str | None, paths: Sequence[str | Path]) -> int:
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

    def move_example(self, path: str, source: str | None, target: str | None) -> None:
        """One example from one category (None: "none of these") to another, as it is — even an
        unreadable file moves, so the person can still see and remove it there."""
        self.remove_example(source, path)
        dest = self.none_examples if target is None else self.category(target).examples
        if path not in dest:
            dest.append(path)

    def relabel(self, path: str | Path, names: Sequence[str]) -> None:
        """The person's word on one photo: it is an example of exactly these categories (none:
        an example of "none of these"). Used by corrections, so a photo moved from "ants" to
        "bees" stops teaching "ants"."""
        s = str(path)
        wanted = {self.category(n).name for n in names}
        for c in self.categories:
            if c.name in wanted and s not in c.examples:
                c.examples.append(s)
            elif c.name not in wanted and s in c.examples:
                c.examples.remove(s)
        if wanted and s in self.none_examples:
            self.none_examples.remove(s)
        elif not wanted and s not in self.none_examples:
            self.none_examples.append(s)

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

    def category_ids(self) -> dict[str, str]:
        """Each category's lasting id, by its name now."""
        return {c.name: c.id for c in self.categories}

    # ------------------------------------------------------------ persistence
    def save(self, path: str | Path | None = None) -> Path:
        path = Path(path or self.path or app_paths().library_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {k: v for k, v in asdict(self).items() if k != "path"}
        doc["schema_version"] = SCHEMA_VERSION
        fd, tmp = tempfile.mkstemp(prefix=".pending-", suffix=".json", dir=path.parent)
        try:
            # An example whose name is not valid UTF-8 (a FAT card, a zip) is held as a str with lone
            # surrogates; "backslashreplace" writes them as JSON's own \udcXX escapes, which load
            # reads back to the very same name. Strict UTF-8 made every later save fail.
            with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
                json.dump(doc, fh, indent=2, ensure_ascii=False)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self.path = path
        return path

    @classmethod
    def load(cls, path: str | Path | None = None) -> Library:
        """The saved setup, or an empty one if there is none yet.

        A file that cannot be understood is never silently replaced: it is kept under a new,
        unused name next to it (``library.json.damaged-<time>``), and the UsageError says where,
        so the user can recover their categories by hand; the next start begins afresh. A file
        that cannot be *read* (permissions) is left exactly where it is."""
        path = Path(path or app_paths().library_file)
        if not path.exists():
            lib = cls()
            lib.path = path
            return lib
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise _damaged(path, f"it is not UTF-8 text ({exc.reason})") from None
        except OSError as exc:
            raise errors.UsageError(
                f"Your category setup cannot be read ({exc.strerror or exc}). Check the file's permissions.", path=path
            ) from None
        try:
            doc = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise _damaged(path, f"it is not valid JSON ({exc})") from None
        if not isinstance(doc, dict):
            raise _damaged(path, f"it holds a {type(doc).__name__}, not an object")
        version = doc.pop("schema_version", 1)
        if not isinstance(version, int) or isinstance(version, bool):
            raise _damaged(path, f"schema_version is {version!r}")
        if version > SCHEMA_VERSION:
            raise errors.UsageError(f"{path} was written by a newer photosorter; update photosorter to open it.")
        problem = _schema_problem(doc)
        if problem:
            raise _damaged(path, problem)
        raw = doc.pop("categories", [])
        cats: list[Category] = []
        seen: set[str] = set()
        given = False
        for c in raw:
            cat = Category(**{**c, "id": c.get("id") or _legacy_id(c["name"], c["folder"])})
            if cat.id in seen:  # the same id twice (edited by hand): copies could not be told apart
                cat.id = _legacy_id(cat.name, cat.folder + "\0" + str(len(seen)))
            given |= cat.id != c.get("id")
            seen.add(cat.id)
            cats.append(cat)
        known = {f for f in cls.__dataclass_fields__ if f not in ("categories", "path")}
        lib = cls(categories=cats, **{k: v for k, v in doc.items() if k in known})
        lib.path = path
        if given:
            # ids given now are the ones copies are recorded with from now on: kept at once. They
            # are derived from the name and folder, so a library that cannot be saved (a read-only
            # config folder) gets the same ids at every start, not new ones (an attack)
            with contextlib.suppress(OSError, errors.PhotosorterError):
                lib.save()
        return lib


#: Each saved field and the type it must have (json gives int for whole numbers, float otherwise).
_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "none_examples": list, "watched": list, "watching": bool, "backbone": str, "strictness": (int, float),
    "keep_watching_in_tray": bool, "speed": str, "threshold_overrides": dict,
    "compare_backbones": bool, "fine_tune": bool,
}


def _schema_problem(doc: dict) -> str | None:
    """What is wrong with a saved library's fields, or None."""
    cats = doc.get("categories", [])
    if not isinstance(cats, list):
        return "categories is not a list"
    for c in cats:
        if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not isinstance(c.get("folder"), str):
            return f"a category is not a name with a folder: {c!r:.80}"
        if set(c) - {"name", "folder", "color", "examples", "id"}:
            return (f"the category {c['name']!r} has unknown fields "
                    f"{sorted(set(c) - {'name', 'folder', 'color', 'examples', 'id'})}")
        if not isinstance(c.get("id", ""), str):
            return f"the id of {c['name']!r} is not a word"
        if not isinstance(c.get("examples", []), list) or not all(isinstance(e, str) for e in c.get("examples", [])):
            return f"the examples of {c['name']!r} are not a list of file names"
        if not isinstance(c.get("color", ""), str):
            return f"the colour of {c['name']!r} is not a colour"
    for key, kind in _FIELD_TYPES.items():
        if key in doc and (not isinstance(doc[key], kind) or (kind is not bool and isinstance(doc[key], bool))):
            return f"{key} is {doc[key]!r:.60}"
    for key in ("none_examples", "watched"):
        if not all(isinstance(e, str) for e in doc.get(key, [])):
            return f"{key} is not a list of file or folder names"
    overrides = doc.get("threshold_overrides", {})
    if not all(isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < 1
               for k, v in overrides.items()):
        return "threshold_overrides holds something other than thresholds between 0 and 1"
    return None


def _damaged(path: Path, why: str) -> errors.UsageError:
    """Keep the damaged file under an unused name (never overwriting an earlier one) and say where."""
    from .state_files import move_aside

    try:
        kept = move_aside(path)
    except OSError as exc:
        return errors.UsageError(
            f"Your category setup could not be read ({why}), and it could not be moved aside ({exc.strerror or exc}). "
            "Move or fix it yourself; photosorter changed nothing.", path=path)
    return errors.UsageError(
        f"Your category setup could not be read ({why}). It was kept, unchanged, as {kept}; photosorter starts "
        "with an empty setup next time. Your photos and sorted folders are not affected.", path=path)


def default_sorted_root() -> Path:
    return config.default_sorted_root()


def _legacy_id(name: str, folder: str) -> str:
    """The lasting id of a category saved without one: the same at every load until it is saved."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"photosorter-category:{name}\0{folder}").hex


def _real(folder: str | Path) -> str:
    """A folder as it is on disk, for comparing two categories' folders (it may not exist yet):
    as sorting writes to it (``~`` is not expanded there either — an attack found the two apart),
    and on macOS, whose disks ignore case and accent composition, compared the same way."""
    real = os.path.normcase(os.path.realpath(os.fspath(folder)))
    if sys.platform == "darwin":
        real = unicodedata.normalize("NFD", real).casefold()
    return real


def holds_files(folder: Path) -> bool:
    """Whether ``folder`` has anything in it (missing or unreadable: no)."""
    try:
        with os.scandir(folder) as it:
            return any(True for _ in it)
    except OSError:  # missing or unreadable: nothing of ours to keep together there
        return False


def expand_photos(paths: Sequence[str | Path]) -> list[Path]:
    """Photos among ``paths``, folders expanded (recursively, in name order) by the one folder
    walker (media/walk.py): hidden and temporary names are ignored, links, FIFOs and devices are
    not taken. Paths stay as the caller named them (below a given folder), not resolved."""
    out: list[Path] = []
    for p in map(Path, paths):
        base = p if p.is_dir() else p.parent
        real = anchor(base)
        for found in walk_photos([p], kinds=("stills",)):
            if found.problem is None and looks_like_image(found.path):  # stills, but not documents
                out.append(base / found.path.relative_to(real) if found.path.is_relative_to(real) else found.path)
    return out


def import_labeled_folder(root: str | Path, library: Library | None = None) -> Library:
    """The seed layout (one sub-folder per category; identical files in several sub-folders =
    one photo with several labels; ``_none``) as a Library. Photos are matched by content, so two
    different photos that share a file name stay two examples."""
    from .ml.dataset import NONE_FOLDER, scan_labeled_folder

    photos = scan_labeled_folder(root)
    lib = library or Library()
    for name in photos.categories:
        if not any(c.name == name for c in lib.categories):
            lib.add_category(name)
    for i, (path, row) in enumerate(zip(photos.paths, photos.labels)):
        names = [photos.categories[j] for j in np.flatnonzero(row)]
        files = photos.sources[i] if i < len(photos.sources) and photos.sources[i] else [path]
        if not names:
            lib.add_examples(None, [files[0]])
        for n in names:
            # each category keeps the copy found in its own sub-folder
            own = [f for f in files if f.parent.name == n and f.parent.name != NONE_FOLDER]
            lib.add_examples(n, [own[0] if own else files[0]])
    return lib
