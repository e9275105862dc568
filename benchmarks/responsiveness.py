"""Worst event-loop stall of the real window while training and while sorting.

A QTimer asks to tick every 10 ms; the largest gap between ticks beyond that is the worst
stall a user would feel. Uses real photos when given (--data, a folder of category
sub-folders), else generated ones.

    QT_QPA_PLATFORM=offscreen python -m benchmarks responsiveness --data ../shared/data/hymenoptera
"""

from __future__ import annotations

import argparse
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
    args = ap.parse_args()
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


if __name__ == "__main__":
    sys.exit(main())
