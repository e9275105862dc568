"""Removing one photo's copy after a correction ("not red_disc" after Apply): exactly that photo's
copy and the companions recorded as travelling with it — never another photo's file, never a file
photosorter did not create. Each test is an attack that took too much in the first version."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from sorting_helpers import snapshot

from photosorter.samples import make_photo
from photosorter.sorting import safefs
from photosorter.sorting.planner import present_in, real_folder
from photosorter.sorting.sorter import apply_plan, copied_categories, plan_sort, undo_copies_of


@pytest.fixture
def src(tmp_path) -> Path:
    """The folder the tests' photos are sorted from (a card, a camera roll)."""
    folder = tmp_path / "src"
    folder.mkdir()
    return folder


def moved_to_trash(trash_dir: Path):
    def fn(p: Path) -> None:
        trash_dir.mkdir(parents=True, exist_ok=True)
        os.rename(p, trash_dir / f"{len(list(trash_dir.iterdir()))}-{p.name}")
    return fn


def trash_names(trash_dir: Path) -> list[str]:
    return sorted(p.name.split("-", 1)[1] for p in trash_dir.iterdir()) if trash_dir.exists() else []


def photo(p: Path, seed: int) -> Path:
    make_photo(p, ("red_disc",), seed, rel_size=0.6)
    return p


def sort_into_red(sources, scorer, ledger, dests):
    """Tests about files, not classification: every readable photo goes to red_disc."""
    plan = plan_sort(sources, scorer, ledger, dests, background="off")
    folder = real_folder(dests["red_disc"])
    for d in plan.decisions:
        if d.outcome == "failed" or d.sha256 is None:
            continue
        at = present_in(ledger, d.sha256, folder)
        d.categories, d.done_before, d.done_at = ["red_disc"], [], {}
        if at is not None:
            d.done_at["red_disc"] = at
        d.outcome = "copy"
    return apply_plan(plan, ledger)


def remove(ledger, path: Path, trash: Path):
    return undo_copies_of(ledger, path, safefs.hash_path(path)[0], ["red_disc"], trash_fn=moved_to_trash(trash))


def test_another_photo_of_the_same_stem_keeps_its_live_photo_movie_and_sidecar(env, scorer, tmp_path, src):
    _roll, _dest, ledger, dests = env
    photo(src / "IMG_1.jpg", 1)
    photo(src / "IMG_1.png", 2)  # another photo, same stem: the movie and sidecar went with the JPG
    (src / "IMG_1.MOV").write_bytes(b"live movie of the jpg")
    (src / "IMG_1.xmp").write_bytes(b"<xmp/>")
    originals = snapshot(src)
    sort_into_red([src], scorer, ledger, dests)
    red = dests["red_disc"]
    before = sorted(os.listdir(red))
    assert {"IMG_1.jpg", "IMG_1.png", "IMG_1.MOV", "IMG_1.xmp"} <= set(before)
    remove(ledger, src / "IMG_1.png", tmp_path / "trash")
    assert sorted(os.listdir(red)) == sorted(set(before) - {"IMG_1.png"})
    assert trash_names(tmp_path / "trash") == ["IMG_1.png"] and snapshot(src) == originals
    remove(ledger, src / "IMG_1.jpg", tmp_path / "trash")  # the JPG takes its own companions
    assert trash_names(tmp_path / "trash") == sorted(["IMG_1.png", "IMG_1.jpg", "IMG_1.MOV", "IMG_1.xmp"])


def test_a_raw_of_the_same_stem_that_is_not_the_same_shot_is_another_photo(env, scorer, tmp_path, src):
    from media_helpers import make_dng

    _roll, _dest, ledger, dests = env
    photo(src / "DSC_1.jpg", 1)
    make_dng(src / "DSC_1.dng", when="2020:01:01 00:00:00")
    old = time.time() - 400 * 86400
    os.utime(src / "DSC_1.dng", (old, old))  # last year's shot: a photo of its own, not a twin
    sort_into_red([src], scorer, ledger, dests)
    red = dests["red_disc"]
    before = sorted(os.listdir(red))
    assert {"DSC_1.jpg", "DSC_1.dng"} <= set(before)
    remove(ledger, src / "DSC_1.jpg", tmp_path / "trash")
    assert sorted(os.listdir(red)) == sorted(set(before) - {"DSC_1.jpg"})


