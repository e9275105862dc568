"""Cold start: seconds from launching `python -m photosorter` to a painted main window.

    python -m benchmarks cold_start [--runs 5]

Runs offscreen with a fresh PHOTOSORTER_HOME; the app prints a line once the window has been
shown and painted (PHOTOSORTER_STARTUP_PROBE), and whether torch was imported by then (it must
not be: the model loads in the background afterwards).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from ._report import emit


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    times, torch_loaded = [], set()
    for _ in range(args.runs + 1):
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PHOTOSORTER_STARTUP_PROBE="1",
                   PHOTOSORTER_HOME=tempfile.mkdtemp(prefix="ps-cold-"))
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "photosorter"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        for line in proc.stdout:
            if line.startswith("window-shown"):
                times.append(time.perf_counter() - start)
                torch_loaded.add(line.strip().split("=")[1])
                break
        proc.wait(timeout=60)
    times = times[1:]  # the first run warms the OS file cache
    emit({"seconds_to_painted_window": {"median": round(statistics.median(times), 2), "min": round(min(times), 2),
                                        "max": round(max(times), 2), "runs": len(times)},
          "torch_imported_before_window_showed": sorted(torch_loaded)}, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
