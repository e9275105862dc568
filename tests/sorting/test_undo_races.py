"""Undo trashes only the very file photosorter made, also when two undos meet or an inode number
comes back (an attack on this round's correction-after-Apply found both)."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from sorting_helpers import hand_plan, snapshot

from photosorter.sorting.ledger import Ledger
from photosorter.sorting.sorter import apply_plan, undo_copies_of, undo_run


def trash_into(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    return lambda p: shutil.move(str(p), str(folder / f"{len(os.listdir(folder))}-{Path(p).name}"))


def test_the_user_s_original_moved_in_under_the_copy_s_name_is_not_trashed_even_with_its_inode_number(tmp_path):
    """Attack: the user deleted photosorter's copy and moved the original from the card in under
    the same name; the file system handed it the inode number just freed (ext4 does), so it had
    the copy's (device, inode) and bytes, and Undo moved the user's only original to the trash.
    Reuse is simulated here by giving the ledger the new file's numbers, as reuse would."""
    plan = hand_plan(tmp_path / "card", tmp_path / "Sorted", n=3, sidecars_every=100)
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    run_id = apply_plan(plan, ledger).run_id
    d = plan.decisions[0]
    copy = tmp_path / "Sorted" / d.categories[0] / d.path.name
    row = next(c for c in ledger.copies_from(d.path, d.sha256) if Path(c["dest"]) == copy)
    copy.unlink()  # the user removes the copy…
    shutil.move(str(d.path), str(copy))  # …and moves the original in its place (mv keeps its date)
    st = copy.stat()
    ledger.db.execute("UPDATE copies SET dest_dev=?, dest_ino=? WHERE id=?", (st.st_dev, st.st_ino, row["id"]))
    theirs = copy.read_bytes()

    result = undo_run(ledger, run_id, trash_fn=trash_into(tmp_path / "trash"))

    assert copy.read_bytes() == theirs and copy.stat().st_ino == st.st_ino  # the original stays where they put it
    assert [e for e, _m in result.errors] == [str(copy)]
    assert "not the copy photosorter made" in result.errors[0][1]
    assert str(copy) not in result.trashed and len(result.trashed) >= 2  # the run's real copies did go
    # and a correction's "move the copy to the trash" refuses it the same way
    again = undo_copies_of(ledger, d.path, d.sha256, [d.categories[0]], trash_fn=trash_into(tmp_path / "trash"))
    assert copy.exists() and str(copy) not in again.trashed
    ledger.close()


def test_our_own_copy_still_goes_after_its_permissions_or_links_changed(tmp_path):
    """What the check above must not refuse: the copy photosorter made, chmod-ed and hard-linked
    by a backup tool (neither changes its modification time)."""
    plan = hand_plan(tmp_path / "card", tmp_path / "Sorted", n=2, sidecars_every=100)
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    run_id = apply_plan(plan, ledger).run_id
    d = plan.decisions[0]
    copy = tmp_path / "Sorted" / d.categories[0] / d.path.name
    copy.chmod(0o600)
    os.link(copy, tmp_path / "backup-link")
    result = undo_run(ledger, run_id, trash_fn=trash_into(tmp_path / "trash"))
    assert str(copy) in result.trashed and not result.errors and not copy.exists()
    ledger.close()


