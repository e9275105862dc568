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
