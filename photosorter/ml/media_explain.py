"""What the preview pane shows for a video, RAW or PDF: each scored view with its scores and
Grad-CAM maps, and the file's combined decision. Qt-free; the GUI only draws the result."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from .. import errors
from ..media import load_views
from ..media.video import combine, min_frames


@dataclass
class FrameExplanation:
    time: float | None  # seconds into the video; None for a still
    image: Image.Image  # as shown (preview size)
    scores: dict[str, float]
    maps: dict[str, np.ndarray] = field(default_factory=dict)
    flagged: set[str] = field(default_factory=set)


def explain_file(path: str, clf, emb, overrides: dict[str, float], preview_side: int = 720,
                 scorer=None, model=None) -> tuple:
    """The preview job's result tuple: (path, shown, scores, thresholds, maps, message, flagged, frames).

    ``clf``/``emb`` None: no model yet, the views are shown without scores. For a video, the
    scores are the combined ones (media.video.combine) and ``frames`` holds every sampled frame.
    """
    try:
        views = load_views(path, min_side=preview_side)
    except errors.PhotosorterError as exc:
        return path, None, {}, {}, {}, f"Cannot show this file: {exc}", set(), []
    shown = []
    for f in views.frames:
        f = f.copy()
        f.thumbnail((preview_side, preview_side))
        shown.append(f)
    note = f"{views.source}, decoded in {views.seconds:.2f} s"
    if clf is None:
        untimed: list[float | None] = list(views.times) if views.times else [None]  # a still: its one view
        frames = [FrameExplanation(t, im, {}) for t, im in zip(untimed, shown)]
        return path, shown[0], {}, {}, {}, f"Train a model to see scores and explanations. ({note})", set(), frames
    from .gradcam import explain
    from .scoring import Scorer

    scorer = scorer if scorer is not None else Scorer(clf, emb)  # the app passes its Scorer (stored background)
    model = model if model is not None else emb.model  # the app passes a private copy for explanations
    names = clf.categories
    th = dict(zip(names, map(float, clf.thresholds)))
    th.update({k: v for k, v in overrides.items() if k in th})
    frames = []
    times: list[float | None] = list(views.times) if views.times else [None] * len(shown)
    # a model about people: each frame's faces are the ones sorting uses (same keyframes, cached)
    frame_faces = (scorer.video_faces_of(path, views.sha256, len(views.frames)) if views.kind == "videos" else None) \
        or [None] * len(views.frames)
    for t, full, im, faces in zip(times, views.frames, shown, frame_faces):
        s = scorer.image_scores(full, faces=faces)
        chosen = [c for c, n in enumerate(names) if s[c] >= th[n]]
        ex = explain(model, clf.head, emb.spec, im, verify=chosen, bf16=emb.bf16_active)
        frames.append(FrameExplanation(t, im, dict(zip(names, map(float, s))), dict(zip(names, ex.maps)),
                                       {n for n, bad in zip(names, ex.flagged) if bad}))
    rows = np.array([[f.scores[n] for n in names] for f in frames])
    total = combine(rows) if views.kind == "videos" else rows[0]
    # the decision shown is the one `sort` makes: the file's own cached features at the
    # network's size (the frames above are decoded larger for display)
    with contextlib.suppress(errors.PhotosorterError):
        total = scorer.scores_of(path)
    scores = dict(zip(names, map(float, total)))
    if views.kind == "videos":
        note = f"a video belongs where {min_frames(len(frames))} of its {len(frames)} sampled frames do; {note}"
    first = frames[0]
    return path, first.image, scores, th, first.maps, note, first.flagged, frames


def explain_to_files(path, scorer, out, *, category: str | None = None, side: int = 720, opacity: float = 0.5,
                     background: str = "auto") -> dict:
    """`photosorter explain` of a video, RAW or PDF: the file's decision (as `sort` makes it) and,
    for each scored view (a video's keyframes), its scores and one overlay per category written to
    ``out``. Raises BadImageError with the reason when the file cannot be read."""
    from pathlib import Path

    from .gradcam import render
    from .scoring import PhotoFailure

    clf, emb = scorer.classifier, scorer.embedder
    decided = scorer.score_photo(path, background=background)
    if isinstance(decided, PhotoFailure):
        raise errors.BadImageError(decided.message)  # the message already names the file
    _p, _shown, _scores, th, _maps, note, _flagged, frames = explain_file(str(path), clf, emb, {}, side, scorer=scorer)
    if not frames:
        raise errors.BadImageError(note, path=path)
    wanted = [category] if category else list(clf.categories)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stem = Path(path).stem
    views = []
    for i, f in enumerate(frames):
        tag = f"{stem}_frame{i + 1}" if len(frames) > 1 else stem
        f.image.save(out / f"{tag}_original.jpg", quality=92)
        files = {}
        for name in wanted:
            safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
            target = out / f"{tag}_{safe}_overlay.jpg"
            render(f.image, f.maps[name], opacity).overlay.save(target, quality=92)
            files[name] = str(target)
        views.append({"time": f.time, "scores": f.scores, "flagged": sorted(f.flagged), "original": str(out / f"{tag}_original.jpg"),
                      "overlays": files})
    return {"photo": str(path), "scores": decided.scores, "thresholds": th, "categories": decided.categories,
            "note": note, "frames": views}