def test_two_undos_of_the_same_copies_at_once_take_turns_and_neither_fails(tmp_path):
    """Attack: Ctrl+Z pressed again while an undo ran, or "Move the copy to the trash" answered
    during one: both undos verified the same file, the second one's move found it gone and the
    job died with FileNotFoundError, leaving the run half undone (10 of 10 tries)."""
    for trial in range(4):
        root = tmp_path / str(trial)
        plan = hand_plan(root / "card", root / "Sorted", n=12, sidecars_every=3)
        ledger = Ledger(root / "ledger.sqlite3")
        run_id = apply_plan(plan, ledger).run_id
        originals = snapshot(root / "card")
        d = plan.decisions[0]
        start, out = threading.Barrier(2), []

        def undo(kind: str, root: Path = root, d=d, start=start, out=out, run_id=run_id) -> None:
            mine = Ledger(root / "ledger.sqlite3")
            start.wait()
            try:
                trash = trash_into(root / f"trash-{kind}")
                r = (undo_run(mine, run_id, trash_fn=trash) if kind == "run"
                     else undo_copies_of(mine, d.path, d.sha256, d.categories, trash_fn=trash))
                out.append((kind, len(r.trashed), r.errors))
            except Exception as exc:  # the failure this test is about
                out.append((kind, "failed", repr(exc)))
            finally:
                mine.close()

        threads = [threading.Thread(target=undo, args=(k,)) for k in ("run", "photo")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(k for k, *_ in out) == ["photo", "run"] and all(n != "failed" and not e for _k, n, e in out), out
        assert sum(n for _k, n, _e in out) == len(ledger.copies(run_id, ("undone",)))  # each copy trashed once
        assert ledger.run(run_id).state == "undone" and not ledger.copies(run_id, ("done",))
        assert not list((root / "Sorted").rglob("*.*")) and not list((root / "Sorted").rglob(".pending-*"))
        assert snapshot(root / "card") == originals
        ledger.close()


def test_a_copy_parked_by_a_killed_undo_is_undone_by_the_next_undo_even_while_a_run_holds_recovery_off(tmp_path):
    """Attack: an undo killed with a copy parked in .pending-undo-…, then the next undo while
    another process applied a run (recovery skipped): it took the copy for gone, marked it undone,
    and the copy stayed hidden in the park folder for good."""
    import fcntl

    plan = hand_plan(tmp_path / "card", tmp_path / "Sorted", n=2, sidecars_every=100)
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    run_id = apply_plan(plan, ledger).run_id

    def killed(_path):
        raise SystemExit("killed")  # like a kill: nothing after it runs, the copy stays parked

    with pytest.raises(SystemExit):
        undo_run(ledger, run_id, trash_fn=killed)
    assert ledger.parked_copies()
    held = os.open(ledger.lock_path, os.O_RDWR)
    fcntl.flock(held, fcntl.LOCK_SH)  # another process applying a run: recovery stays off
    try:
        result = undo_run(ledger, run_id, trash_fn=trash_into(tmp_path / "trash"))
    finally:
        os.close(held)
    assert not result.errors and not result.already_gone and len(result.trashed) == 4  # 2 photos, MOV, xmp
    assert not [p for p in (tmp_path / "Sorted").rglob("*") if p.is_file()]
    assert not list((tmp_path / "Sorted").rglob(".pending-undo-*")) and not ledger.parked_copies()
    assert ledger.run(run_id).state == "undone"
    ledger.close()


def test_a_copy_the_trash_refused_whose_name_was_taken_meanwhile_stays_journaled_as_parked(tmp_path):
    """Attack: the trash failed and the copy's name had been taken meanwhile, so it could not be put
    back; the journal forgot it was parked (the message said "left in place") and recovery never
    looked for it."""
    from photosorter.sorting.sorter import recover

    plan = hand_plan(tmp_path / "card", tmp_path / "Sorted", n=1, sidecars_every=1000)
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    run_id = apply_plan(plan, ledger).run_id
    copy = next(p for p in (tmp_path / "Sorted").rglob("*.jpg"))
    ours = copy.read_bytes()

    def no_trash_and_the_name_taken(_path):
        copy.write_bytes(b"someone else's new file")  # the name is taken while we were trashing
        raise OSError("no trash on this volume")

    result = undo_run(ledger, run_id, trash_fn=no_trash_and_the_name_taken)
    said = dict(result.errors)
    assert "its name is taken meanwhile: it is in" in said[str(copy)]  # (its sidecars went back: "left in place")
    assert copy.read_bytes() == b"someone else's new file"  # theirs, untouched
    assert len(ledger.parked_copies()) == 1  # journaled: recovery knows where ours is
    copy.unlink()  # the name is free again
    recover(ledger)
    assert copy.read_bytes() == ours and not ledger.parked_copies()
    ledger.close()


def test_a_folder_or_link_in_place_of_a_lock_file_is_refused_by_name(tmp_path):
    """Attack: a folder named like `<ledger>.undo-lock` gave "Something went wrong:
    IsADirectoryError"; a symbolic link there made its target file wherever it pointed."""
    from photosorter.errors import StateFileError

    plan = hand_plan(tmp_path / "card", tmp_path / "Sorted", n=1, sidecars_every=1000)
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    run_id = apply_plan(plan, ledger).run_id
    lock = tmp_path / "ledger.sqlite3.undo-lock"
    lock.mkdir()
    with pytest.raises(StateFileError, match=r"lock file .*undo-lock.*not a plain file"):
        undo_run(ledger, run_id, trash_fn=trash_into(tmp_path / "trash"))
    lock.rmdir()
    elsewhere = tmp_path / "elsewhere" / "made-by-the-link"
    lock.symlink_to(elsewhere)
    with pytest.raises(StateFileError):
        undo_run(ledger, run_id, trash_fn=trash_into(tmp_path / "trash"))
    assert not elsewhere.exists() and not elsewhere.parent.exists()
    lock.unlink()
    assert len(undo_run(ledger, run_id, trash_fn=trash_into(tmp_path / "trash")).trashed) >= 1  # and then it works
    ledger.close()


def test_recovery_does_not_take_the_user_s_own_file_for_a_copy_it_never_published(tmp_path):
    """Attack: a run killed between journaling a copy and writing it; before the next start the
    user moved the original in under the copy's name (same bytes). Recovery called it a finished
    copy — with the user's file's inode and date — and undo then trashed the user's only original."""
    from photosorter.sorting.sorter import recover

    plan = hand_plan(tmp_path / "card", tmp_path / "Sorted", n=1, sidecars_every=1000)
    d = plan.decisions[0]
    taken = time.time() - 86_400  # the photo was taken yesterday
    os.utime(d.path, (taken, taken))
    from photosorter.sorting import fault

    pid = os.fork()
    if pid == 0:  # a sort killed (SIGKILL) at its first crash point: right after the intent is journaled
        try:
            fault._target, fault._count = 1, 0
            apply_plan(plan, Ledger(tmp_path / "ledger.sqlite3"))
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status)
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    assert ledger.copies(states=("intent",))
    dest = tmp_path / "Sorted" / d.categories[0] / d.path.name
    assert not dest.exists()
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(d.path), str(dest))  # the user's own move (mv keeps the date)
    theirs = dest.read_bytes()
    recover(ledger)
    assert not ledger.copies(states=("done",))  # not taken for ours
    run_id = ledger.runs()[0].id
    result = undo_run(ledger, run_id, trash_fn=trash_into(tmp_path / "trash"))
    assert not result.trashed and dest.read_bytes() == theirs
    ledger.close()


