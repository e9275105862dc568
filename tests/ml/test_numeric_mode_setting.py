"""A bad PHOTOSORTER_NUMERIC_MODE is the user's setting to fix (exit 2 naming it), not a bug (exit 1)."""

from __future__ import annotations

import pytest

from photosorter import errors
from photosorter.cli import main
from photosorter.ml import numerics
from photosorter.samples import make_labeled_folder


def test_unknown_mode_in_the_environment_is_a_usage_error_naming_the_variable(monkeypatch):
    monkeypatch.setenv("PHOTOSORTER_NUMERIC_MODE", "fp64")
    with pytest.raises(errors.UsageError) as info:
        numerics.choose_mode(None, "tiny")
    assert "PHOTOSORTER_NUMERIC_MODE" in str(info.value) and "'fp64'" in str(info.value)
    with pytest.raises(errors.UsageError):
        numerics.choose_mode("half", "tiny")  # a caller's explicit mode: same branch of the tree


def test_cli_reports_a_bad_numeric_mode_as_usage_not_as_a_bug(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PHOTOSORTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PHOTOSORTER_NUMERIC_MODE", "fp64")
    data = make_labeled_folder(tmp_path / "train", per_category=3, none=0, seed=1)
    code = main(["train", str(data), "--backbone", "tiny", "--no-cache", "-q", "--model", str(tmp_path / "m.safetensors")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "PHOTOSORTER_NUMERIC_MODE" in err and "internal error" not in err
