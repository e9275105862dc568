"""Plan a sort without touching the disk, apply it through the copier and the ledger, recover
after a crash, undo a run.

Promise: originals are never modified, moved or deleted (sources are only ever opened for
reading); every photo lands in exactly the folders it should, once; a crash at any instant
leaves nothing half-done after :func:`recover`.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .. import errors, imaging, media
from ..media import pairing
from ..media.hashing import checked_size, stream_hash
from ..jobs import CancelToken, ProgressFn, no_progress
from . import copier, fault
from .ledger import Ledger
from .paths import inside, is_temp_name

COMPANION_SUFFIXES = (".mov", ".xmp", ".aae")


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


@dataclass
class Plan:
    decisions: list[Decision]
    destinations: dict[str, Path]
    thresholds: dict[str, float]
    background_photos: int = 0

    def counts(self) -> Counter:
        return Counter(d.outcome for d in self.decisions)


@dataclass
class Summary:
    run_id: int | None
    copied_photos: int = 0
    copies_made: int = 0
    already_sorted: int = 0
    no_category: int = 0
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (path, reason, message)
    dry_run: bool = False

    def as_dict(self) -> dict:
        return {
            "run_id": self.run_id, "dry_run": self.dry_run, "copied_photos": self.copied_photos,
            "copies_made": self.copies_made, "already_sorted": self.already_sorted, "no_category": self.no_category,
            "failed": [{"file": p, "reason": r, "message": m} for p, r, m in self.failed],
        }


# --------------------------------------------------------------------------- scanning


def scan_sources(sources: Iterable[str | Path], kinds: Iterable[str] | None = None) -> tuple[list[Path], list[Decision]]:
    """Photo files under the sources (recursively), and decisions for what must be skipped.

    ``kinds``: which kinds of file to sort ('stills', 'videos', 'raw'; default all). Files that
    travel with a still (a Live Photo's movie, a RAW's JPEG twin) are not listed: they are the
    still's companions.

    Symlinks, FIFOs, devices and sockets are skipped with a reason; hidden and temporary files
    (someone else's unfinished download, our own temp files) are silently ignored.
    """
    photos: list[Path] = []
    skipped: list[Decision] = []
    kinds = media.ALL_KINDS if kinds is None else frozenset(kinds)

    def consider(p: Path, st: os.stat_result) -> None:
        if is_temp_name(p.name):
            return
        if stat.S_ISLNK(st.st_mode):
            if media.looks_like_media(p, kinds):
                skipped.append(Decision(p, "failed", reason="symlink", message=f"{p}: symbolic links are not followed; skipped."))
            return
        if stat.S_ISDIR(st.st_mode):
            walk(p)
            return
        if not media.looks_like_media(p, kinds) or pairing.travels_with_a_still(p, kinds):
            return
        if not stat.S_ISREG(st.st_mode):
            skipped.append(Decision(p, "failed", reason="not_a_regular_file", message=f"{p}: not a regular file (a FIFO or device); skipped."))
            return
        photos.append(p)

    def walk(folder: Path) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            skipped.append(Decision(folder, "failed", reason="unreadable", message=f"{folder}: cannot list this folder ({exc.strerror})."))
            return
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                skipped.append(Decision(Path(entry.path), "failed", reason="unreadable", message=f"{entry.path}: {exc.strerror}."))
                continue
            consider(Path(entry.path), st)

    for src in sources:
        src = Path(src)
        try:
            st = os.lstat(src)
        except OSError as exc:
            skipped.append(Decision(src, "failed", reason="unreadable", message=f"{src}: {exc.strerror or exc}."))
            continue
        if stat.S_ISDIR(st.st_mode):
            walk(src)
        else:
            consider(src, st)
    return photos, skipped


def companions_of(photo: Path, kinds: Iterable[str] | None = None) -> list[Path]:
    """Live Photo movie and sidecars next to a photo: IMG_1.MOV, IMG_1.xmp, IMG_1.JPG.xmp, IMG_1.AAE;
    and a RAW twin of the same shot (IMG_1.DNG) when RAW files are being sorted."""
    stem, name = photo.stem.casefold(), photo.name.casefold()
    out = []
    try:
        entries = list(os.scandir(photo.parent))
    except OSError:
        return out
    for e in entries:
        p = Path(e.path)
        if p == photo or not e.is_file(follow_symlinks=False):
            continue
        low = p.name.casefold()
        base, suffix = os.path.splitext(low)
        if suffix in COMPANION_SUFFIXES and (base == stem or base == name):
            out.append(p)
    if kinds is None or "raw" in kinds:
        out += pairing.raw_twins(photo)
    return sorted(out)


# --------------------------------------------------------------------------- planning


def plan_sort(
    sources: Iterable[str | Path],
    scorer,
    ledger: Ledger,
    destinations: dict[str, Path],
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
    background: str = "auto",
    history=None,
    kinds: Iterable[str] | None = None,
) -> Plan:
    """Decide what to do with every photo; reads files, writes nothing. ``history``: features of
    photos seen earlier, joining this batch as the familiarity gate's background."""
    clf = scorer.classifier
    for c in clf.categories:
        if c not in destinations:
            raise errors.UsageError(f"No destination folder for category '{c}'.")
    photos, decisions = scan_sources(sources, kinds)
    stats = {}
    for p in photos:
        try:
            st = os.stat(p)
            stats[p] = (st.st_size, st.st_mtime_ns)
        except OSError:
            stats[p] = (None, None)
    first_seen: dict[str, Path] = {}
    for r in _with_orphaned_twins(scorer.score_paths(photos, progress=progress, cancel=cancel, total=len(photos),
                                                     background=background, history=history), scorer, kinds, stats):
        size, mtime = stats.get(r.path, (None, None))
        if not hasattr(r, "scores"):
            decisions.append(Decision(r.path, "failed", size=size, mtime_ns=mtime, reason=r.reason, message=r.message))
            continue
        if r.sha256 in first_seen:  # the same photo twice (a renamed copy): sort it once
            decisions.append(Decision(r.path, "already_sorted", r.sha256, size, mtime, [], r.categories, r.scores,
                                      message=f"identical to {first_seen[r.sha256].name}"))
            continue
        first_seen[r.sha256] = r.path
        companions = companions_of(r.path, kinds) if r.categories else []
        companion_shas = _LazyHashes(companions)
        todo = [c for c in r.categories if not _category_done(ledger, r.sha256, companion_shas, c)]
        before = [c for c in r.categories if c not in todo]
        outcome = "no_category" if not r.categories else "copy" if todo else "already_sorted"
        decisions.append(Decision(r.path, outcome, r.sha256, size, mtime, todo, before, r.scores, companions=companions))
    thresholds = {c: float(scorer.threshold_overrides.get(c, t)) if hasattr(scorer, "threshold_overrides") else float(t)
                  for c, t in zip(clf.categories, clf.thresholds)}
    return Plan(decisions, dict(destinations), thresholds, getattr(scorer, "last_background_photos", 0))


def _with_orphaned_twins(results, scorer, kinds, stats: dict):
    """The scored photos, then the RAW twins of stills that could not be read, scored themselves:
    a broken JPEG must not take its intact RAW down with it."""
    failed = []
    for r in results:
        if not hasattr(r, "scores"):
            failed.append(r.path)
        yield r
    orphans = [t for p in failed for t in companions_of(p, kinds) if media.kind_of(t) == "raw"]
    for t in orphans:
        try:
            st = os.stat(t)
            stats[t] = (st.st_size, st.st_mtime_ns)
        except OSError:
            stats[t] = (None, None)
    if orphans:
        yield from scorer.score_paths(orphans, background="off")


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
    return Plan(out, plan.destinations, dict(thresholds), plan.background_photos)


# --------------------------------------------------------------------------- applying


def apply_plan(
    plan: Plan,
    ledger: Ledger,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
    detail: dict | None = None,
    run_kind: str = "sort",
) -> Summary:
    """Carry out a plan. Per-file failures are recorded and reported; the run goes on."""
    run_id = ledger.start_run(run_kind, False, detail or {})
    summary = Summary(run_id)
    total = len(plan.decisions)
    for i, d in enumerate(plan.decisions):
        if cancel is not None and cancel.cancelled:
            ledger.finish_run(run_id, "interrupted", summary.as_dict())
            cancel.raise_if_cancelled()
        progress(i, total, d.path.name)
        if d.outcome == "failed":
            summary.failed.append((str(d.path), d.reason or "failed", d.message or ""))
            ledger.record_failure(run_id, str(d.path), d.reason or "failed", d.message or "")
            ledger.record_seen(run_id, str(d.path), d.size, d.mtime_ns, d.sha256, "failed")
            continue
        if d.outcome in ("no_category", "already_sorted"):
            setattr(summary, d.outcome, getattr(summary, d.outcome) + 1)
            ledger.record_seen(run_id, str(d.path), d.size, d.mtime_ns, d.sha256, d.outcome, d.done_before, d.scores)
            continue
        failures_before = len(summary.failed)
        made = _copy_photo(d, plan, ledger, run_id, summary)
        if made is not None:
            summary.copied_photos += made > 0
            if made == 0 and len(summary.failed) == failures_before:
                summary.already_sorted += 1
            # A photo that failed in any category is recorded as failed, so rescans retry it
            # (the planner then skips the categories that did succeed).
            outcome = "failed" if len(summary.failed) > failures_before else "copied" if made else "already_sorted"
            ledger.record_seen(run_id, str(d.path), d.size, d.mtime_ns, d.sha256, outcome, d.categories, d.scores)
    progress(total, total, "done")
    ledger.finish_run(run_id, "done", summary.as_dict())
    return summary


def _copy_photo(d: Decision, plan: Plan, ledger: Ledger, run_id: int, summary: Summary) -> int | None:
    """Copy one photo into each of its categories. Returns copies made, or None on failure."""
    data: bytes | Path = d.path  # videos and RAW files are streamed; the copy checks their hash
    try:
        if media.kind_of(d.path) not in ("videos", "raw"):
            data = imaging.read_file_bytes(d.path)
        else:
            checked_size(d.path)
    except errors.BadImageError as exc:
        _fail(ledger, run_id, summary, d.path, exc.reason, str(exc))
        return None
    if isinstance(data, bytes) and imaging.content_hash(data) != d.sha256:
        _fail(ledger, run_id, summary, d.path, "changed", f"{d.path}: the file changed after it was scored; it will be sorted on the next run.")
        return None
    made = 0
    for category in d.categories:
        folder = plan.destinations[category]
        try:
            done_at = ledger.copy_dest(d.sha256, category)  # an earlier, perhaps interrupted, run
            if done_at is None:
                result = _copy_one(data, d.sha256, d.path, d.path.name, category, folder, ledger, run_id)
                made += result.written
                summary.copies_made += result.written
                photo_dest = result.dest
            else:
                photo_dest = Path(done_at)
            for comp in d.companions:
                _copy_companion(comp, photo_dest, d, category, folder, ledger, run_id, summary)
        except OSError as exc:
            reason = {errno.ENOSPC: "disk_full", errno.EACCES: "permission_denied", errno.EPERM: "permission_denied",
                      errno.EROFS: "read_only"}.get(exc.errno or 0, "write_failed")
            _fail(ledger, run_id, summary, d.path, reason,
                  f"{d.path}: could not copy into '{category}' ({folder}): {exc.strerror or exc}. It will be retried on the next run.")
        except copier.SourceChanged:
            _fail(ledger, run_id, summary, d.path, "changed", f"{d.path}: the file changed after it was scored; it will be sorted on the next run.")
            return None
        except errors.PhotosorterError as exc:
            _fail(ledger, run_id, summary, d.path, "unsafe_destination", str(exc))
        fault.point("between-categories")
    return made


def _copy_one(data: bytes | Path, sha: str, source: Path, name: str, category: str, folder: Path,
              ledger: Ledger, run_id: int) -> copier.CopyResult:
    root = folder.parent
    folder.mkdir(parents=True, exist_ok=True)
    if not inside(root, folder) or folder.is_symlink():
        raise errors.UsageError(f"The folder for '{category}' now points outside {root} (symbolic link); nothing was written.")
    size = len(data) if isinstance(data, bytes) else os.stat(data).st_size
    for _attempt in range(5):
        dest, already = copier.choose_destination(folder, name, sha, size)
        if already:
            with ledger.transaction():
                cid = ledger.copy_intent(run_id, str(source), sha, category, str(dest), "")
                ledger.copy_state(cid, "existing", str(dest), sha)
            return copier.CopyResult(dest, sha, False)
        temp = copier.temp_name(folder, dest.name)
        with ledger.transaction():
            cid = ledger.copy_intent(run_id, str(source), sha, category, str(dest), str(temp))
        fault.point("after-intent")
        try:
            written_sha = copier.write_temp(data, temp) if isinstance(data, bytes) else copier.write_temp_from(data, temp, sha)
            copier.publish(temp, dest)
        except FileExistsError:
            temp.unlink(missing_ok=True)
            ledger.copy_state(cid, "rolled_back")
            continue  # someone took the name meanwhile: choose again
        except BaseException:
            temp.unlink(missing_ok=True)
            ledger.copy_state(cid, "rolled_back")
            raise
        fault.point("before-commit")
        ledger.copy_state(cid, "done", str(dest), written_sha)
        return copier.CopyResult(dest, written_sha, True)
    raise OSError(errno.EEXIST, "the destination name kept changing while copying")


def _copy_companion(comp: Path, photo_dest: Path, d: Decision, category: str, folder: Path,
                    ledger: Ledger, run_id: int, summary: Summary) -> None:
    """Copy a sidecar/Live Photo movie under the photo's final stem (IMG_1 (1).MOV for IMG_1 (1).JPG)."""
    try:
        sha = stream_hash(comp)  # streamed: a Live Photo movie or a RAW twin can be large
    except errors.BadImageError as exc:
        _fail(ledger, run_id, summary, comp, exc.reason, str(exc))
        return
    data = comp
    if ledger.already_copied(sha, category):
        return
    if comp.name.casefold().startswith(d.path.name.casefold()):  # IMG_1.JPG.xmp style
        name = photo_dest.name + comp.name[len(d.path.name):]
    else:
        name = photo_dest.stem + comp.suffix
    result = _copy_one(data, sha, comp, name, category, folder, ledger, run_id)
    summary.copies_made += result.written


class _LazyHashes:
    """Companion files' hashes, each read at most once, and only if needed."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self._shas: list[str | None] | None = None

    def __iter__(self):
        if self._shas is None:
            self._shas = []
            for p in self.paths:
                try:
                    self._shas.append(imaging.file_hash(p))
                except OSError:
                    self._shas.append(None)  # a companion that vanished cannot be copied anyway
        return iter(s for s in self._shas if s is not None)


def _category_done(ledger: Ledger, sha: str, companion_shas: _LazyHashes, category: str) -> bool:
    """Sorted into this category only when the photo *and* every companion are there."""
    if not ledger.already_copied(sha, category):
        return False
    return all(ledger.already_copied(s, category) for s in companion_shas)


def _fail(ledger: Ledger, run_id: int, summary: Summary, path: Path, reason: str, message: str) -> None:
    summary.failed.append((str(path), reason, message))
    ledger.record_failure(run_id, str(path), reason, message)


# --------------------------------------------------------------------------- recovery & undo


def recover(ledger: Ledger) -> dict[str, int]:
    """Finish or roll back whatever a crash interrupted. Safe to run any time, idempotent.

    * a copy journaled as 'intent' whose final file exists with our content → 'done' (the
      rename happened, the commit did not); otherwise → 'rolled_back' and its temp file removed;
    * stale ``.pending-*`` files in any folder we have written to are removed;
    * runs still marked 'running' become 'interrupted'.
    """
    stats = Counter()
    for c in ledger.copies(states=("intent",)):
        dest = Path(c["dest"]) if c["dest"] else None
        temp = Path(c["temp"]) if c["temp"] else None
        temp_was_there = temp is not None and temp.exists()
        if temp_was_there:
            temp.unlink()
            stats["temp_removed"] += 1
        if temp_was_there and dest is not None and dest.is_file() and dest.stat().st_size == 0:
            dest.unlink()  # our empty O_EXCL reservation (no-hard-link path); the data never moved in
            stats["reservation_removed"] += 1
        if dest is not None and dest.is_file() and copier.hash_file(dest) == c["source_sha256"]:
            ledger.copy_state(c["id"], "done", str(dest), c["source_sha256"])
            stats["completed"] += 1
        else:
            ledger.copy_state(c["id"], "rolled_back")
            stats["rolled_back"] += 1
    folders = {Path(c["dest"]).parent for c in ledger.copies() if c["dest"]}
    for folder in folders:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for n in names:
            if n.startswith(copier.TEMP_PREFIX):
                (folder / n).unlink(missing_ok=True)
                stats["temp_removed"] += 1
    ledger.db.execute("UPDATE runs SET state='interrupted' WHERE state='running'")
    return dict(stats)


def trash(path: Path) -> None:
    """The one place that removes files: the system trash, never a silent delete."""
    from send2trash import send2trash

    send2trash(str(path))


@dataclass
class UndoResult:
    run_id: int
    trashed: list[str] = field(default_factory=list)
    kept_modified: list[str] = field(default_factory=list)
    already_gone: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"run_id": self.run_id, "trashed": self.trashed, "kept_modified": self.kept_modified,
                "already_gone": self.already_gone, "errors": [{"file": f, "message": m} for f, m in self.errors]}


def undo_run(ledger: Ledger, run_id: int | None = None, trash_fn: Callable[[Path], None] | None = None) -> UndoResult:
    """Send each copy a run made to the trash — only if it is still byte-identical to what we
    wrote. Modified copies are reported and kept. Originals are never touched."""
    trash_fn = trash_fn or trash
    recover(ledger)
    if run_id is None:
        run_id = ledger.last_undoable_run()
        if run_id is None:
            raise errors.UsageError("There is no sort run to undo.")
    if ledger.run(run_id) is None:
        raise errors.UsageError(f"There is no run {run_id}. See 'photosorter runs'.")
    result = UndoResult(run_id)
    for c in ledger.copies(run_id, ("done",)):
        dest = Path(c["dest"])
        if not dest.exists():
            ledger.copy_state(c["id"], "undone")
            result.already_gone.append(str(dest))
            continue
        if dest.is_symlink() or not dest.is_file() or copier.hash_file(dest) != c["dest_sha256"]:
            ledger.copy_state(c["id"], "kept_modified")
            result.kept_modified.append(str(dest))
            continue
        fault.point("before-trash")
        try:
            trash_fn(dest)
        except Exception as exc:  # no trash on this volume, permission...: report, never delete
            result.errors.append((str(dest), f"could not move it to the trash ({exc}); left in place."))
            continue
        fault.point("after-trash")
        ledger.copy_state(c["id"], "undone")
        result.trashed.append(str(dest))
    remaining = ledger.copies(run_id, ("done",))
    ledger.db.execute("UPDATE runs SET state=? WHERE id=?", ("undone" if not remaining else "done", run_id))
    return result
