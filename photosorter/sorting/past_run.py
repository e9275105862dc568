"""A past sort run, read back from the ledger as a Plan, so the review grid can show it like a
preview: every photo the run looked at, where it went, with the scores it had then.

Read-only: the decisions are what the run did (a ReviewTable built with ``frozen=True`` keeps
them whatever the sliders say); the run can still be undone."""

from __future__ import annotations

import json
from pathlib import Path

from .. import errors
from ..fsnames import from_db
from .ledger import Ledger, RunInfo
from .planner import Decision, Plan

_OUTCOMES = {"copied": "copy", "already_sorted": "already_sorted", "no_category": "no_category", "failed": "failed"}


def plan_of_run(ledger: Ledger, run_id: int, destinations: dict[str, Path] | None = None) -> tuple[Plan, RunInfo]:
    """The run's photos as decisions (outcome, categories, scores as recorded)."""
    info = ledger.run(run_id)
    if info is None:
        raise errors.UsageError(f"There is no sort run {run_id} in the history.")
    failures = {p: (r, m) for p, r, m in ledger.failures(run_id)}
    copied: dict[str, list[str]] = {}
    removed: dict[str, list[str]] = {}  # photo copies of this run gone since (a correction, by hand)
    dests: dict[str, Path] = dict(destinations or {})
    for c in ledger.copies(run_id):
        copied.setdefault(c["source"], [])
        if c["category"] not in copied[c["source"]]:
            copied[c["source"]].append(c["category"])
        if c["state"] == "undone" and c["companion_of"] is None and info.state != "undone":
            removed.setdefault(c["source"], []).append(c["category"])
        if c["dest"] and c["category"] not in dests:
            dests[c["category"]] = Path(c["dest"]).parent
    undone = " (undone since)" if info.state == "undone" else ""
    decisions = []
    rows = ledger.db.execute("SELECT path, sha256, outcome, categories, scores FROM seen WHERE run_id=? ORDER BY path",
                             (run_id,)).fetchall()
    for raw_path, sha, outcome, cats, scores in rows:
        path = from_db(raw_path)
        out = _OUTCOMES.get(outcome, "failed")
        categories = copied.get(path, json.loads(cats or "[]")) if out == "copy" else []
        reason, message = failures.get(path, (None, None))
        if out == "copy":
            gone = removed.get(path, [])
            since = f"; its copy in {', '.join(gone)} was removed since" if gone else ""
            message = f"copied to {', '.join(categories)} in run {run_id}{undone}{since}"
        decisions.append(Decision(Path(path), out, sha, categories=categories, scores=json.loads(scores or "{}"),
                                  reason=reason, message=message))
        for name in decisions[-1].scores:
            dests.setdefault(name, Path(name))
    # the categories in the order the run's preview showed them (a tryout saw the past run's
    # groups and sliders in another order than the preview's)
    shown_order = list(info.detail.get("thresholds", {}))
    dests = {c: dests[c] for c in sorted(dests, key=lambda c: (shown_order.index(c) if c in shown_order
                                                                else len(shown_order)))}
    thresholds = {c: float(info.detail.get("thresholds", {}).get(c, 0.5)) for c in dests}
    return Plan(decisions, dests, thresholds), info
