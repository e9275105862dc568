"""sorting reads the scorer through photosorter.scoring_types, never through ml (layers contract):
the ML results must be told apart by those protocols exactly as by their own classes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from photosorter.ml.scoring import PhotoFailure, PhotoScore
from photosorter.scoring_types import FailedPhoto


def test_a_failure_is_a_failed_photo_and_a_score_is_not():
    assert isinstance(PhotoFailure(Path("a.jpg"), "truncated", "The file is cut short."), FailedPhoto)
    assert not isinstance(PhotoScore(Path("a.jpg"), "0" * 64, {"cats": 0.9}, ["cats"]), FailedPhoto)


def test_planning_a_sort_loads_no_ml_module():
    code = ("import sys\nimport photosorter.sorting.sorter, photosorter.sorting.service\n"
            "print(sorted(m for m in sys.modules if m.startswith('photosorter.ml') or m == 'torch'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
