"""Import a folder of category sub-folders as examples, and say what was skipped and why.

Sub-folders of a category folder count (``Pets/2023/cat.jpg`` is a Pets example), the same
way sorting a folder includes its sub-folders. Each photo is decoded at a reduced size (JPEG
draft mode: cheap), so broken files are not counted as examples; a category with no usable photo is not
created. Qt-free; the GUI and the CLI show :class:`ImportReport`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import errors
from .imaging import load_image, looks_like_image
from .library import Library
from .ml.dataset import NONE_FOLDER


@dataclass
class ImportReport:
    added: dict[str | None, int] = field(default_factory=dict)  # category (None key: "none of these") → new examples
    created: list[str] = field(default_factory=list)
    existing: list[tuple[str, str]] = field(default_factory=list)  # (sub-folder name, the category it added to)
    skipped_files: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    skipped_folders: list[tuple[str, str]] = field(default_factory=list)  # (folder, why)

    def text(self, limit: int = 6) -> str:
        """A short human summary; the first ``limit`` skipped files are named."""
        parts = [f"{n} → {c or 'none of these'}" for c, n in self.added.items() if n]
        out = f"Imported {sum(self.added.values())} example photo(s)" + (f" ({', '.join(parts)})" if parts else "") + "."
        if self.created:
            out += f" New categories: {', '.join(self.created)}."
        if self.existing:
            # a folder whose photos were all examples already added nothing: say so (a tryout read
            # "Added to existing categories: Food" and found Food still at 20)
            out += " Added to existing categories: " + ", ".join(
                f"{cat}" + (f" (from the folder {folder})" if folder != cat else "")
                + ("" if self.added.get(cat) else " — nothing new: its photos were examples already")
                for folder, cat in self.existing) + "."
        if self.skipped_folders:
            out += " Skipped folders: " + "; ".join(f"{Path(f).name} ({why})" for f, why in self.skipped_folders) + "."
        if self.skipped_files:
            named = "; ".join(f"{Path(p).name}: {why}" for p, why in self.skipped_files[:limit])
            more = f" and {len(self.skipped_files) - limit} more" if len(self.skipped_files) > limit else ""
            out += f" Skipped {len(self.skipped_files)} file(s) that cannot be used — {named}{more}."
        return out


def usable(path: Path) -> str | None:
    """None when the file looks like a readable photo, else why not (in words)."""
    try:
        load_image(path, min_side=32)  # draft decode: a fraction of a full one, and it finds truncation
    except errors.PhotosorterError as exc:
        return str(exc).split("\n")[0]
    except Exception as exc:
        return f"cannot be read ({type(exc).__name__})"
    return None


def import_examples(root: str | Path, library: Library) -> ImportReport:
    root = Path(root)
    if not root.is_dir():
        raise errors.InputError("This is not a folder of category sub-folders.", path=root)
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not subdirs:
        raise errors.NotEnoughExamplesError(
            "No category sub-folders found. Make one sub-folder per category (e.g. Food/, Pets/) "
            "and put example photos in each.", path=root)
    report = ImportReport()
    for sub in subdirs:
        name = None if sub.name == NONE_FOLDER else sub.name
        files = sorted(f for f in sub.rglob("*") if f.is_file() and looks_like_image(f)
                       and not any(part.startswith(".") for part in f.relative_to(sub).parts))
        good = []
        for f in files:
            why = usable(f)
            if why is None:
                good.append(f)
            else:
                report.skipped_files.append((str(f), why))
        if not good:
            report.skipped_folders.append((str(sub), "no usable photos" if files else "no photos"))
            continue
        if name is not None:
            # a sub-folder naming a category there is already (as the library compares names:
            # NFC, any case) adds to it — it was skipped with "There is already a category called
            # 'food'" (tryout), leaving no way to import more examples into a category
            existing = _existing_category(library, name)
            if existing is not None:
                report.existing.append((name, existing))
                name = existing
            else:
                try:
                    name = library.add_category(name).name  # as the library spells it (NFC, trimmed)
                except errors.PhotosorterError as exc:
                    report.skipped_folders.append((str(sub), str(exc)))
                    continue
                report.created.append(name)
        report.added[name] = report.added.get(name, 0) + library.add_examples(name, good)
    return report


def _existing_category(library: Library, folder_name: str) -> str | None:
    """The name of the category ``folder_name`` names (NFC, any case), or None."""
    import unicodedata

    key = unicodedata.normalize("NFC", folder_name.strip()).casefold()
    return next((c.name for c in library.categories if c.name.casefold() == key), None)
