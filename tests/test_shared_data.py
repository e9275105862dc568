"""The lookup of ../shared/data for the tests that need real photos (tests/shared_data.py).

Regression: test_faces.py looked only at <checkout>/../shared/data, so CI's fresh clone in /tmp
skipped the real-face tests although the data sat beside the repository it was cloned from.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from shared_data import ENV, shared_data

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin", "HOME": str(cwd)})


@pytest.fixture
def layout(tmp_path, monkeypatch):
    """work/repo (a git repository) with work/shared/data/faces beside it, as on the dev machine."""
    monkeypatch.delenv(ENV, raising=False)
    work = tmp_path / "work"
    (work / "shared" / "data" / "faces").mkdir(parents=True)
    repo = work / "repo"
    repo.mkdir()
    _git("init", "-q", cwd=repo)
    (repo / "f").write_text("x")
    _git("add", "f", cwd=repo)
    _git("commit", "-q", "-m", "x", cwd=repo)
    return tmp_path, work, repo


def test_found_beside_the_checkout(layout):
    _, work, repo = layout
    assert shared_data("faces", repo)[0] == work / "shared" / "data" / "faces"


def test_a_fresh_clone_elsewhere_finds_the_data_beside_its_origin(layout):
    tmp, work, repo = layout
    (tmp / "ci").mkdir()
    _git("clone", "-q", str(repo), str(tmp / "ci" / "clone"), cwd=tmp)
    found, _ = shared_data("faces", tmp / "ci" / "clone")
    assert found is not None and found.resolve() == (work / "shared" / "data" / "faces").resolve()


def test_a_worktree_elsewhere_finds_the_data_beside_its_main_repository(layout):
    tmp, work, repo = layout
    _git("worktree", "add", "-q", str(tmp / "elsewhere" / "wt"), cwd=repo)
    found, _ = shared_data("faces", tmp / "elsewhere" / "wt")
    assert found is not None and found.resolve() == (work / "shared" / "data" / "faces").resolve()


def test_the_environment_variable_wins_and_absence_says_where_it_looked(layout, monkeypatch, tmp_path):
    _, _, repo = layout
    mine = tmp_path / "mine" / "faces"
    mine.mkdir(parents=True)
    monkeypatch.setenv(ENV, str(mine.parent))
    assert shared_data("faces", repo)[0] == mine
    monkeypatch.delenv(ENV)
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    found, why = shared_data("faces", lonely)  # not a git checkout, nothing beside it
    assert found is None and str(lonely.parent / "shared" / "data" / "faces") in why and ENV in why
