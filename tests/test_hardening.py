"""Issue 14 (hardening): each test here reproduces one way a user's files were at risk, or a photo
was silently skipped, and checks the outcome on disk and in the ledger."""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest
from sorting_helpers import contents, non_utf8_name, snapshot, wait_for

from photosorter.samples import make_labeled_folder, make_photo
from photosorter.sorting import fault
from photosorter.sorting.ledger import Ledger
from photosorter.sorting.paths import category_folder
from photosorter.sorting.sorter import apply_plan, plan_sort, recover, undo_run

#: The camera roll of the ``env`` fixture (conftest.py) for these tests: a small one.
ROLL = {"per_category": 3, "none": 1}


def sort(sources, scorer, ledger, dests):
    return apply_plan(plan_sort(sources, scorer, ledger, dests, background="off"), ledger)


def recording_trash(log: list, into: Path):
    def fn(p: Path) -> None:
        log.append(Path(p))
        into.mkdir(exist_ok=True)
        os.rename(p, into / f"{len(log)}-{Path(p).name}")
    return fn


def pin(plan, category="red_disc"):
    """Tests about files, not classification: every photo goes to one category."""
    for d in plan.decisions:
        if d.outcome in ("copy", "no_category", "already_sorted") and d.sha256:
            d.outcome, d.categories, d.done_before = "copy", [category], []
    return plan


# --------------------------------------------------------------------------- item 1


def test_undo_never_trashes_originals_through_a_swapped_category_folder(env, scorer, tmp_path):
    roll, _dest, ledger, dests = env
    s = sort([roll / "red_disc"], scorer, ledger, dests)
    assert s.copies_made >= 2
    originals = snapshot(roll)
    # mv DEST/red_disc elsewhere; ln -s SRC DEST/red_disc  (same names, same bytes as the copies)
    shutil.move(str(dests["red_disc"]), str(tmp_path / "elsewhere"))
    os.symlink(roll / "red_disc", dests["red_disc"])
    trashed: list[Path] = []
    result = undo_run(ledger, s.run_id, trash_fn=recording_trash(trashed, tmp_path / "trash"))
    assert trashed == [], "nothing may be trashed through a symlinked folder"
    assert snapshot(roll) == originals
    assert len(result.errors) == s.copies_made
    assert all("symbolic link" in m for _f, m in result.errors)
    # The copies that moved away with the folder are not ours to touch either.
    assert len(list((tmp_path / "elsewhere").iterdir())) == s.copies_made


def test_undo_refuses_a_copy_replaced_by_a_hard_link_to_an_original(env, scorer, tmp_path):
    """Same content, but not the file we created (another inode): undo must leave it."""
    roll, _dest, ledger, dests = env
    s = sort([roll / "red_disc"], scorer, ledger, dests)
    copies = sorted(dests["red_disc"].iterdir())
    victim = copies[0]
    original = roll / "red_disc" / victim.name
    victim.unlink()
    os.link(original, victim)  # now DEST/red_disc/x.jpg *is* the original file
    trashed: list[Path] = []
    result = undo_run(ledger, s.run_id, trash_fn=recording_trash(trashed, tmp_path / "trash"))
    assert original.exists() and original.stat().st_nlink == 2
    assert victim.exists()
    assert str(victim) in {f for f, _m in result.errors} | set(result.kept_modified)
    assert len(trashed) == s.copies_made - 1


