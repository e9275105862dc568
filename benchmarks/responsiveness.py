"""Worst event-loop stall of the real window while training and while sorting.

A QTimer asks to tick every 10 ms; the largest gap between ticks beyond that is the worst
stall a user would feel. Uses real photos when given (--data, a folder of category
sub-folders), else generated ones.

    QT_QPA_PLATFORM=offscreen python -m benchmarks responsiveness --data ../shared/data/hymenoptera

``--review N`` measures the sort review grid instead: N generated photos (small JPEGs on disk, so
thumbnails are really decoded) in a preview of 5 categories, in the real window; then the person's
actions on it — open the preview, move a threshold slider, switch groups, scroll through the whole
grid (in at most 600 jumps), walk 60 photos with the arrow keys (each selection starts an explanation job
for the preview pane). Scores are generated: the network's speed is measured above, the grid's
responsiveness here.

    QT_QPA_PLATFORM=offscreen python -m benchmarks responsiveness --review 20000 --backbone tiny
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from ._report import emit


class StallMeter:
    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.last = None
        self.worst = 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.last is not None:
            self.worst = max(self.worst, now - self.last - 0.010)
        self.last = now

    def start(self) -> None:
        self.last, self.worst = None, 0.0
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        return self.worst * 1000


def wait(app, cond, timeout=900.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        app.processEvents()
        time.sleep(0.002)
        if time.monotonic() > end:
            raise TimeoutError


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, help="folder with train/ and val/ of category sub-folders")
    ap.add_argument("--backbone", default="efficientnet_lite0")
    ap.add_argument("--review", type=int, default=0, help="measure the review grid with this many generated photos")
    args = ap.parse_args()
    if args.review:
        return review(args.review, args.backbone)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["PHOTOSORTER_HOME"] = tempfile.mkdtemp(prefix="ps-resp-")
    from PySide6.QtWidgets import QApplication

    from photosorter.gui.main_window import MainWindow
    from photosorter.library import Library, import_labeled_folder
    from photosorter.samples import make_labeled_folder

    app = QApplication(sys.argv)
    if args.data:
        train, sort_dir = args.data / "train", args.data / "val"
    else:
        tmp = Path(tempfile.mkdtemp())
        train = make_labeled_folder(tmp / "train", per_category=60, seed=1)
        sort_dir = make_labeled_folder(tmp / "val", per_category=60, seed=2)
    lib = import_labeled_folder(train, Library())
    lib.backbone = args.backbone
    meter = StallMeter()
    meter.start()
    w = MainWindow(lib, welcome=False)
    w.show()
    wait(app, lambda: w.ready)  # torch + backbone load in the background after the window appears
    startup_stall = meter.stop()
    meter.start()
    w.train()
    wait(app, lambda: w.model_path.exists() and w.training.train_button.isEnabled())
    train_stall = meter.stop()
    meter.start()
    w.preview_sort([str(sort_dir)])
    wait(app, lambda: w.sorting.shown is not None)
    w.apply_sort()
    wait(app, lambda: w.sorting.summary.text().startswith("<b>Done"))
    sort_stall = meter.stop()
    w.shutdown()
    emit({"backbone": args.backbone, "examples": sum(len(c.examples) for c in lib.categories),
          "sorted": len(w.sorting.shown.decisions) if w.sorting.shown else None,
          "worst_stall_ms_startup_model_load": round(startup_stall, 1),
          "worst_stall_ms_training": round(train_stall, 1), "worst_stall_ms_sorting": round(sort_stall, 1)}, None)
    return 0


def make_review_plan(root: Path, n: int, categories: list[str], seed: int = 0):
    """n small photos on disk and a Plan over them with generated scores."""
    import numpy as np
    from PIL import Image

    from photosorter.sorting.sorter import Decision, Plan

    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    colours = rng.integers(0, 255, (n, 3))
    thresholds = {c: 0.5 for c in categories}
    decisions = []
    for i in range(n):
        p = root / f"IMG_{i:05d}.jpg"
        if not p.exists():
            Image.new("RGB", (96, 72), tuple(int(v) for v in colours[i])).save(p, "JPEG", quality=70)
        if i % 97 == 0:
            decisions.append(Decision(p, "failed", reason="truncated", message="The file is cut short."))
            continue
        scores = {c: float(v) for c, v in zip(categories, rng.beta(0.5, 1.5, len(categories)))}
        chosen = [c for c, v in scores.items() if v >= thresholds[c]]
        decisions.append(Decision(p, "copy" if chosen else "no_category", sha256=f"{i:064x}", categories=chosen,
                                  scores=scores))
    return Plan(decisions, {c: root.parent / "Sorted" / c for c in categories}, thresholds)


def review(n: int, backbone: str) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["PHOTOSORTER_HOME"] = tempfile.mkdtemp(prefix="ps-review-")
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from photosorter.gui.main_window import MainWindow
    from photosorter.library import Library

    app = QApplication(sys.argv)
    cats = ["beach", "city", "food", "pets", "documents"]
    t0 = time.perf_counter()
    plan = make_review_plan(Path(tempfile.gettempdir()) / f"ps-review-photos-{n}" / "roll", n, cats)
    made_s = time.perf_counter() - t0
    lib = Library()
    lib.backbone = backbone
    for c in cats:
        lib.add_category(c)
    w = MainWindow(lib, welcome=False)
    w.resize(1360, 840)
    w.show()
    wait(app, lambda: w.ready)
    meter, out = StallMeter(), {"photos": n, "generated_s": round(made_s, 1)}

    def phase(name, action):
        meter.start()
        primed = time.perf_counter() + 0.05  # let the meter tick once: a stall right at the start counts too
        while time.perf_counter() < primed:
            app.processEvents()
            time.sleep(0.002)
        t = time.perf_counter()
        action()
        settle = time.perf_counter() + 0.3
        while time.perf_counter() < settle:
            app.processEvents()
            time.sleep(0.002)
        out[f"worst_stall_ms_{name}"] = round(meter.stop(), 1)
        out[f"seconds_{name}"] = round(time.perf_counter() - t, 2)

    grid, review_view = w.sorting.grid, w.sorting.review
    w.tabs.setCurrentWidget(w.sorting)  # as preview_sort does: the grid is on screen, so it lays out and paints
    app.processEvents()

    from photosorter.sorting.review_table import ReviewTable

    table = ReviewTable.from_plan(plan)  # the app builds it on the worker thread that makes the plan

    def open_preview():
        w.sorting.set_plan(plan, w.colours(), sources=[], table=table)

    def move_slider():
        s = w.sorting.sliders["pets"]
        for v in (55, 60, 65, 70, 45, 50):
            s.setValue(v)
            app.processEvents()

    def switch_groups():
        for r in range(review_view.groups_list.count()):
            review_view.groups_list.setCurrentRow(r)
            app.processEvents()

    def scroll_all():
        review_view.select_group("All photos")
        bar = grid.verticalScrollBar()
        app.processEvents()
        # top to bottom, a screenful at a time, or in 600 jumps when that is more (a person
        # dragging the scroll bar): every stop is painted, so its tiles ask for thumbnails
        step = max(grid.viewport().height(), bar.maximum() // 600 + 1)
        while bar.value() < bar.maximum():
            bar.setValue(bar.value() + step)
            grid.viewport().repaint()  # paint now (offscreen too): the visible cells ask for thumbnails
            app.processEvents()
            time.sleep(0.005)
            out["pages_scrolled"] = out.get("pages_scrolled", 0) + 1

    def walk_keys():
        grid.setFocus()
        grid.setCurrentIndex(grid.model().index(0))
        for i in range(60):
            QTest.keyClick(grid, Qt.Key.Key_Right if i % 4 else Qt.Key.Key_Down)
            app.processEvents()
            time.sleep(0.02)

    phase("open_preview", open_preview)
    phase("threshold_slider", move_slider)
    phase("switch_groups", switch_groups)
    phase("scroll_whole_grid", scroll_all)
    phase("arrow_keys_60_photos", walk_keys)
    wait(app, lambda: not getattr(w, "_jobs", None), timeout=300)
    out["worst_stall_ms_overall"] = max(v for k, v in out.items() if k.startswith("worst_stall_ms_"))
    out["thumbnails_cached"] = len(w.sorting.review.thumbs._cache)
    w.shutdown()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
