"""photosorter's own files damaged or unwritable: a clear message naming the file, the right exit
code, never "internal error (this is a bug)" — each through the CLI."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from conftest import jpeg_bytes

from photosorter.cli import main
from photosorter.config import app_paths
from photosorter.state_files import FAULT_ENV

MODEL = Path(__file__).parent / "data" / "model_format1_tiny.safetensors"


@pytest.fixture
def photos(tmp_path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        (src / f"p{i}.jpg").write_bytes(jpeg_bytes(seed=i))
    return src


def cli(capsys, *argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert "internal error" not in err and "Traceback" not in err, err
    return code, err


def make_ledger(capsys, photos, tmp_path) -> Path:
    assert cli(capsys, "sort", photos, "--model", MODEL, "--dest", tmp_path / "dest", "-q")[0] == 0
    ledger = app_paths().ledger_file
    db = sqlite3.connect(ledger)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.executemany("INSERT INTO failures VALUES (1, ?, 'x', ?, 0)", [(f"f{i}", "m" * 2000) for i in range(200)])
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return ledger


def test_garbage_ledger_is_named_kept_and_exits_3(capsys, tmp_path):
    ledger = app_paths().ledger_file
    ledger.parent.mkdir(parents=True)
    ledger.write_bytes(b"\x13garbage, not SQLite" * 300)
    before = ledger.read_bytes()
    for command in (["runs"], ["undo"]):
        code, err = cli(capsys, *command)
        assert code == 3
        assert str(ledger) in err and "damaged" in err and "Move it aside" in err
    assert ledger.read_bytes() == before  # the only record of the copies is never replaced behind the user's back


def test_truncated_ledger_exits_3(capsys, photos, tmp_path):
    ledger = make_ledger(capsys, photos, tmp_path)
    for f in ledger.parent.glob(ledger.name + "-*"):
        f.unlink()
    data = ledger.read_bytes()
    ledger.write_bytes(data[: len(data) // 2])
    code, err = cli(capsys, "runs")
    assert code == 3 and str(ledger) in err and "damaged" in err


def test_read_only_ledger_exits_3(capsys, photos, tmp_path, monkeypatch):
    ledger = make_ledger(capsys, photos, tmp_path)
    monkeypatch.setenv(FAULT_ENV, "read_only")
    code, err = cli(capsys, "sort", photos, "--model", MODEL, "--dest", tmp_path / "dest2", "-q", "--no-cache")
    assert code == 3 and str(ledger) in err and "read-only" in err
    assert not (tmp_path / "dest2").exists() or not any((tmp_path / "dest2").rglob("*.jpg"))


def test_full_home_disk_exits_3_and_copies_nothing_unjournaled(capsys, photos, tmp_path, monkeypatch):
    monkeypatch.setenv(FAULT_ENV, "full")
    code, err = cli(capsys, "sort", photos, "--model", MODEL, "--dest", tmp_path / "dest", "-q")
    assert code == 3
    assert str(app_paths().ledger_file) in err and "full" in err and "Free some space" in err
    assert not any((tmp_path / "dest").rglob("*.jpg"))
    assert sorted(p.name for p in photos.iterdir()) == ["p0.jpg", "p1.jpg", "p2.jpg"]


def test_corrupt_feature_cache_is_moved_aside_and_rebuilt(capsys, photos, tmp_path, caplog):
    cache = app_paths().feature_cache_file
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"not a database at all " * 500)
    damaged = cache.read_bytes()
    with caplog.at_level(logging.WARNING):
        code, _ = cli(capsys, "predict", *sorted(photos.iterdir()), "--model", MODEL, "--json", "-q")
    assert code == 0
    kept = list(cache.parent.glob("features.sqlite3.damaged-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == damaged
    assert any(str(cache) in r.getMessage() and "moved aside" in r.getMessage() for r in caplog.records)
    rows = sqlite3.connect(cache).execute("SELECT count(*) FROM features").fetchone()[0]
    assert rows == 3  # rebuilt and in use


def test_feature_cache_damaged_mid_run_does_not_stop_the_command(capsys, photos, tmp_path, monkeypatch):
    from photosorter.ml import features

    calls = {"n": 0}
    real = features._connect_cache

    def flaky(path):
        db = real(path)
        calls["n"] += 1
        if calls["n"] == 1:
            db.close()
            return sqlite3.connect(":memory:", check_same_thread=False)  # no tables: every statement fails
        return db

    monkeypatch.setattr(features, "_connect_cache", flaky)
    code, _ = cli(capsys, "predict", *sorted(photos.iterdir()), "--model", MODEL, "--json", "-q")
    assert code == 0


def test_a_checkpoint_in_flight_is_not_mistaken_for_truncation(tmp_path):
    """CI regression: the watcher's writer checkpointed while a reader opened the ledger; page 1
    (the new page count) lands before the pages that grow the file, and the reader called a healthy
    journal "truncated". The shortfall only counts when it stays."""
    import threading
    import time

    from photosorter.state_files import truncation

    db_path = tmp_path / "ledger.sqlite3"
    db = sqlite3.connect(db_path)
    db.execute("CREATE TABLE t (x BLOB)")
    db.executemany("INSERT INTO t VALUES (?)", [(b"x" * 4000,) for _ in range(50)])
    db.commit()
    db.close()
    whole = db_path.read_bytes()
    db_path.write_bytes(whole[: len(whole) // 2])  # header claims the full size: mid-checkpoint
    assert truncation(db_path, settle_s=0.0) is not None  # what the old, one-look check saw

    finisher = threading.Timer(0.2, lambda: db_path.write_bytes(whole))  # the checkpoint completes
    finisher.start()
    started = time.monotonic()
    assert truncation(db_path) is None
    finisher.join()
    assert time.monotonic() - started < 1.0

    db_path.write_bytes(whole[: len(whole) // 2])  # a real truncation stays put and is reported
    assert "truncated" in (truncation(db_path) or "")


def test_a_checkpoint_killed_midway_leaves_a_usable_ledger(capsys, photos, tmp_path):
    """kill -9 (or power loss) during a WAL checkpoint: page 1 (the new page count) is in the
    file, the pages that grow it are still only in the -wal log. SQLite reads them from the log
    and the journal is whole; it was called "truncated" for ever, and sort/undo refused to run."""
    import subprocess
    import sys

    ledger = make_ledger(capsys, photos, tmp_path)
    grow = (
        "import sqlite3, os, sys\n"
        "db = sqlite3.connect(sys.argv[1]); db.execute('PRAGMA wal_autocheckpoint=0')\n"
        "db.executemany(\"INSERT INTO failures VALUES (1, ?, 'x', ?, 0)\","
        " [(f'g{i}', 'm' * 2000) for i in range(400)])\n"
        "db.commit(); os._exit(0)  # killed: the log is never checkpointed\n"
    )
    subprocess.run([sys.executable, "-c", grow, str(ledger)], check=True)
    log = ledger.with_name(ledger.name + "-wal").read_bytes()
    page_size = int.from_bytes(log[8:12], "big")
    offset, page_one = 32, None
    while offset + 24 + page_size <= len(log):  # the checkpoint got as far as page 1
        if int.from_bytes(log[offset:offset + 4], "big") == 1:
            page_one = log[offset + 24:offset + 24 + page_size]
        offset += 24 + page_size
    assert page_one is not None
    with open(ledger, "r+b") as fh:
        fh.write(page_one)
    code, err = cli(capsys, "runs")
    assert code == 0, err
    assert cli(capsys, "sort", photos, "--model", MODEL, "--dest", tmp_path / "dest", "-q")[0] == 0
    db = sqlite3.connect(ledger)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT COUNT(*) FROM failures").fetchone()[0] == 600


def test_a_truncated_ledger_with_a_stale_log_is_still_truncated(capsys, photos, tmp_path):
    """The log only vouches for pages it holds: a file cut short next to a log of other pages stays
    'damaged'."""
    ledger = make_ledger(capsys, photos, tmp_path)
    db = sqlite3.connect(ledger)
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("UPDATE failures SET message = 'n' WHERE path = 'f0'")  # one small page in the log
    db.commit()
    keep = {p: p.read_bytes() for p in ledger.parent.glob(ledger.name + "-*")}
    db.close()
    for p, data in keep.items():
        p.write_bytes(data)
    data = ledger.read_bytes()
    ledger.write_bytes(data[: len(data) // 2])
    code, err = cli(capsys, "runs")
    assert code == 3 and "damaged" in err


def test_opening_a_second_connection_keeps_this_process_locks(tmp_path):
    """The truncation check read the file with open()/close(); closing any descriptor of a file drops
    every POSIX lock the process holds on it. With the watcher's ledger connection open, another
    process's `sort`/`undo` then thought it was the last connection, checkpointed and deleted the
    log under the watcher: a concurrent sort + watch + undo left "database disk image is malformed"."""
    import subprocess
    import sys

    from photosorter.state_files import connect

    path = tmp_path / "ledger.sqlite3"
    first = sqlite3.connect(path)
    first.execute("PRAGMA journal_mode=WAL")
    first.execute("CREATE TABLE t (x)")
    first.execute("INSERT INTO t VALUES (1)")
    first.commit()
    first.execute("SELECT COUNT(*) FROM t").fetchone()  # a reader of the log: holds its locks
    second = connect(path, "the sort journal (ledger)")  # e.g. a batch of the watcher in this process
    other = ("import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute('INSERT INTO t VALUES (2)');"
             " db.commit(); db.close()")
    subprocess.run([sys.executable, "-c", other, str(path)], check=True)
    assert path.with_name(path.name + "-wal").exists()  # the other process saw it was not the last one
    second.close()
    first.close()
