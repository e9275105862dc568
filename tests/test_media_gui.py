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


class _Sorting:
    """The open preview as the pane asks it: a photo only the familiarity check keeps out of pets."""

    def decision_of(self, path):
        return {"pets": 0.5, "food": 0.5}, None

    def unlike_of(self, path):
        return ["pets"]

    def near_of(self, path):
        return None

    def past_run_of(self, path):
        return None

    def applied_run_of(self, path):
        return None

    def outcome_words_of(self, path):
        return None

    def duplicate_of(self, path):
        return "identical to IMG_0001.jpg" if path == "IMG_0001 (copy).jpg" else None

    def tile_scores_of(self, path):
        return {"pets": 0.28, "food": 0.1}


def _loaded_pane(qtbot, sorting, path: str, scores: dict, thresholds: dict, head: dict | None = None):
    """A preview pane beside a stub of the Sort tab (``sorting``), showing ``path`` as explained."""
    from photosorter.gui.preview import PreviewPane

    window = _Window()
    window.sorting = sorting
    pane = PreviewPane(window)
    qtbot.addWidget(pane)
    pane.show_photo(path)
    pane._loaded((path, Image.new("RGB", (160, 120)), scores, thresholds, {}, "", set(), [], {}, head or dict(scores)))
    return pane


def test_the_pane_says_which_category_a_check_first_photo_stays_out_of_and_what_the_keys_do(qtbot):
    """Tryout: a barn going to nature read "Check: the category model alone says people … so it stays
    out", beside a "Not nature" button: out of which category, and what does N mean here?"""
    pane = _loaded_pane(qtbot, _Sorting(), "barn.jpg", {"pets": 0.0, "food": 0.7}, {"pets": 0.5, "food": 0.5},
                        {"pets": 0.98, "food": 0.7})
    text = pane.caption.text()
    assert "goes to food" in text
    assert "unlike your pets examples, so it stays out of pets." in text
    assert "1–9: that category, N: none of these" in text
    assert pane.cam_category.currentText() == "pets"  # the heatmap of what the "Check:" line is about
    pane = _loaded_pane(qtbot, _Sorting(), "dress.jpg", {"pets": 0.0, "food": 0.1}, {"pets": 0.5, "food": 0.5},
                        {"pets": 0.98, "food": 0.1})
    assert "goes to no category" in pane.caption.text()
    assert pane.cam_category.currentText() == "pets"  # going nowhere: the same


def test_the_pane_says_a_duplicate_is_sorted_once(qtbot):
    """Tryout: "Already sorted — 2" on a first sort held two photos identical to others in the folder,
    and the pane said "goes to pets" about them."""
    pane = _loaded_pane(qtbot, _Sorting(), "IMG_0001 (copy).jpg", {"pets": 0.9, "food": 0.1}, {"pets": 0.5, "food": 0.5})
    text = pane.caption.text()
    assert "identical to IMG_0001.jpg, which is sorted: this one is not copied again" in text
    assert "goes to pets" not in text


class _PastRun(_Sorting):
    def decision_of(self, path):
        return None  # a past run: shown as it happened

    def past_run_of(self, path):
        return 3


def test_the_pane_says_when_the_tile_shows_a_runs_scores_and_the_bars_todays(qtbot):
    """Tryout: after a correction following Apply, the tile said "pets 0.28" and the pane 0.26."""
    pane = _loaded_pane(qtbot, _PastRun(), "wolf.jpg", {"pets": 0.26, "food": 0.1}, {"pets": 0.19, "food": 0.5})
    assert "The tile shows the scores run 3 decided with; the bars are the current model's" in pane.caption.text()
    pane = _loaded_pane(qtbot, _PastRun(), "same.jpg", {"pets": 0.28, "food": 0.1}, {"pets": 0.19, "food": 0.5})
    assert "The tile shows" not in pane.caption.text()  # the same scores: nothing to explain


def test_a_long_file_name_keeps_its_end_in_the_caption(qtbot):
    """Tryout: "_none__clothing_hat_7b5181d5-253f-4936-9207-60e3368" — a name with no spaces was cut
    at the pane's edge, without "…" and without its extension."""
    from photosorter.gui.preview import PreviewPane

    pane = PreviewPane(_Window())
    qtbot.addWidget(pane)
    name = "_none__clothing_hat_7b5181d5-253f-4936-9207-60e3368a1b2c.jpg"
    pane.show_photo(f"/roll/{name}")
    pane._loaded((f"/roll/{name}", Image.new("RGB", (160, 120)), {"pets": 0.1}, {"pets": 0.5}, {}, "", set(), []))
    text = pane.caption.text()
    assert "…" in text and "a1b2c.jpg</b>" in text and name not in text
    assert pane.caption.toolTip() == f"/roll/{name}"


class _Corrected(_Sorting):
    def decision_of(self, path):
        return {"pets": 0.5, "food": 0.05}, ()  # the person said: none of these

    def unlike_of(self, path):
        return []


def test_after_a_correction_the_bars_follow_the_persons_word(qtbot):
    """Tryout: "goes to no category (your correction)" beside a bold "nature 0.06 ✓": the bar
    still followed the score. A bar the correction overrules is marked ✎ and not bold."""
    pane = _loaded_pane(qtbot, _Corrected(), "bear.jpg", {"pets": 0.1, "food": 0.06}, {"pets": 0.5, "food": 0.05})
    assert "goes to no category (your correction)" in pane.caption.text()
    assert pane.bars.number_texts() == ["0.10", "0.06 ✎"]
    assert pane.bars.overruled == {"food"}
