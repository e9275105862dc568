"""Categories about people: "Me" (one person's face) and "Group photos" / "Portraits" (how many faces, how large).

No new concept for the user: a category is still a folder of examples. Training looks at the
faces in the examples (``faces.py``) and decides, per category:

* **person** — one identity is what its examples are about: some face, together with the faces
  within dlib's documented same-person distance (0.6) of it, appears in more than half of the
  category's examples (``MAJORITY``), makes up at least MIN_PURITY of the faces in them (a
  crowd in which I often stand is not "about me"), and no other category is more about that
  person (so "Group photos" that mostly show me stay a face-count category when "Me" exists,
  and a person dominating two categories belongs to the purer one). The matching faces, one per example, are
  the category's identity exemplars. For such a category the question "does this photo look
  like the examples more than photos in general?" is answered by identity instead of by the
  ImageNet concept profile (which describes "a person", not *who*): the familiarity gate of the
  category becomes 1 when some face in the photo is within 0.6 of an exemplar, decaying within
  ID_MARGIN beyond it. The head's probability still multiplies it, so "Me" + "City" + "Group
  photos" remain independent, multi-label decisions.
* **faces** — most examples show faces but no specific person (group photos, portraits):
  the category additionally learns from face statistics (how many faces; how large the largest
  one is), with a familiarity gate of the same kind as ``openset.NeighbourGate`` (distance to
  the nearest examples, calibrated leave-one-out at the strictness quantile) that multiplies the
  category's usual score.
* anything else — unchanged. When no category is about people the classifier carries no face
  data and scores exactly as before; scoring never runs the face detector.

Deciding costs little when no category is about people: at most FACE_SAMPLE examples per
category are looked at (fewer once half of them show no face). Only when some category is
about people are all examples' faces looked at (once; cached).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from .. import errors
from ..jobs import CancelToken
from .faces import FACE_MODEL_ID, SAME_PERSON_DISTANCE, FaceAnalyzer, FaceResult, FaceStore
from .openset import DECAY, DEFAULT_QUANTILE, Gate

#: Examples looked at per category before deciding whether it can be about people at all.
FACE_SAMPLE = 8
#: A person category's identity must be in more than this share of its examples.
MAJORITY = 0.5
#: ... and be at least this share of all faces described in them (a crowd is not about one person).
MIN_PURITY = 0.3
#: Identity gate decays from 1 at 0.6 to below the lowest threshold at 0.6 + ID_MARGIN.
ID_MARGIN = 0.05
#: Units of the face statistics: log(1 + faces) and the largest face's share of photo height.
STAT_UNITS = np.array([0.35, 0.10])
KINDS = ("person", "faces")
LOO_AT_MOST = 60
SEED_FROM = 300  # examples whose faces may seed the identity cluster
DESCRIPTOR = "dlib_face_recognition_resnet_model_v1"


# --------------------------------------------------------------------------- per-photo numbers


def face_stats(result: FaceResult) -> np.ndarray:
    """(2,) how many faces (log1p) and how large the largest is, in STAT_UNITS."""
    largest = max((f.size for f in result.faces), default=0.0)
    return np.array([np.log1p(result.found), largest]) / STAT_UNITS


def nearest_distance(result: FaceResult, exemplars: np.ndarray, impostors: np.ndarray | None = None) -> tuple[float, int]:
    """Smallest distance from any described face of the photo to any exemplar, and which face.

    ``impostors``: faces the user said are *not* this person ("Not Me" corrections, i.e. faces in
    "none of these" examples close to the identity). A face nearer to an impostor than to every
    exemplar does not count (nearest-neighbour rule over both)."""
    emb = result.embeddings()
    if not len(emb) or not len(exemplars):
        return float("inf"), -1
    d = np.linalg.norm(emb[:, None, :] - exemplars[None, :, :], axis=2).min(axis=1)
    if impostors is not None and len(impostors):
        d_imp = np.linalg.norm(emb[:, None, :] - impostors[None, :, :], axis=2).min(axis=1)
        d = np.where(d_imp < d, np.inf, d)
        if not np.isfinite(d).any():
            return float("inf"), -1
    described = [i for i, f in enumerate(result.faces) if f.embedding is not None]
    return float(d.min()), described[int(d.argmin())]


def identity_gate(distance: float) -> float:
    """1 within dlib's same-person distance, then a steep decay (see module doc)."""
    excess = max(0.0, distance - SAME_PERSON_DISTANCE)
    return float(np.exp(-DECAY * excess / ID_MARGIN)) if np.isfinite(excess) else 0.0


