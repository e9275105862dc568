"""Safe names and destinations: nothing we write may land outside a category's folder.

Category names become folder names, so they are validated like hostile input: no separators,
no ``..``, no absolute paths, no control characters, no Windows device names. And because a
folder can be swapped for a symlink between our check and our write, every destination is
resolved again right before writing and must still lie inside its configured root.
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import errors
from ..names import RESERVED_NAMES, validate_category_name  # validate_category_name: re-exported for callers of paths


def inside(root: Path, candidate: Path) -> bool:
    """Does ``candidate`` (resolved, symlinks followed) lie inside ``root`` (resolved)?"""
    try:
        Path(os.path.realpath(candidate)).relative_to(os.path.realpath(root))
        return True
    except ValueError:
        return False


def category_folder(dest_root: Path, category: str) -> Path:
    """ROOT/<category>, refusing names or symlinks that would lead elsewhere."""
    name = validate_category_name(category)
    folder = dest_root / name
    if not inside(dest_root, folder):
        raise errors.UsageError(f"The folder for '{name}' resolves outside {dest_root} (a symbolic link?); refusing to write there.")
    return folder


_UNSTORABLE = set('<>:"/\\|?*')


def portable_name(name: str) -> str:
    """A file name every common destination can store (FAT/exFAT cards, NTFS, SMB/NAS shares,
    APFS, ext4): ``< > : " / \\ | ? *``, control characters and bytes that are not valid UTF-8
    become ``_``; trailing dots and spaces are dropped; Windows device names get a ``_`` prefix.

    Applied to *every* copy (not only when a destination refuses): a copy's name then never
    depends on which disk it lands on, a sorted folder can later be moved to a card or a share
    as it is, and a refusal can never turn into a failure "retried" forever. The original name
    stays in the ledger (the copy's source path), and undo removes the copy by its mapped name.
    """
    out = []
    for ch in name:
        if ch in _UNSTORABLE or ord(ch) < 32 or ord(ch) == 127 or 0xD800 <= ord(ch) <= 0xDFFF:
            out.append("_")
        else:
            out.append(ch)
    safe = "".join(out).rstrip(" .")
    if not safe:
        return "_"
    stem = safe.split(".")[0]
    if stem.upper() in RESERVED_NAMES:
        safe = "_" + safe
    return safe
