"""Faces in a photo: where they are, how large, and who (a 128-d identity embedding).

An ImageNet backbone says *what* is in a photo, not *who*. dlib's face models (the prebuilt
``dlib-bin`` wheel plus the model files shipped in ``face-recognition-models``) add that: a HOG
face detector, a 5-point landmark model for alignment and a ResNet that maps an aligned face to a
128-d vector in which photos of one person lie within Euclidean distance 0.6 of each other (dlib's
documented threshold; 99.38% on the LFW benchmark).

Cost is bounded per photo: detection runs on the photo scaled so its long side is at most
DETECT_SIDE pixels (small photos are upsampled once instead, so faces of ~40 px are still found),
and at most MAX_DESCRIBED faces (the largest) get an identity embedding; the rest are only
counted. Faces smaller than MIN_FACE_PX in the detection image are counted but not described:
their embeddings are unreliable. Everything is loaded lazily — importing this module costs
nothing, and the models load on the first photo that needs them (only classifiers with person
categories ever ask).

Results are cached in the feature cache's SQLite file (table ``faces``), keyed by (content hash,
FACE_MODEL_ID): face data never leaves the machine, and ``FaceStore.clear`` deletes all of it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from .. import errors, imaging, media

#: Long side of the image the detector sees. HOG time grows with the pixel count, so this bounds it.
DETECT_SIDE = 1024
#: Below this long side the photo is upsampled once (dlib's HOG window is 80 px).
UPSAMPLE_BELOW = 600
#: At most this many faces (the largest) are described; a crowd of 40 is counted, not embedded.
MAX_DESCRIBED = 12
#: Faces smaller than this (in the detection image) are counted but get no identity.
MIN_FACE_PX = 36
EMBED_DIM = 128
#: Part of every cache key: change it whenever detection or description changes.
FACE_MODEL_ID = f"dlib-hog-5pt-resnet-v1|side{DETECT_SIDE}|up{UPSAMPLE_BELOW}|max{MAX_DESCRIBED}|min{MIN_FACE_PX}|win3"
#: dlib's documented same-person distance for its ResNet descriptors.
SAME_PERSON_DISTANCE = 0.6
#: A video's sampled keyframes are searched for faces decoded with this shorter side (a 16:9
#: frame's long side is then DETECT_SIDE, like a still's detection image).
VIDEO_FACE_SIDE = DETECT_SIDE * 9 // 16
#: A RAW's embedded preview is searched for faces when its shorter side is at least this (camera
#: previews are; a thumbnail-only RAW is half-size demosaiced instead, as for scoring).
RAW_FACE_SIDE = DETECT_SIDE // 2


@dataclass(frozen=True)
class Face:
    """One detected face. ``box`` is (left, top, right, bottom) as fractions of the oriented photo."""

    box: tuple[float, float, float, float]
    embedding: np.ndarray | None  # (128,) float32, None when too small to describe

    @property
    def size(self) -> float:
        """Face height as a share of the photo's height (how much of the picture the face fills)."""
        return float(self.box[3] - self.box[1])


@dataclass
class FaceResult:
    """All faces found in one photo. ``found`` counts every detection, ``faces`` holds at most
    MAX_DESCRIBED of them (largest first)."""

    faces: list[Face] = field(default_factory=list)
    found: int = 0

    def embeddings(self) -> np.ndarray:
        """(k, 128) identity embeddings of the described faces (k may be 0)."""
        vecs = [f.embedding for f in self.faces if f.embedding is not None]
        return np.stack(vecs).astype(np.float32) if vecs else np.zeros((0, EMBED_DIM), np.float32)

    # --- compact storage: one float32 row per face: box (4) + embedding (128, NaN if none)
    def to_bytes(self) -> bytes:
        rows = np.full((len(self.faces), 4 + EMBED_DIM), np.nan, dtype=np.float32)
        for i, f in enumerate(self.faces):
            rows[i, :4] = f.box
            if f.embedding is not None:
                rows[i, 4:] = f.embedding
        return rows.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, found: int) -> FaceResult:
        rows = np.frombuffer(data, dtype=np.float32).reshape(-1, 4 + EMBED_DIM)
        faces = [Face((float(r[0]), float(r[1]), float(r[2]), float(r[3])), None if np.isnan(r[4]) else r[4:].copy()) for r in rows]
        return cls(faces, max(int(found), len(faces)))


