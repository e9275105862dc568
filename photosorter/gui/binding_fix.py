"""Work around a reference-counting bug of the installed PySide6 on Python < 3.12.

PySide6 6.12.0 on CPython 3.11 returns ``None`` from every method that returns nothing
(``QPainter.setPen``, ``QColor.setAlpha``, a model's ``data`` answering ``None``…) without taking
a reference to it, so each call takes one reference from ``None``; methods returning a bool do
the same to ``True``/``False``. After a few thousand calls —
painting one screenful of the 20,000-photo review grid is enough — ``None`` is "deallocated" and
the interpreter aborts: ``Fatal Python error: none_dealloc``. (It had been seen before and blamed
on QPainterPath in widgets.CurveChart and on QRunnable in the review grid.) Python 3.12 made
``None`` immortal, which is why the binding gets away with it there.

pyproject.toml excludes 6.12.0 (6.11.3 keeps its references, measured); this module guards the
installs that have the broken release anyway (a distribution's package, an older lock file).
The fix does what 3.12 does: give ``None`` so many references that it can never run out. It is
applied only when the bug is measured, so a fixed PySide6 (or Python ≥ 3.12) is left alone."""

from __future__ import annotations

import ctypes
import sys

_APPLIED = False


def leaked_singletons() -> list[object]:
    """Which of None/True a PySide6 call takes references from (measured, not assumed)."""
    from PySide6.QtCore import QObject, QPoint, Signal

    class _Probe(QObject):
        signal = Signal()

    pt, probe = QPoint(), _Probe()
    out: list[object] = []
    for obj, call in ((None, lambda: pt.setX(1)), (True, probe.signal.emit)):  # emit() answers True
        before = sys.getrefcount(obj)
        for _ in range(8):
            call()
        if sys.getrefcount(obj) < before:
            out.append(obj)
    return out


def make_none_immortal() -> bool:
    """Apply the workaround if this binding needs it; returns whether it was applied."""
    global _APPLIED
    if _APPLIED or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return _APPLIED
    if leaked_singletons():  # the same binding bug: protect all three singletons
        for obj in (None, True, False):
            ctypes.c_ssize_t.from_address(id(obj)).value += 1 << 48  # ob_refcnt is the first field
        _APPLIED = True
    return _APPLIED