def test_undo_park_folder_swapped_for_a_symlink_just_before_trashing_moves_only_our_copy(env, scorer, tmp_path):
    """Found by attack: undo parks a copy in .pending-undo-X/ and then hands the trash a path. If
    the park folder is renamed away and replaced by a symlink to a private folder in that gap,
    a path-based trash follows it and trashes the private file of the same name."""
    roll, _dest, ledger, dests = env
    s = sort([roll / "red_disc"], scorer, ledger, dests)
    private = tmp_path / "private"
    private.mkdir()
    for copy in dests["red_disc"].iterdir():
        (private / copy.name).write_bytes(b"PRIVATE " + copy.name.encode())
    before = snapshot(private)
    into = tmp_path / "trash"
    into.mkdir()

    def racing_trash(p: Path) -> None:
        park = next(x for x in dests["red_disc"].iterdir() if x.name.startswith(".pending-undo-") and not x.is_symlink())
        os.rename(park, park.with_name(park.name + ".away"))
        os.symlink(private, park)  # the attacker's swap, after undo's checks
        os.rename(p, into / f"{len(list(into.iterdir()))}-{Path(p).name}")  # what send2trash does with the path
        os.unlink(park)

    result = undo_run(ledger, s.run_id, trash_fn=racing_trash)
    assert snapshot(private) == before, "a private file was moved by undo"
    assert sorted(f.read_bytes()[:8] != b"PRIVATE " for f in into.iterdir()) == [True] * s.copies_made
    assert len(result.trashed) == s.copies_made


# --------------------------------------------------------------------------- item 2


def test_sidecar_swapped_for_a_symlink_after_planning_is_not_followed(env, scorer, tmp_path):
    roll, dest, ledger, dests = env
    photo = sorted((roll / "red_disc").glob("*.jpg"))[0]
    side = photo.with_suffix(".xmp")
    side.write_bytes(b"<x:xmpmeta/>")
    private = tmp_path / "private.txt"
    private.write_bytes(b"my bank password")
    plan = pin(plan_sort([photo], scorer, ledger, dests, background="off"))
    side.unlink()
    os.symlink(private, side)
    s = apply_plan(plan, ledger)
    found = [p for p in dest.rglob("*") if p.is_file() and p.read_bytes() == b"my bank password"]
    assert found == []
    assert any(Path(p).name == side.name for p, _r, _m in s.failed)


def test_a_sidecar_that_is_a_symlink_when_planned_is_named_not_dropped_silently(env, scorer, tmp_path):
    roll, dest, ledger, dests = env
    photo = sorted((roll / "red_disc").glob("*.jpg"))[0]
    elsewhere = tmp_path / "edits.xmp"
    elsewhere.write_bytes(b"<x:xmpmeta/>")
    os.symlink(elsewhere, photo.with_suffix(".xmp"))
    plan = pin(plan_sort([photo], scorer, ledger, dests, background="off"))
    (d,) = plan.decisions
    assert d.companions == [] and "symbolic link" in d.message and photo.with_suffix(".xmp").name in d.message
    summary = apply_plan(plan, ledger)
    assert not any(p.suffix == ".xmp" for p in dest.rglob("*"))
    # ... and said by the sort itself, not only by a dry run (the summary dropped it)
    assert [(Path(p), m) for p, m in summary.notes] == [(photo, d.message)]
    assert summary.as_dict()["notes"] == [{"file": str(photo), "message": d.message}]


def test_sidecar_changed_after_planning_is_not_copied_unverified(env, scorer):
    roll, _dest, ledger, dests = env
    photo = sorted((roll / "red_disc").glob("*.jpg"))[0]
    side = photo.with_suffix(".xmp")
    side.write_bytes(b"<x:xmpmeta/>")
    plan = pin(plan_sort([photo], scorer, ledger, dests, background="off"))
    side.write_bytes(b"something else entirely")
    s = apply_plan(plan, ledger)
    assert not list(dests["red_disc"].glob("*.xmp"))
    assert {r for p, r, _m in s.failed if Path(p).name == side.name} == {"changed"}


def test_photo_swapped_for_a_symlink_between_scan_and_read_is_not_followed(env, scorer, tmp_path):
    roll, dest, ledger, dests = env
    photo = sorted((roll / "red_disc").glob("*.jpg"))[0]
    outside = tmp_path / "outside.jpg"
    make_photo(outside, ("red_disc",), 77, rel_size=0.6)
    real = scorer.score_paths

    def swapping(paths, *a, **k):
        paths = list(paths)
        photo.unlink()
        os.symlink(outside, photo)
        return real(paths, *a, **k)

    scorer.score_paths = swapping
    try:
        plan = pin(plan_sort([roll / "red_disc"], scorer, ledger, dests, background="off"))
    finally:
        del scorer.score_paths
    apply_plan(plan, ledger)
    sha_outside = snapshot(tmp_path)["outside.jpg"][0]
    assert all(sha_outside not in v for v in contents(dest).values())


