"""The command line, end to end: exit codes, what each command prints (text and JSON), and
that errors reach the user as messages, never tracebacks. The engines behind the commands are
tested in tests/sorting and tests/ml; here only what the CLI adds."""

from __future__ import annotations

import errno
import json
import os
import shutil

import numpy as np
import pytest
from sorting_helpers import non_utf8_name, snapshot

from photosorter.cli import main
from photosorter.samples import make_labeled_folder, make_photo

# --------------------------------------------------------------------------- exit codes


@pytest.mark.parametrize("argv, code", [
    (["train", "/nonexistent/dir", "--model", "/tmp/x.safetensors", "--backbone", "tiny"], 3),
    (["evaluate", "/tmp", "--model", "/nonexistent.safetensors"], 4),
    (["train"], 2),
    (["frobnicate"], 2),
])
def test_exit_codes(argv, code, capsys):
    try:
        got = main(argv)
    except SystemExit as exc:  # argparse usage errors
        got = exc.code
    assert got == code
    err = capsys.readouterr().err
    assert "Traceback" not in err



def test_cli_kinds_flag_is_a_usage_error_when_unknown(capsys):
    from photosorter.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["sort", "x", "--model", "m", "--dest", "d", "--kinds", "sound"])
    assert exc.value.code == 2 and "Unknown kind of file sound" in capsys.readouterr().err



