"""Crash points for the fault-injection tests.

``PHOTOSORTER_FAULT_AT=N`` makes the process SIGKILL itself at the N-th crash point it passes;
``PHOTOSORTER_FAULT_LOG=FILE`` appends each point's name (to count them). Unset, a point costs
one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

_target = int(os.environ.get("PHOTOSORTER_FAULT_AT", "0") or 0)
_log = os.environ.get("PHOTOSORTER_FAULT_LOG")
_count = 0


def point(name: str) -> None:
    global _count
    if not _target and not _log:
        return
    _count += 1
    if _log:
        with open(_log, "a") as fh:
            fh.write(f"{_count} {name}\n")
    if _count == _target:
        os.kill(os.getpid(), signal.SIGKILL)
