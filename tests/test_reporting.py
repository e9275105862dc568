"""The terminal rendering shared by the CLI and the demo: JSON of result objects, metrics tables."""

from __future__ import annotations

import io
import json
from pathlib import Path

from photosorter.reporting import metrics_table, print_json


class _Result:
    def as_dict(self) -> dict:
        return {"copied": 3, "failed": []}


def test_json_renders_result_objects_through_as_dict_and_paths_as_text():
    out = io.StringIO()
    print_json({"summary": _Result(), "dest": Path("/photos/sorted"), "name": "Mökki"}, out)
    assert json.loads(out.getvalue()) == {"summary": {"copied": 3, "failed": []}, "dest": "/photos/sorted",
                                          "name": "Mökki"}
    assert "Mökki" in out.getvalue()  # readable text, not \\u escapes


def test_metrics_table_lists_every_category_and_the_overall_scores():
    m = {"per_category": {"ants": {"precision": 0.9, "recall": 0.8, "f1": 0.847, "threshold": 0.42, "support": 12},
                          "bees": {"precision": 1.0, "recall": 0.5, "f1": 0.667, "threshold": 0.5, "support": 4}},
         "micro_f1": 0.8, "macro_f1": 0.757, "exact_match": 0.75, "top1": 0.9, "none_correct": 0.95}
    lines = metrics_table(m, "Held-out photos:").splitlines()
    assert lines[0] == "Held-out photos:"
    assert lines[2].split() == ["ants", "0.900", "0.800", "0.847", "0.42", "12"]
    assert lines[3].split() == ["bees", "1.000", "0.500", "0.667", "0.50", "4"]
    assert "macro-F1 0.757" in lines[4] and "top-1 0.900" in lines[4]
    assert lines[5].endswith("0.950")