# --------------------------------------------------------------------------- item 3


def test_watcher_sorts_non_utf8_names_and_survives_errors(tmp_path, scorer):
    from photosorter.sorting.service import WatchService

    src = tmp_path / "dcim"
    src.mkdir()
    non_utf8_name(src, 1)
    dests = {c: category_folder(tmp_path / "Sorted", c) for c in scorer.classifier.categories}
    batches, warnings = [], []
    service = WatchService([src], scorer, tmp_path / "ledger.sqlite3", dests, on_batch=batches.append,
                           on_warning=warnings.append, stable_seconds=0.2, rescan_seconds=0.5, tick_seconds=0.05)
    service.start()
    try:
        assert wait_for(lambda: sum(b.copies_made for b in batches) >= 1, 30), (batches, warnings)
        # An exception anywhere in the loop is reported and the thread goes on.
        real = service.watcher._collect_ready
        calls = {"n": 0}

        def boom(now):
            calls["n"] += 1
            if calls["n"] == 1:
                raise RuntimeError("simulated bug")
            return real(now)

        service.watcher._collect_ready = boom
        make_photo(src / "later.jpg", ("red_disc",), 2, rel_size=0.6)
        assert wait_for(lambda: sum(b.copies_made for b in batches) >= 2, 30), (batches, warnings)
        assert any("simulated bug" in w for w in warnings)
    finally:
        service.stop()


def test_feature_cache_accepts_non_utf8_paths(tmp_path):
    from photosorter.ml.features import FeatureCache

    cache = FeatureCache(tmp_path / "f.sqlite3")
    p = non_utf8_name(tmp_path, 3)
    st = os.stat(p)
    cache.remember_file(p, st, "ab" * 32, (64, 48))
    assert cache.known_file(p, st) == ("ab" * 32, (64, 48))


# --------------------------------------------------------------------------- item 4


def test_sorting_into_another_destination_or_after_deleting_copies_copies_again(env, scorer, tmp_path):
    roll, _dest, ledger, dests = env
    s1 = sort([roll], scorer, ledger, dests)
    assert s1.copies_made >= 4
    other = {c: category_folder(tmp_path / "B", c) for c in dests}
    s2 = sort([roll], scorer, ledger, other)
    assert s2.copies_made == s1.copies_made and contents(tmp_path / "B") == contents(tmp_path / "Sorted")
    shutil.rmtree(tmp_path / "B" / "red_disc")
    s3 = sort([roll], scorer, ledger, other)
    assert s3.copies_made == len(contents(tmp_path / "Sorted")["red_disc"])
    s4 = sort([roll], scorer, ledger, other)
    assert s4.copies_made == 0 and s4.already_sorted >= 4


# --------------------------------------------------------------------------- item 5


def test_watcher_retries_failed_photos_while_it_runs(tmp_path, scorer, monkeypatch):
    from photosorter.sorting import copier
    from photosorter.sorting.service import WatchService

    src = tmp_path / "dcim"
    src.mkdir()
    make_photo(src / "a.jpg", ("red_disc",), 1, rel_size=0.6)
    dests = {c: category_folder(tmp_path / "Sorted", c) for c in scorer.classifier.categories}
    full = {"on": True}
    real = copier.publish

    def publish(*a, **k):
        if full["on"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*a, **k)

    monkeypatch.setattr(copier, "publish", publish)
    batches = []
    service = WatchService([src], scorer, tmp_path / "ledger.sqlite3", dests, on_batch=batches.append,
                           stable_seconds=0.2, rescan_seconds=0.3, tick_seconds=0.05, retry_seconds=0.3)
    service.start()
    try:
        assert wait_for(lambda: any(b.failed for b in batches), 30)
        full["on"] = False  # the disk was freed
        assert wait_for(lambda: any(b.copies_made for b in batches), 20), "the failed photo was never retried"
    finally:
        service.stop()


