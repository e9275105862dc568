"""Build the photosorter desktop bundle (PyInstaller, one folder) and check that it works.

    python packaging/build_bundle.py [--resnet50-weights FILE] [--out DIR]

Run it with the Python of an environment that has photosorter's pinned dependencies and
PyInstaller (``make bundle`` sets that up). The script

1. stages the optional ResNet50 weights file (torchvision's ``resnet50-11ad3fa6.pth`` or a
   ``.safetensors`` of it) so the bundle works offline with that backbone too,
2. runs ``packaging/photosorter.spec`` and times it,
3. smoke-tests the result outside the source tree: ``--version``, and a headless train/sort run
   with the tiny backbone (fast, no weights needed),
4. writes ``build-info.json`` (time, size, largest parts, versions) next to the bundle.

Why a folder and not one file: a one-file build unpacks gigabytes of torch into a temp folder
on every start; the folder starts in about two seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "packaging" / "photosorter.spec"
RESNET50_FILENAME = "resnet50-11ad3fa6.pth"


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def stage_weights(weights: Path | None, staging: Path) -> Path | None:
    if weights is None:
        return None
    if not weights.is_file():
        sys.exit(f"build_bundle: weights file not found: {weights}")
    staging.mkdir(parents=True, exist_ok=True)
    target = staging / (RESNET50_FILENAME if weights.suffix == ".pth" else "resnet50.safetensors")
    # check it really is ResNet50 before shipping it to users
    sys.path.insert(0, str(ROOT))
    from photosorter.ml.backbones import build_backbone

    build_backbone("resnet50", weights)
    shutil.copy2(weights, target)
    return staging


def smoke_test(exe: Path) -> dict[str, float]:
    """Run the built app the way a user would, outside the source tree."""
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="photosorter-bundle-check-") as tmp:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env["PHOTOSORTER_HOME"] = str(work / "home")

        def run(*args: str) -> str:
            t0 = time.perf_counter()
            done = subprocess.run([str(exe), *args], cwd=work, env=env, capture_output=True, text=True)
            timings[args[0]] = round(time.perf_counter() - t0, 2)
            if done.returncode != 0:
                sys.exit(f"build_bundle: `photosorter {' '.join(args)}` failed in the bundle:\n{done.stderr}")
            return done.stdout

        version = run("--version").strip()
        sys.path.insert(0, str(ROOT))
        from photosorter.samples import make_labeled_folder

        make_labeled_folder(work / "ex", per_category=6, rel_size=0.6, seed=1)
        make_labeled_folder(work / "roll", per_category=3, rel_size=0.6, seed=2)
        run("train", "ex", "--model", "m.safetensors", "--backbone", "tiny", "-q")
        report = json.loads(run("sort", "roll", "--model", "m.safetensors", "--dest", "Sorted", "--json", "-q"))
        copies = [p for p in (work / "Sorted").rglob("*.jpg")]
        if report["failed"] or report["copies_made"] != len(copies) or not copies:
            sys.exit(f"build_bundle: the bundle's sort run did not copy what it reported: {report}")
        print(f"smoke test passed: {version}; train + sort copied {len(copies)} photos")
    return timings


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resnet50-weights", type=Path, help="ship this ResNet50 weights file inside the bundle")
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "bundle", help="build folder (default build/bundle)")
    ap.add_argument("--skip-check", action="store_true", help="do not smoke-test the result")
    args = ap.parse_args()

    try:
        pyinstaller_version = metadata.version("pyinstaller")
    except metadata.PackageNotFoundError:
        sys.exit("build_bundle: PyInstaller is not installed here: pip install -e '.[bundle]' (or run `make bundle`)")

    out = args.out.resolve()
    dist, work = out / "dist", out / "work"
    env = dict(os.environ)
    staged = stage_weights(args.resnet50_weights, out / "weights-staging")
    if staged:
        env["PHOTOSORTER_BUNDLE_WEIGHTS"] = str(staged)
    else:
        env.pop("PHOTOSORTER_BUNDLE_WEIGHTS", None)

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
                    "--distpath", str(dist), "--workpath", str(work), str(SPEC)], check=True, env=env, cwd=ROOT)
    build_s = time.perf_counter() - t0

    app_dir = dist / "photosorter"
    exe = app_dir / ("photosorter.exe" if sys.platform == "win32" else "photosorter")
    internal = app_dir / "_internal"
    parts = sorted(((folder_size(p) if p.is_dir() else p.stat().st_size, p.name)
                    for p in internal.iterdir() if not p.is_symlink()), reverse=True)[:6]
    info = {
        "built": time.strftime("%Y-%m-%d %H:%M:%S"),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "pyinstaller": pyinstaller_version,
        "torch": metadata.version("torch"),
        "torchvision": metadata.version("torchvision"),
        "build_seconds": round(build_s, 1),
        "bundle_bytes": folder_size(app_dir),
        "largest_parts_mb": {name: round(size / 1e6) for size, name in parts},
        "resnet50_weights_included": bool(staged),
        "executable": str(exe),
    }
    if not args.skip_check:
        info["smoke_test_seconds"] = smoke_test(exe)
    (out / "build-info.json").write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
