"""SIGKILL and SIGINT at random moments during sort and undo (with sidecars): after recovery the
ledger matches the disk exactly, originals are untouched, finishing the job gives exactly the
destination tree of an uninterrupted run, and a final undo leaves only the user's own file.

Complements test_fault_injection (a SIGKILL at every named crash point): here the moment is
random, so it also lands inside system calls, SQLite commits and the except/cleanup paths, and
SIGINT exercises the KeyboardInterrupt paths. The plan is built by hand (no model): fast.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from pathlib import Path

import pytest
from sorting_helpers import hand_plan, memory_tmp, snapshot, tree

from photosorter.sorting import safefs
from photosorter.sorting.ledger import Ledger
from photosorter.sorting.sorter import apply_plan, recover, undo_run

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
KILLS = 30  # interrupted runs per test run: SIGKILL and SIGINT, sort and undo, in turn
MAX_TRIES = 100  # a signal may arrive after the run finished: it then counts as a try only


@pytest.fixture
def scratch(tmp_path):
    yield from memory_tmp(tmp_path)


def run_child(fn) -> int:
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            fn()
        except KeyboardInterrupt:
            code = 130
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    return pid


def timed(fn) -> float:
    t = time.monotonic()
    pid = run_child(fn)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    return time.monotonic() - t


def interrupt(fn, after: float, sig: int) -> bool:
    """Run fn in a child and send ``sig`` after ``after`` seconds. True if it was interrupted."""
    pid = run_child(fn)
    time.sleep(after)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return os.WTERMSIG(status) == signal.SIGKILL
    return os.WEXITSTATUS(status) == 130


def trash_into(folder: Path):
    def fn(p: Path) -> None:
        folder.mkdir(exist_ok=True)
        os.rename(p, folder / f"{os.urandom(6).hex()}-{p.name}")
    return fn


def ledger_matches_disk(ledger: Ledger, dest: Path, user_file: Path) -> None:
    """No half-done state: every 'done' copy is on disk with our bytes, every file on disk is a
    'done' copy (or the user's own), nothing in flight, no temp files, no run 'running'."""
    assert not ledger.copies(states=("intent",))
    assert all(r.state != "running" for r in ledger.runs(1000))
    done = {Path(c["dest"]): c["dest_sha256"] for c in ledger.copies(states=("done",))}
    on_disk = {p: safefs.hash_path(p)[0] for p in dest.rglob("*") if p.is_file() and p != user_file}
    assert on_disk == done
    assert not [p for p in dest.rglob(".pending-*")]
    assert ledger.integrity_ok()


@pytest.mark.timeout(180)
def test_random_sigkill_and_sigint_during_sort_and_undo(scratch):
    tmp_path = scratch
    rng = random.Random(int(os.environ.get("PHOTOSORTER_KILL_SEED", "14")))
    src, dest = tmp_path / "roll", tmp_path / "Sorted"
    plan = hand_plan(src, dest, n=24, sidecars_every=3)
    user_file = plan.destinations["cats"] / "IMG_0000.jpg"  # same name, other content: must survive
    user_file.parent.mkdir(parents=True)
    user_file.write_bytes(b"the user's own, different file")
    originals = snapshot(src)
    trash = tmp_path / "trash"

    ref_db = tmp_path / "reference.sqlite3"
    t_sort = timed(lambda: apply_plan(plan, Ledger(ref_db)))
    expected = tree(dest)
    assert len(expected) == 1 + sum(len(d.categories) * (1 + len(d.companions)) for d in plan.decisions)
    t_undo = timed(lambda: undo_run(Ledger(ref_db), trash_fn=trash_into(trash)))
    assert tree(dest) == {str(user_file.relative_to(dest)): tree(dest)[str(user_file.relative_to(dest))]}

    db = tmp_path / "ledger.sqlite3"
    interrupted = {"sort": 0, "undo": 0}
    sigs = [signal.SIGKILL, signal.SIGINT]
    spans = {"sort": t_sort, "undo": t_undo}
    for i in range(MAX_TRIES):
        if sum(interrupted.values()) >= KILLS and min(interrupted.values()) >= KILLS // 3:
            break
        kind = "sort" if i % 2 == 0 else "undo"
        sig = sigs[(i // 2) % 2]
        if kind == "sort":
            fn = lambda: apply_plan(plan, Ledger(db))  # noqa: E731
        else:
            fn = lambda: _undo_all(Ledger(db), trash)  # noqa: E731
        hit = interrupt(fn, rng.uniform(0.0, 0.9) * spans[kind], sig)
        interrupted[kind] += hit
        if not hit:  # the run was over before the signal (a busy machine varies): aim earlier
            spans[kind] *= 0.7
        ledger = Ledger(db)  # "restart"
        recover(ledger)
        ledger_matches_disk(ledger, dest, user_file)
        assert snapshot(src) == originals
        assert user_file.read_bytes() == b"the user's own, different file"
        if kind == "sort":  # finish the job: exactly the uninterrupted tree
            apply_plan(plan, ledger)
            assert tree(dest) == expected, f"after {signal.Signals(sig).name} #{i}"
        else:  # finish the undo: only the user's file is left
            _undo_all(ledger, trash)
            assert [p for p in dest.rglob("*") if p.is_file()] == [user_file], f"after {signal.Signals(sig).name} #{i}"
            assert not ledger.copies(states=("done",))
        ledger_matches_disk(ledger, dest, user_file)
        ledger.close()
    assert snapshot(src) == originals
    # Every trashed file is a copy we made (its content is a source's), never an original.
    source_shas = {v[0] for v in originals.values()}
    assert {v[0] for v in snapshot(trash).values()} <= source_shas
    assert sum(interrupted.values()) >= KILLS and min(interrupted.values()) >= KILLS // 3, interrupted
    print(f"\n{sum(interrupted.values())} of {i + 1} signals interrupted a run ({interrupted}; sort {t_sort:.2f} s, "
          f"undo {t_undo:.2f} s uninterrupted); all recovered exactly")


def _undo_all(ledger: Ledger, trash: Path) -> None:
    while (rid := ledger.last_undoable_run()) is not None:
        undo_run(ledger, rid, trash_fn=trash_into(trash))
