"""The sorting engine: plan, copy, collisions, companions, undo, safety."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from media_helpers import make_clip, make_dng
from PIL import Image
from sorting_helpers import contents, snapshot

from photosorter import errors
from photosorter.samples import make_photo
from photosorter.sorting.paths import category_folder, validate_category_name
from photosorter.sorting.sorter import apply_plan, plan_sort, recover, undo_run


def moved_to_trash(trash_dir: Path):
    def fn(p: Path) -> None:
        trash_dir.mkdir(exist_ok=True)
        os.rename(p, trash_dir / f"{len(list(trash_dir.iterdir()))}-{p.name}")
    return fn


def test_sort_copies_into_categories_and_never_touches_originals(env, scorer):
    roll, dest, ledger, dests = env
    before = snapshot(roll)
    plan = plan_sort([roll], scorer, ledger, dests, background="off")
    assert not dest.exists(), "planning must not write"
    s = apply_plan(plan, ledger)
    to_copy = [d for d in plan.decisions if d.outcome == "copy"]
    assert len(to_copy) >= 7, "the tiny model should recognise most planted objects"
    assert s.copied_photos == len(to_copy) and s.no_category == 11 - len(to_copy) and not s.failed
    expected = {c: sorted(d.sha256 for d in to_copy if c in d.categories) for c in ("red_disc", "blue_square")}
    assert contents(dest) == {c: v for c, v in expected.items() if v}
    assert snapshot(roll) == before
    # A second run, and a renamed copy of a sorted photo, copy nothing.
    shutil.copy(to_copy[0].path, roll / "renamed.jpg")
    s2 = apply_plan(plan_sort([roll], scorer, ledger, dests, background="off"), ledger)
    assert s2.copies_made == 0 and s2.already_sorted == len(to_copy) + 1
    assert ledger.integrity_ok()


def test_name_clash_gets_new_name_and_identical_content_is_not_copied_twice(env, scorer):
    roll, _dest, ledger, dests = env
    red = dests["red_disc"]
    red.mkdir(parents=True)
    # Different content under the same name (different case too: case-insensitive destinations).
    (red / "RED_DISC_000.JPG").write_bytes(b"someone else's file")
    # Identical content already there under the same name.
    shutil.copy(roll / "red_disc" / "red_disc_001.jpg", red / "red_disc_001.jpg")
    plan = plan_sort([roll / "red_disc"], scorer, ledger, dests, background="off")
    for d in plan.decisions:  # this test is about naming, not classification: pin the decisions
        d.outcome, d.categories = "copy", ["red_disc"]
    summary = apply_plan(plan, ledger)
    names = sorted(os.listdir(red))
    # the summary counts the copies this run made, not the one that was already there
    assert summary.per_category["red_disc"] == summary.copies_made == len(plan.decisions) - 1
    assert "red_disc_000 (1).jpg" in names and "RED_DISC_000.JPG" in names
    assert (red / "RED_DISC_000.JPG").read_bytes() == b"someone else's file"
    assert names.count("red_disc_001.jpg") == 1 and not any(n.startswith("red_disc_001 (") for n in names)
    assert len(names) == 5


def test_companions_travel_with_their_photo(env, scorer):
    roll, _dest, ledger, dests = env
    photo = roll / "red_disc" / "red_disc_002.jpg"
    (roll / "red_disc" / "red_disc_002.MOV").write_bytes(b"live photo movie")
    (roll / "red_disc" / "red_disc_002.xmp").write_bytes(b"<xmp/>")
    (roll / "red_disc" / "red_disc_002.jpg.aae").write_bytes(b"<aae/>")
    apply_plan(plan_sort([photo], scorer, ledger, dests, background="off"), ledger)
    names = sorted(os.listdir(dests["red_disc"]))
    assert names == ["red_disc_002.MOV", "red_disc_002.jpg", "red_disc_002.jpg.aae", "red_disc_002.xmp"]


def test_two_photos_with_identical_sidecars_each_get_their_own(env, scorer):
    """Attack: two photos whose sidecars hold the same bytes (the same edit saved for both) — the
    second sidecar was never copied: "present" meant those bytes anywhere in the folder. A
    companion now counts as there only beside its own photo's copy; a second run copies nothing."""
    roll, _dest, ledger, dests = env
    photos = [roll / "red_disc" / "red_disc_002.jpg", roll / "red_disc" / "red_disc_003.jpg"]
    for p in photos:
        p.with_suffix(".xmp").write_bytes(b"<xmp>same edit</xmp>")
    plan = plan_sort(photos, scorer, ledger, dests, background="off")
    for d in plan.decisions:  # about companions, not classification: pin the decisions
        d.outcome, d.categories = "copy", ["red_disc"]
    apply_plan(plan, ledger)
    names = sorted(os.listdir(dests["red_disc"]))
    assert names == ["red_disc_002.jpg", "red_disc_002.xmp", "red_disc_003.jpg", "red_disc_003.xmp"]
    again = plan_sort(photos, scorer, ledger, dests, background="off")
    assert all("red_disc" in d.done_before for d in again.decisions if d.outcome != "no_category")
    (dests["red_disc"] / "red_disc_003.xmp").unlink()  # the person deletes one sidecar copy
    third = plan_sort(photos, scorer, ledger, dests, background="off")
    d3 = next(d for d in third.decisions if d.path == photos[1])
    d3.outcome, d3.categories = "copy", ["red_disc"]
    for d in third.decisions:
        if d.path != photos[1]:
            d.outcome, d.categories = "already_sorted", []
    apply_plan(third, ledger)
    assert sorted(os.listdir(dests["red_disc"])) == names  # put back beside its photo, nothing doubled


