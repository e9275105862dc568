"""Apply a plan through the copier and the ledger, recover after a crash, undo a run.

Promise: no operation here modifies, moves or deletes a file photosorter did not create, whatever
is swapped underneath it. Sources are only opened for reading, through verified folder
descriptors and ``O_NOFOLLOW`` (:mod:`.safefs`), and copied only when their bytes hash to what
was planned; copies are published with exclusive operations; undo trashes a copy only if every
folder on its path is still a real folder, the file is the one we created (same inode) and holds
the bytes we wrote. A crash at any instant leaves nothing half-done after :func:`recover`, and
recovery touches only work of processes that are gone.

Planning (scan → decisions, rethreshold) lives in :mod:`.planner` and is re-exported here.
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from .. import errors
from ..fsnames import shown
from ..jobs import CancelToken, ProgressFn, no_progress
from . import copier, fault, safefs, trashcan
from .ledger import Ledger
from .paths import portable_name
from .planner import COMPANION_SUFFIXES, Decision, Plan, plan_sort, real_folder, rethreshold, scan_sources  # noqa: F401 (API)

#: Failures worth retrying while the watcher runs (space freed, rights fixed, file settled).
TRANSIENT_REASONS = frozenset({"disk_full", "permission_denied", "read_only", "write_failed", "changed", "unreadable"})


@dataclass
class Summary:
    run_id: int | None
    copied_photos: int = 0
    copies_made: int = 0
    already_sorted: int = 0
    no_category: int = 0
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (path, reason, message)
    dry_run: bool = False
    per_category: dict[str, int] = field(default_factory=dict)  # photos copied into each category
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (source, copy) stored under a safe name
    #: (photo, message) for a copied photo whose companions were left behind (a symlinked or too big sidecar)
    notes: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "run_id": self.run_id, "dry_run": self.dry_run, "copied_photos": self.copied_photos,
            "copies_made": self.copies_made, "already_sorted": self.already_sorted, "no_category": self.no_category,
            "per_category": dict(self.per_category),
            "renamed": [{"file": shown(s), "stored_as": shown(d)} for s, d in self.renamed],
            "failed": [{"file": shown(p), "reason": r, "message": shown(m)} for p, r, m in self.failed],
            "notes": [{"file": shown(p), "message": shown(m)} for p, m in self.notes],
        }


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
    with ledger.run_lock():
        run_id = ledger.start_run(run_kind, False, {**(detail or {}), "pid": os.getpid()})
        summary = Summary(run_id, per_category={c: 0 for c in plan.destinations})
        folders: dict[str, copier.DestFolder | errors.PhotosorterError | OSError] = {}
        try:
            _apply(plan, ledger, run_id, summary, folders, progress, cancel)
        finally:
            for f in folders.values():
                if isinstance(f, copier.DestFolder):
                    f.close()
        ledger.finish_run(run_id, "done", summary.as_dict())
    return summary


def _apply(plan: Plan, ledger: Ledger, run_id: int, summary: Summary, folders: dict, progress: ProgressFn,
           cancel: CancelToken | None) -> None:
    total = len(plan.decisions)
    for i, d in enumerate(plan.decisions):
        if cancel is not None and cancel.cancelled:
            ledger.finish_run(run_id, "interrupted", summary.as_dict())
            cancel.raise_if_cancelled()
        progress(i, total, shown(d.path.name))
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
        made = _copy_photo(d, plan, ledger, run_id, summary, folders)
        if made and d.message:  # companions left behind: said with the copy, not only in a dry run
            summary.notes.append((str(d.path), d.message))
        if made is not None:
            summary.copied_photos += made > 0
            if made == 0 and len(summary.failed) == failures_before:
                summary.already_sorted += 1
        # A photo that failed in any category is recorded as failed, so rescans retry it
        # (the planner then skips the categories that did succeed).
        outcome = "failed" if len(summary.failed) > failures_before else "copied" if made else "already_sorted"
        ledger.record_seen(run_id, str(d.path), d.size, d.mtime_ns, d.sha256, outcome, d.categories, d.scores)
    progress(total, total, "done")


_OS_REASONS = {errno.ENOSPC: "disk_full", errno.EDQUOT: "disk_full", errno.EACCES: "permission_denied",
               errno.EPERM: "permission_denied", errno.EROFS: "read_only"}


def _open_source(path: Path, ledger: Ledger, run_id: int, summary: Summary) -> int | None:
    try:
        return safefs.open_file(path)
    except safefs.SwappedPathError:
        _fail(ledger, run_id, summary, path, "symlink",
              f"{path}: it (or a folder above it) was replaced by a symbolic link after it was scanned; not copied.")
    except PermissionError:
        _fail(ledger, run_id, summary, path, "unreadable", f"{path}: permission denied; it will be retried on the next run.")
    except OSError as exc:
        _fail(ledger, run_id, summary, path, "unreadable", f"{path}: {exc.strerror or exc}; it will be retried on the next run.")
    return None


def _folder(plan: Plan, category: str, folders: dict) -> copier.DestFolder:
    f = folders.get(category)
    if f is None:
        try:
            f = copier.DestFolder(plan.destinations[category])
        except FileExistsError as exc:  # mkdir met a file: "File exists" told nobody what to do
            f = OSError(exc.errno, "a file, not a folder, is in the way; move or rename it", exc.filename)
        except (errors.PhotosorterError, OSError) as exc:
            f = exc
        folders[category] = f
    if isinstance(f, BaseException):
        raise f
    return f


def _copy_photo(d: Decision, plan: Plan, ledger: Ledger, run_id: int, summary: Summary, folders: dict) -> int | None:
    """Copy one photo (and its companions) into each of its categories. Returns photo copies made,
    or None when the photo itself could not be read."""
    src = _open_source(d.path, ledger, run_id, summary)
    if src is None:
        return None
    try:
        if safefs.hash_fd(src)[0] != d.sha256:
            _fail(ledger, run_id, summary, d.path, "changed",
                  f"{d.path}: the file changed after it was scored; it will be sorted on the next run.")
            return None
        made = 0
        for category in d.categories:
            try:
                folder = _folder(plan, category, folders)
                done_at = d.done_at.get(category)
                category_id = plan.category_ids.get(category)
                if done_at is None:
                    result = _copy_one(src, d.sha256, d.path, portable_name(d.path.name), category, folder, ledger, run_id,
                                       summary, category_id=category_id)
                    made += result.written
                    summary.copies_made += result.written
                    if result.written:  # identical content already there (another sort made it): not ours
                        summary.per_category[category] = summary.per_category.get(category, 0) + 1
                    photo_dest = result.dest
                else:
                    photo_dest = done_at
                for comp in d.companions:
                    _copy_companion(comp, photo_dest, d, category, folder, ledger, run_id, summary, category_id)
            except OSError as exc:
                reason = _OS_REASONS.get(exc.errno or 0, "write_failed")
                _fail(ledger, run_id, summary, d.path, reason,
                      f"{d.path}: could not copy into '{category}' ({plan.destinations[category]}): {exc.strerror or exc}. "
                      "It will be retried on the next run.")
            except errors.PhotosorterError as exc:
                _fail(ledger, run_id, summary, d.path, "unsafe_destination", str(exc))
            except copier.SourceChangedError:
                _fail(ledger, run_id, summary, d.path, "changed",
                      f"{d.path}: the file changed while it was being copied; it will be sorted on the next run.")
                break
            fault.point("between-categories")
        return made
    finally:
        os.close(src)


def _copy_one(src_fd: int, sha: str, source: Path, name: str, category: str, folder: copier.DestFolder,
              ledger: Ledger, run_id: int, summary: Summary, companion_of: Path | None = None,
              category_id: str | None = None) -> copier.CopyResult:
    size = os.fstat(src_fd).st_size
    for _attempt in range(5):
        final, already = folder.choose(name, sha, size)
        dest = folder.path / final
        if already:
            with ledger.transaction():
                cid = ledger.copy_intent(run_id, str(source), sha, category, str(dest), "",
                                         None if companion_of is None else str(companion_of), category_id)
                ledger.copy_state(cid, "existing", str(dest), sha)
            return copier.CopyResult(dest, sha, False)
        temp = copier.temp_name(final)
        with ledger.transaction():
            cid = ledger.copy_intent(run_id, str(source), sha, category, str(dest), str(folder.path / temp),
                                     None if companion_of is None else str(companion_of), category_id)
        fault.point("after-intent")
        published: os.stat_result | None = None
        try:
            written_sha, _temp_st = copier.write_temp(folder, src_fd, temp, sha)
            with _interrupts_deferred():  # publish + commit: the ledger must say what the disk holds
                published = copier.publish(folder, temp, final)
                fault.point("before-commit")
                ledger.copy_state(cid, "done", str(dest), written_sha, published)
        except FileExistsError:
            copier.remove_temp(folder, temp)
            ledger.copy_state(cid, "rolled_back")
            folder.taken(final)
            continue  # someone took the name meanwhile: choose again
        except BaseException:
            _settle(folder, ledger, cid, temp, final, dest, sha, published)
            raise
        if portable_name(source.name) != source.name:
            summary.renamed.append((str(source), str(dest)))
        return copier.CopyResult(dest, written_sha, True)
    raise OSError(errno.EEXIST, "the destination name kept changing while copying")


def _settle(folder: copier.DestFolder, ledger: Ledger, cid: int, temp: str, final: str, dest: Path, sha: str,
            published: os.stat_result | None) -> None:
    """After an error or Ctrl+C mid-copy: record exactly what is on disk. A copy that was
    published is ours and stays journaled as done (undo removes it); anything else is rolled back."""
    temp_st = safefs.lstat_in(folder.fd, temp)
    final_st = safefs.lstat_in(folder.fd, final)
    if published is None and temp_st is not None and final_st is not None and safefs.same_file(temp_st, final_st):
        published = final_st  # linked, interrupted before the temp name was removed
    if published is not None and final_st is not None and safefs.same_file(published, final_st):
        copier.remove_temp(folder, temp)
        ledger.copy_state(cid, "done", str(dest), sha, final_st)
        return
    copier.remove_temp(folder, temp)
    ledger.copy_state(cid, "rolled_back")


@contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold a Ctrl+C (SIGINT) until the block is done (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    caught: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if caught:
            raise KeyboardInterrupt


def _copy_companion(comp: Path, photo_dest: Path, d: Decision, category: str, folder: copier.DestFolder,
                    ledger: Ledger, run_id: int, summary: Summary, category_id: str | None = None) -> None:
    """Copy a sidecar/Live Photo movie under the photo's final stem (IMG_1 (1).MOV for IMG_1 (1).JPG),
    only if it still holds the bytes that were planned."""
    from .planner import companion_present

    sha = d.companion_shas[comp]
    if companion_present(ledger, photo_dest, sha) is not None:
        return
    fd = _open_source(comp, ledger, run_id, summary)
    if fd is None:
        return
    try:
        if comp.name.casefold().startswith(d.path.name.casefold()):  # IMG_1.JPG.xmp style
            name = photo_dest.name + portable_name(comp.name[len(d.path.name):])
        else:
            name = photo_dest.stem + portable_name(comp.suffix)
        try:
            result = _copy_one(fd, sha, comp, name, category, folder, ledger, run_id, summary, companion_of=photo_dest,
                               category_id=category_id)
        except copier.SourceChangedError:
            _fail(ledger, run_id, summary, comp, "changed",
                  f"{comp}: this sidecar changed after the photo was scored; not copied. It will be sorted on the next run.")
            return
        summary.copies_made += result.written
    finally:
        os.close(fd)


def _fail(ledger: Ledger, run_id: int, summary: Summary, path: Path, reason: str, message: str) -> None:
    summary.failed.append((str(path), reason, message))
    ledger.record_failure(run_id, str(path), reason, message)


# --------------------------------------------------------------------------- recovery


def recover(ledger: Ledger) -> dict[str, int]:
    """Finish or roll back whatever a crash interrupted. Safe to run any time, idempotent, and
    a no-op while another process is applying or undoing a run (see :meth:`Ledger.recovery_lock`).

    * a copy journaled as 'intent' whose final file is our temp file's inode, or holds our
      content while the temp is gone → 'done'; otherwise → 'rolled_back', its temp file removed;
    * a copy an interrupted undo had parked aside is put back under its name;
    * stale ``.pending-*`` files in any folder we have written to are removed;
    * runs still marked 'running' become 'interrupted'.
    All of it through verified folder descriptors: nothing outside our folders is touched.
    """
    stats: Counter = Counter()
    with ledger.recovery_lock() as free:
        if not free:
            stats["busy"] = 1
            return dict(stats)
        for c in ledger.copies(states=("intent",)):
            _recover_intent(ledger, c, stats)
        for c in ledger.parked_copies():
            _unpark(ledger, c, stats)
        folders = {Path(c["dest"]).parent for c in ledger.copies() if c["dest"]}
        for folder in folders:
            _sweep(folder, stats)
        ledger.mark_interrupted()
    return dict(stats)


@contextmanager
def _dir(folder: Path) -> Iterator[int | None]:
    try:
        fd = safefs.open_dir(folder)
    except OSError:
        yield None
        return
    try:
        yield fd
    finally:
        os.close(fd)


def _recover_intent(ledger: Ledger, c: dict, stats: Counter) -> None:
    dest = Path(c["dest"]) if c["dest"] else None
    temp = Path(c["temp"]) if c["temp"] else None
    if dest is None:
        ledger.copy_state(c["id"], "rolled_back")
        stats["rolled_back"] += 1
        return
    with _dir(dest.parent) as fd:
        if fd is None:
            ledger.copy_state(c["id"], "rolled_back")
            stats["rolled_back"] += 1
            return
        tst = safefs.lstat_in(fd, temp.name) if temp is not None else None
        dst = safefs.lstat_in(fd, dest.name)
        if temp is not None and tst is not None and stat.S_ISREG(tst.st_mode):
            if dst is not None and safefs.same_file(tst, dst):  # linked; the temp name not yet removed
                os.unlink(temp.name, dir_fd=fd)
                stats["temp_removed"] += 1
                ledger.copy_state(c["id"], "done", str(dest), c["source_sha256"], dst)
                stats["completed"] += 1
                return
            os.unlink(temp.name, dir_fd=fd)
            stats["temp_removed"] += 1
            if dst is not None and stat.S_ISREG(dst.st_mode) and dst.st_size == 0 and dst.st_nlink == 1:
                os.unlink(dest.name, dir_fd=fd)  # our empty O_EXCL reservation (no-hard-link path)
                stats["reservation_removed"] += 1
            ledger.copy_state(c["id"], "rolled_back")
            stats["rolled_back"] += 1
            return
        if dst is not None and stat.S_ISREG(dst.st_mode):
            try:
                rfd = safefs.open_in(fd, dest.name)
                try:
                    sha = safefs.hash_fd(rfd)[0]
                finally:
                    os.close(rfd)
            except OSError:
                sha = None
            run = ledger.run(c["run_id"])
            # Our copy was written after its run started; a file older than that is someone else's
            # with the same bytes — an attack put the user's original there (mv keeps its date)
            # after a kill between the journal and the commit, recovery took it for ours, and undo
            # trashed it. (2 s of slack: FAT keeps times to 2 s.)
            older = run is not None and dst.st_mtime_ns < int((run.started - 2) * 1e9)
            if sha == c["source_sha256"] and not older:  # published, the commit did not happen
                ledger.copy_state(c["id"], "done", str(dest), sha, dst)
                stats["completed"] += 1
                return
        ledger.copy_state(c["id"], "rolled_back")
        stats["rolled_back"] += 1


def _unpark(ledger: Ledger, c: dict, stats: Counter) -> bool:
    """An undo was interrupted after parking a copy: put it back under its name, or — if the
    trash already took it — record the copy as undone, so the ledger says what the disk holds.
    True when it stays parked (its name is taken meanwhile)."""
    dest, parked = Path(c["dest"]), Path(c["temp"])
    with _dir(dest.parent) as fd:
        if fd is not None and parked.parent.parent == dest.parent:
            rel = f"{parked.parent.name}/{parked.name}"
            if safefs.lstat_in(fd, rel) is not None:
                try:
                    os.link(rel, dest.name, src_dir_fd=fd, dst_dir_fd=fd, follow_symlinks=False)
                    os.unlink(rel, dir_fd=fd)
                    stats["unparked"] += 1
                except OSError:
                    return True  # the name is taken meanwhile: stays parked (and journaled) for a later look
            elif safefs.lstat_in(fd, dest.name) is None:
                ledger.copy_state(c["id"], "undone")  # the trash has it
                stats["undone"] += 1
            with suppress(OSError):
                os.rmdir(parked.parent.name, dir_fd=fd)
    ledger.set_copy_temp(c["id"], None)
    return False


def _sweep(folder: Path, stats: Counter) -> None:
    with _dir(folder) as fd:
        if fd is None:
            return
        for n in os.listdir(fd):
            if not n.startswith(copier.TEMP_PREFIX):
                continue
            st = safefs.lstat_in(fd, n)
            if st is None:
                continue
            try:
                if stat.S_ISREG(st.st_mode):
                    os.unlink(n, dir_fd=fd)
                    stats["temp_removed"] += 1
                elif stat.S_ISDIR(st.st_mode) and n.startswith(copier.UNDO_PREFIX):
                    os.rmdir(n, dir_fd=fd)  # only if empty
            except OSError:
                pass


# --------------------------------------------------------------------------- undo


def trash(path: Path, restore_to: Path | None = None) -> None:
    """The one place that removes files: the system trash, never a silent delete. ``restore_to``:
    where the trash's "Restore" puts it back (the copy's real path, not the descriptor path)."""
    trashcan.trash(path, restore_to)


@dataclass
class UndoResult:
    run_id: int
    trashed: list[str] = field(default_factory=list)
    kept_modified: list[str] = field(default_factory=list)
    already_gone: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"run_id": self.run_id, "trashed": [shown(t) for t in self.trashed],
                "kept_modified": [shown(t) for t in self.kept_modified],
                "already_gone": [shown(t) for t in self.already_gone],
                "errors": [{"file": shown(f), "message": shown(m)} for f, m in self.errors]}


def undo_run(ledger: Ledger, run_id: int | None = None, trash_fn: Callable[[Path], None] | None = None) -> UndoResult:
    """Send each copy a run made to the trash — only if it is still the very file we created
    (every folder on its path a real folder, same inode, byte-identical). Anything else is
    refused with a message and left where it is. Originals are never touched."""
    trash_fn = trash_fn or trash
    recover(ledger)
    if run_id is None:
        run_id = ledger.last_undoable_run()
        if run_id is None:
            last = ledger.last_sort_run()
            if last is not None and last.state == "undone":
                raise errors.UsageError(f"Run {last.id} is already undone; there is no later sort run to undo.")
            raise errors.UsageError("There is no sort run to undo.")
    info = ledger.run(run_id)
    if info is None:
        raise errors.UsageError(f"There is no run {run_id}. See 'photosorter runs'.")
    if info.state == "undone" and not ledger.copies(run_id, ("done",)):
        raise errors.UsageError(f"Run {run_id} is already undone.")
    result = UndoResult(run_id)
    with ledger.undo_lock(), ledger.run_lock():
        for c in ledger.copies(run_id, ("done",)):  # read under the lock: another undo may have taken some
            _undo_copy(ledger, c, result, trash_fn)
        remaining = ledger.copies(run_id, ("done",))
        ledger.set_run_state(run_id, "undone" if not remaining else "done")
    return result


def _names_now(rows: list[dict], folders: Mapping[str, str | Path] | None,
               ids: Mapping[str, str] | None = None) -> list[str]:
    """Each copy's category under the name it has *now*.

    Why: the ledger keeps the name a category had when the copy was made. After "Pets" became
    "Animals", a correction "also Animals" on a photo copied as "Pets" found it had "no copy in
    Animals" and offered to trash its copy "in Pets" — the very copy the person had just said was
    right. A copy recorded with the library's lasting category id (``ids``: name now → id) is
    named by it; one whose category was removed since, after the one category now on its
    folder, or none (its old name may be a new category's: a removed "A" and a new "A" are two
    categories). Other copies (older ones, the command line's, whose categories have no ids) go
    by the folder they are in — a rename keeps it: the one current category with that folder;
    where several share it (a library from before folders were kept apart) the ledger's name if
    it is one of them, else none (""); in a folder no current category has, the ledger's name."""
    by_id = {i: n for n, i in (ids or {}).items()}
    holders: dict[Path, list[str]] = {}
    for name, f in (folders or {}).items():
        holders.setdefault(real_folder(Path(f)), []).append(name)
    out = []
    for r in rows:
        if r.get("category_id") in by_id:
            out.append(by_id[r["category_id"]])
            continue
        here = holders.get(Path(r["dest"]).parent, [])
        if r.get("category_id") and by_id:  # its category was removed: its name may be another's now
            out.append(here[0] if len(here) == 1 else "")
            continue
        out.append(r["category"] if not here or r["category"] in here else here[0] if len(here) == 1 else "")
    return out


def copied_categories(ledger: Ledger, photo: str | Path, sha: str, folders: Mapping[str, str | Path] | None = None,
                      ids: Mapping[str, str] | None = None) -> list[str]:
    """The categories that hold a copy of ``photo`` (with content ``sha``) made by any run, by
    their names now when the categories' ``folders`` and ``ids`` are given (see _names_now)."""
    return sorted(set(_names_now(ledger.copies_from(photo, sha), folders, ids)) - {""})


def undo_copies_of(ledger: Ledger, photo: str | Path, sha: str, categories: Iterable[str],
                   trash_fn: Callable[[Path], None] | None = None,
                   folders: Mapping[str, str | Path] | None = None, ids: Mapping[str, str] | None = None) -> UndoResult:
    """Send to the trash the copies of one photo (at ``photo`` with content ``sha``) in
    ``categories``, whichever run made them, with the companions recorded as travelling with each
    copy (Live Photo movie, sidecars, RAW twin): a person's correction ("not Pets") on a photo that
    was already sorted. The same checks as undo_run — only the very file photosorter created,
    through verified folders; anything else is left in place with a message. A companion goes only
    when its photo's copy went (a refused or edited copy keeps its sidecars). A finished run left
    with no copies is marked undone; a running one is left to its own process."""
    trash_fn = trash_fn or trash
    wanted = set(categories)
    recover(ledger)
    with ledger.undo_lock(), ledger.run_lock():
        return _undo_copies_of(ledger, photo, sha, wanted, trash_fn, folders, ids)


def _undo_copies_of(ledger: Ledger, photo: str | Path, sha: str, wanted: set[str], trash_fn: Callable[[Path], None],
                    folders: Mapping[str, str | Path] | None, ids: Mapping[str, str] | None) -> UndoResult:
    rows = ledger.copies_from(photo, sha)
    mine = [c for c, name in zip(rows, _names_now(rows, folders, ids)) if name in wanted]
    result = UndoResult(mine[0]["run_id"] if mine else 0)
    touched: set[int] = set()
    # Several rows at one place: the person deleted a copy and a later sort copied the same photo
    # there again. Only the last one's file is there; the earlier ones are gone (their undo said
    # "not the copy photosorter made" about the very file it had just trashed — an attack).
    for c in _last_at_each_place(ledger, mine, touched):
        gone_before = len(result.trashed) + len(result.already_gone)
        _undo_copy(ledger, c, result, trash_fn)
        touched.add(c["run_id"])
        if len(result.trashed) + len(result.already_gone) == gone_before:
            continue  # the photo's copy stays (edited, swapped): so do the files that go with it
        for o in _last_at_each_place(ledger, ledger.companions_of(c), touched):
            _undo_copy(ledger, o, result, trash_fn)
            touched.add(o["run_id"])
    for run_id in sorted(touched):
        info = ledger.run(run_id)
        if info is not None and info.state == "done" and not ledger.copies(run_id, ("done",)):
            ledger.set_run_state(run_id, "undone")
    return result


def _last_at_each_place(ledger: Ledger, rows: list[dict], touched: set[int]) -> list[dict]:
    """Of several rows for one place, the one whose file is there: the person deleted a copy and a
    later sort copied the same file there again, so one row's file is there and the others' are
    gone (undoing those said "replaced by another file" about the very file the other row's undo
    had just trashed — an attack). The file is matched by the identity each row recorded
    (device, inode, modification time); when none matches, the last row is taken (its undo then
    says why it leaves the file). The other rows are marked undone: their files are not there."""
    by_place: dict[str, list[dict]] = {}
    for c in sorted(rows, key=lambda c: c["id"]):
        by_place.setdefault(c["dest"], []).append(c)
    out = []
    for dest, group in by_place.items():
        chosen = group[-1]
        if len(group) > 1:
            try:
                st = os.lstat(dest)
            except OSError:
                st = None
            if st is not None:
                chosen = next((c for c in reversed(group) if (c["dest_dev"], c["dest_ino"], c["dest_mtime_ns"])
                               == (st.st_dev, st.st_ino, st.st_mtime_ns)), chosen)
            for c in group:
                if c is not chosen:
                    ledger.copy_state(c["id"], "undone")
                    touched.add(c["run_id"])
        out.append(chosen)
    return sorted(out, key=lambda c: c["id"])


def _undo_copy(ledger: Ledger, c: dict, result: UndoResult, trash_fn: Callable[[Path], None]) -> None:
    dest = Path(c["dest"])
    if c.get("temp"):
        # Parked by an undo that was killed, and not put back since: recovery is skipped while a
        # run holds the lock, and this undo took the copy for gone — it stayed hidden in the park
        # folder for good (an attack). Undos take turns, so no other undo is using it: back first.
        stats: Counter = Counter()
        left_parked = _unpark(ledger, c, stats)
        if stats["undone"]:  # the trash had taken it before the kill
            result.already_gone.append(str(dest))
            return
        if left_parked:  # its name is taken meanwhile
            result.errors.append((str(dest), f"an interrupted undo left it in {Path(c['temp']).parent}; its name is "
                                             "taken meanwhile, so it was left there."))
            return
        # put back (or the trash had it and a file is at its name again): the usual checks decide
    try:
        fd = safefs.open_dir(dest.parent)
    except safefs.SwappedPathError:
        result.errors.append((str(dest), f"a folder on its path ({dest.parent}) is now a symbolic link or not a folder; "
                                         "it may not lead to the copy photosorter made, so nothing was touched there."))
        return
    except FileNotFoundError:
        ledger.copy_state(c["id"], "undone")
        result.already_gone.append(str(dest))
        return
    except OSError as exc:
        result.errors.append((str(dest), f"cannot open its folder ({exc.strerror or exc}); left in place."))
        return
    try:
        _undo_in(fd, ledger, c, dest, result, trash_fn)
    finally:
        os.close(fd)


def _undo_in(fd: int, ledger: Ledger, c: dict, dest: Path, result: UndoResult, trash_fn: Callable[[Path], None]) -> None:
    st = safefs.lstat_in(fd, dest.name)
    if st is None:
        ledger.copy_state(c["id"], "undone")
        result.already_gone.append(str(dest))
        return
    if not stat.S_ISREG(st.st_mode):
        result.errors.append((str(dest), "it is now a symbolic link or not a regular file, not the copy photosorter made; left in place."))
        return
    if c["dest_ino"] is not None and (st.st_dev, st.st_ino) != (c["dest_dev"], c["dest_ino"]):
        result.errors.append((str(dest), "it was replaced by another file since photosorter made the copy; left in place."))
        return
    rfd = safefs.open_in(fd, dest.name)
    try:
        held = os.fstat(rfd)
        if not safefs.same_file(held, st) or safefs.hash_fd(rfd)[0] != c["dest_sha256"]:
            ledger.copy_state(c["id"], "kept_modified")
            result.kept_modified.append(str(dest))
            return
    finally:
        os.close(rfd)
    if c.get("dest_mtime_ns") is not None and st.st_mtime_ns != c["dest_mtime_ns"]:
        # The same inode number with the same bytes is not always the same file: an inode freed by
        # deleting our copy is handed to the next file made there, and an attack moved the user's
        # original in under the copy's name (identical bytes) — undo trashed it. Our copy's
        # modification time is when we wrote it; a moved or copied-in file keeps another (mv and
        # cp -p keep the original's, cp gives the time of copying). It is not changed by
        # renaming, linking, permissions or extended attributes, so our own copies still go.
        result.errors.append((str(dest), "it is not the copy photosorter made (same name and bytes, but another "
                                         "file, or its date was changed); left in place."))
        return
    fault.point("before-trash")
    # Park the verified file in a fresh folder of ours (relative to the verified descriptor), so
    # the path handed to the trash names only what we created, whatever happens to the path after.
    park = f"{copier.UNDO_PREFIX}{uuid.uuid4().hex[:12]}"
    parked = dest.parent / park / dest.name
    ledger.set_copy_temp(c["id"], str(parked))
    try:
        os.mkdir(park, 0o700, dir_fd=fd)
        pfd = os.open(park, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0), dir_fd=fd)
    except OSError as exc:  # the fresh folder was swapped (e.g. for a symlink) before we could open it
        ledger.set_copy_temp(c["id"], None)
        result.errors.append((str(dest), f"its undo folder was tampered with ({exc.strerror or exc}); left in place."))
        return
    try:
        try:
            os.rename(dest.name, dest.name, src_dir_fd=fd, dst_dir_fd=pfd)
        except FileNotFoundError:  # removed between the checks and the move (by hand, another program)
            ledger.set_copy_temp(c["id"], None)
            with suppress(OSError):
                os.rmdir(park, dir_fd=fd)
            ledger.copy_state(c["id"], "undone")
            result.already_gone.append(str(dest))
            return
        moved = safefs.lstat_in(pfd, dest.name)
        if moved is None or not safefs.same_file(moved, st):  # swapped between check and move: put it back
            if _put_back(fd, pfd, park, dest.name):  # (else it stays parked, and journaled as such for recovery)
                ledger.set_copy_temp(c["id"], None)
            result.errors.append((str(dest), "it changed while being undone; left in place."))
            return
        try:
            # The trash gets the parked file through the folder descriptor we hold (Linux:
            # /proc/self/fd/N/name), not by its path: a park folder renamed away and replaced by a
            # symlink in the meantime cannot redirect the move to someone else's file.
            handed = _held_path(pfd, dest.name, parked)
            trash(handed, restore_to=dest) if trash_fn is trash else trash_fn(handed)
        except Exception as exc:  # no trash on this volume, permission...: report, never delete
            if _put_back(fd, pfd, park, dest.name):
                ledger.set_copy_temp(c["id"], None)
                result.errors.append((str(dest), f"could not move it to the trash ({exc}); left in place."))
            else:  # its name was taken meanwhile: it stays parked, journaled, for recovery to put back
                result.errors.append((str(dest), f"could not move it to the trash ({exc}), and its name is taken "
                                                 f"meanwhile: it is in {dest.parent / park}."))
            return
    finally:
        os.close(pfd)
    fault.point("after-trash")
    ledger.copy_state(c["id"], "undone")
    with suppress(OSError):
        os.rmdir(park, dir_fd=fd)
    result.trashed.append(str(dest))


def _held_path(dir_fd: int, name: str, fallback: Path) -> Path:
    """A path to ``name`` inside the open folder ``dir_fd`` that resolves through the descriptor
    itself (Linux /proc), whatever happens to the folder's path; elsewhere the parked path."""
    proc = Path(f"/proc/self/fd/{dir_fd}")
    return proc / name if proc.is_dir() else fallback


def _put_back(fd: int, pfd: int, park: str, name: str) -> bool:
    """The parked file back under its name (never over another file); False: it stays parked."""
    try:
        os.link(name, name, src_dir_fd=pfd, dst_dir_fd=fd, follow_symlinks=False)
        os.unlink(name, dir_fd=pfd)
    except OSError:
        return False  # left parked; recovery reports and retries
    with suppress(OSError):
        os.rmdir(park, dir_fd=fd)
    return True
