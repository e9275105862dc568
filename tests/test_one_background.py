"""One stored background everywhere (issue 13, item 2): a photo gets identical scores and
decisions from predict (alone or in a batch), explain, the sort preview, sort, the watcher and the
preview pane's core call, because all of them measure familiarity against the same stored picture
of "the user's photos in general"."""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from photosorter.cli import main
from photosorter.ml import backbones
from photosorter.ml.background import StoredBackground
from photosorter.ml.features import Embedder
from photosorter.ml.scoring import Scorer
from photosorter.ml.training import TrainOptions, train_from_folder
from photosorter.samples import make_labeled_folder
from photosorter.sorting.paths import category_folder
from photosorter.sorting.service import WatchService


@pytest.fixture
def tiny_with_concepts(monkeypatch):
    """The tiny test network plus a fixed random 'ImageNet head', so models get the concept gate
    (the gate whose background matters) without real weights."""
    original = backbones.BACKBONES["tiny"]

    def build(weights):
        fx = original.builder(weights)
        head = torch.nn.Linear(64, 40)
        gen = torch.Generator().manual_seed(5)
        with torch.no_grad():
            head.weight.copy_(torch.randn(40, 64, generator=gen) * 0.5)
            head.bias.zero_()
        fx.imagenet_head = head
        return fx

    monkeypatch.setitem(backbones.BACKBONES, "tiny", dataclasses.replace(original, builder=build))


def cli_json(capsys, *argv) -> dict:
    code = main([str(a) for a in argv])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def test_every_path_gives_the_same_scores_and_decisions(tmp_path, capsys, tiny_with_concepts):
    ex = make_labeled_folder(tmp_path / "ex", per_category=8, rel_size=0.6, seed=31)
    roll = make_labeled_folder(tmp_path / "roll", per_category=10, rel_size=0.6, none=10, seed=32)
    model = tmp_path / "m.safetensors"
    train_from_folder(ex, Embedder("tiny"), TrainOptions(views=1, folds=3, max_epochs=15)).classifier.save(model)
    photos = sorted(roll.rglob("*.jpg"))
    assert len(photos) == 30

    # Before any sort, nothing is stored: predict uses the flat prior.
    dry = cli_json(capsys, "sort", roll, "--model", model, "--dest", tmp_path / "D1", "--dry-run", "--json", "-q")
    assert dry["background_photos"] == 30  # the sort preview read the folder first and stored it
    by_file = {Path(r["file"]).resolve(): r for r in dry["photos"]}
    stored = StoredBackground.for_app(Embedder("tiny").model.weights_id, 64)
    assert len(stored) == 30

    batch = cli_json(capsys, "predict", *photos, "--model", model, "--json", "-q")
    assert batch["background_photos"] == 30
    off = cli_json(capsys, "predict", *photos, "--model", model, "--json", "-q", "--background", "off")
    assert any(a["scores"] != b["scores"] for a, b in zip(batch["photos"], off["photos"])), "background had no effect"

    some = [photos[0], photos[11], photos[25]]
    scorer = Scorer.from_file(model)  # the app's scorer: same stored background
    for p in some:
        row = by_file[p.resolve()]
        want_scores, want_cats = row["scores"], row["categories"] + row["already_in"]
        alone = cli_json(capsys, "predict", p, "--model", model, "--json", "-q")["photos"][0]
        in_batch = next(r for r in batch["photos"] if Path(r["file"]) == p)
        ex_json = cli_json(capsys, "explain", p, "--model", model, "--out", tmp_path / "x", "--method", "gradcam",
                           "--json", "-q")
        pane = scorer.scores_of(p)  # the GUI preview pane's core call
        for got in (alone["scores"], in_batch["scores"], ex_json["scores"]):
            assert got == want_scores
        assert pane.tolist() == [want_scores[c] for c in scorer.classifier.categories]
        assert alone["categories"] == in_batch["categories"] == ex_json["categories"] == sorted(want_cats, key=list(want_scores).index)

    # sort (for real) copies exactly what the preview showed; sorting again adds nothing to the background
    cli_json(capsys, "sort", roll, "--model", model, "--dest", tmp_path / "D1", "--json", "-q")
    for p in photos:
        row = by_file[p.resolve()]
        copied = {c for c in scorer.classifier.categories
                  if any(f.read_bytes() == p.read_bytes() for f in category_folder(tmp_path / "D1", c).glob("*"))}
        assert copied == set(row["categories"]), p
    assert len(StoredBackground.for_app(Embedder("tiny").model.weights_id, 64)) == 30

    # the watcher: a camera roll folder receiving the same photos decides the same way
    watched, dest2 = tmp_path / "watched", tmp_path / "D2"
    watched.mkdir()
    dests = {c: category_folder(dest2, c) for c in scorer.classifier.categories}
    service = WatchService([watched], Scorer.from_file(model), tmp_path / "ledger.sqlite3", dests,
                           stable_seconds=0.3, rescan_seconds=1.0, tick_seconds=0.05)
    batches = []
    service.on_batch = batches.append
    service.start()
    try:
        for p in some:
            shutil.copy(p, watched / p.name)
        end = time.monotonic() + 60
        while sum(b.copied_photos + b.no_category for b in batches) < len(some) and time.monotonic() < end:
            time.sleep(0.05)
    finally:
        service.stop()
    for p in some:
        copied = {c for c, d in dests.items() if (d.exists() and any(f.read_bytes() == p.read_bytes() for f in d.iterdir()))}
        assert copied == set(by_file[p.resolve()]["categories"]), p


def test_background_is_bounded_order_free_and_persistent(tmp_path):
    rng = np.random.default_rng(0)
    items = [(f"{i:064x}"[::-1], rng.normal(size=8).astype(np.float32)) for i in range(50)]
    a = StoredBackground(tmp_path / "a.npz", "w", 8, limit=20)
    b = StoredBackground(None, "w", 8, limit=20)
    assert a.add(items[:30]) == 20 and a.add(items[30:]) > 0
    b.add(list(reversed(items)))
    assert len(a) == len(b) == 20
    assert a.version == b.version and np.array_equal(a.features(), b.features())  # same set, any order
    assert a.add(items) == 0  # nothing new: sorting a folder twice changes nothing
    a.save()
    again = StoredBackground(tmp_path / "a.npz", "w", 8, limit=20)
    assert again.version == a.version and np.array_equal(again.features(), a.features())
    assert len(StoredBackground(tmp_path / "a.npz", "other-weights", 8)) == 0  # never mixes backbones
    (tmp_path / "a.npz").write_bytes(b"garbage")
    assert len(StoredBackground(tmp_path / "a.npz", "w", 8)) == 0  # damaged: ignored, rebuilt later
