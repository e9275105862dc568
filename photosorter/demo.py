"""A headless walk through the core: train on examples, evaluate on held-out photos."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .reporting import TerminalProgress, metrics_table


def _sample_data() -> tuple[Path, Path, str]:
    env = os.environ.get("PHOTOSORTER_DEMO_DATA")
    for candidate in filter(None, [env, "../shared/data/hymenoptera", "../../shared/data/hymenoptera"]):
        root = Path(candidate)
        if (root / "train").is_dir() and (root / "val").is_dir():
            return root / "train", root / "val", f"real photos in {root.resolve()}"
    from .samples import make_labeled_folder

    tmp = Path(tempfile.mkdtemp(prefix="photosorter-demo-"))
    make_labeled_folder(tmp / "train", per_category=20, none=20, seed=1)
    make_labeled_folder(tmp / "val", per_category=10, none=10, seed=2)
    return tmp / "train", tmp / "val", f"generated sample photos in {tmp}"


def run_demo(quiet: bool = False) -> int:
    from .config import app_paths
    from .ml.features import Embedder, FeatureCache
    from .ml.scoring import Scorer
    from .ml.training import train_from_folder

    train_dir, val_dir, what = _sample_data()
    print(f"photosorter demo: learning categories from {what}")
    embedder = Embedder("efficientnet_lite0", cache=FeatureCache(app_paths().feature_cache_file))
    result = train_from_folder(train_dir, embedder, progress=TerminalProgress(False if quiet else None))
    model_path = result.classifier.save(app_paths().models_dir / "demo.safetensors")
    print(f"Trained in {result.seconds:.1f}s; model saved to {model_path}")
    metrics = Scorer(result.classifier, embedder).evaluate_folder(val_dir, progress=TerminalProgress(False if quiet else None))
    print(metrics_table(metrics, f"Held-out photos ({val_dir}):"))
    return 0