# --------------------------------------------------------------------------- item 6


@pytest.mark.parametrize("at", ["after-link", "before-commit"])
def test_sigint_between_publishing_and_committing_a_copy_keeps_ledger_true(env, scorer, tmp_path, monkeypatch, at):
    roll, dest, ledger, dests = env
    plan = pin(plan_sort([roll / "red_disc"], scorer, ledger, dests, background="off"))
    seen = {"n": 0}

    def point(name):
        if name == at:
            seen["n"] += 1
            if seen["n"] == 2:
                raise KeyboardInterrupt

    monkeypatch.setattr(fault, "point", point)
    with pytest.raises(KeyboardInterrupt):
        apply_plan(plan, ledger)
    monkeypatch.undo()
    recover(ledger)
    on_disk = sorted(p.name for p in dests["red_disc"].iterdir())
    done = sorted(Path(c["dest"]).name for c in ledger.copies(states=("done",)))
    assert on_disk == done and len(done) == 2
    undo_run(ledger, trash_fn=recording_trash([], tmp_path / "trash"))
    assert snapshot(dest) == {}


# --------------------------------------------------------------------------- item 7


_PAUSED_SORT = """
import json, pickle, sys, time
from pathlib import Path
from photosorter.sorting import fault
from photosorter.sorting.ledger import Ledger
from photosorter.sorting.sorter import apply_plan

plan_file, db, paused, go, result = map(Path, sys.argv[1:])
state = {"n": 0}

def point(name):
    if name == "before-publish":
        state["n"] += 1
        if state["n"] == 2:  # a temp file is on disk, its copy not yet published
            paused.touch()
            while not go.exists():
                time.sleep(0.01)

fault.point = point
s = apply_plan(pickle.loads(plan_file.read_bytes()), Ledger(db))
result.write_text(json.dumps(s.as_dict()))
"""


def test_a_second_command_during_a_sort_does_not_disturb_it(env, scorer, tmp_path):
    """Two real processes: a sort paused mid-copy, and `photosorter runs` plus a recovery from
    another one. Nothing of the running sort may be rolled back, deleted or marked interrupted."""
    import pickle
    import subprocess
    import sys

    from photosorter.cli import main
    from photosorter.config import app_paths

    roll, _dest, _ledger, dests = env
    db = app_paths().ledger_file
    planning = Ledger(db)
    plan = pin(plan_sort([roll / "red_disc"], scorer, planning, dests, background="off"))
    planning.close()
    (tmp_path / "plan.pickle").write_bytes(pickle.dumps(plan))
    paused, go, result = tmp_path / "paused", tmp_path / "go", tmp_path / "result.json"
    root = Path(__file__).resolve().parents[1]
    child = subprocess.Popen([sys.executable, "-c", _PAUSED_SORT, str(tmp_path / "plan.pickle"), str(db), str(paused),
                              str(go), str(result)], env={**os.environ, "PYTHONPATH": str(root)})
    try:
        assert wait_for(paused.exists, 60)
        assert main(["runs"]) == 0  # a second process: recovery runs on start
        other = Ledger(db)
        assert recover(other).get("busy") == 1
        other.close()
    finally:
        go.touch()
        assert child.wait(60) == 0
    s = json.loads(result.read_text())
    assert s["failed"] == [] and s["copies_made"] == 3
    led = Ledger(db)
    assert led.run(s["run_id"]).state == "done", (s, led.runs())
    assert len(list(dests["red_disc"].iterdir())) == 3
    assert recover(led).get("busy") is None  # the sort is over: recovery runs again


# --------------------------------------------------------------------------- item 11


