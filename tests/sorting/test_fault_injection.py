"""Kill the sorter (SIGKILL) at every crash point of a run and of an undo; after a restart,
nothing may be lost, duplicated or half-written.

The sorter runs in a forked child that kills itself at the N-th crash point
(photosorter.sorting.fault): mid-copy, after the journal intent, before/after publishing the
final name, before the ledger commit, between categories, before/after trashing during undo.
The parent then does what the app does on start — recover() — and finishes the job.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest
from media_helpers import make_clip, make_dng
from PIL import Image
from sorting_helpers import contents, snapshot, trained_scorer

from photosorter.samples import make_labeled_folder
from photosorter.sorting import fault
from photosorter.sorting.ledger import Ledger
from photosorter.sorting.paths import category_folder
from photosorter.sorting.sorter import apply_plan, plan_sort, recover, undo_run

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")


def in_child(fn, kill_at: int, log: Path | None = None) -> bool:
    """Run fn in a forked child that SIGKILLs itself at crash point ``kill_at``. True if killed."""
    pid = os.fork()
    if pid == 0:  # child
        try:
            fault._target, fault._count = kill_at, 0
            fault._log = str(log) if log else None
            fn()
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


def count_points(fn, tmp: Path) -> int:
    log = tmp / "points.log"
    log.unlink(missing_ok=True)
    assert not in_child(fn, 0, log)
    return len(log.read_text().splitlines())


def trash_into(folder: Path):
    def fn(p: Path) -> None:
        folder.mkdir(exist_ok=True)
        os.rename(p, folder / f"{os.urandom(6).hex()}-{p.name}")  # atomic, like a real trash move
    return fn


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    scorer = trained_scorer(root)
    roll = make_labeled_folder(root / "roll", per_category=7, rel_size=0.6, none=2, seed=31)
    red = sorted((roll / "red_disc").glob("*.jpg"))[0]
    (red.parent / (red.stem + ".MOV")).write_bytes(os.urandom(3000))  # a Live Photo movie
    (red.parent / (red.stem + ".xmp")).write_bytes(b"<x:xmpmeta/>")
    # The new kinds: a RAW twin travelling with its JPEG, and a video copied by streaming.
    make_dng(red.parent / (red.stem + ".dng"))
    frames = [Image.open(p).convert("RGB") for p in sorted((roll / "red_disc").glob("*.jpg"))[1:4]]
    make_clip(roll / "red_disc" / "clip.mp4", frames, seconds_each=0.5)
    dest = root / "Sorted"
    dests = {c: category_folder(dest, c) for c in scorer.classifier.categories}
    # A same-named file with other content already in the destination: must survive untouched.
    clash = dests["red_disc"] / red.name
    plan = plan_sort([roll], scorer, Ledger(root / "plan.sqlite3"), dests, background="off")
    by_name = {d.path.name: d for d in plan.decisions}
    assert by_name["clip.mp4"].outcome == "copy" and red.stem + ".dng" not in by_name
    assert red.parent / (red.stem + ".dng") in by_name[red.name].companions
    return root, roll, dest, dests, plan, clash


def fresh_state(root: Path, dest: Path, clash: Path, name: str) -> Ledger:
    shutil.rmtree(dest, ignore_errors=True)
    clash.parent.mkdir(parents=True)
    clash.write_bytes(b"the user's own, different file")
    db = root / f"{name}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return Ledger(db)


@pytest.mark.timeout(400)
def test_kill_anywhere_in_sort_and_undo_loses_nothing(world):
    root, roll, dest, _dests, plan, clash = world
    originals = snapshot(roll)

    # The expected end state, from an uninterrupted run.
    ledger = fresh_state(root, dest, clash, "reference")
    apply_plan(plan, ledger)
    expected = contents(dest)
    before_sort = None
    ledger.close()

    db_path = root / "faults.sqlite3"
    sort_points = count_points(lambda: apply_plan(plan, Ledger(db_path)), root) if fresh_state(root, dest, clash, "faults") else 0
    assert sort_points >= 80, sort_points
    injected = recovered = 0
    for k in range(1, sort_points + 1):
        fresh_state(root, dest, clash, "faults").close()
        assert in_child(lambda: apply_plan(plan, Ledger(db_path)), k), f"crash point {k} was not reached"
        injected += 1
        ledger = Ledger(db_path)  # "restart"
        recover(ledger)
        apply_plan(plan, ledger)
        assert contents(dest) == expected, f"after a kill at point {k}"
        assert not [p for p in dest.rglob(".pending-*")], f"temp file left after point {k}"
        assert clash.read_bytes() == b"the user's own, different file"
        assert ledger.integrity_ok()
        assert snapshot(roll) == originals
        ledger.close()
        recovered += 1

    # Undo, killed at each of its crash points; a second undo finishes the job.
    ledger = fresh_state(root, dest, clash, "undo")
    before_sort = snapshot(dest)
    run_id = apply_plan(plan, ledger).run_id
    ledger.close()
    undo_db = root / "undo.sqlite3"
    shutil.copy(undo_db, root / "undo-after-sort.sqlite3")
    # Hard links keep the very files the sort created (undo trashes only those: same inode).
    keep = root / "sorted-links"
    shutil.rmtree(keep, ignore_errors=True)
    sorted_state = {}
    for i, p in enumerate(sorted(q for q in dest.rglob("*") if q.is_file() and q != clash)):
        keep.mkdir(exist_ok=True)
        os.link(p, keep / str(i))
        sorted_state[p] = keep / str(i)

    def reset_to_sorted() -> None:
        shutil.rmtree(dest)
        for p, kept in sorted_state.items():
            p.parent.mkdir(parents=True, exist_ok=True)
            os.link(kept, p)
        clash.parent.mkdir(parents=True, exist_ok=True)
        clash.write_bytes(b"the user's own, different file")
        for suffix in ("-wal", "-shm"):
            Path(str(undo_db) + suffix).unlink(missing_ok=True)
        shutil.copy(root / "undo-after-sort.sqlite3", undo_db)

    trash = root / "trash"
    undo_points = count_points(lambda: undo_run(Ledger(undo_db), run_id, trash_fn=trash_into(trash)), root)
    assert undo_points >= 20, undo_points
    for k in range(1, undo_points + 1):
        reset_to_sorted()
        assert in_child(lambda: undo_run(Ledger(undo_db), run_id, trash_fn=trash_into(trash)), k)
        injected += 1
        ledger = Ledger(undo_db)
        undo_run(ledger, run_id, trash_fn=trash_into(trash))
        after = snapshot(dest)
        assert {k2: v[:2] for k2, v in after.items()} == {k2: v[:2] for k2, v in before_sort.items()}, f"undo point {k}"
        assert ledger.integrity_ok()
        assert snapshot(roll) == originals
        ledger.close()
        recovered += 1
    assert injected == recovered >= 100
    print(f"\n{injected} faults injected, {recovered} recovered, 0 lost")
