"""File names as the operating system gives them, stored and shown without crashing.

On Linux a file name is bytes; Python hands names that are not valid UTF-8 (common from FAT
cards and zip files) to us as ``str`` with lone surrogates ("surrogateescape"). Such a string
cannot be encoded as UTF-8, so SQLite, JSON writers and terminals refuse it. Three helpers keep
those names working everywhere:

* :func:`to_db` / :func:`from_db` store a path losslessly: plain text when it is valid UTF-8
  (so existing databases keep matching), its raw bytes (a BLOB) otherwise;
* :func:`shown` gives a printable form for messages, logs and JSON output (undecodable bytes as
  ``\\xe9``), never used to find a file again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import overload


def to_db(path: str | Path | None) -> str | bytes | None:
    """A path as SQLite can store it, losslessly."""
    if path is None:
        return None
    s = os.fspath(path)
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return os.fsencode(s)


@overload
def from_db(value: str | bytes) -> str: ...


@overload
def from_db(value: None) -> None: ...


def from_db(value: str | bytes | None) -> str | None:
    """The path :func:`to_db` stored, as the ``str`` the OS functions take."""
    if value is None:
        return None
    return os.fsdecode(value) if isinstance(value, bytes) else value


def shown(text: object) -> str:
    """Printable text: undecodable file-name bytes become ``\\xNN``."""
    s = os.fspath(text) if isinstance(text, Path) else str(text)
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def shown_tree(obj):
    """:func:`shown` applied to every string in a JSON-like structure."""
    if isinstance(obj, str):
        return shown(obj)
    if isinstance(obj, Path):
        return shown(obj)
    if isinstance(obj, dict):
        return {shown_tree(k): shown_tree(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [shown_tree(v) for v in obj]
    return obj
