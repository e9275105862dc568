"""The preview pane shows a video's sampled frames, and a click shows one frame's scores and map."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtWidgets import QToolButton

from photosorter.ml.media_explain import FrameExplanation


class _Window:
    def colours(self):
        return {"pets": "#a8c686", "food": "#29335c"}

    def explain_job(self, path, callback):
        pass


def test_preview_shows_video_frames_and_switches_between_them(qtbot):
    from photosorter.gui.preview import PreviewPane

    pane = PreviewPane(_Window())
    qtbot.addWidget(pane)
    frames = [FrameExplanation(t, Image.new("RGB", (160, 120), c), {"pets": p, "food": 1 - p},
                               {"pets": np.full((7, 7), p), "food": np.full((7, 7), 1 - p)})
              for t, c, p in [(0.0, (200, 0, 0), 0.9), (2.0, (0, 200, 0), 0.2), (4.0, (0, 0, 200), 0.8)]]
    pane.show_photo("clip.mp4")
    pane._loaded(("clip.mp4", frames[0].image, {"pets": 0.8, "food": 0.2}, {"pets": 0.5, "food": 0.5},
                  frames[0].maps, "a video belongs where 1 of its 3 sampled frames do", set(), frames))
    buttons = [pane.frame_strip.itemAt(i).widget() for i in range(pane.frame_strip.count())]
    buttons = [b for b in buttons if isinstance(b, QToolButton)]
    assert [b.text() for b in buttons] == ["0:00.0\npets 0.90", "0:02.0\nfood 0.80", "0:04.0\npets 0.80"]
    assert "goes to pets" in pane.caption.text()
    buttons[1].click()
    assert pane.photo is frames[1].image and pane.maps is frames[1].maps
    assert [b.isChecked() for b in buttons] == [False, True, False]
    assert "frame at 0:02.0" in pane.caption.text()
    pane.show_photo("still.jpg")  # another file clears the strip
    assert pane.frames == []


def test_review_grid_tiles_show_a_videos_poster_frame_and_a_raws_preview(qtbot, tmp_path):
    """Issue 18: the review grid's thumbnail of a video is its middle keyframe (not the black
    first frame); a RAW's is its preview; a damaged video gives an empty tile, not a crash."""
    from media_helpers import make_clip, make_dng

    from photosorter.gui.review import _decode_thumbnail

    clip = make_clip(tmp_path / "c.mp4", [Image.new("RGB", (320, 240), c) for c in ((0, 0, 0), (230, 20, 20), (0, 0, 0))])
    q = _decode_thumbnail(str(clip), 64)
    assert not q.isNull() and max(q.width(), q.height()) == 64
    assert q.pixelColor(q.width() // 2, q.height() // 2).red() > 180
    q = _decode_thumbnail(str(make_dng(tmp_path / "r.dng", size=(320, 240), preview=(320, 240))), 64)
    assert not q.isNull() and q.pixelColor(q.width() // 4, q.height() // 2).red() > 150  # the preview's red half
    (tmp_path / "cut.mp4").write_bytes(clip.read_bytes()[:1000])
    assert _decode_thumbnail(str(tmp_path / "cut.mp4"), 64).isNull()
