"""The one way benchmark scripts hand over their figures: JSON on stdout, and in ``--out`` if given."""

from __future__ import annotations

import json
from pathlib import Path


def emit(report: dict, out: Path | None) -> None:
    text = json.dumps(report, indent=2)
    print(text)
    if out:
        out.write_text(text + "\n")