def test_600_nested_folders_are_walked_without_recursion_error(env, scorer, tmp_path):
    from photosorter.media.walk import walk_photos

    _roll, _dest, ledger, dests = env
    deep = tmp_path / "deep"
    p = deep
    for _ in range(600):
        p = p / "d"
    os.makedirs(p)
    make_photo(p / "bottom.jpg", ("red_disc",), 3, rel_size=0.6)
    make_photo(deep / "top.jpg", ("red_disc",), 4, rel_size=0.6)
    s = apply_plan(pin(plan_sort([deep], scorer, ledger, dests, background="off")), ledger)
    assert s.copies_made == 2 and not s.failed
    assert sorted(e.path.name for e in walk_photos([deep]) if not e.problem) == ["bottom.jpg", "top.jpg"]


# --------------------------------------------------------------------------- item 12


def test_names_a_destination_cannot_store_are_mapped_recorded_and_undone(env, scorer, tmp_path):
    _roll, dest, ledger, dests = env
    src = tmp_path / "nas"
    src.mkdir()
    bad = 'a:b?c*d"e<f>g|h\\i\x01j .jpg'
    make_photo(src / bad, ("red_disc",), 8, rel_size=0.6)
    make_photo(src / "tab\there.jpg", ("red_disc",), 9, rel_size=0.6)
    plan = pin(plan_sort([src], scorer, ledger, dests, background="off"))
    s = apply_plan(plan, ledger)
    names = sorted(os.listdir(dests["red_disc"]))
    assert not s.failed and len(names) == 2
    for n in names:
        assert not set(n) & set(':?*"<>|\\') and not any(ord(ch) < 32 for ch in n) and not n.endswith((".", " "))
    rows = ledger.copies(s.run_id, ("done",))
    assert {Path(r["source"]).name for r in rows} == {bad, "tab\there.jpg"}
    assert sorted(Path(r["dest"]).name for r in rows) == names
    undo_run(ledger, s.run_id, trash_fn=recording_trash([], tmp_path / "trash"))
    assert snapshot(dest) == {}


@pytest.mark.parametrize("name, safe", [("a:b.jpg", "a_b.jpg"), ("x.jpg. ", "x.jpg"), ("CON.jpg", "_CON.jpg"),
                                        ("caf\udce9.jpg", "caf_.jpg"), ("...", "_"), ("ok name.JPG", "ok name.JPG")])
def test_portable_name(name, safe):
    from photosorter.sorting.paths import portable_name

    assert portable_name(name) == safe


# --------------------------------------------------------------------------- item 13


def test_sidecar_lookup_and_free_names_do_not_relist_the_folder_per_photo(env, scorer, tmp_path, monkeypatch):
    _roll, _dest, ledger, dests = env
    src = tmp_path / "flat"
    make_labeled_folder(tmp_path / "gen", per_category=4, rel_size=0.6, seed=5)
    src.mkdir()
    for p in (tmp_path / "gen").rglob("*.jpg"):
        shutil.copy(p, src / p.name)
        (src / (p.stem + ".xmp")).write_bytes(b"<x/>" + p.name.encode())
    for i in range(50):
        (dests["red_disc"].parent / "red_disc").mkdir(parents=True, exist_ok=True)
        (dests["red_disc"] / f"other_{i}.jpg").write_bytes(b"x")
    listings = {"n": 0}
    real_scandir, real_listdir = os.scandir, os.listdir

    def scandir(*a):
        listings["n"] += 1
        return real_scandir(*a)

    def listdir(*a):
        listings["n"] += 1
        return real_listdir(*a)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "listdir", listdir)
    plan = pin(plan_sort([src], scorer, ledger, dests, background="off"))
    planned = listings["n"]
    s = apply_plan(plan, ledger)
    assert s.copies_made == 16 and not s.failed
    assert planned <= 2, f"the source folder was listed {planned} times for 8 photos"
    assert listings["n"] - planned <= 2, "the destination folder was listed once per copy"


