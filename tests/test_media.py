"""Videos, RAW photos, PDFs and screenshots: decoded deliberately, sorted like photos, bad ones
refused with a clear reason and nothing lost. All inputs are generated here (media_helpers)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from media_helpers import make_clip, make_dng
from PIL import Image
from sorting_helpers import contents, snapshot

from photosorter import errors, media
from photosorter.media import document, pairing, video
from photosorter.samples import make_photo
from photosorter.sorting import copier, safefs
from photosorter.sorting.ledger import Ledger
from photosorter.sorting.paths import category_folder
from photosorter.sorting.sorter import apply_plan, plan_sort, undo_run


def _pic(tmp: Path, objs: tuple[str, ...], seed: int, size=(320, 240)) -> Image.Image:
    p = tmp / f"frame{seed}.jpg"
    make_photo(p, objs, seed, size=size, rel_size=0.6)
    return Image.open(p).convert("RGB")


# --------------------------------------------------------------------------- kinds


def test_kinds_from_names_and_settings():
    assert media.kind_of("a/IMG_1.JPG") == "stills" and media.kind_of("scan.PDF") == "stills"
    assert media.kind_of("clip.MP4") == "videos" and media.kind_of("IMG_1.MOV") == "videos"
    assert {media.kind_of(f"x.{e}") for e in ("dng", "CR2", "cr3", "NEF", "arw", "RAF", "orf", "RW2")} == {"raw"}
    assert media.kind_of("notes.txt") is None and not media.looks_like_media(".hidden.mp4")
    assert media.parse_kinds("stills, video") == {"stills", "videos"} and media.parse_kinds(None) == media.ALL_KINDS
    with pytest.raises(errors.UsageError, match="choose from stills, videos, raw"):
        media.parse_kinds("stills,audio")


# --------------------------------------------------------------------------- video


def test_video_is_sampled_by_spread_keyframes(tmp_path):
    colours = [(220, 30, 30), (30, 200, 60), (30, 60, 220), (240, 240, 40), (200, 40, 200)]
    clip = make_clip(tmp_path / "c.mp4", [Image.new("RGB", (320, 240), c) for c in colours], seconds_each=1.0)
    views = media.load_views(clip, min_side=120)
    assert views.kind == "videos" and views.size == (320, 240) and len(views.frames) == 5
    assert views.times == sorted(views.times) and views.times[-1] >= 3.5
    assert all(min(f.size) == 120 for f in views.frames), "decoded at the network's size, not full size"
    seen = [tuple(np.asarray(f).reshape(-1, 3).mean(0).round()) for f in views.frames]
    for got, want in zip(seen, colours):  # one frame from each fifth of the clip, in order
        assert np.abs(np.array(got) - want).max() < 25, (got, want)
    assert views.sha256 == safefs.hash_path(clip)[0]


def test_rotated_phone_video_is_upright(tmp_path):
    clip = make_clip(tmp_path / "r.mp4", [Image.new("RGB", (320, 240), (0, 0, 0))], seconds_each=1.0)
    import av

    with av.open(str(tmp_path / "rot.mp4"), "w") as out, av.open(str(clip)) as inp:
        s_in = inp.streams.video[0]
        s_out = out.add_stream("mpeg4", rate=8)
        s_out.width, s_out.height, s_out.pix_fmt = 320, 240, "yuv420p"
        s_out.set_display_rotation(90)
        for frame in inp.decode(s_in):
            for pkt in s_out.encode(frame):
                out.mux(pkt)
        for pkt in s_out.encode():
            out.mux(pkt)
    views = media.load_views(tmp_path / "rot.mp4", min_side=120)
    assert views.size == (240, 320) and views.frames[0].size == (120, 160)


def test_frame_scores_combine_two_of_five():
    assert [video.min_frames(n) for n in (1, 2, 3, 4, 5)] == [1, 1, 1, 2, 2]
    frames = np.array([[0.9, 0.1], [0.1, 0.2], [0.2, 0.3], [0.95, 0.1], [0.0, 0.2]])
    np.testing.assert_allclose(video.combine(frames), [0.9, 0.2])  # the 2nd-highest frame score
    # score >= threshold exactly when 2 frames pass: one glimpse is not enough
    assert video.combine(np.array([[0.99], [0.1], [0.1], [0.1], [0.1]]))[0] == pytest.approx(0.1)


@pytest.mark.parametrize("case", ["empty", "half", "garbage", "tail_cut"])
def test_bad_videos_have_a_clear_reason(tmp_path, case):
    good = make_clip(tmp_path / "good.mp4", [Image.new("RGB", (160, 120), (200, 0, 0))] * 3, seconds_each=0.5)
    data = good.read_bytes()
    bad = tmp_path / "bad.mp4"
    bad.write_bytes({"empty": b"", "half": data[: len(data) // 2], "garbage": os.urandom(4000),
                     "tail_cut": data[:200]}[case])
    with pytest.raises(errors.BadImageError) as exc:
        media.load_views(bad)
    assert exc.value.reason in ({"empty_file"} if case == "empty" else {"corrupt", "truncated"})
    assert "truncated" in str(exc.value) or "empty" in str(exc.value) or "damaged" in str(exc.value)


@pytest.mark.parametrize("name, options", [("clip.mkv", None), ("clip.avi", None),
                                           ("clip.mp4", {"movflags": "faststart"})])
def test_a_cut_video_whose_index_survives_is_refused_not_sorted_on_its_first_half(tmp_path, name, options):
    """Attack: a half-copied MKV, AVI or index-first MP4 was read and sorted on its first half (18 of
    19 cut points accepted): a seek past the end lands on the last keyframe there is, which looks like
    a clip with sparse keyframes."""
    whole = make_clip(tmp_path / name, [_pic(tmp_path, ("red_disc",), s) for s in range(6)], seconds_each=0.5,
                      container_options=options)
    assert len(media.load_views(whole).frames) >= 3
    data = whole.read_bytes()
    for share in (0.3, 0.5, 0.7):
        cut = tmp_path / f"cut{share}_{name}"
        cut.write_bytes(data[: int(len(data) * share)])
        with pytest.raises(errors.BadImageError) as exc:
            media.load_views(cut)
        assert exc.value.reason in ("truncated", "corrupt"), (share, exc.value)


def test_a_recording_whose_sound_outlasts_its_picture_is_whole_not_cut(tmp_path):
    """The declared length can be the sound's: counting only video packets called such an MKV cut
    (found while fixing the check above); cut in half, it is still refused."""
    from fractions import Fraction

    import av

    path = tmp_path / "talk.mkv"
    with av.open(str(path), "w") as out:
        v = out.add_stream("mpeg4", rate=8)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = out.add_stream("aac", rate=48000)
        for i in range(16):  # 2 s of picture
            f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 9, np.uint8), format="rgb24")
            f.pts, f.time_base = i, Fraction(1, 8)
            for pk in v.encode(f):
                out.mux(pk)
        for pk in v.encode():
            out.mux(pk)
        for j in range(470):  # 10 s of sound
            af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            af.sample_rate, af.pts, af.time_base = 48000, j * 1024, Fraction(1, 48000)
            for pk in a.encode(af):
                out.mux(pk)
        for pk in a.encode():
            out.mux(pk)
    assert media.load_views(path).frames
    half = tmp_path / "half.mkv"
    half.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(errors.BadImageError) as exc:
        media.load_views(half)
    assert exc.value.reason == "truncated"


def _encode(path: Path, frames: int, fps: int = 25, start: float = 0.0, last_duration: float | None = None,
            gop: int = 25, container=None) -> Path:
    """A small H.264 clip; ``start`` shifts its timestamps, ``last_duration`` holds the last frame."""
    from fractions import Fraction

    import av

    out = av.open(container if container is not None else str(path), "w", format="avi" if container else None)
    stream = out.add_stream("libx264" if container is None else "mpeg4", rate=fps)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    stream.codec_context.gop_size = gop
    packets = []
    for i in range(frames):
        f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), (i * 7) % 255, np.uint8), format="rgb24")
        f.pts, f.time_base = round((start + i / fps) * 90000), Fraction(1, 90000)
        packets += stream.encode(f)
    packets += stream.encode()
    if last_duration is not None:
        last = max(packets, key=lambda p: p.pts)
        last.duration = int(last_duration / last.time_base)
    for pk in packets:
        out.mux(pk)
    out.close()
    return path


def test_complete_videos_with_held_frames_late_starts_or_unfinished_headers_are_not_called_cut(tmp_path):
    """Attack on the first version of the cut-file check, which compared the declared *duration*
    with the data's timestamps: it refused complete videos whose last frame is held (a screen
    recording), that start at 30 s, that an edit list trims (a lossless cut), or whose AVI header
    was never finished (written to a pipe). The check now compares bytes, not time."""
    import io

    held = [_encode(tmp_path / f"held.{ext}", 50, last_duration=30.0) for ext in ("mp4", "mkv")]
    late = _encode(tmp_path / "late.mkv", 75, start=30.0)

    class Pipe(io.RawIOBase):  # a non-seekable output: the AVI header keeps its placeholder sizes
        def __init__(self, f):
            self.f = f

        def writable(self):
            return True

        def write(self, b):
            return self.f.write(b)

    with open(tmp_path / "streamed.avi", "wb") as fh:
        _encode(tmp_path / "streamed.avi", 60, container=Pipe(fh))
    for clip in [*held, late, tmp_path / "streamed.avi"]:
        assert media.load_views(clip).frames, clip.name
    # a lossless cut: packets from the keyframe before 3 s to 7 s, shifted by -3 s, behind an edit list
    import av

    src = _encode(tmp_path / "src.mp4", 250, gop=50)
    with av.open(str(src)) as i, av.open(str(tmp_path / "cut.mp4"), "w") as o:
        v = i.streams.video[0]
        ov = o.add_stream_from_template(v)
        i.seek(int(3 / v.time_base), stream=v, backward=True)
        for pk in i.demux(v):
            if pk.dts is None or float(pk.pts * pk.time_base) >= 7:
                continue
            off = int(3 / pk.time_base)
            pk.pts -= off
            pk.dts -= off
            pk.stream = ov
            o.mux(pk)
    assert media.load_views(tmp_path / "cut.mp4").frames


def test_complete_videos_with_a_trailer_or_a_sloppy_riff_size_are_not_called_cut(tmp_path):
    """Third attack: bytes after the last MP4 box were read as a box size (a newline, an ID3 or APE
    tag, a Samsung-style data block: "the file is 2,480 bytes, its own header says 2,487"), and AVIs
    whose RIFF size is the file's size (not size − 8) were 8 bytes "short". A real cut still is."""
    import struct

    mp4 = _encode(tmp_path / "a.mp4", 50).read_bytes()
    trailers = {"nl": b"\n", "zeros3": b"\0" * 3, "id3": b"TAG" + b"x" * 125, "ape": b"APETAGEX" + b"\0" * 24,
                "slack": b"\xff" * 16, "sef": b"\x00\x00\x01\x0aImage_UTC_Data" + b"\0" * 180 + b"SEFT"}
    for name, tail in trailers.items():
        (tmp_path / f"{name}.mp4").write_bytes(mp4 + tail)
        assert media.load_views(tmp_path / f"{name}.mp4").frames, name
    avi = make_clip(tmp_path / "a.avi", [_pic(tmp_path, (), s) for s in range(3)], seconds_each=0.5).read_bytes()
    (tmp_path / "off8.avi").write_bytes(avi[:4] + struct.pack("<I", len(avi)) + avi[8:])
    assert media.load_views(tmp_path / "off8.avi").frames
    (tmp_path / "cut.avi").write_bytes(avi[: len(avi) * 2 // 3])
    with pytest.raises(errors.TruncatedImageError):
        media.load_views(tmp_path / "cut.avi")


def test_a_fifo_named_like_a_video_is_refused_not_waited_on(tmp_path):
    """Face reading opens videos directly (not through load_views' checks): a FIFO named .mp4 would
    have blocked it for ever."""
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    with pytest.raises(errors.BadImageError) as exc:
        video.sample_frames(fifo)
    assert exc.value.reason == "not_a_regular_file"


def test_a_transport_stream_clip_with_one_keyframe_is_read_from_its_start(tmp_path):
    """Attack: every .mts/.m2ts clip with a single keyframe was refused as damaged: seeking in MPEG-TS
    lands past the only keyframe, and nothing read the clip from its start."""
    clip = make_clip(tmp_path / "short.mts", [_pic(tmp_path, ("red_disc",), 3)], seconds_each=0.5, fps=24,
                     codec="libx264")
    views = media.load_views(clip)
    assert len(views.frames) == 1 and views.frames[0].size[0] > 0


def test_video_frames_over_the_pixel_limit_are_refused_before_they_are_decoded(tmp_path, monkeypatch):
    """Attack: a 2.8 MB file of 14000 x 14000 keyframes took 800 MiB to open, before any check saw it:
    FFmpeg now gets the limit itself (max_pixels) and the header's size is checked."""
    clip = make_clip(tmp_path / "big.mp4", [_pic(tmp_path, (), 4)], seconds_each=0.5, codec="libx264")
    monkeypatch.setattr(video, "MAX_VIDEO_PIXELS", 100 * 100)
    monkeypatch.setattr(video, "_FFMPEG_OPTIONS", {"max_pixels": str(100 * 100)})
    with pytest.raises(errors.ImageTooLargeError):
        media.load_views(clip)


def test_a_video_sorted_while_half_copied_is_refused_then_sorted_whole_under_its_name(tmp_path, scorer):
    """Attack on watch: a copy that paused halfway was sorted as "docs.mkv" (the half) and the whole
    file later as "docs (1).mkv" — a person tidying up would delete the good one as the duplicate."""
    whole = make_clip(tmp_path / "whole.mkv", [_pic(tmp_path, ("red_disc",), s) for s in range(6)], seconds_each=0.5)
    roll = tmp_path / "DCIM"
    roll.mkdir()
    growing = roll / "docs.mkv"
    growing.write_bytes(whole.read_bytes()[: len(whole.read_bytes()) // 2])
    dest = tmp_path / "Sorted"
    dests = {c: category_folder(dest, c) for c in scorer.classifier.categories}
    ledger = Ledger(tmp_path / "l.sqlite3")
    first = apply_plan(plan_sort([roll], scorer, ledger, dests, background="off"), ledger)
    assert first.copies_made == 0 and [r for _p, r, _m in first.failed] == ["truncated"]
    growing.write_bytes(whole.read_bytes())  # the copy finishes
    second = apply_plan(plan_sort([roll], scorer, ledger, dests, background="off"), ledger)
    assert second.copies_made == 1
    assert {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()} == {"red_disc/docs.mkv"}
    assert (dest / "red_disc/docs.mkv").read_bytes() == whole.read_bytes()


def test_a_cut_track_without_codec_parameters_is_named_damaged_by_the_opener(tmp_path):
    """One encoder thread (a one-core run) leaves half a clip whose track lost its codec parameters:
    opening it crashed the sort (AttributeError). The byte check now catches such a file first;
    the opener still names it, for containers that carry no sizes."""
    make_clip(tmp_path / "whole.mov", [Image.new("RGB", (64, 48), (200, 0, 0))] * 2, seconds_each=0.5, threads=1)
    data = (tmp_path / "whole.mov").read_bytes()
    (tmp_path / "cut.mov").write_bytes(data[: len(data) // 2])
    with pytest.raises(errors.BadImageError) as exc:
        video._open(tmp_path / "cut.mov")
    assert exc.value.reason == "corrupt" and "damaged" in str(exc.value)


def test_poster_frame_thumbnail(tmp_path):
    clip = make_clip(tmp_path / "c.mp4", [Image.new("RGB", (320, 240), c) for c in ((0, 0, 0), (230, 20, 20), (0, 0, 0))])
    thumb = media.thumbnail(clip, size=64)
    assert max(thumb.size) == 64
    assert np.asarray(thumb)[..., 0].mean() > 180, "the middle of the clip, not its (often black) first frame"


# --------------------------------------------------------------------------- RAW


def test_raw_embedded_preview_is_used_and_oriented(tmp_path):
    dng = make_dng(tmp_path / "p.dng", preview=(320, 240), orientation=6, rgb=(220, 30, 30))
    views = media.load_views(dng, min_side=224)
    img = views.frames[0]
    assert views.kind == "raw" and views.source == "embedded preview"
    assert views.size == (192, 256) and img.size == (240, 320)  # portrait: rotated 90° clockwise
    arr = np.asarray(img).astype(int)
    assert arr[:100, :, 0].mean() > 180 and arr[-100:, :, 0].mean() < 160  # the red left half is now on top


def test_raw_without_preview_is_demosaiced_at_half_size(tmp_path):
    dng = make_dng(tmp_path / "n.dng", size=(256, 192), rgb=(220, 30, 30))
    views = media.load_views(dng, min_side=224)
    img = np.asarray(views.frames[0]).astype(int)
    assert views.source == "half-size demosaic" and views.frames[0].size == (128, 96)
    assert img[:, :50, 0].mean() > img[:, :50, 2].mean() + 40  # red where the scene is red
    assert views.sha256 == safefs.hash_path(dng)[0]


@pytest.mark.parametrize("case", ["empty", "truncated", "text"])
def test_bad_raw_files_have_a_clear_reason(tmp_path, case):
    data = make_dng(tmp_path / "g.dng").read_bytes()
    bad = tmp_path / "bad.nef"
    bad.write_bytes({"empty": b"", "truncated": data[:300], "text": b"not a raw file at all" * 50}[case])
    with pytest.raises(errors.BadImageError) as exc:
        media.load_views(bad)
    assert exc.value.reason in ({"empty_file"} if case == "empty" else {"truncated", "corrupt", "unsupported_format"})


def test_raw_twin_needs_same_stem_and_capture_time(tmp_path):
    jpg = tmp_path / "DSC_0042.JPG"
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2026:06:01 12:00:01"
    Image.new("RGB", (64, 48)).save(jpg, exif=exif)
    twin = make_dng(tmp_path / "DSC_0042.NEF", when="2026:06:01 12:00:00")
    assert pairing.raw_twins(jpg) == [twin]
    assert pairing.travels_with_a_still(twin, media.ALL_KINDS)
    assert not pairing.travels_with_a_still(twin, {"raw"}), "with stills off the RAW is the shot"
    make_dng(twin, when="2025:01:01 09:00:00")  # last year's card, same number
    assert pairing.raw_twins(jpg) == [] and not pairing.travels_with_a_still(twin, media.ALL_KINDS)


# --------------------------------------------------------------------------- screenshots, PDFs


def test_tall_and_wide_images_get_a_deliberate_window():
    tall = Image.new("RGB", (100, 1000))
    assert document.scoring_view(tall).size == (100, 300)
    wide = Image.new("RGB", (1000, 100))
    wide.paste((255, 0, 0), (350, 0, 650, 100))
    w = document.scoring_view(wide)
    assert w.size == (300, 100) and np.asarray(w)[..., 0].min() == 255  # the centre
    phone = Image.new("RGB", (1170, 2532))
    assert document.scoring_view(phone) is phone  # an ordinary screenshot is scored whole


def test_transparent_screenshot_is_composited_on_white(tmp_path):
    img = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    img.paste((10, 200, 10, 255), (0, 0, 100, 100))
    img.save(tmp_path / "s.png")
    frame = np.asarray(media.load_views(tmp_path / "s.png").frames[0])
    assert tuple(frame[50, 150]) == (255, 255, 255) and tuple(frame[50, 50]) == (10, 200, 10)


def test_pdf_first_page_rendered_bounded_and_bad_pdfs_refused(tmp_path):
    pages = [Image.new("RGB", (2480, 3508), c) for c in ((230, 20, 20), (20, 20, 230))]
    pages[0].save(tmp_path / "scan.pdf", save_all=True, append_images=pages[1:], resolution=300)
    views = media.load_views(tmp_path / "scan.pdf")
    img = views.frames[0]
    assert views.source == "pdf page 1" and max(img.size) <= 1024
    assert np.asarray(img)[..., 0].mean() > 180, "the first page, not the second"
    (tmp_path / "cut.pdf").write_bytes((tmp_path / "scan.pdf").read_bytes()[:400])
    with pytest.raises(errors.BadImageError) as exc:
        media.load_views(tmp_path / "cut.pdf")
    assert exc.value.reason == "corrupt"


# --------------------------------------------------------------------------- sorting


def test_camera_roll_with_videos_raw_twins_and_live_photos(tmp_path, scorer):
    roll = tmp_path / "DCIM"
    roll.mkdir()
    make_clip(roll / "dog.mp4", [_pic(tmp_path, ("red_disc",), s) for s in range(5)], seconds_each=0.5)
    make_clip(roll / "glimpse.mp4", [_pic(tmp_path, ("red_disc",), 10)] + [_pic(tmp_path, (), s) for s in range(11, 15)],
              seconds_each=0.5)
    make_photo(roll / "IMG_1.jpg", ("blue_square",), 99, rel_size=0.6)
    make_dng(roll / "IMG_1.dng", preview=(320, 240))  # its RAW twin (no EXIF in the JPEG: mtimes agree)
    make_dng(roll / "solo.dng", size=(320, 240), rgb=(220, 30, 30))
    make_photo(roll / "IMG_2.jpg", ("red_disc",), 98, rel_size=0.6)
    make_clip(roll / "IMG_2.MOV", [_pic(tmp_path, (), 50)], seconds_each=0.5)  # Live Photo movie of a boring scene
    (roll / "empty.mp4").write_bytes(b"")
    (roll / "cut.mp4").write_bytes((roll / "dog.mp4").read_bytes()[:3000])
    before = snapshot(roll)
    dest = tmp_path / "Sorted"
    dests = {c: category_folder(dest, c) for c in scorer.classifier.categories}
    ledger = Ledger(tmp_path / "l.sqlite3")

    only_stills = plan_sort([roll], scorer, ledger, dests, background="off", kinds={"stills"})
    assert sorted(d.path.name for d in only_stills.decisions) == ["IMG_1.jpg", "IMG_2.jpg"]
    assert {c.name for d in only_stills.decisions for c in d.companions} <= {"IMG_2.MOV"}, "RAW off: no twin carried"

    plan = plan_sort([roll], scorer, ledger, dests, background="off")
    by = {d.path.name: d for d in plan.decisions}
    assert set(by) == {"dog.mp4", "glimpse.mp4", "IMG_1.jpg", "solo.dng", "IMG_2.jpg", "empty.mp4", "cut.mp4"}
    assert by["dog.mp4"].categories == ["red_disc"] and by["glimpse.mp4"].outcome == "no_category"
    assert by["solo.dng"].categories == ["red_disc"]
    assert by["IMG_1.jpg"].categories == ["blue_square"] and [c.name for c in by["IMG_1.jpg"].companions] == ["IMG_1.dng"]
    assert [c.name for c in by["IMG_2.jpg"].companions] == ["IMG_2.MOV"]
    assert by["empty.mp4"].reason == "empty_file" and by["cut.mp4"].reason in ("corrupt", "truncated")

    summary = apply_plan(plan, ledger)
    assert summary.copied_photos == 4 and summary.copies_made == 6 and len(summary.failed) == 2
    files = {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()}
    assert files == {"red_disc/dog.mp4", "red_disc/solo.dng", "red_disc/IMG_2.jpg", "red_disc/IMG_2.MOV",
                     "blue_square/IMG_1.jpg", "blue_square/IMG_1.dng"}
    assert (dest / "red_disc/dog.mp4").read_bytes() == (roll / "dog.mp4").read_bytes()
    assert snapshot(roll) == before and ledger.integrity_ok()

    again = apply_plan(plan_sort([roll], scorer, ledger, dests, background="off"), ledger)
    assert again.copies_made == 0 and again.already_sorted == 4
    undone = undo_run(ledger, summary.run_id, trash_fn=lambda p: p.unlink())
    assert len(undone.trashed) == 6 and contents(dest) == {} and snapshot(roll) == before


def test_video_features_are_cached_by_content(tmp_path, scorer, monkeypatch):
    clip = make_clip(tmp_path / "a.mp4", [_pic(tmp_path, ("red_disc",), s) for s in range(3)], seconds_each=0.5)
    first = next(scorer.score_paths([clip], background="off"))
    (tmp_path / "b.mp4").write_bytes(clip.read_bytes())  # the same clip copied under another name
    monkeypatch.setattr(video, "sample_frames", lambda *a, **k: pytest.fail("decoded again"))
    again = list(scorer.score_paths([clip, tmp_path / "b.mp4"], background="off"))
    assert [r.scores for r in again] == [first.scores] * 2 and again[1].sha256 == first.sha256


def test_streamed_copy_refuses_a_source_that_changed(tmp_path):
    src = tmp_path / "v.mp4"
    src.write_bytes(os.urandom(3 * safefs.CHUNK + 17))
    sha = safefs.hash_path(src)[0]
    folder = copier.DestFolder(tmp_path / "dest")
    fd = safefs.open_file(src)
    try:
        got, _st = copier.write_temp(folder, fd, ".pending-x.mp4", sha)
        assert got == sha and (tmp_path / "dest" / ".pending-x.mp4").read_bytes() == src.read_bytes()
        with pytest.raises(copier.SourceChangedError):
            copier.write_temp(folder, fd, ".pending-y.mp4", "0" * 64)
    finally:
        os.close(fd)
        folder.close()


def test_preview_explains_each_frame_and_combines(tmp_path, scorer):
    from photosorter.ml.media_explain import explain_file

    clip = make_clip(tmp_path / "c.mp4", [_pic(tmp_path, ("red_disc",), 1), _pic(tmp_path, (), 2), _pic(tmp_path, ("red_disc",), 3)],
                     seconds_each=0.5)
    _path, _shown, scores, th, _maps, note, _flagged, frames = explain_file(str(clip), scorer.classifier, scorer.embedder, {}, 160)
    assert len(frames) == 3 and [f.time for f in frames] == sorted(f.time for f in frames)
    assert all(set(f.maps) == set(scorer.classifier.categories) for f in frames)
    rows = np.array([[f.scores[c] for c in scorer.classifier.categories] for f in frames])
    # the decision shown is the one `sort` makes (the file's own features at the network's size);
    # the frames are decoded larger for display, so their combination agrees only closely
    assert list(scores.values()) == pytest.approx(list(scorer.scores_of(clip)))
    assert list(scores.values()) == pytest.approx(list(video.combine(rows)), abs=0.01)
    assert scores["red_disc"] >= th["red_disc"] and "1 of its 3 sampled frames" in note
