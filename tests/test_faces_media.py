"""Faces in videos, RAW photos and PDFs (issues 17 + 18: "detect faces in every scored photo").

Regression: a model with a person category scored every video with *no* faces (each frame gated
to 0 for the person) and looked for a RAW's or PDF's faces through the stills decoder, which
refuses them — so a video or a standalone RAW of "Me" could never go to "Me", while the preview
pane's frame scores (faces found in each frame) said it did. Faces are now read from the very
keyframes a video is scored by, and from a RAW's/PDF's scored view; all cached by content.
Generated media, stubbed detector (real faces: test_faces.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from media_helpers import make_clip, make_dng
from PIL import Image
from test_faces import _photo

from photosorter.ml import faces as faces_mod
from photosorter.ml import person
from photosorter.ml.faces import FaceAnalyzer, FaceResult, FaceStore
from photosorter.ml.scoring import Scorer
from photosorter.samples import make_photo


def _pic(tmp: Path, objs: tuple[str, ...], seed: int) -> Image.Image:
    p = tmp / f"frame{seed}.jpg"
    make_photo(p, objs, seed, size=(320, 240), rel_size=0.6)
    return Image.open(p).convert("RGB")


@pytest.fixture
def detector(monkeypatch):
    """find_faces stubbed: every image shows person 1 (seen sizes recorded)."""
    seen: list[tuple[int, int]] = []
    monkeypatch.setattr(faces_mod, "find_faces", lambda img: seen.append(img.size) or _photo(1, noise_seed=len(seen)))
    return seen


def test_video_raw_and_pdf_faces_come_from_what_is_scored_and_are_cached(tmp_path, detector):
    clip = make_clip(tmp_path / "a.mp4", [_pic(tmp_path, ("red_disc",), s) for s in range(5)], seconds_each=0.5)
    dng = make_dng(tmp_path / "r.dng", size=(640, 480), preview=(640, 480))
    Image.new("RGB", (1240, 1754), (200, 200, 200)).save(tmp_path / "scan.pdf", resolution=150)
    store = FaceStore(tmp_path / "cache.sqlite3")
    fa = FaceAnalyzer(store)

    frames = fa.for_video(clip, "v" * 64)
    assert len(frames) == 5 and all(r.found == 1 for r in frames) and len(detector) == 5
    assert len(fa.for_video(clip, "v" * 64, frames=7)) == 7 and len(detector) == 5  # cached; padded to the scored count
    again = fa.for_video(clip, "v" * 64, frames=3)
    np.testing.assert_allclose([r.faces[0].embedding for r in again], [r.faces[0].embedding for r in frames[:3]])
    assert fa.for_path(dng).found == 1 and fa.for_path(tmp_path / "scan.pdf").found == 1
    assert len(detector) == 7  # the RAW's and the PDF's scored view were searched
    assert store.count() == 3  # one video, one RAW, one PDF (a video's frames are one entry to the user)
    assert store.clear() == 3 and store.count() == 0
    (tmp_path / "cut.mp4").write_bytes(clip.read_bytes()[:2000])
    assert fa.for_video(tmp_path / "cut.mp4", "c" * 64, frames=5) == [FaceResult()] * 5  # unreadable: no faces


def test_a_video_and_a_raw_of_the_person_go_to_their_category(tmp_path, scorer, detector):
    """The scorer's tiny model (red_disc, blue_square) with red_disc made a person category
    (its examples all show person 1). A clip and a RAW of red discs now pass it; before, the clip
    was gated to 0 (no faces read from video frames) and the RAW too (its faces were never found)."""
    clf = scorer.classifier
    me = list(clf.categories).index("red_disc")
    labels = np.zeros((20, 2))
    labels[:10, me], labels[10:, 1 - me] = 1.0, 1.0
    examples = [_photo(1, noise_seed=i) for i in range(10)] + [FaceResult() for _ in range(10)]
    ev = person.examine(lambda i: examples[i], labels, list(clf.categories))
    assert ev is not None and ev.kinds[me] == "person" and ev.kinds[1 - me] is None
    about_me = Scorer(dataclasses.replace(clf, people=ev.fit(np.ones(20, bool), labels)), scorer.embedder)

    clip = make_clip(tmp_path / "me.mp4", [_pic(tmp_path, ("red_disc",), s) for s in range(5)], seconds_each=0.5)
    dng = make_dng(tmp_path / "me.dng", size=(320, 240), rgb=(220, 30, 30))
    plain = {r.path.name: r for r in scorer.score_paths([clip, dng], background="off")}
    assert plain["me.mp4"].categories == ["red_disc"] and plain["me.dng"].categories == ["red_disc"]

    got = {r.path.name: r for r in about_me.score_paths([clip, dng], background="off")}
    assert got["me.mp4"].categories == ["red_disc"] and got["me.dng"].categories == ["red_disc"]
    assert got["me.mp4"].scores["red_disc"] == pytest.approx(plain["me.mp4"].scores["red_disc"])

    # someone else in every frame: kept out of the person's category, by the faces
    detector_calls = len(detector)
    faces_mod.find_faces = lambda img: _photo(2, noise_seed=0)  # monkeypatch restores it
    other = make_clip(tmp_path / "other.mp4", [_pic(tmp_path, ("red_disc",), s) for s in range(20, 25)], seconds_each=0.5)
    r = next(about_me.score_paths([other], background="off"))
    assert r.scores["red_disc"] < 0.05 and r.categories == []
    assert len(detector) == detector_calls


def test_a_very_tall_screenshot_is_searched_for_faces_in_its_scored_window(tmp_path, detector):
    """A 1:10 scrolling screenshot is scored through its top 3:1 window; its faces were searched
    in the whole image squeezed to 1024 px tall, where a face is too small to find (seen on a real
    photo: the person's face at the top of a 1170x12000 PNG was not found, so "Me" missed it).
    The box comes back as a fraction of the whole image."""
    Image.new("RGB", (1170, 12000), (240, 240, 240)).save(tmp_path / "tall.png")
    r = FaceAnalyzer().for_path(tmp_path / "tall.png")
    w, h = detector[-1]
    assert h <= 3 * w + 1  # the detector saw the window, not a 1:10 strip
    assert r.found == 1
    left, top, right, bottom = r.faces[0].box  # _photo's box (0.1, 0.1, 0.5, 0.5) of the window
    assert (left, right) == pytest.approx((0.1, 0.5)) and (top, bottom) == pytest.approx((0.1 * 0.2925, 0.5 * 0.2925), rel=0.01)
    Image.new("RGB", (640, 480)).save(tmp_path / "plain.png")
    assert FaceAnalyzer().for_path(tmp_path / "plain.png").faces[0].box == pytest.approx((0.1, 0.1, 0.5, 0.5))
