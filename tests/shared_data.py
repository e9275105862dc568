"""Where the development photos (``../shared/data``) are, for the few tests that need real ones.

Real faces cannot be generated, so the face tests read ``../shared/data/faces``. "Beside the
checkout" is not one place: CI runs ``.ci/run`` in a fresh clone somewhere else (a clone in
/tmp has no ``../shared``), and a git worktree sits beside the repository it belongs to. So the
folder is looked up, first found wins:

1. ``$PHOTOSORTER_SHARED_DATA`` (the ``data`` folder itself), when set — an explicit choice;
2. ``../shared/data`` beside this checkout;
3. ``../shared/data`` beside the repository this checkout came from: the main repository of a
   git worktree (its common git folder), or the ``origin`` of a clone when that is a local path.

Nothing here makes a test depend on the data: where none is found the tests that need it are
skipped and say where they looked.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from urllib.parse import urlparse

CHECKOUT = Path(__file__).resolve().parents[1]
ENV = "PHOTOSORTER_SHARED_DATA"


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def _local_repo(url: str | None, root: Path) -> Path | None:
    """A clone's origin as a folder on this machine (a path or file:// URL), else None."""
    if not url:
        return None
    if url.startswith("file://"):
        url = urlparse(url).path
    elif "://" in url or (":" in url and not url.startswith(("/", "."))):
        return None  # a remote (https://, ssh://, host:path): no folder beside it here
    p = Path(url)
    p = p if p.is_absolute() else root / p
    return p.resolve()


def candidates(root: Path = CHECKOUT) -> list[Path]:
    """The folders looked at, in order (for the skip reason and for tests of this lookup)."""
    out: list[Path] = []
    if os.environ.get(ENV):
        out.append(Path(os.environ[ENV]).expanduser())
    out.append(root.parent / "shared" / "data")
    common = _git(root, "rev-parse", "--path-format=absolute", "--git-common-dir")
    if common:
        out.append(Path(common).resolve().parent.parent / "shared" / "data")
    origin = _local_repo(_git(root, "config", "--get", "remote.origin.url"), root)
    if origin is not None:
        out.append(origin.parent / "shared" / "data")
    seen: list[Path] = []
    for p in out:
        if p not in seen:
            seen.append(p)
    return seen


def shared_data(sub: str, root: Path = CHECKOUT) -> tuple[Path | None, str]:
    """The first ``<candidate>/<sub>`` that is a folder, and a reason naming where it looked."""
    looked = [c / sub for c in candidates(root)]
    for p in looked:
        if p.is_dir():
            return p, f"found at {p}"
    return None, (f"real photos not found: looked for {sub}/ at " + ", ".join(str(p) for p in looked)
                  + f" (set {ENV} to the shared data folder)")
