"""The layering rule: only photosorter.gui may import Qt."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import photosorter

PACKAGE = Path(photosorter.__file__).parent
QT_ROOTS = {"PySide6", "PyQt5", "PyQt6", "PySide2", "shiboken6", "qtpy", "superqt", "pytestqt"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_no_qt_imports_outside_gui_package():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "gui":
            continue
        bad = _imports(path) & QT_ROOTS
        if bad:
            offenders.append(f"{rel}: {sorted(bad)}")
    assert not offenders, "Qt imported outside photosorter/gui: " + "; ".join(offenders)


def test_importing_the_core_loads_no_qt():
    core = [
        "photosorter.cli", "photosorter.imaging", "photosorter.config", "photosorter.errors",
        "photosorter.ml.training", "photosorter.ml.scoring", "photosorter.ml.classifier",
    ]
    code = "import sys\n" + "".join(f"import {m}\n" for m in core) + (
        f"bad=[m for m in sys.modules if m.split('.')[0] in {QT_ROOTS!r}]\nprint(bad)\nsys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
