"""The contract every long job follows: a progress callback and a cancel token.

Core functions never print and never import Qt. They call ``progress(done, total, message)``
and check ``cancel.raise_if_cancelled()`` between units of work. The CLI turns progress into a
terminal bar; the GUI turns it into Qt signals from a worker thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .errors import CancelledError


def no_progress(done: int, total: int, message: str) -> None:
    """The default sink, for callers that do not care."""


class CancelToken:
    """Thread-safe flag a front end sets and a job polls; cheap enough to check per photo."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise CancelledError()


ProgressFn = Callable[[int, int, str], None]

#: Units of a job split into stages with :func:`stage` (fine enough for any bar).
STAGE_UNITS = 1000


def stage(progress: ProgressFn, start: float, end: float) -> ProgressFn:
    """A progress callback for one stage of a longer job, covering ``start``..``end`` (fractions of
    the whole). Why: a job made of stages that each count from 0 (compare backbones, then
    fine-tune) made the bar jump back from 31% to 5% and the ETA read 138 minutes."""

    def report(done: int, total: int, message: str) -> None:
        share = min(1.0, max(0.0, done / total)) if total > 0 else 0.0
        progress(round(STAGE_UNITS * (start + (end - start) * share)), STAGE_UNITS, message)

    return report
