"""The stored background: a bounded, persistent picture of "the user's photos in general".

The familiarity gate (openset.py) asks, per category, whether a photo looks like that category's
examples *more than like the user's photos in general*. What "in general" means must not depend on
which other photos happen to be in the same call, or the same photo gets one decision in the sort
list and another in the preview pane next to it. So the background is stored, beside the library
and the models, and every path that scores a photo (predict, explain, the preview pane, the sort
preview, sort, the watcher) reads the same one. A photo's decision is then a function of (photo,
model, stored background, thresholds) only.

What goes in: the clean-view features of photos the app has been asked to sort or watch (a first
sort of a new folder reads the whole folder first and adds it; every later view of that folder
uses the enriched background). Identity is the content hash, so sorting a folder twice or
previewing it before sorting adds nothing the second time.

Bounded and order-free: at most ``limit`` photos are kept, namely those with the smallest content
hashes. SHA-256 values are uniformly spread, so that is a uniform random sample of everything
ever added, and the same set of photos gives the same background whatever order it arrived in.

One file per backbone weights (features of different networks are not comparable), written
atomically as ``.npz`` and read with ``allow_pickle=False`` (data, never code).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np

#: Photos kept. 2,000 x 1,280 float16 features = 5 MB on disk; the gate's mean profile of a
#: uniform sample this large is within a fraction of a percent of the whole roll's.
DEFAULT_LIMIT = 2000
FILE_VERSION = 1
#: Below this many stored photos, their mix says too little about "photos in general": the gate
#: uses ImageNet's flat prior instead (scoring and training apply the same rule).
MIN_BACKGROUND_PHOTOS = 20


def background_file(folder: Path, weights_id: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", weights_id)
    return Path(folder) / f"background-{safe}.npz"


class StoredBackground:
    """Features of a bounded uniform sample of the user's photos, for one backbone's weights."""

    def __init__(self, path: Path | None, weights_id: str, feature_dim: int, limit: int = DEFAULT_LIMIT) -> None:
        self.path = Path(path) if path is not None else None
        self.weights_id = weights_id
        self.feature_dim = feature_dim
        self.limit = limit
        self._lock = threading.Lock()
        self._shas: list[str] = []
        self._feats = np.zeros((0, feature_dim), dtype=np.float16)
        self._stamp: tuple[int, int] | None = None  # (mtime_ns, size) of the file last read
        self.refresh()

    # ------------------------------------------------------------------ reading
    @classmethod
    def for_app(cls, weights_id: str, feature_dim: int) -> StoredBackground:
        """The app's own background for these weights, under its data folder (PHOTOSORTER_HOME aware)."""
        from ..config import app_paths

        return cls(background_file(app_paths().data_dir / "backgrounds", weights_id), weights_id, feature_dim)

    @classmethod
    def for_embedder(cls, embedder) -> StoredBackground:
        return cls.for_app(embedder.model.weights_id, embedder.spec.feature_dim)

    def refresh(self) -> None:
        """Re-read the file if another scorer (another window, the watcher, the CLI) changed it."""
        if self.path is None:
            return
        try:
            st = os.stat(self.path)
        except OSError:
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return
        try:
            with np.load(self.path, allow_pickle=False) as z:
                if int(z["version"]) != FILE_VERSION or str(z["weights_id"]) != self.weights_id:
                    return
                feats = z["features"].astype(np.float16)
                shas = [str(s) for s in z["shas"]]
        except (OSError, ValueError, KeyError):
            return  # a damaged background is ignored (it is rebuilt as photos are sorted)
        if feats.ndim != 2 or feats.shape[1] != self.feature_dim or len(shas) != len(feats):
            return
        with self._lock:
            self._shas, self._feats, self._stamp = shas, feats, stamp

    def __len__(self) -> int:
        return len(self._shas)

    def features(self) -> np.ndarray:
        """(n, D) float32 features, in content-hash order (so equal sets give equal arrays)."""
        with self._lock:
            return self._feats.astype(np.float32)

    def items(self) -> list[tuple[str, np.ndarray]]:
        with self._lock:
            return list(zip(self._shas, self._feats.astype(np.float32)))

    def copy_in_memory(self) -> StoredBackground:
        """A private copy that is never saved (e.g. to measure "after sorting this folder")."""
        out = StoredBackground(None, self.weights_id, self.feature_dim, self.limit)
        out.add(self.items())
        return out

    @property
    def version(self) -> str:
        """Changes whenever the set of photos changes: lets a scorer cache its calibrated gate."""
        with self._lock:
            h = hashlib.sha256("|".join(self._shas).encode())
        return h.hexdigest()[:16]

    def __contains__(self, sha: str) -> bool:
        with self._lock:
            return sha in set(self._shas)

    # ------------------------------------------------------------------ writing
    def add(self, items: Iterable[tuple[str, np.ndarray]]) -> int:
        """Add (content hash, clean-view features) pairs; keeps the ``limit`` smallest hashes.
        Returns how many photos were new. Call :meth:`save` to persist."""
        with self._lock:
            known = dict(zip(self._shas, self._feats))
            before = set(known)
            for sha, vec in items:
                if sha not in known:
                    known[sha] = np.asarray(vec, dtype=np.float32).reshape(-1).astype(np.float16)
            added = len(set(known) - before)
            if not added:
                return 0
            keep = sorted(known)[: self.limit]
            self._shas = keep
            self._feats = np.stack([known[s] for s in keep]) if keep else np.zeros((0, self.feature_dim), np.float16)
            return len(set(keep) - before)

    def save(self) -> None:
        """Atomic write (temp file in the same folder, fsync, rename)."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            shas = np.array(self._shas, dtype="<U64")
            feats = self._feats.copy()
        fd, tmp = tempfile.mkstemp(prefix=".pending-", suffix=".npz", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, version=np.array(FILE_VERSION), weights_id=np.array(self.weights_id),
                         shas=shas, features=feats)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        st = os.stat(self.path)
        with self._lock:
            self._stamp = (st.st_mtime_ns, st.st_size)