class FaceStatsGate(Gate):
    """Familiarity = minus the mean distance to the k nearest examples in face-statistics space."""

    kind = "face-stats"
    neighbours = 5

    def __init__(self, n_categories: int, quantile: float = DEFAULT_QUANTILE) -> None:
        super().__init__(n_categories, quantile)
        self.examples: list[np.ndarray] = [np.zeros((0, 2))] * n_categories

    def _store(self, c: int, rep: np.ndarray) -> None:
        self.examples[c] = np.asarray(rep, dtype=np.float64).reshape(-1, 2)

    def _held_out(self, c: int) -> np.ndarray:
        ex = self.examples[c]
        if len(ex) < 3:
            return np.zeros(0)
        d = np.linalg.norm(ex[:, None] - ex[None], axis=2)
        np.fill_diagonal(d, np.inf)
        k = min(self.neighbours, len(ex) - 1)
        return -np.sort(d, axis=1)[:, :k].mean(axis=1)

    def familiarity(self, rep: np.ndarray) -> np.ndarray:
        out = np.full((len(rep), self.n_categories), np.inf)
        for c, ex in enumerate(self.examples):
            if len(ex):
                k = min(self.neighbours, len(ex))
                out[:, c] = -np.sort(np.linalg.norm(rep[:, None] - ex[None], axis=2), axis=1)[:, :k].mean(axis=1)
        return out


# --------------------------------------------------------------------------- the stored model