def test_an_earlier_photo_that_had_the_same_path_keeps_its_copy(env, scorer, tmp_path, src):
    """A card used again: IMG_1.jpg is a new shot; the copy of the old one is another photo's."""
    _roll, _dest, ledger, dests = env
    photo(src / "IMG_1.jpg", 1)
    first = sort_into_red([src], scorer, ledger, dests)
    photo(src / "IMG_1.jpg", 99)
    second = sort_into_red([src], scorer, ledger, dests)
    red = dests["red_disc"]
    assert sorted(os.listdir(red)) == ["IMG_1 (1).jpg", "IMG_1.jpg"]
    sha = safefs.hash_path(src / "IMG_1.jpg")[0]
    assert copied_categories(ledger, src / "IMG_1.jpg", sha) == ["red_disc"]
    remove(ledger, src / "IMG_1.jpg", tmp_path / "trash")
    assert sorted(os.listdir(red)) == ["IMG_1.jpg"]
    assert (ledger.run(first.run_id).state, ledger.run(second.run_id).state) == ("done", "undone")


def test_a_sidecar_a_later_run_copied_with_the_photo_goes_with_it(env, scorer, tmp_path, src):
    _roll, _dest, ledger, dests = env
    photo(src / "IMG_1.jpg", 1)
    sort_into_red([src], scorer, ledger, dests)
    (src / "IMG_1.xmp").write_bytes(b"edited in a raw developer later")
    sort_into_red([src], scorer, ledger, dests)
    red = dests["red_disc"]
    assert sorted(os.listdir(red)) == ["IMG_1.jpg", "IMG_1.xmp"]
    remove(ledger, src / "IMG_1.jpg", tmp_path / "trash")
    assert os.listdir(red) == []


def test_an_edited_photo_copy_stays_and_so_do_its_companions(env, scorer, tmp_path, src):
    _roll, _dest, ledger, dests = env
    photo(src / "IMG_1.jpg", 1)
    (src / "IMG_1.xmp").write_bytes(b"<xmp/>")
    sort_into_red([src], scorer, ledger, dests)
    red = dests["red_disc"]
    (red / "IMG_1.jpg").write_bytes((red / "IMG_1.jpg").read_bytes() + b"edited")
    result = remove(ledger, src / "IMG_1.jpg", tmp_path / "trash")
    assert result.kept_modified == [str(red / "IMG_1.jpg")]
    assert sorted(os.listdir(red)) == ["IMG_1.jpg", "IMG_1.xmp"] and not (tmp_path / "trash").exists()


def test_a_correction_marks_only_a_finished_run_undone(env, scorer, tmp_path, src):
    _roll, _dest, ledger, dests = env
    photo(src / "IMG_1.jpg", 1)
    s = sort_into_red([src], scorer, ledger, dests)
    ledger.set_run_state(s.run_id, "running")  # a sort whose process is gone (a live one is not ours either)
    remove(ledger, src / "IMG_1.jpg", tmp_path / "trash")
    assert ledger.run(s.run_id).state == "interrupted"  # what recovery says of it; never "undone" from here
    ledger.set_run_state(s.run_id, "done")
    photo(src / "IMG_2.jpg", 2)
    s2 = sort_into_red([src / "IMG_2.jpg"], scorer, ledger, dests)
    remove(ledger, src / "IMG_2.jpg", tmp_path / "trash")
    assert ledger.run(s2.run_id).state == "undone"


def test_the_history_says_how_many_of_a_runs_copies_went_to_the_trash_since(env, scorer, tmp_path, capsys,
                                                                             monkeypatch, src):
    """Tryout: after N on one photo moved its copy to the trash, "Done (run 2)" and the history row
    still said "copied 19" as if every copy were there."""
    from photosorter import cli

    _roll, _dest, ledger, dests = env
    for i in range(3):
        photo(src / f"IMG_{i}.jpg", 10 + i)
    (src / "IMG_0.xmp").write_bytes(b"<xmp/>")  # a companion goes too, but is not a photo
    summary = sort_into_red([src], scorer, ledger, dests)
    assert summary.copied_photos == 3 and ledger.run(summary.run_id).trashed == 0
    remove(ledger, src / "IMG_0.jpg", tmp_path / "trash")
    assert trash_names(tmp_path / "trash") == ["IMG_0.jpg", "IMG_0.xmp"]
    run = ledger.run(summary.run_id)
    assert run.state == "done" and run.trashed == 1  # photos, not the sidecar
    monkeypatch.setattr(cli, "_ledger", lambda: ledger)
    cli.main(["runs"])
    assert "(1 photo copy since removed)" in capsys.readouterr().out
    cli.main(["runs", "--json"])
    assert '"trashed_since": 1' in capsys.readouterr().out


