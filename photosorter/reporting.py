"""How the terminal front ends show things: a progress bar, metrics tables, JSON documents.

Shared by the CLI and the demo so that neither imports the other: a command computes its result
once (a dict or an object with ``as_dict()``) and renders it here as text or as JSON. Nothing
in this module computes anything; it only formats.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO


class TerminalProgress:
    """A one-line progress bar with ETA on stderr; silent when stderr is not a terminal."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.start = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int, total: int, message: str) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.1 and done < total:
            return
        self.last = now
        frac = done / total if total else 0.0
        elapsed = now - self.start
        eta = f"{elapsed / frac - elapsed:4.0f}s left" if 0 < frac < 1 else ""
        bar = "#" * int(frac * 30)
        sys.stderr.write(f"\r[{bar:<30}] {done}/{total} {eta} {message[:40]:<40}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    def finish(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def counted(n: int, word: str, plural: str | None = None) -> str:
    """"1 photo", "2 photos": a tryout read "copied 1 photos (1 copies)" and "in 1 categories"."""
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _jsonable(obj: object) -> Any:
    """``json.dump``'s fallback: result objects render through their ``as_dict()``; paths,
    dates and anything else as text."""
    as_dict = getattr(obj, "as_dict", None)
    if callable(as_dict):
        return as_dict()
    return str(obj)


def print_json(obj: object, stream: TextIO | None = None) -> None:
    """One JSON document (a dict, a list, or a result object with ``as_dict()``) on stdout."""
    from .fsnames import shown_tree  # file names that are not valid UTF-8 print escaped, not as a crash

    out = stream if stream is not None else sys.stdout
    as_dict = getattr(obj, "as_dict", None)
    json.dump(shown_tree(as_dict() if callable(as_dict) else obj), out, indent=2, ensure_ascii=False, default=_jsonable)
    out.write("\n")


def metrics_table(m: dict, title: str) -> str:
    """Per-category precision/recall/F1 and the overall scores, as the CLI and demo print them."""
    lines = [title, f"  {'category':<20} {'precision':>9} {'recall':>7} {'F1':>6} {'threshold':>9} {'examples':>8}"]
    for name, v in m["per_category"].items():
        lines.append(
            f"  {name:<20} {v['precision']:>9.3f} {v['recall']:>7.3f} {v['f1']:>6.3f} {v['threshold']:>9.2f} {v['support']:>8d}"
        )
    lines.append(f"  micro-F1 {m['micro_f1']:.3f}   macro-F1 {m['macro_f1']:.3f}   exact match {m['exact_match']:.3f}"
                 + (f"   top-1 {m['top1']:.3f}" if m.get("top1") is not None else ""))
    if m.get("none_correct") is not None:
        lines.append(f"  photos of no category correctly left out: {m['none_correct']:.3f}")
    return "\n".join(lines)