@dataclass
class People:
    """What a trained model knows about its person / face-count categories (stored in the model file)."""

    categories: list[str]
    kinds: list[str | None]  # per category: "person", "faces" or None
    identity: list[np.ndarray]  # per category: (k, 128) exemplars (empty unless "person")
    stats: FaceStatsGate
    about: dict[str, dict] = field(default_factory=dict)  # per category: shares, counts (for the UI)
    impostors: list[np.ndarray] = field(default_factory=list)  # per category: (k, 128) "not this person" faces

    def _impostors(self, c: int) -> np.ndarray | None:
        return self.impostors[c] if c < len(self.impostors) else None

    @property
    def active(self) -> bool:
        return any(k is not None for k in self.kinds)

    def adjust_gate(self, gate: np.ndarray, faces: list[FaceResult] | None) -> np.ndarray:
        """The familiarity gate (n, C) with face evidence applied to the categories about people."""
        if faces is None or len(faces) != len(gate):
            raise ValueError("this model uses faces: pass one FaceResult per photo")
        gate = np.array(gate, dtype=np.float64, copy=True)
        stats_idx = [c for c, k in enumerate(self.kinds) if k == "faces"]
        if stats_idx:
            g = self.stats.gate_represented(np.stack([face_stats(r) for r in faces]))
            gate[:, stats_idx] *= g[:, stats_idx]
        for c, kind in enumerate(self.kinds):
            if kind == "person":
                gate[:, c] = [identity_gate(nearest_distance(r, self.identity[c], self._impostors(c))[0]) for r in faces]
        return gate

    def matched_faces(self, result: FaceResult) -> dict[str, tuple[float, float, float, float]]:
        """Per person category: the box of the face its decision rests on (if within the margin)."""
        out = {}
        for c, kind in enumerate(self.kinds):
            if kind == "person":
                d, i = nearest_distance(result, self.identity[c], self._impostors(c))
                if i >= 0 and identity_gate(d) > 0.0 and d <= SAME_PERSON_DISTANCE + ID_MARGIN:
                    out[self.categories[c]] = result.faces[i].box
        return out

    def describe(self) -> dict[str, str]:
        """Plain words per category about people, for the Train tab."""
        out = {}
        for c, kind in enumerate(self.kinds):
            a = self.about.get(self.categories[c], {})
            if kind == "person":
                out[self.categories[c]] = (
                    f"person category: one person's face is in {a.get('with_person', '?')} of {a.get('examples', '?')} "
                    f"examples ({100 * a.get('share', 0):.0f}%); recognised in {100 * a.get('identity_recall', 0):.0f}% "
                    "of them by a model that never saw that photo")
            elif kind == "faces":
                out[self.categories[c]] = (
                    f"about people: faces in {100 * a.get('share', 0):.0f}% of examples; learns from how many faces "
                    "and how large")
        return out

    # -- model file ---------------------------------------------------------------
    def tensors(self) -> dict[str, torch.Tensor]:
        t = {}
        for c, kind in enumerate(self.kinds):
            if kind == "person":
                t[f"people.identity.{c}"] = torch.as_tensor(self.identity[c], dtype=torch.float32).contiguous()
                imp = self._impostors(c)
                if imp is not None and len(imp):
                    t[f"people.impostors.{c}"] = torch.as_tensor(imp, dtype=torch.float32).contiguous()
            elif kind == "faces":
                t[f"people.stats.{c}"] = torch.as_tensor(self.stats.examples[c], dtype=torch.float32).contiguous()
        return t

    def document(self) -> dict:
        return {"version": 1, "descriptor": DESCRIPTOR, "face_model": FACE_MODEL_ID, "kinds": list(self.kinds),
                "quantile": self.stats.quantile, "about": self.about}

    @classmethod
    def from_contents(cls, tensors: dict[str, torch.Tensor], doc: dict | None, categories: list[str]) -> People | None:
        """Validate and rebuild; None when the model has no categories about people."""
        if doc is None:
            return None
        if doc.get("version") != 1 or doc.get("descriptor") != DESCRIPTOR:
            raise errors.ModelFileError("This model's face data comes from another face model. Retrain the model.")
        kinds = list(doc.get("kinds", []))
        if len(kinds) != len(categories) or any(k not in (None, *KINDS) for k in kinds):
            raise errors.ModelFileError("The model's face data does not match its categories. Retrain the model.")
        stats = FaceStatsGate(len(categories), float(doc.get("quantile", DEFAULT_QUANTILE)))
        identity = [np.zeros((0, 128), np.float32)] * len(categories)
        impostors = [np.zeros((0, 128), np.float32)] * len(categories)
        for c, kind in enumerate(kinds):
            key = f"people.identity.{c}" if kind == "person" else f"people.stats.{c}" if kind == "faces" else None
            if key is None:
                continue
            arr = tensors.get(key)
            want = 128 if kind == "person" else 2
            if arr is None or arr.ndim != 2 or arr.shape[1] != want or len(arr) == 0 or not torch.isfinite(arr).all():
                raise errors.ModelFileError(f"The model's face data for '{categories[c]}' is damaged. Retrain the model.")
            if kind == "person":
                identity[c] = arr.float().numpy().copy()
                imp = tensors.get(f"people.impostors.{c}")
                if imp is not None:
                    if imp.ndim != 2 or imp.shape[1] != 128 or not torch.isfinite(imp).all():
                        raise errors.ModelFileError(f"The model's face data for '{categories[c]}' is damaged. Retrain the model.")
                    impostors[c] = imp.float().numpy().copy()
            else:
                stats.examples[c] = arr.double().numpy().copy()
        stats.calibrate()
        about: dict[str, dict] = doc["about"] if isinstance(doc.get("about"), dict) else {}
        return cls(list(categories), kinds, identity, stats, about, impostors)


# --------------------------------------------------------------------------- training