def model_files() -> dict[str, Path]:
    """Paths of the dlib model files inside the installed ``face_recognition_models`` package.

    Found without importing the package: its ``__init__`` needs ``pkg_resources``, which recent
    setuptools no longer ship."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise errors.ModelError("The face models are not installed. Reinstall photosorter (pip install photosorter).")
    root = Path(next(iter(spec.submodule_search_locations))) / "models"
    files = {"landmarks": root / "shape_predictor_5_face_landmarks.dat",
             "descriptor": root / "dlib_face_recognition_resnet_model_v1.dat"}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise errors.ModelError(f"Face model files are missing ({', '.join(missing)}). Reinstall face-recognition-models.")
    return files


log = logging.getLogger(__name__)


class _DlibModels:
    """The three dlib models, loaded once per process on first use (about 0.2 s)."""

    _lock = threading.Lock()
    _loaded: _DlibModels | None = None

    def __init__(self) -> None:
        try:
            import dlib
        except ImportError as exc:
            raise errors.ModelError(f"dlib is not installed ({exc}). Reinstall photosorter (pip install photosorter).") from None
        files = model_files()
        self.detector = dlib.get_frontal_face_detector()
        self.landmarks = dlib.shape_predictor(str(files["landmarks"]))
        self.descriptor = dlib.face_recognition_model_v1(str(files["descriptor"]))
        self.rectangle = dlib.rectangle
        # dlib's objects are not documented as thread-safe: one photo at a time per process.
        self.run_lock = threading.Lock()

    @classmethod
    def get(cls) -> _DlibModels:
        with cls._lock:
            if cls._loaded is None:
                cls._loaded = cls()
            return cls._loaded


def detection_image(image: Image.Image) -> tuple[np.ndarray, int]:
    """The RGB array the detector sees (long side ≤ DETECT_SIDE) and the upsampling to use."""
    w, h = image.size
    scale = min(1.0, DETECT_SIDE / max(w, h, 1))
    if scale < 1.0:
        image = image.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR)
    arr = np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))
    return arr, (1 if max(image.size) < UPSAMPLE_BELOW else 0)


def find_faces(image: Image.Image) -> FaceResult:
    """Detect and describe the faces in one decoded, oriented RGB photo (no cache)."""
    arr, upsample = detection_image(image)
    h, w = arr.shape[:2]
    if min(h, w) < 16:
        return FaceResult()
    models = _DlibModels.get()
    with models.run_lock:
        rects = list(models.detector(arr, upsample))
        rects.sort(key=lambda r: -(r.width() * r.height()))
        faces: list[Face] = []
        for r in rects[:MAX_DESCRIBED]:
            left, top = max(0, r.left()), max(0, r.top())
            right, bottom = min(w, r.right()), min(h, r.bottom())
            if right <= left or bottom <= top:
                continue
            emb = None
            if min(r.width(), r.height()) >= MIN_FACE_PX:
                shape = models.landmarks(arr, r)
                emb = np.asarray(models.descriptor.compute_face_descriptor(arr, shape), dtype=np.float32)
            faces.append(Face((left / w, top / h, right / w, bottom / h), emb))
    return FaceResult(faces, len(rects))


def _in_window(image: Image.Image) -> FaceResult:
    """find_faces on the scored window of ``image``, boxes mapped back to the whole image."""
    from ..media.document import scoring_window

    w, h = image.size
    left, top, right, bottom = scoring_window((w, h))
    if (left, top, right, bottom) == (0, 0, w, h):
        return find_faces(image)
    found = find_faces(image.crop((left, top, right, bottom)))
    cw, ch = right - left, bottom - top

    def whole(b: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        return ((left + b[0] * cw) / w, (top + b[1] * ch) / h, (left + b[2] * cw) / w, (top + b[3] * ch) / h)

    return FaceResult([Face(whole(f.box), f.embedding) for f in found.faces], found.found)


class FaceStore:
    """Face results by (content hash, FACE_MODEL_ID), in the feature cache's SQLite file."""

    def __init__(self, path: str | Path | None) -> None:
        self._lock = threading.Lock()
        self.path = Path(path) if path is not None else None
        try:
            self._db = self._connect(self.path)
        except (sqlite3.Error, OSError) as exc:
            # The cache file is disposable (FeatureCache moves a damaged one aside): faces are then
            # kept in memory for this session rather than stopping the command.
            log.warning("Face data cannot be stored in %s (%s); it is kept in memory this time.", path, exc)
            self.path = None
            self._db = self._connect(None)

    @staticmethod
    def _connect(path: Path | None) -> sqlite3.Connection:
        if path is None:
            db = sqlite3.connect(":memory:", check_same_thread=False)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE IF NOT EXISTS faces (model TEXT NOT NULL, sha TEXT NOT NULL, found INTEGER NOT NULL,"
                   " data BLOB NOT NULL, PRIMARY KEY (model, sha)) WITHOUT ROWID")
        db.commit()
        return db

    def get(self, sha: str) -> FaceResult | None:
        with self._lock:
            row = self._db.execute("SELECT found, data FROM faces WHERE model=? AND sha=?", (FACE_MODEL_ID, sha)).fetchone()
        return None if row is None else FaceResult.from_bytes(row[1], row[0])

    def put(self, sha: str, result: FaceResult) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO faces VALUES (?,?,?,?)", (FACE_MODEL_ID, sha, result.found, result.to_bytes()))
            self._db.commit()

    # A video's frames are stored under "<sha>#frame<i>" (and "<sha>#frames": how many): counting
    # photos and videos means counting distinct content hashes.
    _FILES = "SELECT COUNT(DISTINCT substr(sha, 1, instr(sha || '#', '#') - 1)) FROM faces"

    def count(self) -> int:
        """How many photos and videos have face data stored (all models)."""
        with self._lock:
            return int(self._db.execute(self._FILES).fetchone()[0])

    def clear(self) -> int:
        """Delete every stored face (all models); returns how many photos' (and videos') entries went."""
        with self._lock:
            n = int(self._db.execute(self._FILES).fetchone()[0])
            self._db.execute("DELETE FROM faces")
            self._db.commit()
            # another connection may be mid-transaction (OperationalError): the rows are gone either way
            with contextlib.suppress(sqlite3.OperationalError):
                self._db.execute("VACUUM")  # so deleted face data is not left in free pages
        return n

    def close(self) -> None:
        with self._lock:
            self._db.close()


