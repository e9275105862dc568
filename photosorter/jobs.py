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
