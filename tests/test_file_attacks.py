"""Follow-ups of the file-handling attack on issue 14: what the attacker did, driven for real
(symlinks, FIFOs, swapped folders), and what photosorter must do instead."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from photosorter.cli import main
from photosorter.samples import make_labeled_folder

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


def test_evaluate_refuses_a_symlinked_category_folder_with_exit_3(tmp_path, scorer, monkeypatch, capsys):
    model = tmp_path / "m.safetensors"
    scorer.classifier.save(model)
    test = make_labeled_folder(tmp_path / "test", per_category=3, none=1, rel_size=0.6, seed=5)
    private = _private_photos(tmp_path, test, "red_disc")
    opened = _reads_below(monkeypatch, private)
    code = main(["evaluate", str(test), "--model", str(model), "--no-cache", "-q", "--json"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "'red_disc'" in err and "symbolic link" in err
    assert opened == []


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
    for command in (["runs"], ["undo"], ["sort", tmp_path, "--model", Path(__file__).parent / "data" /
                                         "model_format1_tiny.safetensors", "--dest", tmp_path / "d", "-q"]):
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
    import subprocess
    import sys

    from photosorter.config import app_paths

    ledger = app_paths().ledger_file
    ledger.parent.mkdir(parents=True)
    os.mkfifo(ledger)
    run = subprocess.run([sys.executable, "-m", "photosorter", "runs"], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert run.returncode == 3, run.stderr
    assert str(ledger) in run.stderr and "named pipe (FIFO)" in run.stderr and "remove or rename it" in run.stderr
    assert "full" not in run.stderr and "internal error" not in run.stderr


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