class FaceAnalyzer:
    """Faces of photos by path or decoded image, through the store. Safe to share between threads."""

    def __init__(self, store: FaceStore | None = None) -> None:
        self.store = store if store is not None else FaceStore(None)

    def for_image(self, image: Image.Image, sha: str | None = None, window: bool = False) -> FaceResult:
        """Faces of a decoded photo. ``window``: search only the part that is scored (a very tall
        or wide image's 3:1 window, media.document; boxes stay fractions of the whole image) —
        a scrolling screenshot's whole 1:10 height squeezed to DETECT_SIDE leaves no face
        large enough to find."""
        if sha is not None and (hit := self.store.get(sha)) is not None:
            return hit
        result = _in_window(image) if window else find_faces(image)
        if sha is not None:
            self.store.put(sha, result)
        return result

    def for_path(self, path: str | Path, sha: str | None = None) -> FaceResult:
        """Faces of a photo file. ``sha`` (already known from embedding) skips reading a cached one.
        An unreadable photo has no faces (the caller reports it through the image path anyway).
        A RAW or a PDF is decoded the way it is scored (media.load_views): its embedded preview,
        else a half-size demosaic; a PDF's first page. A video: :meth:`for_video`."""
        if sha is not None and (hit := self.store.get(sha)) is not None:
            return hit
        kind = media.kind_of(path)
        if kind == "raw" or Path(path).suffix.lower() in media.DOCUMENT_EXTENSIONS:
            try:
                views = media.load_views(path, min_side=RAW_FACE_SIDE, sha256=sha)
            except errors.BadImageError:
                return FaceResult()
            return self.for_image(views.frames[0], views.sha256)
        if kind == "videos":
            frames = self.for_video(path, sha)
            return max(frames, key=lambda r: r.found, default=FaceResult())
        try:
            data = imaging.read_file_bytes(path)
            sha = imaging.content_hash(data)
            if (hit := self.store.get(sha)) is not None:
                return hit
            image, _fmt, _size = imaging.decode(data, min_side=DETECT_SIDE, path=path)
        except errors.BadImageError:
            return FaceResult()
        return self.for_image(image, sha, window=True)


    def for_video(self, path: str | Path, sha: str | None = None, frames: int | None = None) -> list[FaceResult]:
        """Faces of each keyframe a video is scored by (media.video.sample_frames: the same
        instants), cached by the video's content hash. ``frames``: how many frames the caller
        scored; the list then has exactly that many (no faces for a frame that could not be
        decoded again). An unreadable video has no faces."""
        from ..media import video
        from ..media.hashing import stream_hash

        results: list[FaceResult] | None = None
        if sha is not None and (n := self.store.get(f"{sha}#frames")) is not None:
            cached = [self.store.get(f"{sha}#frame{i}") for i in range(n.found)]
            if all(r is not None for r in cached):
                results = [r for r in cached if r is not None]
        if results is None:
            try:
                images, _times, _size = video.sample_frames(Path(path), side=VIDEO_FACE_SIDE)
                sha = sha or stream_hash(Path(path))
            except errors.BadImageError:
                images = []
            results = [find_faces(img) for img in images]
            if sha is not None and images:
                for i, r in enumerate(results):
                    self.store.put(f"{sha}#frame{i}", r)
                self.store.put(f"{sha}#frames", FaceResult([], len(results)))
        if frames is not None:
            results = (results + [FaceResult() for _ in range(frames)])[:frames]
        return results


def face_store_for(feature_cache_file: str | Path | None) -> FaceStore:
    """The face store that lives beside the features (same private cache file)."""
    return FaceStore(feature_cache_file)
