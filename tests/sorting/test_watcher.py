"""The watcher hands over complete photos exactly once, whatever the events do."""

from __future__ import annotations

import io
import shutil
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sorting_helpers import contents, wait_for

from photosorter.sorting.ledger import Ledger
from photosorter.sorting.paths import category_folder
from photosorter.sorting.service import WatchService
from photosorter.sorting.watcher import FolderWatcher

FAST = dict(stable_seconds=0.4, rescan_seconds=1.0, tick_seconds=0.05)


def jpeg(seed: int, size=(48, 32)) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(buf, "JPEG", quality=85)
    return buf.getvalue()


class Collector:
    def __init__(self):
        self.batches: list[list[Path]] = []
        self.snapshots: dict[Path, bytes] = {}
        self.lock = threading.Lock()

    def __call__(self, paths):
        with self.lock:
            self.batches.append(paths)
            for p in paths:
                self.snapshots[p] = p.read_bytes()

    @property
    def counts(self) -> Counter:
        with self.lock:
            return Counter(p for b in self.batches for p in b)


def test_slow_writer_handed_over_once_and_only_when_complete(tmp_path):
    got = Collector()
    w = FolderWatcher([tmp_path], got, **FAST)
    w.start()
    try:
        data = jpeg(1, (800, 600))
        target = tmp_path / "slow.jpg"
        with open(target, "wb") as fh:
            for i in range(0, len(data), len(data) // 10 + 1):
                fh.write(data[i : i + len(data) // 10 + 1])
                fh.flush()
                time.sleep(0.3)  # ~3 s in all, longer than the stability window per chunk pause
        assert wait_for(lambda: got.counts[target] >= 1)
        time.sleep(1.5)  # a rescan or two later
    finally:
        w.stop()
    assert got.counts[target] == 1
    assert got.snapshots[target] == data, "handed over before it was complete"


def test_temp_then_rename_and_temp_names_ignored(tmp_path):
    got = Collector()
    w = FolderWatcher([tmp_path], got, **FAST)
    w.start()
    try:
        for name in (".pending-abc.jpg", "x.jpg.part", "y.tmp", "._z.jpg", ".hidden.jpg", ".syncthing.a.jpg.tmp"):
            (tmp_path / name).write_bytes(jpeg(2))
        part = tmp_path / "IMG_0001.jpg.part"
        part.write_bytes(jpeg(3))
        part.rename(tmp_path / "IMG_0001.jpg")
        assert wait_for(lambda: got.counts[tmp_path / "IMG_0001.jpg"] == 1)
        time.sleep(1.5)
    finally:
        w.stop()
    assert set(got.counts) == {tmp_path / "IMG_0001.jpg"}


def test_catch_up_at_start_and_folder_removed_and_recreated(tmp_path):
    folder = tmp_path / "DCIM"
    folder.mkdir()
    (folder / "while_stopped.jpg").write_bytes(jpeg(4))
    got = Collector()
    warnings: list[str] = []
    w = FolderWatcher([folder], got, on_warning=warnings.append, **FAST)
    w.start()
    try:
        assert wait_for(lambda: got.counts[folder / "while_stopped.jpg"] == 1)
        shutil.rmtree(folder)  # SD card pulled
        assert wait_for(lambda: any("not available" in m for m in warnings))
        folder.mkdir()  # card back
        (folder / "after_return.jpg").write_bytes(jpeg(5))
        assert wait_for(lambda: got.counts[folder / "after_return.jpg"] == 1)
        (folder / "live_event.jpg").write_bytes(jpeg(6))
        assert wait_for(lambda: got.counts[folder / "live_event.jpg"] == 1)
    finally:
        w.stop()


def test_polling_fallback_with_visible_warning(tmp_path):
    def broken():
        raise OSError("inotify watch limit reached")
    got = Collector()
    warnings: list[str] = []
    w = FolderWatcher([tmp_path], got, on_warning=warnings.append, observer_factory=broken, **FAST)
    w.start()
    try:
        assert w.polling and any("not available" in m and "instead" in m for m in warnings)
        (tmp_path / "a.jpg").write_bytes(jpeg(7))
        assert wait_for(lambda: got.counts[tmp_path / "a.jpg"] == 1)
    finally:
        w.stop()


@pytest.mark.timeout(300)
def test_burst_of_5000_files_sorted_exactly_once(tmp_path, scorer):
    src, dest = tmp_path / "roll", tmp_path / "Sorted"
    src.mkdir()
    dests = {c: category_folder(dest, c) for c in scorer.classifier.categories}
    ledger_path = tmp_path / "ledger.sqlite3"
    batches = []
    service = WatchService([src], scorer, ledger_path, dests, on_batch=batches.append, **FAST)
    service.start()
    try:
        n = 5000
        for i in range(n):
            img = Image.new("RGB", (32, 24), (200 + i % 50, 20, (i * 7) % 255))
            img.putpixel((i % 32, (i // 32) % 24), (i % 256, (i // 256) % 256, 0))
            img.save(src / f"IMG_{i:05d}.jpg", quality=95)
        def all_seen() -> bool:
            led = Ledger(ledger_path)
            try:
                return led.db.execute("SELECT COUNT(DISTINCT path) FROM seen").fetchone()[0] >= n
            finally:
                led.close()
        assert wait_for(all_seen, timeout=240), "not every file was looked at"
    finally:
        service.stop()
    led = Ledger(ledger_path)
    per_path = led.db.execute("SELECT path, COUNT(*) FROM seen GROUP BY path").fetchall()
    assert len(per_path) == n and all(c == 1 for _p, c in per_path), "a file was handled twice"
    done = led.db.execute("SELECT COUNT(*), COUNT(DISTINCT source_sha256 || category) FROM copies WHERE state='done'").fetchone()
    assert done[0] == done[1], "a photo was copied twice into a category"
    copied_files = sum(len(v) for v in contents(dest).values())
    assert copied_files == done[0]
    assert led.integrity_ok()


def test_small_watch_batches_use_the_camera_roll_seen_so_far_as_background(tmp_path, scorer):
    """After a catch-up of 25 photos, a lone new photo is judged against the stored background
    that holds all 26 (persisted, so the next start of the app sees them too)."""
    from photosorter.ml.background import StoredBackground
    from photosorter.ml.scoring import Scorer
    from photosorter.samples import make_labeled_folder

    emb = scorer.embedder
    bg = StoredBackground(tmp_path / "bg.npz", emb.model.weights_id, emb.spec.feature_dim)
    watching = Scorer(scorer.classifier, emb, bg)
    src = make_labeled_folder(tmp_path / "roll", per_category=10, rel_size=0.6, none=5, seed=70)
    dests = {c: category_folder(tmp_path / "Sorted", c) for c in scorer.classifier.categories}
    service = WatchService([src], watching, tmp_path / "ledger.sqlite3", dests, **FAST)
    service.start()
    try:
        assert wait_for(lambda: len(bg) == 25, timeout=60)
        (src / "late.jpg").write_bytes(jpeg(99))
        assert wait_for(lambda: len(bg) == 26, timeout=60)
    finally:
        service.stop()
    assert len(StoredBackground(tmp_path / "bg.npz", emb.model.weights_id, emb.spec.feature_dim)) == 26