def test_undo_restores_destination_and_keeps_modified_copies(env, scorer, tmp_path):
    roll, dest, ledger, dests = env
    dests["red_disc"].mkdir(parents=True)
    (dests["red_disc"] / "mine.txt").write_text("the user's own file")
    before_dest, before_roll = snapshot(dest), snapshot(roll)
    s = apply_plan(plan_sort([roll], scorer, ledger, dests, background="off"), ledger)
    edited = dests["blue_square"] / "blue_square_000.jpg"
    edited.write_bytes(edited.read_bytes() + b"edited")
    result = undo_run(ledger, s.run_id, trash_fn=moved_to_trash(tmp_path / "trash"))
    assert result.kept_modified == [str(edited)]
    assert len(result.trashed) == s.copies_made - 1
    after = snapshot(dest)
    assert {k: v for k, v in after.items() if k != os.path.join("blue_square", "blue_square_000.jpg")} == before_dest
    assert snapshot(roll) == before_roll
    # Undone photos can be sorted again.
    s2 = apply_plan(plan_sort([roll], scorer, ledger, dests, background="off"), ledger)
    assert s2.copies_made == s.copies_made - 1


def test_undo_with_real_trash(env, scorer, tmp_path):
    from conftest import trashed_files

    roll, dest, ledger, dests = env
    in_trash_before = len(trashed_files())
    s = apply_plan(plan_sort([roll / "red_disc"], scorer, ledger, dests, background="off"), ledger)
    assert s.copies_made >= 3
    result = undo_run(ledger, s.run_id)
    assert len(result.trashed) == s.copies_made and not result.errors
    assert snapshot(dest) == {}
    assert len(trashed_files()) - in_trash_before == s.copies_made, "copies must be in the trash, not deleted"


def test_trash_failure_never_deletes(env, scorer):
    roll, dest, ledger, dests = env
    s = apply_plan(plan_sort([roll / "red_disc"], scorer, ledger, dests, background="off"), ledger)
    def broken(p):
        raise OSError("no trash on this volume")
    result = undo_run(ledger, s.run_id, trash_fn=broken)
    assert s.copies_made >= 3
    assert len(result.errors) == s.copies_made and len(snapshot(dest)) == s.copies_made