def test_a_correction_never_takes_the_movie_and_sidecar_of_another_photo_copied_later_under_the_same_name(tmp_path):
    """Attack: camera names repeat. Photo A's copy cats/IMG_0000.jpg was deleted by hand; a later
    run copied photo B there under the same name, with its Live Photo movie and .xmp; B's photo
    copy went too. "Not cats" on A then trashed B's movie and sidecar: companions were matched by
    the copy's path."""
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    first = hand_plan(tmp_path / "card1", tmp_path / "Sorted", n=1, seed=1, sidecars_every=1000)
    a = first.decisions[0]
    a.categories, a.companions, a.companion_shas = ["cats"], [], {}
    apply_plan(first, ledger)
    cats = tmp_path / "Sorted" / "cats"
    (cats / a.path.name).unlink()  # by hand
    second = hand_plan(tmp_path / "card2", tmp_path / "Sorted", n=1, seed=2, sidecars_every=1)
    second.decisions[0].categories = ["cats"]
    apply_plan(second, ledger)
    assert (cats / a.path.name).exists() and {p.suffix for p in cats.iterdir()} == {".jpg", ".MOV", ".xmp"}
    (cats / a.path.name).unlink()  # B's photo copy by hand too; its movie and sidecar stay
    result = undo_copies_of(ledger, a.path, a.sha256, ["cats"], trash_fn=trash_into(tmp_path / "trash"))
    assert result.trashed == [] and sorted(p.suffix for p in cats.iterdir()) == [".MOV", ".xmp"]
    ledger.close()


def test_an_undo_waits_for_another_process_s_undo_but_not_for_ever(tmp_path, monkeypatch):
    """Attack: with another process's undo holding the lock (its trash stuck), an undo waited with
    no limit and no word. It now gives up after a while and says why; nothing is undone."""
    import fcntl

    from photosorter.errors import StateFileError
    from photosorter.sorting import ledger as ledger_module

    plan = hand_plan(tmp_path / "card", tmp_path / "Sorted", n=1, sidecars_every=1000)
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    run_id = apply_plan(plan, ledger).run_id
    other = os.open(tmp_path / "ledger.sqlite3.undo-lock", os.O_RDONLY | os.O_CREAT, 0o600)
    fcntl.flock(other, fcntl.LOCK_EX)  # "another photosorter" undoing
    monkeypatch.setattr(ledger_module, "UNDO_WAIT_S", 1)
    try:
        with pytest.raises(StateFileError, match="Another photosorter has been undoing"):
            undo_run(ledger, run_id, trash_fn=trash_into(tmp_path / "trash"))
        assert ledger.run(run_id).state == "done" and len(list((tmp_path / "Sorted").rglob("*.*"))) >= 1
    finally:
        os.close(other)
    assert undo_run(ledger, run_id, trash_fn=trash_into(tmp_path / "trash")).trashed  # its turn now
    ledger.close()