def test_a_big_file_sharing_a_photos_name_is_not_a_live_photo(env, scorer, tmp_path):
    roll, _dest, ledger, dests = env
    photo = sorted((roll / "red_disc").glob("*.jpg"))[0]
    big = photo.with_suffix(".MOV")
    with open(big, "wb") as fh:
        fh.truncate(300 * 2**20)  # sparse: costs no disk
    plan = pin(plan_sort([photo], scorer, ledger, dests, background="off"))
    d = plan.decisions[0]
    assert d.companions == [] and "too big" in (d.message or "")
    s = apply_plan(plan, ledger)
    assert sorted(os.listdir(dests["red_disc"])) == [photo.name] and s.copies_made == 1


# --------------------------------------------------------------------------- the guarantee


@pytest.fixture
def scratch(tmp_path):
    from sorting_helpers import memory_tmp

    yield from memory_tmp(tmp_path)


SWAPS = ("category_folder", "destination_root", "sidecar", "copy_to_original_link")


def _swap(kind: str, src: Path, dest: Path, plan, victims: Path) -> None:
    """What an attacker (or a sync tool) could do underneath a running sort or undo."""
    if kind == "category_folder" and (dest / "cats").is_dir() and not (dest / "cats").is_symlink():
        os.rename(dest / "cats", dest.parent / f"moved-{os.urandom(3).hex()}")
        os.symlink(src, dest / "cats")  # the originals, same names and bytes as the copies
    elif kind == "destination_root" and dest.is_dir() and not dest.is_symlink():
        os.rename(dest, dest.parent / f"moved-root-{os.urandom(3).hex()}")
        os.symlink(victims, dest)  # the user's backup tree: cats/ and dogs/ with the same files
    elif kind == "sidecar":
        for d in plan.decisions:
            for comp in d.companions:
                if comp.suffix == ".xmp" and not comp.is_symlink():
                    comp.unlink()
                    os.symlink(victims / "private.txt", comp)
                    return
    elif kind == "copy_to_original_link" and (dest / "dogs").is_dir() and not (dest / "dogs").is_symlink():
        for p in sorted((dest / "dogs").iterdir()):
            if p.is_file() and (src / p.name).is_file():
                p.unlink()
                os.link(src / p.name, p)  # the very original, under the copy's name
                return


def _victims(root: Path, src: Path) -> Path:
    v = root / "victims"
    for c in ("cats", "dogs"):
        (v / c).mkdir(parents=True)
        for p in src.glob("*.jpg"):
            shutil.copy2(p, v / c / p.name)
    (v / "private.txt").write_bytes(b"my bank password")
    return v


def _state(src: Path, victims: Path) -> dict:
    """Every file photosorter did not create, by (sha, size, mtime) — and the originals' link counts."""
    out = {f"src/{k}": v for k, v in snapshot(src).items()}
    out.update({f"victims/{k}": v for k, v in snapshot(victims).items()})
    return out


