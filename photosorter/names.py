"""Category names become folder names, so they are validated like hostile input: no separators,
no ``..``, no leading dot, no control characters, no Windows device names.

Its own module (below both ``ml`` and ``sorting``) because a model file's categories are checked
with the same rule when the model is loaded (ml.model_check) as when a category folder is made
(sorting.paths, which re-exports it).
"""

from __future__ import annotations

import unicodedata

from . import errors

RESERVED_NAMES = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
_FORBIDDEN_CHARS = set('<>:"/\\|?*')
MAX_NAME = 100


def validate_category_name(name: str) -> str:
    """Return the NFC-normalised name, or raise CategoryNameError saying what is wrong."""
    if not isinstance(name, str) or not name.strip():
        raise errors.CategoryNameError("A category needs a name.")
    norm = unicodedata.normalize("NFC", name.strip())
    if len(norm) > MAX_NAME:
        raise errors.CategoryNameError(f"Category names can be at most {MAX_NAME} characters.")
    if norm in (".", "..") or norm.startswith("."):
        raise errors.CategoryNameError(f"'{name}' cannot be a category name: it may not start with a dot.")
    bad = sorted({ch for ch in norm if ch in _FORBIDDEN_CHARS or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")})
    if bad:
        shown = ", ".join(repr(ch) for ch in bad)
        raise errors.CategoryNameError(f"'{name!r}' cannot be a category name: it contains {shown} (no slashes, control characters or <>:\"|?*).")
    if norm.split(".")[0].upper() in RESERVED_NAMES:
        raise errors.CategoryNameError(f"'{name}' is a reserved device name on Windows; choose another name.")
    if norm.endswith((" ", ".")):
        raise errors.CategoryNameError(f"'{name}' cannot end with a space or a dot.")
    return norm