def test_cli_reports_a_bad_numeric_mode_as_usage_not_as_a_bug(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PHOTOSORTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PHOTOSORTER_NUMERIC_MODE", "fp64")
    data = make_labeled_folder(tmp_path / "train", per_category=3, none=0, seed=1)
    code = main(["train", str(data), "--backbone", "tiny", "--no-cache", "-q", "--model", str(tmp_path / "m.safetensors")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "PHOTOSORTER_NUMERIC_MODE" in err and "internal error" not in err



# --------------------------------------------------------------------------- train, explain


def test_cli_train_continues_from_the_model_it_replaces_unless_told_not_to(tmp_path, capsys):
    import json
    import shutil

    from photosorter.cli import main
    from photosorter.samples import make_labeled_folder

    ex = make_labeled_folder(tmp_path / "ex", per_category=8, rel_size=0.6, seed=7)
    model = tmp_path / "m.safetensors"
    base = ["train", str(ex), "--model", str(model), "--backbone", "tiny", "--views", "1", "--json", "-q"]
    assert main(base) == 0
    assert json.loads(capsys.readouterr().out)["continued_folds"] == 0
    more = make_labeled_folder(tmp_path / "more", per_category=1, rel_size=0.6, seed=8)
    shutil.copy(next((more / "red_disc").glob("*.jpg")), ex / "red_disc" / "new.jpg")
    assert main(base) == 0
    assert json.loads(capsys.readouterr().out)["continued_folds"] >= 1
    assert main([*base, "--from-scratch"]) == 0
    assert json.loads(capsys.readouterr().out)["continued_folds"] == 0



def test_explain_cli_json(tmp_path, capsys):
    root = make_labeled_folder(tmp_path / "ex", per_category=6, rel_size=0.6, seed=4)
    model = tmp_path / "m.safetensors"
    assert main(["train", str(root), "--model", str(model), "--backbone", "tiny", "-q"]) == 0
    capsys.readouterr()
    photo = next((root / "red_disc").glob("*.jpg"))
    assert main(["explain", str(photo), "--model", str(model), "--out", str(tmp_path / "out"), "--json", "-q"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["scores"]) == {"blue_square", "red_disc"}
    grid = np.array(doc["heatmap"]["red_disc"])
    assert grid.ndim == 2 and grid.min() >= 0 and grid.max() <= 1
    for name in ("blue_square", "red_disc"):
        for f in doc["files"][name].values():
            assert (tmp_path / "out").joinpath(f.split("/")[-1]).is_file()
    # the check covers the categories the photo goes to; the others keep plain Grad-CAM
    for name in ("blue_square", "red_disc"):
        checked = name in doc["categories"]
        if not checked:
            assert doc["method"][name] == "augmented" and doc["faithfulness"][name] is None
            assert name not in doc["flagged"]
        else:
            assert doc["method"][name] == ("occlusion" if name in doc["flagged"] else "augmented")



# --------------------------------------------------------------------------- sort, undo, runs


def test_cli_sort_dry_run_undo_runs_json(tmp_path, capsys, scorer):
    import json

    from photosorter.cli import main

    model = tmp_path / "m.safetensors"
    scorer.classifier.save(model)
    roll = make_labeled_folder(tmp_path / "roll", per_category=3, rel_size=0.6, seed=40)
    dest = tmp_path / "out"
    assert main(["sort", str(roll), "--model", str(model), "--dest", str(dest), "--dry-run", "--json", "-q"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["dry_run"] and len(dry["photos"]) == 6 and not dest.exists()
    assert main(["sort", str(roll), "--model", str(model), "--dest", str(dest), "--json", "-q"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert run["copies_made"] == dry["counts"].get("copy", 0) == len(snapshot(dest))
    assert main(["runs", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert runs[0]["id"] == run["run_id"] and runs[0]["state"] == "done"



def test_non_utf8_names_sort_dry_run_and_undo_through_the_cli(tmp_path, scorer, capsys):
    from photosorter.cli import main

    model = tmp_path / "m.safetensors"
    scorer.classifier.save(model)
    src = tmp_path / "card"
    src.mkdir()
    odd = non_utf8_name(src, 5)
    make_photo(src / "plain.jpg", ("red_disc",), 6, rel_size=0.6)
    dest = tmp_path / "out"
    base = ["--model", str(model), "--dest", str(dest), "-q"]
    assert main(["sort", str(src), *base, "--dry-run"]) == 0
    assert main(["sort", str(src), *base, "--dry-run", "--json"]) == 0
    capsys.readouterr()
    assert main(["sort", str(src), *base, "--json"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert not run["failed"], run["failed"]
    names = {os.fsencode(n) for n in os.listdir(os.fsencode(dest / "red_disc"))} if (dest / "red_disc").exists() else set()
    assert any(b"caf" in n for n in names), names
    assert odd.exists()
    assert main(["undo", "--json"]) == 0
    assert snapshot(dest) == {}



@pytest.fixture
def model_file(tmp_path, scorer):
    model = tmp_path / "m.safetensors"
    scorer.classifier.save(model)
    return model



def test_cli_sort_of_a_missing_folder_exits_3(tmp_path, model_file):
    from photosorter.cli import main

    assert main(["sort", str(tmp_path / "no" / "such"), "--model", str(model_file), "--dest", str(tmp_path / "o"), "-q"]) == 3



def test_cli_sort_exits_nonzero_when_every_copy_failed(tmp_path, model_file, monkeypatch, capsys):
    from photosorter.cli import main
    from photosorter.sorting import copier

    roll = make_labeled_folder(tmp_path / "roll", per_category=2, rel_size=0.6, seed=40)

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(copier, "publish", full)
    assert main(["sort", str(roll), "--model", str(model_file), "--dest", str(tmp_path / "o"), "-q"]) == 3
    assert "failed" in capsys.readouterr().out



def test_cli_summaries_have_per_category_counts_and_second_undo_says_already_undone(tmp_path, model_file, capsys, scorer):
    from photosorter.cli import main

    roll = make_labeled_folder(tmp_path / "roll", per_category=3, rel_size=0.6, seed=41)
    args = [str(roll), "--model", str(model_file), "--dest", str(tmp_path / "o"), "-q"]
    assert main(["sort", *args, "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert main(["sort", *args]) == 0
    real = capsys.readouterr().out
    for c in scorer.classifier.categories:
        n = len(os.listdir(tmp_path / "o" / c)) if (tmp_path / "o" / c).exists() else 0
        assert f"{c}: {n}" in dry and f"{c}: {n}" in real, (dry, real)
    assert main(["undo"]) == 0
    capsys.readouterr()
    assert main(["undo"]) != 0
    assert "already undone" in capsys.readouterr().err


def test_cli_undo_json_exits_3_when_copies_could_not_be_undone(tmp_path, model_file, capsys):
    """A script reading `undo --json` was told 0 (success) although nothing was undone."""
    roll = make_labeled_folder(tmp_path / "roll", per_category=3, rel_size=0.6, seed=42)
    dest = tmp_path / "o"
    assert main(["sort", str(roll), "--model", str(model_file), "--dest", str(dest), "-q"]) == 0
    capsys.readouterr()
    folder = next(d for d in dest.iterdir() if d.is_dir() and any(d.iterdir()))
    shutil.move(str(folder), str(tmp_path / "elsewhere"))
    os.symlink(roll, folder)  # the category folder swapped for a link: undo refuses every copy in it
    assert main(["undo", "--json"]) == 3
    out = json.loads(capsys.readouterr().out)
    assert out["errors"] and all("symbolic link" in e[1] if isinstance(e, list) else True for e in out["errors"])


def test_cli_sort_names_a_sidecar_it_left_behind(tmp_path, model_file, capsys):
    """A symlinked .xmp was named only by --dry-run; the sort itself copied the photo and said nothing."""
    roll = make_labeled_folder(tmp_path / "roll", per_category=3, rel_size=0.6, seed=43)
    photos = sorted(p for p in roll.rglob("*.jpg"))
    private = tmp_path / "private.xmp"
    private.write_bytes(b"<x:xmpmeta/>")
    for p in photos:
        os.symlink(private, p.with_suffix(".xmp"))
    dest = tmp_path / "o"
    assert main(["sort", str(roll), "--model", str(model_file), "--dest", str(dest), "-q"]) == 0
    out = capsys.readouterr().out
    copied = {p.name for p in dest.rglob("*.jpg")}
    assert copied and not list(dest.rglob("*.xmp"))
    for name in copied:
        assert "note: " in out and f"{name[:-4]}.xmp is a symbolic link" in out, out


def test_cli_sort_without_model_and_dest_sorts_as_the_app_does(tmp_path, scorer, capsys):
    """Tryout: after renaming Food to Meals in the app (its copies stay in Sorted/Food), `sort
    --dest Sorted` planned photos into a new Sorted/Meals, and a plain `sort SOURCE` was refused
    for want of --model and --dest. Without both it now uses the app's model and folders, so the
    command line and the app agree on where a category's photos are."""
    from photosorter.config import app_paths
    from photosorter.library import Library
    from photosorter.session import Session

    src = tmp_path / "roll"
    for i in range(3):
        make_photo(src / f"IMG_{i}.jpg", ("red_disc",), 40 + i, rel_size=0.6)
    before = snapshot(src)
    assert main(["sort", str(src), "--dry-run", "-q"]) == 2  # no app model yet: said how to get one
    assert "no trained model yet" in capsys.readouterr().err
    lib = Library()
    lib.backbone = "tiny"
    for c in scorer.classifier.categories:
        lib.add_category(c)
    kept = tmp_path / "Sorted" / "Discs"  # the folder a rename kept
    lib.set_folder("red_disc", kept)
    lib.save()
    scorer.classifier.save(app_paths().models_dir / "current.safetensors")
    assert main(["sort", str(src), "--dry-run", "--json", "-q"]) == 0
    rows = json.loads(capsys.readouterr().out)["photos"]
    assert {r["file"] for r in rows if r["categories"] == ["red_disc"]} == {str(src / f"IMG_{i}.jpg") for i in range(3)}
    assert {d for r in rows for d in r["destinations"]} == {str(kept)}
    assert main(["sort", str(src), "-q"]) == 0
    assert sorted(p.name for p in kept.iterdir()) == ["IMG_0.jpg", "IMG_1.jpg", "IMG_2.jpg"]
    assert not (tmp_path / "Sorted" / "red_disc").exists()
    assert snapshot(src) == before  # originals untouched
    plan = Session(Library.load()).plan([str(src)])  # the app agrees: nothing left to copy
    assert plan.counts()["copy"] == 0 and plan.counts()["already_sorted"] == 3
    assert main(["sort", str(src), "--model", str(tmp_path / "m.safetensors"), "-q"]) == 2
    assert "Give both --model and --dest" in capsys.readouterr().err
