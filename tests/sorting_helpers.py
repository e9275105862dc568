"""Shared helpers for the sorting tests: a small trained model and tree snapshots."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from photosorter.ml.features import Embedder
from photosorter.ml.scoring import Scorer
from photosorter.ml.training import TrainOptions, train_from_folder
from photosorter.samples import make_labeled_folder, make_photo


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


def hand_plan(src: Path, dest: Path, n: int = 24, seed: int = 0, sidecars_every: int = 4):
    """A plan built without a model (the kill and swap tests are about files, not scores):
    ``n`` photo files of random bytes, each going to one or both of two categories, every
    ``sidecars_every``-th with a Live Photo movie and an .xmp sidecar."""
    import numpy as np

    from photosorter.sorting.paths import category_folder
    from photosorter.sorting.planner import Decision, Plan

    rng = np.random.default_rng(seed)
    src.mkdir(parents=True, exist_ok=True)
    dests = {c: category_folder(dest, c) for c in ("cats", "dogs")}
    decisions = []
    for i in range(n):
        p = src / f"IMG_{i:04d}.jpg"
        p.write_bytes(rng.integers(0, 255, int(rng.integers(2_000, 60_000)), dtype=np.uint8).tobytes())
        cats = [["cats"], ["dogs"], ["cats", "dogs"]][i % 3]
        d = Decision(Path(os.path.realpath(p)), "copy", hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_size,
                     p.stat().st_mtime_ns, list(cats))
        if i % sidecars_every == 0:
            for suffix, size in ((".MOV", 30_000), (".xmp", 300)):
                c = p.with_suffix(suffix)
                c.write_bytes(rng.integers(0, 255, size, dtype=np.uint8).tobytes())
                d.companions.append(Path(os.path.realpath(c)))
                d.companion_shas[d.companions[-1]] = hashlib.sha256(c.read_bytes()).hexdigest()
        decisions.append(d)
    return Plan(decisions, dests, {"cats": 0.5, "dogs": 0.5})


def tree(root: Path) -> dict[str, str]:
    """relative path → sha256 (names and contents, nothing else)."""
    return {k: v[0] for k, v in snapshot(root).items()}


def memory_tmp(tmp_path: Path):
    """A scratch folder in RAM (/dev/shm) when there is one, else ``tmp_path``: the crash and swap
    tests are about *which* operations happen, not about disk speed, and fsync on a busy shared
    disk would make them slow. Generator for a pytest fixture (removed afterwards)."""
    import shutil
    import tempfile

    base = Path("/dev/shm")
    if base.is_dir() and os.access(base, os.W_OK):
        d = Path(tempfile.mkdtemp(prefix="photosorter-test-", dir=base))
        try:
            yield d
        finally:
            shutil.rmtree(d, ignore_errors=True)
    else:
        yield tmp_path


def wait_for(cond, timeout: float = 30.0) -> bool:
    """Poll ``cond`` until it holds (True) or ``timeout`` seconds pass (False)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


def non_utf8_name(folder: Path, seed: int) -> Path:
    """A red-disc photo whose file name is not valid UTF-8 (as from a FAT card), in ``folder``."""
    raw = os.fsencode(folder) + b"/caf\xe9-" + str(seed).encode() + b".jpg"
    tmp = folder / f"tmp{seed}.jpg"
    make_photo(tmp, ("red_disc",), seed, rel_size=0.6)
    os.rename(tmp, raw)
    return Path(os.fsdecode(raw))

