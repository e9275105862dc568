"""Configuration read from the environment: one place, clear errors."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import jpeg_bytes

from photosorter.cli import main

PACKAGE = Path(__file__).resolve().parents[1] / "photosorter"


def test_photosorter_home_is_read_in_config_only():
    readers = [p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
               if re.search(r"environ[^\n]*PHOTOSORTER_HOME|\"PHOTOSORTER_HOME\"", p.read_text(encoding="utf-8"))]
    assert readers == ["config.py"]


def test_bad_numeric_mode_is_a_usage_error(tmp_path, monkeypatch, capsys):
    photo = tmp_path / "a.jpg"
    photo.write_bytes(jpeg_bytes())
    model = Path(__file__).parent / "data" / "model_format1_tiny.safetensors"
    monkeypatch.setenv("PHOTOSORTER_NUMERIC_MODE", "turbo")
    code = main(["predict", str(photo), "--model", str(model), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "internal error" not in err
    assert "PHOTOSORTER_NUMERIC_MODE" in err and "'turbo'" in err and "fp32" in err
