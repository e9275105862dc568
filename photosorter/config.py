"""Where photosorter keeps its files.

Everything lives under the platform's usual folders (platformdirs), except when the environment
variable ``PHOTOSORTER_HOME`` is set: then config, data and cache all live below that one folder.
Tests, portable installs and benchmarks use it so they never touch a person's real settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "photosorter"
HOME_ENV = "PHOTOSORTER_HOME"


@dataclass(frozen=True)
class AppPaths:
    config_dir: Path
    data_dir: Path
    cache_dir: Path

    @property
    def library_file(self) -> Path:
        return self.config_dir / "library.json"

    @property
    def ledger_file(self) -> Path:
        return self.data_dir / "ledger.sqlite3"

    @property
    def feature_cache_file(self) -> Path:
        return self.cache_dir / "features.sqlite3"

    @property
    def weights_dir(self) -> Path:
        return self.cache_dir / "weights"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "photosorter.log"


def bundled_weights_dir() -> Path | None:
    """Weights shipped inside a frozen bundle (PyInstaller), so an offline install has them.

    ``packaging/build_bundle.py --resnet50-weights FILE`` puts the file in ``weights/`` next to the
    bundled code; a normal pip install has no such folder.
    """
    import sys

    base = getattr(sys, "_MEIPASS", None)
    if not getattr(sys, "frozen", False) or base is None:
        return None
    folder = Path(base) / "weights"
    return folder if folder.is_dir() else None


def default_sorted_root() -> Path:
    """Where category folders go unless the user picks one: <Pictures>/Sorted, or below
    PHOTOSORTER_HOME when that is set (this module is the one place that reads it)."""
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home).expanduser() / "Sorted"
    return Path(platformdirs.user_pictures_dir()) / "Sorted"


def app_paths() -> AppPaths:
    """Resolve the folders now (not at import), so a test can set the variable per test."""
    home = os.environ.get(HOME_ENV)
    if home:
        root = Path(home).expanduser()
        return AppPaths(root / "config", root / "data", root / "cache")
    return AppPaths(
        Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
    )
