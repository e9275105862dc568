"""The one folder walker: which files under a source are photos, with one rule set everywhere
(sorting, dry runs, the watcher's rescans, reading example folders, adding examples).

It lives in ``media`` (below both ``ml`` and ``sorting`` in the layers of pyproject.toml) so that
the example readers in ``ml`` and ``library`` use it too; ``photosorter.sorting.walk`` re-exports it.

Rules: symbolic links are never followed (a symlinked photo is reported, a symlinked folder
skipped); hidden and temporary names (``.pending-*``, ``*.part``, ``._*``, …; see
:func:`is_temp_name`) are ignored; photo-named FIFOs and devices are
reported; unreadable folders are reported and the walk goes on. The walk is iterative (a stack,
no recursion), so 600 nested folders are no problem.

Sources are anchored at their real location (``realpath`` of a source folder, or of a source
file's folder), so every path below them is free of symlinks and can be opened component by
component (:mod:`photosorter.sorting.safefs`). Each folder is listed once; the listing is kept
as an index of sidecar candidates, so finding a photo's companions costs a dictionary lookup.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .. import media
from . import pairing

COMPANION_SUFFIXES = (".mov", ".xmp", ".aae")
#: Names of files still being written or synced (ours, browsers', Syncthing's, Office's, macOS's).
TEMP_PATTERNS = re.compile(r"^(\.pending-|\.syncthing\.|\._|~\$)|(\.part|\.tmp|\.crdownload|\.download|~)$", re.IGNORECASE)


def is_temp_name(name: str) -> bool:
    """Hidden or temporary: never a photo to read, copy or watch."""
    return bool(TEMP_PATTERNS.search(name)) or name.startswith(".")


@dataclass
class Found:
    path: Path
    st: os.stat_result | None = None
    problem: tuple[str, str] | None = None  # (reason, message) for what must be reported


@dataclass
class FolderIndex:
    """Per folder: companion candidates by lower-cased base name (``img_1`` and ``img_1.jpg``)."""

    by_base: dict[Path, dict[str, list[tuple[str, os.stat_result]]]] = field(default_factory=dict)
    #: Per folder: regular files by lower-cased stem, for pairing (RAW+JPEG twins, Live Photos).
    by_stem: dict[Path, dict[str, list[str]]] = field(default_factory=dict)

    def add(self, folder: Path, name: str, st: os.stat_result) -> None:
        base, suffix = os.path.splitext(name.casefold())
        if suffix in COMPANION_SUFFIXES:
            self.by_base.setdefault(folder, {}).setdefault(base, []).append((name, st))
        if stat.S_ISREG(st.st_mode):
            self.by_stem.setdefault(folder, {}).setdefault(base, []).append(name)

    def siblings(self, path: Path) -> list[Path]:
        """:data:`photosorter.media.pairing.Siblings` from the listing (no folder listed again)."""
        if path.parent not in self.by_stem and path.parent not in self.by_base:
            return pairing.list_siblings(path)  # a folder this index never listed
        names = self.by_stem.get(path.parent, {}).get(path.stem.casefold(), [])
        return sorted(path.parent / n for n in names if n != path.name)

    def has(self, folder: Path) -> bool:
        return folder in self.by_base

    def candidates(self, photo: Path) -> list[tuple[Path, os.stat_result]]:
        table = self.by_base.get(photo.parent, {})
        keys = {photo.stem.casefold(), photo.name.casefold()}
        out = [(photo.parent / n, st) for k in keys for n, st in table.get(k, [])]
        return sorted(out)


def anchor(source: str | Path) -> Path:
    """The source at its real location; a file's own name is kept (never resolved through)."""
    p = Path(os.path.abspath(os.fspath(source)))
    if os.path.isdir(p):
        return Path(os.path.realpath(p))
    return Path(os.path.realpath(p.parent)) / p.name


def _classify(path: Path, st: os.stat_result, kinds: frozenset[str], index: FolderIndex) -> Found | None:
    if stat.S_ISLNK(st.st_mode):
        if media.looks_like_media(path, kinds):
            return Found(path, st, ("symlink", f"{path}: symbolic links are not followed; skipped."))
        return None
    if not media.looks_like_media(path, kinds):
        return None
    if stat.S_ISREG(st.st_mode) and pairing.travels_with_a_still(path, kinds, index.siblings):
        return None  # a Live Photo's movie or a RAW's JPEG twin: copied as the still's companion
    if not stat.S_ISREG(st.st_mode):
        return Found(path, st, ("not_a_regular_file", f"{path}: not a regular file (a FIFO or device); skipped."))
    return Found(path, st)


def walk_photos(sources: Iterable[str | Path], index: FolderIndex | None = None,
                kinds: Iterable[str] | None = None, recursive: bool = True) -> Iterator[Found]:
    """Photos (and videos, RAWs: ``kinds``, default all) below the sources in name order (depth
    first), and what had to be skipped. Files that travel with a still are not listed.
    ``recursive=False``: only the files directly in a source folder (an example category)."""
    index = index if index is not None else FolderIndex()
    kinds = media.ALL_KINDS if kinds is None else frozenset(kinds)
    for src in sources:
        src = anchor(src)
        try:
            st = os.lstat(src)
        except OSError as exc:
            yield Found(src, None, ("unreadable", f"{src}: {exc.strerror or exc}."))
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_tree(src, index, kinds, recursive)
            continue
        if is_temp_name(src.name):
            continue
        if not index.has(src.parent):
            _list_folder(src.parent, index)
        found = _classify(src, st, kinds, index)
        if found is not None:
            yield found


def _list_folder(folder: Path, index: FolderIndex) -> list[os.DirEntry]:
    with os.scandir(folder) as it:
        entries = sorted(it, key=lambda e: e.name)
    index.by_base.setdefault(folder, {})
    for e in entries:
        with contextlib.suppress(OSError):
            index.add(folder, e.name, e.stat(follow_symlinks=False))
    return entries


def _walk_tree(root: Path, index: FolderIndex, kinds: frozenset[str], recursive: bool = True) -> Iterator[Found]:
    stack: list[Iterator[os.DirEntry]] = []

    def push(folder: Path) -> Iterator[Found]:
        try:
            stack.append(iter(_list_folder(folder, index)))
        except OSError as exc:
            yield Found(folder, None, ("unreadable", f"{folder}: cannot list this folder ({exc.strerror})."))

    yield from push(root)
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        if is_temp_name(entry.name):
            continue
        path = Path(entry.path)
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError as exc:
            yield Found(path, None, ("unreadable", f"{path}: {exc.strerror}."))
            continue
        if stat.S_ISDIR(st.st_mode):
            if recursive:
                yield from push(path)
            continue
        found = _classify(path, st, kinds, index)
        if found is not None:
            yield found
