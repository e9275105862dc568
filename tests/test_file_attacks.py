"""Follow-ups of the file-handling attack on issue 14: what the attacker did, driven for real
(symlinks, FIFOs, swapped folders), and what photosorter must do instead."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path

import pytest

from photosorter.cli import main
from photosorter.samples import make_labeled_folder

MODEL = Path(__file__).parent / "data" / "model_format1_tiny.safetensors"  # tiny backbone, two categories


@pytest.fixture
def scorer():
    """The stored tiny model (no training: these tests are about files, not scores)."""
    from photosorter.ml.scoring import Scorer

    return Scorer.from_file(MODEL)

# --------------------------------------------------------------------------- 1. symlinked category folders


def _private_photos(tmp_path: Path, examples: Path, name: str) -> Path:
    """Move ``examples/name`` to a private place and leave a symlink to it in its stead."""
    private = tmp_path / "private" / "secret"
    private.parent.mkdir()
    shutil.move(examples / name, private)
    os.symlink(private, examples / name)
    return private


def _reads_below(monkeypatch, folder: Path) -> list[str]:
    """Every open() of a file below ``folder`` (resolved), by the code under test."""
    import builtins

    opened: list[str] = []
    real_open, real_os_open = builtins.open, os.open
    target = os.path.realpath(folder)

    def watch(p):
        if isinstance(p, (str, os.PathLike)) and os.path.realpath(p).startswith(target + os.sep):
            opened.append(os.fspath(p))

    def _open(p, *a, **k):
        watch(p)
        return real_open(p, *a, **k)

    def _os_open(p, *a, **k):
        watch(p)
        return real_os_open(p, *a, **k)

    monkeypatch.setattr(builtins, "open", _open)
    monkeypatch.setattr(os, "open", _os_open)
    return opened


def test_train_refuses_a_symlinked_category_folder_with_exit_3_and_reads_nothing_through_it(tmp_path, monkeypatch, capsys):
    ex = make_labeled_folder(tmp_path / "train", per_category=4, none=1, rel_size=0.5, seed=3)
    private = _private_photos(tmp_path, ex, "blue_square")
    opened = _reads_below(monkeypatch, private)
    model = tmp_path / "m.safetensors"
    code = main(["train", str(ex), "--model", str(model), "--backbone", "tiny", "--no-cache", "-q"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "'blue_square'" in err and "symbolic link" in err and str(private) in err
    assert "internal error" not in err
    assert opened == [] and not model.exists()


def test_evaluate_refuses_a_symlinked_category_folder_with_exit_3(tmp_path, monkeypatch, capsys):
    model = MODEL
    test = make_labeled_folder(tmp_path / "test", per_category=3, none=1, rel_size=0.6, seed=5)
    private = _private_photos(tmp_path, test, "red_disc")
    opened = _reads_below(monkeypatch, private)
    code = main(["evaluate", str(test), "--model", str(model), "--no-cache", "-q", "--json"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "'red_disc'" in err and "symbolic link" in err
    assert opened == []


def test_evaluate_in_text_names_a_linked_photo_it_did_not_read(tmp_path, capsys):
    """Attack finding: `evaluate` without --json dropped the folder's warnings (a symlinked photo
    was left out without a word)."""
    test = make_labeled_folder(tmp_path / "test", per_category=3, none=0, rel_size=0.6, seed=6)
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(next((test / "red_disc").glob("*.jpg")).read_bytes())
    (test / "red_disc" / "linked.jpg").symlink_to(outside)
    code = main(["evaluate", str(test), "--model", str(MODEL), "--no-cache", "-q"])
    out = capsys.readouterr().out
    assert code == 0
    assert "note:" in out and "linked.jpg" in out


def test_a_category_folder_swapped_for_a_symlink_while_it_is_listed_is_refused(tmp_path, monkeypatch):
    from photosorter.errors import InputError
    from photosorter.ml import dataset

    ex = make_labeled_folder(tmp_path / "train", per_category=3, none=0, rel_size=0.5, seed=4)
    private = tmp_path / "private"
    make_labeled_folder(private, per_category=2, none=0, rel_size=0.5, seed=9)
    real_walk = dataset.walk_photos

    def swapping_walk(sources, *a, **k):
        folder = Path(next(iter(sources)))
        if folder.name == "red_disc":  # the attacker's swap, after the check, before the listing
            shutil.move(folder, tmp_path / "moved")
            os.symlink(private / "red_disc", folder)
        return real_walk(sources, *a, **k)

    monkeypatch.setattr(dataset, "walk_photos", swapping_walk)
    with pytest.raises(InputError, match="symbolic link"):
        dataset.scan_labeled_folder(ex)


def test_a_symlinked_folder_that_is_no_category_of_the_model_is_only_ignored(tmp_path):
    from photosorter.ml.dataset import scan_labeled_folder

    ex = make_labeled_folder(tmp_path / "test", per_category=2, none=0, rel_size=0.5, seed=6)
    (tmp_path / "other").mkdir()
    os.symlink(tmp_path / "other", ex / "holiday")
    photos = scan_labeled_folder(ex, ["red_disc", "blue_square"])
    assert len(photos.paths) == 4
    assert any("holiday" in w and "ignored" in w for w in photos.warnings)


# --------------------------------------------------------------------------- 2, 3. what lies in the ledger's place


def _cli(capsys, *argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert "internal error" not in err and "Traceback" not in err, err
    return code, err


def test_an_empty_ledger_is_reported_by_name_not_silently_started_over(capsys, tmp_path):
    from photosorter.config import app_paths

    ledger = app_paths().ledger_file
    ledger.parent.mkdir(parents=True)
    ledger.write_bytes(b"")
    wal = ledger.with_name(ledger.name + "-wal")
    wal.write_bytes(b"\x37\x7f\x06\x82" + b"\0" * 60)  # a log that may still hold part of the history
    for command in (["runs"], ["undo"], ["sort", tmp_path, "--model", MODEL, "--dest", tmp_path / "d", "-q"]):
        code, err = _cli(capsys, *command)
        assert code == 3, err
        assert str(ledger) in err and "empty (0 bytes)" in err and "backup" in err and wal.name in err
    assert ledger.read_bytes() == b"" and wal.stat().st_size == 64  # nothing started over on top, log kept


def test_a_new_ledger_appears_whole_or_not_at_all(tmp_path, monkeypatch):
    from photosorter.errors import StateFileError
    from photosorter.sorting import ledger_file
    from photosorter.sorting.ledger import Ledger

    path = tmp_path / "ledger.sqlite3"

    def dies(_db):  # the process dying between SQLite creating the file and writing its header
        raise KeyboardInterrupt

    monkeypatch.setattr(Ledger, "_prepare", staticmethod(dies))
    with pytest.raises(KeyboardInterrupt):
        Ledger(path)
    assert not path.exists() and list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    monkeypatch.setattr(ledger_file.os, "link", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        Ledger(path)
    assert not path.exists() and list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    Ledger(path).close()
    assert path.stat().st_size > 0
    path.write_bytes(b"")
    with pytest.raises(StateFileError, match="empty"):
        Ledger(path)


def test_ledgers_killed_while_being_created_are_never_left_empty(tmp_path):
    import random
    import signal
    import subprocess
    import sys
    import time

    from photosorter.sorting.ledger import Ledger

    child = ("import sys; from pathlib import Path; from photosorter.sorting.ledger import Ledger\n"
             "d = Path(sys.argv[1]); print('ready', flush=True)\n"
             "for i in range(100000): Ledger(d / f'l{i:05d}.sqlite3').close()\n")
    rng = random.Random(5)
    for k in range(4):
        folder = tmp_path / f"k{k}"
        folder.mkdir()
        proc = subprocess.Popen([sys.executable, "-c", child, str(folder)], stdout=subprocess.PIPE,
                                env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.3, 0.8))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        made = sorted(folder.glob("l*.sqlite3"))
        assert made, "the child made no ledger before it was killed"
        for p in made:
            assert p.stat().st_size > 0, f"{p.name} was left empty by a kill"
            Ledger(p).close()  # and every one opens


def test_a_fifo_in_place_of_the_ledger_is_named_as_such_not_as_a_full_disk(capsys, tmp_path):
    from photosorter.config import app_paths

    ledger = app_paths().ledger_file
    ledger.parent.mkdir(parents=True)
    os.mkfifo(ledger)
    code, err = _cli(capsys, "runs")  # checked before any open: nothing can block (pytest's timeout guards)
    assert code == 3, err
    assert str(ledger) in err and "named pipe (FIFO)" in err and "remove or rename it" in err
    assert "full" not in err


@pytest.mark.parametrize("what", ["folder", "fifo_wal"])
def test_a_folder_or_a_fifo_companion_in_place_of_the_ledger_is_named(capsys, tmp_path, what):
    from photosorter.config import app_paths

    ledger = app_paths().ledger_file
    ledger.parent.mkdir(parents=True)
    if what == "folder":
        ledger.mkdir()
        bad, kind = ledger, "but it is a folder"
    else:
        from photosorter.sorting.ledger import Ledger

        Ledger(ledger).close()  # a real ledger
        bad, kind = ledger.with_name(ledger.name + "-wal"), "but it is a named pipe (FIFO)"
        bad.unlink(missing_ok=True)
        os.mkfifo(bad)
    code, err = _cli(capsys, "runs")
    assert code == 3 and str(bad) in err and kind in err


@pytest.mark.parametrize("what", ["dangling", "user_database", "wal"])
def test_a_link_in_place_of_the_ledger_is_refused_never_written_through(capsys, tmp_path, what):
    """Attack finding: a ledger path that was a symbolic link was followed — a dangling link made a
    journal outside photosorter's folder, a link to another SQLite database of the user's got
    photosorter's tables added and was switched to WAL (by `runs`), a linked -wal was called
    "read-only"."""
    import hashlib
    import sqlite3

    from photosorter.config import app_paths

    ledger = app_paths().ledger_file
    ledger.parent.mkdir(parents=True)
    if what == "dangling":
        target = tmp_path / "outside.db"
        ledger.symlink_to(target)
        bad = ledger
    elif what == "user_database":
        target = tmp_path / "bookmarks.db"
        db = sqlite3.connect(target)
        db.execute("create table bookmarks(x)")
        db.commit()
        db.close()
        ledger.symlink_to(target)
        bad = ledger
    else:
        from photosorter.sorting.ledger import Ledger

        Ledger(ledger).close()
        target = tmp_path / "precious.txt"
        target.write_text("mine")
        bad = ledger.with_name(ledger.name + "-wal")
        bad.unlink(missing_ok=True)
        bad.symlink_to(target)
    before = hashlib.sha256(target.read_bytes()).hexdigest() if target.exists() else None
    for command in (["runs"], ["undo"]):
        code, err = _cli(capsys, *command)
        assert code == 3, err
        assert str(bad) in err and "symbolic link" in err and str(target) in err
    after = hashlib.sha256(target.read_bytes()).hexdigest() if target.exists() else None
    assert after == before  # not created, not changed


# --------------------------------------------------------------------------- 4. a watched folder swapped for a link

FAST = dict(stable_seconds=0.3, rescan_seconds=0.5, tick_seconds=0.05)


def _jpeg(seed: int) -> bytes:
    from conftest import jpeg_bytes

    return jpeg_bytes(size=(48, 32), seed=seed)


def test_a_watched_folder_swapped_for_a_symlink_is_not_followed(tmp_path):
    from sorting_helpers import wait_for

    from photosorter.sorting.watcher import FolderWatcher

    folder, private = tmp_path / "DCIM", tmp_path / "private"
    folder.mkdir()
    private.mkdir()
    (folder / "mine.jpg").write_bytes(_jpeg(1))
    (private / "secret.jpg").write_bytes(_jpeg(2))
    handed: list[Path] = []
    warnings: list[str] = []
    real = Path(os.path.realpath(folder))
    w = FolderWatcher([folder], handed.extend, on_warning=warnings.append, **FAST)
    w.start()
    try:
        assert wait_for(lambda: len(handed) == 1, 20)
        shutil.move(folder, tmp_path / "DCIM.old")
        os.symlink(private, folder)  # the attacker's swap while the watcher runs
        (private / "secret2.jpg").write_bytes(_jpeg(3))  # and a "new photo" behind the link
        assert wait_for(lambda: any(str(folder) in m and "symbolic link" in m for m in warnings), 20), warnings
        time.sleep(1.5)  # several rescans and re-arms later
    finally:
        w.stop()
    assert handed == [real / "mine.jpg"]  # nothing from behind the link
    assert folder in w.refused and not w.owns(private / "secret.jpg")


def test_a_folder_still_there_after_a_card_swap_keeps_being_watched(tmp_path):
    """The same real place again (card out, card in): watched as before, no refusal."""
    from sorting_helpers import wait_for

    from photosorter.sorting.watcher import FolderWatcher

    card = tmp_path / "card"
    card.mkdir()
    link = tmp_path / "roll"
    os.symlink(card, link)  # the user chose a link: its target is what is watched
    handed: list[Path] = []
    w = FolderWatcher([link], handed.extend, **FAST)
    w.start()
    try:
        shutil.rmtree(card)
        assert wait_for(lambda: w.available.get(link) is False, 20)
        card.mkdir()
        (card / "a.jpg").write_bytes(_jpeg(4))
        assert wait_for(lambda: [p.name for p in handed] == ["a.jpg"], 20)
    finally:
        w.stop()
    assert getattr(w, "refused", {}) == {}


def _service(tmp_path, scorer, src, **kw):
    from photosorter.sorting.paths import category_folder
    from photosorter.sorting.service import WatchService

    dests = {c: category_folder(tmp_path / "Sorted", c) for c in scorer.classifier.categories}
    batches, warnings = [], []
    service = WatchService([src], scorer, tmp_path / "ledger.sqlite3", dests, on_batch=batches.append,
                           on_warning=warnings.append, **FAST, **kw)
    return service, batches, warnings


def _sorted_bytes(tmp_path) -> set[bytes]:
    return {p.read_bytes() for p in (tmp_path / "Sorted").rglob("*") if p.is_file()}


def test_a_watched_folder_swapped_between_the_watchers_check_and_the_plan_copies_nothing_from_the_link(tmp_path, scorer):
    """Planning resolves folders again; the service re-checks the plan against the watched folders'
    real locations, so photos behind a link swapped in at that moment are never copied."""
    from sorting_helpers import wait_for

    from photosorter.samples import make_photo

    src, private = tmp_path / "roll", tmp_path / "private"
    src.mkdir()
    private.mkdir()
    make_photo(src / "IMG_1.jpg", ("red_disc",), 1, (96, 96), 0.6)
    make_photo(private / "IMG_1.jpg", ("red_disc",), 2, (96, 96), 0.6)  # same name, private content
    secret = (private / "IMG_1.jpg").read_bytes()
    service, batches, warnings = _service(tmp_path, scorer, src)
    real_sort = service._sort_batch

    def swap_then_sort(paths):
        if not (tmp_path / "roll.old").exists():
            shutil.move(src, tmp_path / "roll.old")
            os.symlink(private, src)
        real_sort(paths)

    service.watcher.on_ready = swap_then_sort
    service.start()
    try:
        assert wait_for(lambda: batches, 30)
        time.sleep(1.5)
    finally:
        service.stop()
    assert secret not in _sorted_bytes(tmp_path)
    assert any("symbolic link" in m for m in warnings), warnings


# --------------------------------------------------------------------------- 5. ledger connections of the watcher


def _open_ledger_fds(ledger: Path) -> int:
    names = {str(ledger), f"{ledger}-wal", f"{ledger}-shm"}
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # closed meanwhile (the listing's own descriptor)
            n += os.readlink(f"/proc/self/fd/{fd}") in names
    return n


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors through /proc")
def test_stopping_the_watch_service_closes_its_ledger_connections_also_when_restarted(tmp_path, scorer):
    import gc

    from sorting_helpers import wait_for

    from photosorter.samples import make_photo

    src = tmp_path / "roll"
    src.mkdir()
    ledger = tmp_path / "ledger.sqlite3"
    service, batches, warnings = _service(tmp_path, scorer, src)
    gc.disable()  # a collection must not close what the service left open
    try:
        for round_ in range(2):  # the same service stopped and started again (as the app re-arms it)
            service.start()
            try:
                make_photo(src / f"IMG_{round_}.jpg", ("red_disc",), 10 + round_, (96, 96), 0.6)
                assert wait_for(lambda n=round_: len(batches) > n, 30), warnings
            finally:
                service.stop()
            assert _open_ledger_fds(ledger) == 0, f"round {round_}: connections left open"
    finally:
        gc.enable()
    assert not warnings, warnings
    assert [s.copied_photos + s.no_category for s in batches] == [1, 1]
