"""Photo → feature vectors, with an on-disk cache so retraining costs seconds.

The cache is one SQLite file keyed by (content hash, backbone weights, preprocessing version,
numeric mode, view). View 0 is the clean photo; views 1..N are seeded augmentations, so the head
trains on precomputed augmented features without ever running the backbone again.

A second table remembers each file's content hash and oriented size by (path, size, mtime, ctime,
inode), the way git's index does: retraining on a thousand unchanged camera photos then costs a
``stat`` per photo instead of reading and hashing gigabytes. ctime cannot be set back by tools
that rewrite a file and restore its mtime, so a changed file is always read again.

Decoding (the expensive part on 12 MP JPEGs) runs in a thread pool — Pillow releases the GIL
while decoding — and overlaps with batched inference on the calling thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import errors, imaging, media
from ..fsnames import to_db
from ..jobs import CancelToken, ProgressFn, no_progress
from .backbones import PREPROCESS_VERSION, BackboneSpec, FeatureExtractor, build_backbone, get_spec
from .numerics import Bf16Check, checked_at_run_time, choose_mode
from .preprocess import augmented_view, eval_view, model_input

log = logging.getLogger(__name__)


class FeatureCache:
    """SQLite store of float16 feature vectors. Safe to share between threads.

    The cache is disposable: everything in it can be recomputed. So a damaged cache file is moved
    aside (logged, kept under a ``.damaged-…`` name) and rebuilt, and a cache that cannot be written
    (full disk, read-only folder, locked) is replaced by an in-memory one for this session, with a
    warning — neither ever stops a command."""

    def __init__(self, path: str | Path | None) -> None:
        self._lock = threading.Lock()
        self.path = Path(path) if path is not None else None
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        if self.path is not None:
            for _attempt in range(2):
                try:
                    return _connect_cache(self.path)
                except (sqlite3.Error, OSError) as exc:
                    if not self._recover(exc):
                        break
        return _connect_cache(None)

    def _recover(self, exc: BaseException) -> bool:
        """After a failure of the cache file: True if it was damaged and moved aside (reopen it)."""
        from ..state_files import explain, move_aside

        if self.path is None:
            return False
        err = explain(exc, self.path, "the feature cache")
        if err.kind == "damaged" and self.path is not None and self.path.exists():
            try:
                kept = move_aside(self.path)
            except OSError as move_exc:
                log.warning("%s It could not be moved aside (%s), so features are not cached this time.", err, move_exc)
                return False
            log.warning("%s It was moved aside to %s and is rebuilt (it only holds features that can be recomputed).",
                        err, kept)
            return True
        log.warning("%s Until then, features are not cached.", err)
        self.path = None
        return False

    def _failed(self, exc: BaseException) -> None:
        """A statement failed: continue with a fresh (rebuilt or in-memory) cache."""
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        if self.path is not None and not self._recover(exc):
            self.path = None
        self._db = self._open()

    @staticmethod
    def _stat_key(st: os.stat_result) -> tuple[int, int, int, int]:
        return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino

    def known_file(self, path: Path, st: os.stat_result) -> tuple[str, tuple[int, int]] | None:
        """(content hash, oriented size) of a file seen before and unchanged since, else None."""
        with self._lock:
            try:
                row = self._db.execute(
                    "SELECT size, mtime_ns, ctime_ns, ino, sha, width, height FROM files WHERE path=?", (to_db(os.path.abspath(path)),)
                ).fetchone()
            except sqlite3.Error as exc:
                self._failed(exc)
                return None
        if row is None or tuple(row[:4]) != self._stat_key(st):
            return None
        return row[4], (row[5], row[6])

    def remember_file(self, path: Path, st: os.stat_result, sha: str, size: tuple[int, int]) -> None:
        with self._lock:
            try:
                self._db.execute("INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?,?)",
                                 (to_db(os.path.abspath(path)), *self._stat_key(st), sha, int(size[0]), int(size[1])))
                self._db.commit()
            except sqlite3.Error as exc:
                self._failed(exc)

    def get(self, model: str, sha: str, views: int) -> np.ndarray | None:
        """All views 0..views-1 for one photo, or None if any is missing."""
        with self._lock:
            try:
                rows = self._db.execute(
                    "SELECT view, vec FROM features WHERE model=? AND sha=? AND view<? ORDER BY view", (model, sha, views)
                ).fetchall()
            except sqlite3.Error as exc:
                self._failed(exc)
                return None
        if len(rows) != views:
            return None
        return np.stack([np.frombuffer(vec, dtype=np.float16) for _, vec in rows]).astype(np.float32)

    def put(self, model: str, sha: str, vecs: np.ndarray) -> None:
        data = [(model, sha, i, v.astype(np.float16).tobytes()) for i, v in enumerate(vecs)]
        with self._lock:
            try:
                self._db.executemany("INSERT OR REPLACE INTO features VALUES (?,?,?,?)", data)
                self._db.commit()
            except sqlite3.Error as exc:
                self._failed(exc)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _connect_cache(path: Path | None) -> sqlite3.Connection:
    if path is None:
        db = sqlite3.connect(":memory:", check_same_thread=False)
    else:
        from ..state_files import open_sqlite, truncation

        if (why := truncation(path)) is not None:
            raise sqlite3.DatabaseError(why)
        db = open_sqlite(path, check_same_thread=False, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE IF NOT EXISTS features (model TEXT NOT NULL, sha TEXT NOT NULL, view INTEGER NOT NULL,"
        " vec BLOB NOT NULL, PRIMARY KEY (model, sha, view)) WITHOUT ROWID"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,"
        " ctime_ns INTEGER NOT NULL, ino INTEGER NOT NULL, sha TEXT NOT NULL, width INTEGER NOT NULL,"
        " height INTEGER NOT NULL) WITHOUT ROWID"
    )
    db.execute("SELECT 1 FROM features LIMIT 1").fetchone()  # a file that is not a database fails here
    db.commit()
    return db


@dataclass
class Embedding:
    path: Path
    sha256: str
    features: np.ndarray  # (views, dim) float32; row 0 is the clean view (videos: one row per frame)
    size: tuple[int, int]
    kind: str = "stills"  # media kind: 'stills' | 'videos' | 'raw'


@dataclass
class EmbedFailure:
    path: Path
    error: errors.BadImageError


def default_threads() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


class Embedder:
    """A loaded backbone plus its cache: the one object that turns photos into features."""

    def __init__(
        self,
        backbone: str = "efficientnet_lite0",
        weights: str | Path | None = None,
        cache: FeatureCache | None = None,
        batch_size: int = 8,  # measured sweet spot on 2 cores (ResNet50 and EfficientNet-Lite0)
        decode_workers: int | None = None,
        numeric_mode: str | None = None,
    ) -> None:
        self.spec: BackboneSpec = get_spec(backbone)
        self.model: FeatureExtractor = build_backbone(backbone, weights).to(memory_format=torch.channels_last)
        self.cache = cache if cache is not None else FeatureCache(None)
        self.batch_size = batch_size
        self.decode_workers = decode_workers or default_threads()
        self.numeric_mode = choose_mode(numeric_mode, backbone)
        self.int8 = None
        self.bf16_check = Bf16Check() if checked_at_run_time(self.numeric_mode, backbone) else None
        if self.numeric_mode == "int8":
            from .quantize import Int8Runner

            self.int8 = Int8Runner(self.model.body)
        torch.set_num_threads(default_threads())

    @property
    def bf16_active(self) -> bool:
        """Does scoring run in bfloat16 right now (ResNet50's run-time check may still say no)?"""
        if self.bf16_check is not None:
            return self.bf16_check.active
        return self.numeric_mode == "bf16"

    @property
    def cache_key(self) -> str:
        return f"{self.model.weights_id}|{PREPROCESS_VERSION}|{self.numeric_mode}"

    @torch.inference_mode()
    def forward_u8(self, batch_u8: torch.Tensor) -> np.ndarray:
        x = model_input(batch_u8, self.spec)
        if self.bf16_check is not None:
            return self.bf16_check.features(x, self.model).numpy()
        if self.numeric_mode == "bf16":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return self.model(x).float().numpy()
        if self.int8 is not None:
            return self.int8.features(x, self.model).float().numpy()
        return self.model(x).float().numpy()

    def embed(
        self,
        paths: Sequence[str | Path],
        views: int = 1,
        progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None,
    ) -> list[Embedding | EmbedFailure]:
        """Features for each path, in order; bad photos come back as EmbedFailure, not exceptions."""
        return list(self.iter_embed(paths, views, progress, cancel))

    def iter_embed(
        self,
        paths: Iterable[str | Path],
        views: int = 1,
        progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None,
        total: int | None = None,
    ) -> Iterator[Embedding | EmbedFailure]:
        """Streaming version: bounded look-ahead, so memory stays flat for any number of photos."""
        paths_iter = iter(paths)
        if total is None and isinstance(paths, Sequence):
            total = len(paths)
        total = total or 0
        key = self.cache_key
        window = max(2 * self.batch_size, 4 * self.decode_workers)
        pending: deque[tuple[Path, Future]] = deque()
        ready: list[tuple[Path, _Prepared]] = []
        done = 0
        with ThreadPoolExecutor(self.decode_workers, thread_name_prefix="decode") as pool:

            def fill() -> None:
                while len(pending) < window:
                    try:
                        p = Path(next(paths_iter))
                    except StopIteration:
                        return
                    pending.append((p, pool.submit(self._prepare, p, views, key)))

            fill()
            while pending or ready:
                if cancel is not None and cancel.cancelled:
                    for _, fut in pending:
                        fut.cancel()
                    cancel.raise_if_cancelled()
                # Gather up to one batch worth of decoded photos, in input order.
                out: list[Embedding | EmbedFailure] = []
                n_tensors = sum(len(prep.tensors) for _, prep in ready if prep.tensors is not None)
                while pending and n_tensors < self.batch_size:
                    p, fut = pending.popleft()
                    try:
                        prep = fut.result()
                    except errors.BadImageError as exc:
                        prep = _Prepared(error=exc)
                    ready.append((p, prep))
                    if prep.tensors is not None:
                        n_tensors += len(prep.tensors)
                    fill()
                out.extend(self._finish(ready, key))
                ready = []
                for item in out:
                    done += 1
                    progress(done, max(total, done), f"{item.path.name}")
                    yield item

    def _prepare(self, path: Path, views: int, key: str) -> _Prepared:
        try:
            st = os.stat(path)
        except OSError:
            st = None  # read_file_bytes below turns this into the user-facing error
        if media.kind_of(path) != "stills" or path.suffix.lower() in media.DOCUMENT_EXTENSIONS:
            return self._prepare_media(path, views, key, st)
        if st is not None and (known := self.cache.known_file(path, st)) is not None:
            cached = self.cache.get(key, known[0], views)
            if cached is not None:  # unchanged file, features cached: no read at all
                return _Prepared(sha=known[0], cached=cached, size=known[1])
        data = imaging.read_file_bytes(path)
        sha = imaging.content_hash(data)
        cached = self.cache.get(key, sha, views)
        if cached is not None:
            size = imaging.header_size(data)  # header-only open is cheap
            if st is not None:
                self.cache.remember_file(path, st, sha, size)
            return _Prepared(sha=sha, cached=cached, size=size)
        img, _fmt, size = imaging.decode(data, min_side=self.spec.input_size, path=path)
        img = media.document.scoring_view(img)  # very tall / wide images: a deliberate 3:1 window
        if st is not None:
            self.cache.remember_file(path, st, sha, size)
        tensors = [eval_view(img, self.spec)]
        seed = int(sha[:12], 16)
        tensors += [augmented_view(img, self.spec, seed + v) for v in range(1, views)]
        return _Prepared(sha=sha, tensors=tensors, size=size)

    def _prepare_media(self, path: Path, views: int, key: str, st: os.stat_result | None) -> _Prepared:
        """Videos (one feature row per sampled frame, no augmentations), RAW files and PDFs
        (like a still). Decoding is bounded per file and hashing streams (photosorter.media)."""
        kind = media.kind_of(path) or "stills"
        mkey = f"{key}|frames{media.video.READER_VERSION}" if kind == "videos" else key

        def cached(sha: str) -> np.ndarray | None:
            if kind != "videos":
                return self.cache.get(key, sha, views)
            for n in range(media.video.FRAMES, 0, -1):  # a short clip may have had fewer keyframes
                if (c := self.cache.get(mkey, sha, n)) is not None:
                    return c
            return None

        if st is not None and (known := self.cache.known_file(path, st)) is not None and (c := cached(known[0])) is not None:
            return _Prepared(sha=known[0], cached=c, size=known[1], key=mkey, kind=kind)
        sha = None
        if kind != "stills":  # hash first (streamed): a renamed or re-copied video is not decoded again
            sha = media.hashing.stream_hash(path)
            if (c := cached(sha)) is not None:  # (size unknown without decoding; (0, 0) as for unreadable headers)
                return _Prepared(sha=sha, cached=c, size=(0, 0), key=mkey, kind=kind)
        loaded = media.load_views(path, min_side=self.spec.input_size, sha256=sha)
        if st is not None:
            self.cache.remember_file(path, st, loaded.sha256, loaded.size)
        if (c := cached(loaded.sha256)) is not None:
            return _Prepared(sha=loaded.sha256, cached=c, size=loaded.size, key=mkey, kind=kind)
        if kind == "videos":
            tensors = [eval_view(f, self.spec) for f in loaded.frames]
        else:
            img = loaded.frames[0]
            seed = int(loaded.sha256[:12], 16)
            tensors = [eval_view(img, self.spec)] + [augmented_view(img, self.spec, seed + v) for v in range(1, views)]
        return _Prepared(sha=loaded.sha256, tensors=tensors, size=loaded.size, key=mkey, kind=kind)

    def _finish(self, ready: list[tuple[Path, _Prepared]], key: str) -> list[Embedding | EmbedFailure]:
        tensors = [t for _, prep in ready if prep.tensors is not None for t in prep.tensors]
        feats = self.forward_u8(torch.stack(tensors)) if tensors else np.zeros((0, self.spec.feature_dim))
        out: list[Embedding | EmbedFailure] = []
        i = 0
        for path, prep in ready:
            if prep.error is not None:
                out.append(EmbedFailure(path, prep.error))
            elif prep.cached is not None:
                out.append(Embedding(path, prep.sha, prep.cached, prep.size, prep.kind))
            else:
                assert prep.tensors is not None  # neither cached nor failed: it was prepared
                n = len(prep.tensors)
                vecs = feats[i : i + n]
                i += n
                self.cache.put(prep.key or key, prep.sha, vecs)
                # at the cache's float16 precision, so a first training and a retraining see the same numbers
                out.append(Embedding(path, prep.sha, vecs.astype(np.float16).astype(np.float32), prep.size, prep.kind))
        return out


@dataclass
class _Prepared:
    sha: str = ""
    tensors: list[torch.Tensor] | None = None
    cached: np.ndarray | None = None
    size: tuple[int, int] = (0, 0)
    error: errors.BadImageError | None = None
    key: str = ""  # cache key, when not the embedder's default (video frames)
    kind: str = "stills"
