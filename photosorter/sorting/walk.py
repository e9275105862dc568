"""The folder walker, re-exported for sorting: it lives in :mod:`photosorter.media.walk` (one
walker, one rule set, below ``ml`` and ``sorting``, so the example readers use it too)."""

from __future__ import annotations

from ..media.walk import COMPANION_SUFFIXES, FolderIndex, Found, anchor, is_temp_name, walk_photos

__all__ = ["COMPANION_SUFFIXES", "FolderIndex", "Found", "anchor", "is_temp_name", "walk_photos"]
