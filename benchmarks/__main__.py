"""``python -m benchmarks NAME [args]``: run one benchmark or experiment; without NAME, list them."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
GROUPS = {"benchmarks": "speed, memory and accuracy", "benchmarks.experiments": "experiments and README-image tools"}


def available() -> dict[str, str]:
    """NAME → module, for every runnable script (public modules with a ``main``) in both groups."""
    found: dict[str, str] = {}
    for package in GROUPS:
        folder = HERE.joinpath(*package.split(".")[1:])
        for info in pkgutil.iter_modules([str(folder)]):
            if not info.name.startswith("_") and not info.ispkg:
                found[info.name] = f"{package}.{info.name}"
    return found


def _summary(module: str) -> str:
    """The first line of a script's docstring, read without importing it (imports are heavy)."""
    import ast

    path = HERE.joinpath(*module.split(".")[1:]).with_suffix(".py")
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return doc.splitlines()[0] if doc else ""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    names = available()
    if not argv or argv[0] in ("-h", "--help", "list"):
        print("usage: python -m benchmarks NAME [args]   (NAME --help for its options)")
        for package, title in GROUPS.items():
            print(f"\n{title}:")
            for name, module in sorted(names.items()):
                if module.rsplit(".", 1)[0] == package:
                    print(f"  {name:<16} {_summary(module)}")
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in names:
        print(f"unknown benchmark {name!r}; run `python -m benchmarks` for the list", file=sys.stderr)
        return 2
    module = importlib.import_module(names[name])
    sys.argv = [f"python -m benchmarks {name}", *rest]  # each script parses sys.argv itself
    return int(module.main() or 0)


if __name__ == "__main__":
    sys.exit(main())
