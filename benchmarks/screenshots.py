"""Screenshots of the real window (docs/screenshots/): run it under Xvfb so the window is drawn
by a real X server, then grab the screen with ImageMagick's ``import -window root``.

    xvfb-run -s "-screen 0 1600x1000x24" python benchmarks/screenshots.py \\
        --data ../shared/data/cameraroll --theme dark --out docs/screenshots/review_dark_100.png

Trains a model on ``--per-category`` examples of each train/ category, previews ``--sort`` photos
of val/, selects a photo, and captures the review grid with the preview pane. ``--tab train``
captures the Train tab instead: loss curves per fold, the confusion matrix and the examples the
worst category gets wrong. Scaling comes from the environment (``QT_SCALE_FACTOR=1.25``)."""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--theme", default="light")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--per-category", type=int, default=12)
    ap.add_argument("--sort", type=int, default=90)
    ap.add_argument("--backbone", default="efficientnet_lite0")
    ap.add_argument("--home", type=Path, help="reuse a PHOTOSORTER_HOME (model and feature cache)")
    ap.add_argument("--tab", choices=("sort", "train"), default="sort")
    ap.add_argument("--none", type=int, default=0, help="'none of these' examples from none_examples/")
    ap.add_argument("--group", default=None, help="the review group to show (default: the first category's)")
    args = ap.parse_args()
    os.environ["PHOTOSORTER_HOME"] = str(args.home or tempfile.mkdtemp(prefix="ps-shot-"))
    from PySide6.QtWidgets import QApplication

    from photosorter.gui.main_window import MainWindow
    from photosorter.gui.theme import Theming
    from photosorter.library import Library

    app = QApplication(sys.argv)
    Theming(app).set_theme(args.theme)
    lib = Library.load()
    if not lib.categories:
        lib.backbone = args.backbone
        for cat in sorted(p for p in (args.data / "train").iterdir() if p.is_dir()):
            lib.add_category(cat.name.capitalize())
            lib.add_examples(cat.name.capitalize(), sorted(cat.glob("*.jpg"))[: args.per_category])
        if args.none:
            lib.add_examples(None, sorted((args.data / "none_examples").glob("*.jpg"))[: args.none])
        lib.save()
    w = MainWindow(lib, welcome=False)
    w.show()

    def wait(cond, timeout=1200):
        end = time.monotonic() + timeout
        while not cond():
            app.processEvents()
            time.sleep(0.01)
            if time.monotonic() > end:
                raise TimeoutError

    wait(lambda: w.ready)
    if not w.model_path.exists():
        w.train()
        wait(lambda: w.model_path.exists() and w.training.train_button.isEnabled())
    if args.tab == "train":
        return capture_train_tab(app, w, args, wait)
    rng = random.Random(0)
    photos = sorted((args.data / "val").rglob("*.jpg"))
    pick = Path(tempfile.mkdtemp(prefix="ps-shot-roll-"))
    for p in rng.sample(photos, min(args.sort, len(photos))):
        shutil.copy2(p, pick / f"{p.parent.name}_{p.name}")  # copies: sorting refuses symlinked photos
    w.preview_sort([str(pick)])
    wait(lambda: w.sorting.shown is not None)
    review = w.sorting.review
    for name in ([args.group] if args.group else []) + [c.name for c in lib.categories]:
        if len(review.groups.get(name, ())):
            review.select_group(name)
            break
    grid = w.sorting.grid
    grid.setFocus()
    rows = range(grid.model().rowCount())
    # in the "check first" group, a photo the familiarity check keeps out (its reason is shown)
    unlike = [r for r in rows if w.sorting.unlike_of(grid.model().path(r))] if args.group else []
    unlike.sort(key=lambda r: bool(w.sorting.labels_of(grid.model().path(r))))  # one that goes nowhere first
    grid.setCurrentIndex(grid.model().index(unlike[0] if unlike else min(2, grid.model().rowCount() - 1)))
    wait(lambda: bool(w.preview.scores), timeout=300)
    review.thumbs.wait()
    return _settle_and_capture(app, w, args)


def _settle_and_capture(app, w, args) -> int:
    """Let the window paint for two seconds, then screenshot the whole screen."""
    end = time.monotonic() + 2
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["import", "-window", "root", str(args.out)], check=True)
    print(f"window {w.width()}x{w.height()} screen {w.screen().availableGeometry().getRect()} -> {args.out}")
    w.shutdown()
    return 0


def capture_train_tab(app, w, args, wait) -> int:
    """The Train tab after training: curves, per-category figures, confusion matrix, mistakes."""
    w.tabs.setCurrentWidget(w.training)
    if w.training.model is None and w.session.loaded_classifier is not None:
        w.training.show_result(w.session.loaded_classifier)
    wait(lambda: w.training.model is not None, timeout=300)
    w.training.mistakes.grid.thumbs.wait()
    return _settle_and_capture(app, w, args)


if __name__ == "__main__":
    sys.exit(main())