@pytest.mark.timeout(240)
def test_guarantee_no_file_photosorter_did_not_create_is_touched_whatever_is_swapped(scratch, monkeypatch):
    """README, "Safety": no operation of photosorter ever modifies, moves or deletes a file it did
    not create, whatever is swapped underneath it. At every crash point of a sort and of an undo,
    one of four swaps happens; then recovery and undo of everything run. Nothing the user owns —
    originals, their backup tree, a private file — may change, move or vanish, and no private
    content may be copied."""
    from sorting_helpers import hand_plan

    tmp_path = scratch

    def points_of(fn) -> list[str]:
        names: list[str] = []
        monkeypatch.setattr(fault, "point", names.append)
        fn()
        monkeypatch.undo()
        return names

    probe = tmp_path / "probe"
    probe_plan = hand_plan(probe / "src", probe / "Sorted", n=3, sidecars_every=3)
    led = Ledger(probe / "l.sqlite3")
    n_sort = len(points_of(lambda: apply_plan(probe_plan, led)))
    n_undo = len(points_of(lambda: undo_run(led, trash_fn=recording_trash([], probe / "trash"))))
    assert n_sort >= 20 and n_undo >= 8, (n_sort, n_undo)
    cases = [("sort", k) for k in range(n_sort)] + [("undo", k) for k in range(n_undo)]
    for i, (phase, k) in enumerate(cases):
        root = tmp_path / f"case{i}"
        src, dest = root / "src", root / "Sorted"
        plan = hand_plan(src, dest, n=3, sidecars_every=3)
        victims = _victims(root, src)
        before = _state(src, victims)
        links_before = {p.name: p.stat().st_nlink for p in src.iterdir()}
        ledger = Ledger(root / "l.sqlite3")
        kind = SWAPS[i % len(SWAPS)]
        count = {"n": 0}

        # this case's values bound now (the hook belongs to this iteration only)
        def point(name, phase_now, phase=phase, k=k, count=count, case=(kind, src, dest, plan, victims)):
            if phase_now == phase:
                if count["n"] == k:
                    _swap(*case)
                count["n"] += 1

        monkeypatch.setattr(fault, "point", lambda name: point(name, "sort"))
        apply_plan(plan, ledger)
        monkeypatch.setattr(fault, "point", lambda name: point(name, "undo"))
        recover(ledger)
        trashed: list[Path] = []
        while (rid := ledger.last_undoable_run()) is not None:
            r = undo_run(ledger, rid, trash_fn=recording_trash(trashed, root / "trash"))
            if r.errors:  # refused files stay "done": stop after one pass
                break
        monkeypatch.undo()
        after = _state(src, victims)
        swapped_sidecars = {k2 for k2 in before if k2.startswith("src/") and k2.endswith(".xmp") and k2 not in after}
        assert {k2: v for k2, v in before.items() if k2 not in swapped_sidecars} == after, (phase, k, kind)
        for p in src.iterdir():
            if not p.is_symlink():  # a hard link the test made adds one; none may be removed
                assert p.stat().st_nlink >= links_before[p.name], (phase, k, kind, p)
        leaked = [p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and "victims" not in p.parts
                  and p.read_bytes() == b"my bank password"]
        assert leaked == [], (phase, k, kind)
        ledger.close()


def test_a_file_where_a_category_folder_should_be_is_named_clearly(env, scorer):
    """A file named like the category folder: each copy failed with a bare "File exists"."""
    roll, _dest, ledger, dests = env
    blocked = dests["red_disc"]
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_bytes(b"not a folder")
    s = apply_plan(pin(plan_sort([roll], scorer, ledger, dests, background="off")), ledger)
    assert s.failed and all("a file, not a folder, is in the way" in m for _p, _r, m in s.failed), s.failed
    assert blocked.read_bytes() == b"not a folder"


def test_a_run_killed_midway_is_listed_with_the_copies_it_made(env, scorer, monkeypatch):
    """`runs` said "interrupted  copied 0" of a run killed with kill -9 after copying photos
    (its summary is written at the end); undo then trashed copies the listing said were not there."""
    roll, dest, ledger, dests = env
    plan = pin(plan_sort([roll], scorer, ledger, dests, background="off"))
    seen = ledger.record_seen
    calls = []

    def dies_on_the_third_photo(run_id, path, *a, **k):
        calls.append(path)
        if len(calls) == 3:
            raise SystemExit("killed")  # like kill -9: nothing after this runs
        return seen(run_id, path, *a, **k)

    monkeypatch.setattr(ledger, "record_seen", dies_on_the_third_photo)
    with pytest.raises(SystemExit):
        apply_plan(plan, ledger)
    monkeypatch.undo()
    recover(ledger)
    (run,) = ledger.runs()
    copies = [p for p in dest.rglob("*") if p.is_file()]
    assert run.state == "interrupted" and len(copies) == 3
    # the third photo was copied before its record was written: it counts (an attack read "copied 0"
    # beside a copy of a photo killed at that point)
    assert run.detail["summary"]["copies_made"] == 3 and run.detail["summary"]["copied_photos"] == 3
    assert len(undo_run(ledger, run.id).trashed) == 3