@pytest.mark.parametrize("name", ["../evil", "a/b", "/abs", "..", "a\\b", "con", "LPT1.txt", "bad\x00name", "tab\tname", "", " ", ".hidden", "x" * 200, "dot."])
def test_hostile_category_names_refused(name):
    with pytest.raises(errors.CategoryNameError):
        validate_category_name(name)


def test_unicode_category_names_allowed():
    assert validate_category_name("Café ☕") == "Café ☕"


def test_symlink_swap_writes_nothing_outside(env, scorer, tmp_path):
    roll, dest, ledger, dests = env
    outside = tmp_path / "outside"
    outside.mkdir()
    plan = plan_sort([roll / "red_disc"], scorer, ledger, dests, background="off")
    dest.mkdir(exist_ok=True)
    os.symlink(outside, dests["red_disc"])  # swapped in after planning
    s = apply_plan(plan, ledger)
    assert list(outside.iterdir()) == []
    assert s.copies_made == 0 and {r for _p, r, _m in s.failed} == {"unsafe_destination"}
    with pytest.raises(errors.UsageError):
        category_folder(dest, "red_disc")


def _bad_files(root: Path) -> dict[str, str]:
    """name → expected failure reason (None: a good odd file that must sort fine)."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    (root / "zero.jpg").write_bytes(b"")
    (root / "random.jpg").write_bytes(rng.integers(0, 255, 4000, dtype=np.uint8).tobytes())
    make_photo(root / "full.jpg", ("red_disc",), 1, rel_size=0.6)
    data = (root / "full.jpg").read_bytes()
    (root / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (root / "full.jpg").unlink()
    import struct
    import zlib
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    (root / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)) + chunk(b"IEND", b""))
    from PIL import PngImagePlugin
    info = PngImagePlugin.PngInfo()
    info.add_text("c", "x" * (16 * 1024 * 1024), zip=True)
    Image.new("RGB", (8, 8)).save(root / "textbomb.png", pnginfo=info)
    Image.new("CMYK", (64, 48), (0, 255, 255, 0)).save(root / "cmyk.jpg")
    Image.fromarray((np.arange(64 * 48).reshape(48, 64) * 20).astype(np.uint16)).save(root / "deep16.png")
    frames = [Image.new("RGB", (32, 32), c) for c in [(255, 0, 0), (0, 0, 255)]]
    frames[0].save(root / "anim.gif", save_all=True, append_images=frames[1:])
    for o in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = o
        Image.new("RGB", (60, 40), (200, 30, 30)).save(root / f"exif{o}.jpg", exif=exif.tobytes())
    nfd = "Cafe\u0301 ☀ photo.jpg"
    make_photo(root / nfd, ("red_disc",), 2, rel_size=0.6)
    make_photo(root / ("long_" + "x" * 230 + ".jpg"), ("red_disc",), 3, rel_size=0.6)
    os.mkfifo(root / "pipe.jpg")
    os.symlink(root / "loop_b.jpg", root / "loop_a.jpg")
    os.symlink(root / "loop_a.jpg", root / "loop_b.jpg")
    (root / "folder.jpg").mkdir()
    make_photo(root / "folder.jpg" / "inside.jpg", ("blue_square",), 4, rel_size=0.6)
    # The other kinds (photosorter.media): videos, RAW files, PDFs.
    (root / "zero.mp4").write_bytes(b"")
    (root / "zero.nef").write_bytes(b"")
    (root / "random.dng").write_bytes(rng.integers(0, 255, 4000, dtype=np.uint8).tobytes())
    # Half a clip: with two encoder threads nothing of the video track is left; with one (a one-core
    # run) the track is there without its codec parameters, which crashed the sort (AttributeError).
    for name, threads in (("cut.mov", 2), ("cut_one_thread.mov", 1)):
        make_clip(root / "whole.mov", [Image.new("RGB", (64, 48), (200, 0, 0))] * 2, seconds_each=0.5, threads=threads)
        clip = (root / "whole.mov").read_bytes()
        (root / name).write_bytes(clip[: len(clip) // 2])
    make_dng(root / "whole.dng")
    (root / "cut.dng").write_bytes((root / "whole.dng").read_bytes()[:400])
    Image.new("RGB", (200, 300), (250, 250, 250)).save(root / "scan.pdf")
    (root / "cut.pdf").write_bytes((root / "scan.pdf").read_bytes()[:300])
    os.mkfifo(root / "pipe.mp4")
    return {"zero.jpg": "empty_file", "random.jpg": "not_an_image", "truncated.jpg": "truncated",
            "bomb.png": "too_many_pixels", "textbomb.png": "corrupt", "pipe.jpg": "not_a_regular_file",
            "loop_a.jpg": "symlink", "loop_b.jpg": "symlink",
            "zero.mp4": "empty_file", "zero.nef": "empty_file", "random.dng": "unsupported_format",
            "cut.mov": "truncated", "cut_one_thread.mov": "truncated", "cut.dng": "truncated", "cut.pdf": "corrupt", "pipe.mp4": "not_a_regular_file"}


@pytest.mark.timeout(120)
def test_bad_input_suite_through_sort(env, scorer, tmp_path, monkeypatch):
    _roll, _dest, ledger, dests = env
    src = tmp_path / "bad"
    expected = _bad_files(src)
    unreadable = src / "unreadable.jpg"
    make_photo(unreadable, ("red_disc",), 9, rel_size=0.6)
    real_open = os.open
    def guarded(path, *a, **k):
        if str(path) == str(unreadable):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *a, **k)
    monkeypatch.setattr(os, "open", guarded)
    expected["unreadable.jpg"] = "unreadable"
    before = {k: v for k, v in snapshot(src).items()}
    plan = plan_sort([src], scorer, ledger, dests, background="off")
    s = apply_plan(plan, ledger)
    reasons = {Path(p).name: r for p, r, _m in s.failed}
    for name, reason in expected.items():
        assert reasons.get(name) == reason, (name, reasons.get(name))
    assert all(m for _p, _r, m in s.failed), "every failure needs a message"
    ledger_reasons = {Path(p).name: r for p, r, _m in ledger.failures(s.run_id)}
    assert ledger_reasons == reasons
    good = {"whole.mov", "whole.dng", "scan.pdf", "cmyk.jpg", "deep16.png", "anim.gif", "Cafe\u0301 ☀ photo.jpg", "inside.jpg", *(f"exif{o}.jpg" for o in range(1, 9))}
    good.add("long_" + "x" * 230 + ".jpg")
    assert not (good & set(reasons)), "odd but valid files must not fail"
    assert snapshot(src) == before


def test_recover_removes_stale_temp_and_marks_runs(env, scorer):
    roll, _dest, ledger, dests = env
    apply_plan(plan_sort([roll / "red_disc"], scorer, ledger, dests, background="off"), ledger)
    stale = dests["red_disc"] / ".pending-abc123-red_disc_000.jpg"
    stale.write_bytes(b"half")
    ledger.start_run("sort", False, {})
    stats = recover(ledger)
    assert not stale.exists() and stats["temp_removed"] == 1
    assert all(r.state != "running" for r in ledger.runs())


def test_disk_full_and_permission_denied_on_one_category_are_recorded_and_retried(env, scorer, monkeypatch):
    import errno

    from photosorter.sorting import copier

    roll, dest, ledger, dests = env
    plan = plan_sort([roll], scorer, ledger, dests, background="off")
    real_write, real_mkdir = copier.write_temp, Path.mkdir

    def full_disk(folder, *a):
        if folder.path.name == "blue_square":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(folder, *a)

    def no_permission(self, *a, **k):
        if self.name == "red_disc":
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_mkdir(self, *a, **k)

    monkeypatch.setattr(copier, "write_temp", full_disk)
    monkeypatch.setattr(Path, "mkdir", no_permission)
    s = apply_plan(plan, ledger)
    reasons = Counter(r for _p, r, _m in s.failed)
    to_copy = [d for d in plan.decisions if d.outcome == "copy"]
    assert s.copies_made == 0 and sum(reasons.values()) == len(to_copy)
    assert set(reasons) == {"disk_full", "permission_denied"}
    assert all("retried" in m for _p, _r, m in s.failed)
    assert not list(dest.rglob(".pending-*"))
    assert {r for _p, r, _m in ledger.failures(s.run_id)} == {"disk_full", "permission_denied"}
    outcomes = {o for (o,) in ledger.db.execute("SELECT outcome FROM seen WHERE run_id=? AND categories != '[]'", (s.run_id,))}
    assert outcomes == {"failed"}, "a photo that failed must not look sorted to the watcher's rescans"
    monkeypatch.undo()
    s2 = apply_plan(plan_sort([roll], scorer, ledger, dests, background="off"), ledger)  # space freed, rights fixed
    assert s2.copies_made == len(to_copy) and not s2.failed


def test_file_changed_or_vanished_after_planning(env, scorer):
    roll, _dest, ledger, dests = env
    plan = plan_sort([roll], scorer, ledger, dests, background="off")
    to_copy = [d for d in plan.decisions if d.outcome == "copy"]
    to_copy[0].path.write_bytes(to_copy[0].path.read_bytes() + b"appended")
    to_copy[1].path.unlink()
    s = apply_plan(plan, ledger)
    reasons = {Path(p).name: r for p, r, _m in s.failed}
    assert reasons == {to_copy[0].path.name: "changed", to_copy[1].path.name: "unreadable"}
    assert s.copies_made == len(to_copy) - 2


def test_unreadable_subfolder_is_reported_and_the_rest_sorted(env, scorer, monkeypatch):
    roll, _dest, ledger, dests = env
    locked = roll / "locked"
    locked.mkdir()
    make_photo(locked / "hidden_from_us.jpg", ("red_disc",), 5, rel_size=0.6)
    real_scandir = os.scandir

    def guarded(path):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", guarded)
    plan = plan_sort([roll], scorer, ledger, dests, background="off")
    s = apply_plan(plan, ledger)
    failed = {Path(p).name: (r, m) for p, r, m in s.failed}
    assert failed["locked"][0] == "unreadable" and "cannot list this folder" in failed["locked"][1]
    assert s.copied_photos == sum(d.outcome == "copy" for d in plan.decisions) > 0  # the rest was sorted


def test_a_correction_removes_one_photos_copy_with_its_companions_and_nothing_else(env, scorer, tmp_path):
    """Tryout: after Apply, "not red_disc" on a photo taught the model but left its copy in
    red_disc. undo_copies_of trashes exactly that photo's copies (and the Live Photo movie and
    sidecar copied with it) in the named categories; another photo that merely shares the stem
    (a PNG of the same name) and the originals stay."""
    from photosorter.sorting import safefs
    from photosorter.sorting.sorter import copied_categories, undo_copies_of

    roll, _dest, ledger, dests = env
    red = roll / "red_disc"
    photo = red / "red_disc_002.jpg"
    (red / "red_disc_002.MOV").write_bytes(b"live photo movie")
    (red / "red_disc_002.xmp").write_bytes(b"<xmp/>")
    make_photo(red / "red_disc_002.png", ("red_disc",), 4242, rel_size=0.6)  # another photo, same stem
    originals = snapshot(roll)
    s = apply_plan(plan_sort([red], scorer, ledger, dests, background="off"), ledger)
    before = sorted(os.listdir(dests["red_disc"]))
    assert {"red_disc_002.jpg", "red_disc_002.MOV", "red_disc_002.xmp", "red_disc_002.png"} <= set(before)
    sha = safefs.hash_path(photo)[0]
    assert copied_categories(ledger, photo, sha) == ["red_disc"]

    result = undo_copies_of(ledger, photo, sha, ["red_disc"], trash_fn=moved_to_trash(tmp_path / "trash"))

    gone = {"red_disc_002.jpg", "red_disc_002.MOV", "red_disc_002.xmp"}
    assert sorted(os.listdir(dests["red_disc"])) == sorted(set(before) - gone)
    assert sorted(Path(t).name for t in result.trashed) == sorted(gone) and not result.errors
    assert sorted(p.name.split("-", 1)[1] for p in (tmp_path / "trash").iterdir()) == sorted(gone)
    assert snapshot(roll) == originals
    assert copied_categories(ledger, photo, sha) == []
    assert ledger.run(s.run_id).state == "done"  # the run's other copies are still there: undo still takes them
    rest = undo_run(ledger, s.run_id, trash_fn=moved_to_trash(tmp_path / "trash2"))
    assert len(rest.trashed) == len(before) - len(gone) and not os.listdir(dests["red_disc"])


def test_removing_a_corrected_photos_copy_refuses_a_swapped_category_folder(env, scorer, tmp_path):
    from photosorter.sorting import safefs
    from photosorter.sorting.sorter import undo_copies_of

    roll, _dest, ledger, dests = env
    photo = roll / "red_disc" / "red_disc_001.jpg"
    sha = safefs.hash_path(photo)[0]
    apply_plan(plan_sort([photo], scorer, ledger, dests, background="off"), ledger)
    shutil.move(str(dests["red_disc"]), str(tmp_path / "elsewhere"))
    os.symlink(roll / "red_disc", dests["red_disc"])  # the copy's folder now leads to the originals
    originals = snapshot(roll)
    result = undo_copies_of(ledger, photo, sha, ["red_disc"], trash_fn=moved_to_trash(tmp_path / "trash"))
    assert not (tmp_path / "trash").exists() and snapshot(roll) == originals
    assert result.errors and "symbolic link" in result.errors[0][1]


def test_the_trash_can_restore_undone_copies_to_where_they_were(env, scorer):
    """Tryout: every .trashinfo said Path=/proc/self/fd/23/<name> (the descriptor path undo hands
    over so a swapped folder cannot redirect it): a file manager's Restore could not put the copy
    back. The trash now records each copy's real location, and Restore (a rename back) works."""
    from urllib.parse import quote, unquote

    from conftest import TEST_XDG_DATA_HOME

    from photosorter.sorting import safefs
    from photosorter.sorting.sorter import copied_categories, undo_copies_of

    roll, _dest, ledger, dests = env
    s = apply_plan(plan_sort([roll / "red_disc"], scorer, ledger, dests, background="off"), ledger)
    copies = sorted(p for p in dests["red_disc"].iterdir())
    assert copies
    info_dir = Path(TEST_XDG_DATA_HOME) / "Trash" / "info"
    before = set(info_dir.glob("*.trashinfo")) if info_dir.exists() else set()
    one = roll / "red_disc" / copies[0].name
    sha = safefs.hash_path(one)[0]
    assert copied_categories(ledger, one, sha) == ["red_disc"]
    undo_copies_of(ledger, one, sha, ["red_disc"])  # the real trash (the session's private one)
    result = undo_run(ledger, s.run_id)
    assert len(result.trashed) == len(copies) - 1 and not result.errors
    new = sorted(set(info_dir.glob("*.trashinfo")) - before)
    recorded = {}
    for info in new:
        line = next(x for x in info.read_text().splitlines() if x.startswith("Path="))
        recorded[info] = Path(unquote(line[len("Path="):]))
    assert sorted(recorded.values()) == copies, recorded
    assert all("/proc/" not in quote(str(p)) for p in recorded.values())
    # Restore, as a file manager does it: move files/<name> back to Path
    info, where = next(iter(recorded.items()))
    os.rename(info.parent.parent / "files" / info.name[: -len(".trashinfo")], where)
    assert where.exists()