@dataclass
class FaceEvidence:
    """The examples' faces and each category's kind, decided once per training; fits per fold."""

    categories: list[str]
    kinds: list[str | None]
    faces: list[FaceResult | None]  # per example (all looked at once some category is about people)
    about: dict[str, dict]
    quantile: float = DEFAULT_QUANTILE

    def fit(self, idx: np.ndarray, labels: np.ndarray) -> People:
        """The face part of a model learned from examples ``idx`` (a fold's training part, or all)."""
        n_cat = len(self.categories)
        identity = [np.zeros((0, 128), np.float32)] * n_cat
        impostors = [np.zeros((0, 128), np.float32)] * n_cat
        stats = FaceStatsGate(n_cat, self.quantile)
        known = {i: f for i in np.flatnonzero(idx) if (f := self.faces[i]) is not None}  # photos whose faces were read
        nones = [f for i, f in known.items() if labels[i].sum() == 0]
        for c, kind in enumerate(self.kinds):
            members = [known[i] for i in known if labels[i, c] > 0.5]
            if kind == "person":
                identity[c] = identity_exemplars(members)
                impostors[c] = _close_faces(nones, identity[c])
            elif kind == "faces":
                stats._store(c, np.stack([face_stats(f) for f in members]) if members else np.zeros((0, 2)))
        stats.calibrate()
        return People(list(self.categories), list(self.kinds), identity, stats, self.about, impostors)

    def fold_gate(self, gate: np.ndarray, tr: np.ndarray, va: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Out-of-fold gate values of the held-out examples ``va`` from a face model fit on ``tr``."""
        people = self.fit(tr, labels)
        held = [self.faces[i] or FaceResult() for i in np.flatnonzero(va)]
        return people.adjust_gate(gate, held)


def identity_exemplars(results: list[FaceResult]) -> np.ndarray:
    """One face per example: the face of the identity that most examples share.

    The seed is the face with the most examples holding a face within 0.6 of it; each example
    then contributes its face nearest the seed, if within 0.6."""
    embs = [r.embeddings() for r in results]
    owner = np.concatenate([np.full(len(e), i) for i, e in enumerate(embs)]) if embs else np.zeros(0, int)
    if not len(owner):
        return np.zeros((0, 128), np.float32)
    allf = np.concatenate(embs).astype(np.float64)
    cand = allf[owner < SEED_FROM] if (owner < SEED_FROM).any() else allf  # bounded cost for huge categories
    sq = (cand**2).sum(1)[:, None] + (allf**2).sum(1)[None, :] - 2 * cand @ allf.T
    close = np.sqrt(np.maximum(sq, 0)) <= SAME_PERSON_DISTANCE  # (candidates, F)
    support = sum(close[:, owner == i].any(1).astype(int) for i in range(len(embs)))
    seed = cand[int(np.argmax(support))]
    out = []
    for e in embs:
        if len(e):
            d = np.linalg.norm(e - seed, axis=1)
            if d.min() <= SAME_PERSON_DISTANCE:
                out.append(e[int(d.argmin())])
    return np.stack(out).astype(np.float32)


def _close_faces(results: list[FaceResult], exemplars: np.ndarray) -> np.ndarray:
    """Faces in ``results`` within the same-person distance of the identity: "not this person" faces
    when they come from "none of these" examples."""
    out = [f for r in results for f in r.embeddings()
           if len(exemplars) and float(np.linalg.norm(exemplars - f, axis=1).min()) <= SAME_PERSON_DISTANCE]
    return np.stack(out).astype(np.float32) if out else np.zeros((0, 128), np.float32)


def _share_with(results: list[FaceResult], exemplars: np.ndarray) -> float:
    if not results:
        return 0.0
    return float(np.mean([nearest_distance(r, exemplars)[0] <= SAME_PERSON_DISTANCE for r in results]))


def examine(
    faces_of: Callable[[int], FaceResult],
    labels: np.ndarray,
    categories: list[str],
    quantile: float = DEFAULT_QUANTILE,
    cancel: CancelToken | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> FaceEvidence | None:
    """Decide which categories are about people. ``faces_of(i)`` gives example i's faces (cached).

    Returns None when no category is: the caller then trains exactly as without faces."""
    n, n_cat = labels.shape
    faces: list[FaceResult | None] = [None] * n

    def look(i: int) -> FaceResult:
        if cancel is not None:
            cancel.raise_if_cancelled()
        result = faces[i]
        if result is None:
            result = faces[i] = faces_of(i)
        return result

    candidates = []
    for c in range(n_cat):
        members = np.flatnonzero(labels[:, c] > 0.5)
        progress(f"looking for faces in {categories[c]}")
        sample, misses = members[:FACE_SAMPLE], 0
        for i in sample:  # stop as soon as half the sample shows no face: not about people
            misses += look(int(i)).found == 0
            if misses * 2 >= len(sample):
                break
        if misses * 2 >= len(sample):
            continue
        with_face = [look(int(i)).found > 0 for i in members]
        if sum(with_face) > MAJORITY * len(members) and sum(with_face) >= 3:
            candidates.append(c)
    if not candidates:
        return None
    # Some category is about people: every example's faces count now — as "not them" faces
    # ("Not Me" corrections) and for honest held-out scores of the other examples.
    progress("looking for faces in all examples")
    seen = [look(i) for i in range(n)]
    kinds: list[str | None] = [None] * n_cat
    about: dict[str, dict] = {}
    found: dict[int, tuple[np.ndarray, float, float]] = {}  # candidate → (exemplars, share, purity)
    for c in candidates:
        mine = [seen[i] for i in np.flatnonzero(labels[:, c] > 0.5)]
        ex = identity_exemplars(mine)
        described = sum(len(r.embeddings()) for r in mine)
        found[c] = (ex, len(ex) / len(mine), len(ex) / max(1, described))
    for c in candidates:
        members = np.flatnonzero(labels[:, c] > 0.5)
        mine = [seen[i] for i in members]
        ex, share, purity = found[c]
        outside = [seen[i] for i in range(n) if labels[i, c] <= 0.5]
        # the same person dominating another category more (e.g. "Me" next to "Group photos" with me)
        rival = any(found[o][1] > MAJORITY and found[o][2] > purity and len(found[o][0])
                    and float(np.linalg.norm(found[o][0].mean(0) - ex.mean(0))) <= SAME_PERSON_DISTANCE
                    for o in candidates if o != c)
        info = {"examples": len(members), "with_face": int(sum(r.found > 0 for r in mine)),
                "with_person": len(ex), "purity": round(purity, 3),
                "share_outside": round(_share_with(outside, ex), 3)}
        if share > MAJORITY and purity >= MIN_PURITY and not rival:
            kinds[c] = "person"
            info["share"] = round(share, 3)
            info["identity_recall"] = round(_leave_one_out_recall(mine), 3)
        else:
            kinds[c] = "faces"
            info["share"] = round(info["with_face"] / len(members), 3)
        about[categories[c]] = info
    return FaceEvidence(list(categories), kinds, faces, about, quantile)


def _leave_one_out_recall(results: list[FaceResult]) -> float:
    """Share of the examples whose person is recognised by exemplars from the *other* examples."""
    results = results[:LOO_AT_MOST]  # bounded cost; the share is an estimate anyway
    hits = 0
    for i, r in enumerate(results):
        ex = identity_exemplars(results[:i] + results[i + 1:])
        hits += nearest_distance(r, ex)[0] <= SAME_PERSON_DISTANCE
    return hits / max(1, len(results))


def examine_faces(embedder, results: list, shas: list[str], labels: np.ndarray, categories: list[str],
                  quantile: float = DEFAULT_QUANTILE, cancel: CancelToken | None = None,
                  progress: Callable[[str], None] = lambda _m: None) -> FaceEvidence | None:
    """``examine`` for training: example i is the photo with content hash ``shas[i]`` among ``results``."""
    path_of = {r.sha256: r.path for r in results if hasattr(r, "sha256")}
    analyzer = analyzer_for(embedder)
    return examine(lambda i: analyzer.for_path(path_of[shas[i]], shas[i]), labels, categories, quantile, cancel, progress)


# --------------------------------------------------------------------------- one analyzer per cache

_analyzers: weakref.WeakKeyDictionary[object, FaceAnalyzer] = weakref.WeakKeyDictionary()


def analyzer_for(embedder) -> FaceAnalyzer:
    """The face analyzer whose store lives in the embedder's feature cache file (memory if none)."""
    cache = embedder.cache
    if cache not in _analyzers:
        _analyzers[cache] = FaceAnalyzer(FaceStore(getattr(cache, "path", None)))
    return _analyzers[cache]
