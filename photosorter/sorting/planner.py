"""Plan a sort: scan results + scores → one decision per photo. Reads files, writes nothing.

"Already sorted into a category" means: the ledger records a copy of this content for this
category *in the category's current folder*, and that file is still there with the content we
wrote (or the user's edit of it). So sorting into another destination, after changing a
category's folder, or after deleting copies copies again; renaming a source does not.

Companions (Live Photo movie, ``.xmp``/``.aae`` sidecars) are found in the folder listing the
walker already made (no per-photo listing); each is hashed here (streamed) so the copy can check
it is still the same file. A file that merely shares a photo's name is a companion only when it
is small enough to be one (:data:`COMPANION_MAX_BYTES`); a bigger one is reported, not copied.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .. import errors, media
from ..jobs import CancelToken, ProgressFn, no_progress
from ..media import pairing
from ..media.walk import COMPANION_SUFFIXES, FolderIndex, walk_photos
from ..scoring_types import FailedPhoto, ScoredPhoto, Scorer, ScoringRun
from . import safefs
from .ledger import Ledger

#: Larger files sharing a photo's name are not taken for its companion: a Live Photo movie is
#: ~3 s (2–10 MB), sidecars are a few KB. Proof by the Live Photo content identifier is not read.
COMPANION_MAX_BYTES = {".mov": 64 * 2**20, ".xmp": 16 * 2**20, ".aae": 16 * 2**20}

__all__ = ["COMPANION_SUFFIXES", "Decision", "Plan", "plan_sort", "rethreshold", "scan_sources"]


@dataclass
class Decision:
    path: Path
    outcome: str  # 'copy' | 'already_sorted' | 'no_category' | 'failed'
    sha256: str | None = None
    size: int | None = None
    mtime_ns: int | None = None
    categories: list[str] = field(default_factory=list)  # still to copy into
    done_before: list[str] = field(default_factory=list)  # sorted there by an earlier run
    scores: dict[str, float] = field(default_factory=dict)
    reason: str | None = None
    message: str | None = None
    companions: list[Path] = field(default_factory=list)
    companion_shas: dict[Path, str] = field(default_factory=dict)  # as planned: the copy must match
    done_at: dict[str, Path] = field(default_factory=dict)  # category → existing copy of the photo
    head: dict[str, float] = field(default_factory=dict)  # before the familiarity check (PhotoScore.head)


@dataclass
class Plan:
    decisions: list[Decision]
    destinations: dict[str, Path]
    thresholds: dict[str, float]
    background_photos: int = 0
    #: each category folder where it really was when planned (links on its path followed): what
    #: "already sorted" was decided against
    resolved: dict[str, Path] = field(default_factory=dict)
    #: each category's lasting id in the library (empty from the command line): recorded with every
    #: copy, so a copy stays its category's through renames (names alone were swapped by two renames)
    category_ids: dict[str, str] = field(default_factory=dict)

    def counts(self) -> Counter:
        return Counter(d.outcome for d in self.decisions)

    def per_category(self) -> dict[str, int]:
        """Photos to copy into each category (every category listed, 0 included)."""
        out = {c: 0 for c in self.destinations}
        for d in self.decisions:
            if d.outcome == "copy":
                for c in d.categories:
                    out[c] = out.get(c, 0) + 1
        return out


def scan_sources(sources: Iterable[str | Path], index: FolderIndex | None = None,
                 kinds: Iterable[str] | None = None) -> tuple[list[Path], list[Decision]]:
    """Photo files under the sources, and decisions for what must be skipped (see :mod:`.walk`).
    ``kinds``: which kinds of file to sort ('stills', 'videos', 'raw'; default all)."""
    photos: list[Path] = []
    skipped: list[Decision] = []
    for f in walk_photos(sources, index, kinds):
        if f.problem is None:
            photos.append(f.path)
        else:
            skipped.append(Decision(f.path, "failed", reason=f.problem[0], message=f.problem[1]))
    return photos, skipped


def real_folder(folder: Path) -> Path:
    """A category folder as the ledger records it (its parent resolved, its own name kept)."""
    folder = Path(folder)
    return Path(os.path.realpath(folder.parent)) / folder.name


def plan_sort(
    sources: Iterable[str | Path],
    scorer: Scorer,
    ledger: Ledger,
    destinations: dict[str, Path],
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
    background: str = "auto",
    enrich: bool = True,
    kinds: Iterable[str] | None = None,
    category_ids: Mapping[str, str] | None = None,
) -> Plan:
    """Decide what to do with every photo; reads files and copies nothing. ``enrich``: the photos
    first join the scorer's stored background ("the user's photos in general"), so this folder is
    judged against a background that knows it, and every later view of it agrees (scoring.py).
    ``category_ids``: the library's lasting ids by category name (the app's; the command line has
    none), kept in the plan for the copies its Apply records."""
    clf = scorer.classifier
    for c in clf.categories:
        if c not in destinations:
            raise errors.UsageError(f"No destination folder for category '{c}'.")
    folders = {c: real_folder(p) for c, p in destinations.items()}
    index = FolderIndex()
    kinds = media.ALL_KINDS if kinds is None else frozenset(kinds)
    photos, decisions = scan_sources(sources, index, kinds)
    stats: dict[Path, tuple[int | None, int | None]] = {}
    for p in photos:
        try:
            st = os.stat(p, follow_symlinks=False)
            stats[p] = (st.st_size, st.st_mtime_ns)
        except OSError:
            stats[p] = (None, None)
    first_seen: dict[str, Path] = {}
    results = scorer.score_paths(photos, progress=progress, cancel=cancel, total=len(photos), background=background,
                                 enrich=enrich)
    runs = [results]  # the main call, then the one for orphaned RAW twins, if any
    for r in _with_orphaned_twins(runs, scorer, kinds, index, stats, background, enrich):
        size, mtime = stats.get(r.path, (None, None))
        if isinstance(r, FailedPhoto):
            decisions.append(Decision(r.path, "failed", size=size, mtime_ns=mtime, reason=r.reason, message=r.message))
            continue
        if r.sha256 in first_seen:  # the same photo twice (a renamed copy): sort it once
            decisions.append(Decision(r.path, "already_sorted", r.sha256, size, mtime, [], r.categories, r.scores,
                                      message=f"identical to {first_seen[r.sha256].name}"))
            continue
        first_seen[r.sha256] = r.path
        d = Decision(r.path, "copy", r.sha256, size, mtime, scores=r.scores, head=dict(r.head))
        _companions(d, index, kinds)  # for every photo: a slider may give it a category later
        # Every category, not only the chosen ones: a slider or a correction may choose one where the
        # photo already is (a tryout's corrected truck, in vehicles since a run before, was
        # previewed as "1 → vehicles"). The chosen ones first, in the model's order.
        for c in [*r.categories, *(c for c in folders if c not in r.categories)]:
            at = present_in(ledger, r.sha256, folders[c])
            if at is not None and all(companion_present(ledger, at, s) for s in d.companion_shas.values()):
                d.done_before.append(c)
                d.done_at[c] = at
            elif c in r.categories:
                d.categories.append(c)
                if at is not None:
                    d.done_at[c] = at  # the photo is there, a companion is missing
        d.outcome = "no_category" if not r.categories else "copy" if d.categories else "already_sorted"
        decisions.append(d)
    thresholds = {c: float(scorer.threshold_overrides.get(c, t)) for c, t in zip(clf.categories, clf.thresholds)}
    ids = {c: i for c, i in (category_ids or {}).items() if c in destinations}
    return Plan(decisions, dict(destinations), thresholds, runs[-1].background_photos, dict(folders), ids)


def _with_orphaned_twins(runs: list[ScoringRun], scorer: Scorer, kinds: frozenset[str],
                         index: FolderIndex, stats: dict, background: str,
                         enrich: bool) -> Iterator[ScoredPhoto | FailedPhoto]:
    """The scored photos of ``runs[0]``, then the RAW twins of stills that could not be read,
    scored themselves (their run appended to ``runs``): a broken JPEG must not take its intact
    RAW down with it."""
    yield from runs[0]
    orphans = [t for f in runs[0].failures if "raw" in kinds for t in pairing.raw_twins(f.path, index.siblings)]
    for t in orphans:
        try:
            st = os.stat(t, follow_symlinks=False)
            stats[t] = (st.st_size, st.st_mtime_ns)
        except OSError:
            stats[t] = (None, None)
    if orphans:
        runs.append(scorer.score_paths(orphans, background=background, enrich=enrich))
        yield from runs[-1]


def _companions(d: Decision, index: FolderIndex, kinds: frozenset[str] = media.ALL_KINDS) -> None:
    notes = []
    if "raw" in kinds:
        # A RAW twin is proven to be the same shot (same stem and capture time): no size limit.
        for twin in pairing.raw_twins(d.path, index.siblings):
            try:
                d.companion_shas[twin] = safefs.hash_path(twin)[0]
            except OSError:
                continue
            d.companions.append(twin)
    for path, st in index.candidates(d.path):
        if path == d.path:
            continue
        if not stat.S_ISREG(st.st_mode):
            # said, not silently dropped: the person may expect it beside the copy
            what = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "a FIFO or device"
            notes.append(f"{path.name} is {what}, not a file; not copied with it")
            continue
        limit = COMPANION_MAX_BYTES[os.path.splitext(path.name)[1].casefold()]
        if st.st_size > limit:
            notes.append(f"{path.name} ({st.st_size / 2**20:.0f} MB) is too big to be this photo's "
                         f"{'Live Photo movie' if path.suffix.casefold() == '.mov' else 'sidecar'}; not copied with it")
            continue
        try:
            d.companion_shas[path] = safefs.hash_path(path)[0]
        except OSError as exc:  # vanished, unreadable or swapped: not a companion we can vouch for
            notes.append(f"{path.name} could not be read ({exc.strerror or exc}); not copied with it")
            continue
        d.companions.append(path)
    if notes:
        d.message = "; ".join(notes) + "."


def present_in(ledger: Ledger, sha: str, folder: Path) -> Path | None:
    """Where a recorded copy of ``sha`` still is, inside a category's ``folder``, if anywhere.

    By folder, whatever name the copy was recorded under: the ledger keeps the name a category
    had when the copy was made, and a rename keeps the folder once copies are in it. Keyed on the
    name, a rename made every photo sorted before it "to copy" again in the preview (Apply then
    found each copy already there), and a correction on such a photo did not know it had a copy."""
    for row in ledger.copies_of(sha):
        at = _still_there(row, sha, folder)
        if at is not None:
            return at
    return None


def companion_present(ledger: Ledger, photo_copy: Path, sha: str) -> Path | None:
    """Where the companion (sidecar, Live Photo movie, RAW twin) with content ``sha`` of the photo
    copy at ``photo_copy`` still is, if anywhere: by the photo copy it travels with, not by its
    bytes anywhere in the folder — two photos' identical sidecars (the same edit saved twice) are
    two companions, and the second one was never copied (an attack). Rows from before companions
    were linked to their photo (no ``companion_of``) count by folder, as they did."""
    for row in ledger.copies_of(sha):
        link = row.get("companion_of")
        if link is not None and Path(link) != photo_copy:
            continue
        at = _still_there(row, sha, photo_copy.parent)
        if at is not None:
            return at
    return None


def _still_there(row: dict, sha: str, folder: Path) -> Path | None:
    dest = Path(row["dest"]) if row["dest"] else None
    if dest is None or dest.parent != folder:
        return None
    try:
        got, _size = safefs.hash_path(dest)
    except OSError:
        return None
    if row["state"] == "kept_modified" or got == (row["dest_sha256"] or sha):
        return dest
    return None


def rethreshold(plan: Plan, thresholds: dict[str, float]) -> Plan:
    """The same plan under other thresholds, from the scores it already holds (no rescoring):
    what the preview's sliders show live."""
    out = []
    for d in plan.decisions:
        if d.outcome in ("failed",) or d.sha256 is None or (d.outcome == "already_sorted" and not d.scores):
            out.append(d)
            continue
        chosen = [c for c, v in d.scores.items() if v >= thresholds.get(c, plan.thresholds.get(c, 0.5))]
        todo = [c for c in chosen if c not in d.done_before]
        outcome = "no_category" if not chosen else "copy" if todo else "already_sorted"
        if d.message and d.message.startswith("identical to"):
            outcome, todo = "already_sorted", []
        out.append(dataclasses.replace(d, outcome=outcome, categories=todo))
    return Plan(out, plan.destinations, dict(thresholds), plan.background_photos, plan.resolved, plan.category_ids)