def test_a_photo_copied_again_after_its_copy_was_deleted_takes_its_kept_companions_along(env, scorer, tmp_path, src):
    """Attack: the person deleted a photo's copy by hand (its Live Photo movie and sidecar stayed);
    the next sort copied the photo there again and kept those companions. "Not red_disc" then took
    the new photo copy but left the movie and sidecar, and listed the photo's own trashed copy
    among the errors ("not the copy photosorter made") — the older row for the same place."""
    _roll, _dest, ledger, dests = env
    photo(src / "IMG_1.jpg", 1)
    (src / "IMG_1.MOV").write_bytes(b"live photo movie")
    (src / "IMG_1.xmp").write_bytes(b"<xmp/>")
    before = snapshot(src)
    sort_into_red([src], scorer, ledger, dests)
    red = dests["red_disc"]
    assert sorted(os.listdir(red)) == ["IMG_1.MOV", "IMG_1.jpg", "IMG_1.xmp"]
    (red / "IMG_1.jpg").unlink()  # by hand; the movie and sidecar stay
    (red / "IMG_1.MOV").unlink()  # and the movie too, which the next sort copies again
    sort_into_red([src], scorer, ledger, dests)
    assert sorted(os.listdir(red)) == ["IMG_1.MOV", "IMG_1.jpg", "IMG_1.xmp"]  # nothing doubled
    result = remove(ledger, src / "IMG_1.jpg", tmp_path / "trash")
    assert os.listdir(red) == [] and not result.errors, result.errors
    assert trash_names(tmp_path / "trash") == ["IMG_1.MOV", "IMG_1.jpg", "IMG_1.xmp"]
    assert snapshot(src) == before


def test_companions_follow_their_photo_copy_through_a_rename(env, scorer, tmp_path, src):
    """Attack: a photo's copy deleted by hand, its category renamed, the photo copied there again
    (its movie, kept, recorded under the old name): companions were matched by category name,
    so a correction took the new photo copy and left the movie."""
    _roll, _dest, ledger, dests = env
    photo(src / "IMG_1.jpg", 1)
    (src / "IMG_1.MOV").write_bytes(b"live photo movie")
    sort_into_red([src], scorer, ledger, dests)
    red = dests["red_disc"]
    (red / "IMG_1.jpg").unlink()  # by hand; the movie stays
    ledger.db.execute("UPDATE copies SET category='old name'")  # the copies were made before a rename
    sort_into_red([src], scorer, ledger, dests)
    assert sorted(os.listdir(red)) == ["IMG_1.MOV", "IMG_1.jpg"]
    result = remove(ledger, src / "IMG_1.jpg", tmp_path / "trash")
    assert trash_names(tmp_path / "trash") == ["IMG_1.MOV", "IMG_1.jpg"] and not result.errors, result.errors
    assert os.listdir(red) == []

def test_of_two_rows_for_one_place_the_one_whose_file_is_there_is_undone(env, scorer, tmp_path, src):
    """Attack: the person renamed a copy aside, a later sort copied the photo there again, then the
    person deleted that new copy and renamed the first one back. A correction marked the first
    row gone without looking, and its file — photosorter's copy — could never be undone after."""
    _roll, _dest, ledger, dests = env
    photo(src / "IMG_1.jpg", 1)
    sort_into_red([src], scorer, ledger, dests)
    red = dests["red_disc"]
    os.rename(red / "IMG_1.jpg", red / "keep.jpg")
    sort_into_red([src], scorer, ledger, dests)
    (red / "IMG_1.jpg").unlink()
    os.rename(red / "keep.jpg", red / "IMG_1.jpg")  # the first copy is back in its place
    result = remove(ledger, src / "IMG_1.jpg", tmp_path / "trash")
    assert os.listdir(red) == [] and not result.errors, result.errors
    assert trash_names(tmp_path / "trash") == ["IMG_1.jpg"]
