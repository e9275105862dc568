"""Shared helpers for the sorting tests: a small trained model and tree snapshots."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from photosorter.ml.features import Embedder
from photosorter.ml.scoring import Scorer
from photosorter.ml.training import TrainOptions, train_from_folder
from photosorter.samples import make_labeled_folder


def trained_scorer(root: Path) -> Scorer:
    """Two categories (red_disc, blue_square) a tiny network separates reliably."""
    ex = make_labeled_folder(root / "examples", per_category=10, rel_size=0.6, none=6, seed=21)
    emb = Embedder("tiny")
    clf = train_from_folder(ex, emb, TrainOptions(views=1, folds=3, max_epochs=40)).classifier
    return Scorer(clf, emb)


def snapshot(root: Path) -> dict[str, tuple[str, int, int]]:
    """relative path → (sha256, size, mtime_ns) of every file below root (symlinks not followed)."""
    out = {}
    if not root.exists():
        return out
    for dirpath, _dirs, files in os.walk(root):
        for n in files:
            p = Path(dirpath) / n
            if p.is_symlink() or not p.is_file():
                continue
            st = p.stat()
            out[str(p.relative_to(root))] = (hashlib.sha256(p.read_bytes()).hexdigest(), st.st_size, st.st_mtime_ns)
    return out


def contents(root: Path) -> dict[str, list[str]]:
    """category folder → sorted list of content hashes (names aside)."""
    out: dict[str, list[str]] = {}
    for rel, (sha, _s, _m) in snapshot(root).items():
        out.setdefault(rel.split(os.sep)[0], []).append(sha)
    return {k: sorted(v) for k, v in out.items()}
