"""Sort tab: the preview (a dry run), Apply, Undo and the history of runs — the widgets come
from SortPanel (sorting.py), the jobs behind them live here, so the main window only assembles
the tabs.

Every copy goes through ``sorting.sorter.apply_plan`` with the journal (ledger); every run can be
undone; nothing here moves or changes an original."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from ..config import app_paths
from ..reporting import counted
from .folders import choose_folder
from .sorting import AFTER_UNDO, SortPanel
from .workers import start_job

log = logging.getLogger(__name__)


def _named(paths: list[str]) -> str:
    """The folders being sorted, for a sentence: "DCIM, Camera …"."""
    return ", ".join(Path(p).name for p in paths[:2]) + (" …" if len(paths) > 2 else "")


class SortTab(SortPanel):
    def __init__(self, window) -> None:
        super().__init__()
        self.main_window = window  # provides session, library, tabs, progress, status(), error(), colours()
        self._asking: set[str] = set()  # photos whose "Remove the copy?" question is open
        self._replan_wanted = False  # making the preview again failed (e.g. "retrain first"): after training
        self._preview_after_training: list[str] | None = None  # asked for while a rename's retraining ran
        self._applied_summary = None  # Apply's SortSummary, while its preview is shown
        self._applied_header = ""  # the first line of the summary Apply wrote (kept up to date)
        self._applied_trashed = 0  # its run's copies removed since, as the History last said
        self._applied_none = 0  # the "No category" group's size when Apply finished
        self.decisions_changed.connect(self._rewrite_applied_header)
        self.folder_dropped.connect(self.preview_sort)
        self.choose_requested.connect(self.choose_sort_folder)
        self.apply_requested.connect(self.apply_sort)
        self.undo_requested.connect(self.undo)
        self.run_open_requested.connect(lambda run_id: self.open_run(run_id, self.main_window.colours()))

    def choose_sort_folder(self) -> None:
        w = self.main_window
        folder = choose_folder(w, "Folder of photos to sort", "sort")
        if folder:
            self.preview_sort([folder])

    def preview_sort(self, paths: list[str], rescore: bool = False, after_undo: bool = False) -> None:
        """Dry run of ``paths``. ``rescore``: the same photos again after retraining — the open
        preview is replaced in place and the photos whose destination changed are highlighted.
        ``after_undo``: the same photos again after an undo, which changes no decision, only what
        is already sorted (a tryout read "N changed destination" for photos whose copies had just
        gone to the trash and were simply to copy again)."""
        w = self.main_window
        if not rescore:
            w.tabs.setCurrentWidget(self)
        session = w.session
        overrides = dict(w.library.threshold_overrides)
        if not rescore and w._train_job is not None and self._model_names_stale():
            # a rename's retraining runs: the preview follows it, instead of "retrain first"
            self._preview_after_training = list(paths)
            text = (f"The model is being retrained with the new category names; the preview of {_named(paths)} "
                    "follows when it is done. Nothing has been copied.")
            self.summary.setText(text)
            w.status(text, 12000)
            return

        def job(progress, cancel, emit):
            from ..sorting.review_table import ReviewTable

            plan = session.plan(paths, progress, cancel, overrides)
            return plan, ReviewTable.from_plan(plan)  # the review grid's arrays, built here, off the UI thread

        def done(result):
            plan, table = result
            self._replan_wanted = False
            w.progress.hide()
            if not rescore:  # another folder: the last one's file-name filter showed an empty grid (tryout)
                self.review.filter.clear()
            why = AFTER_UNDO if after_undo else "changed with the new model"
            changed = self.set_plan(plan, w.colours(), sources=paths, compare=rescore, table=table, why=why)
            if after_undo:
                w.status(f"Preview updated after the undo: {changed} photo(s) whose copies went to the trash are "
                         "to copy again (highlighted). Nothing has been copied.", 12000)
            elif rescore:
                moved, w.recalibrated = w.recalibrated, ""
                w.status(f"Preview updated with the new model: {changed} photo(s) changed destination "
                         "(highlighted). Nothing has been copied."
                         + (f" Thresholds recalibrated: {moved}." if moved else ""), 15000)
            else:
                w.status("Preview ready: nothing has been copied. Adjust thresholds, then Apply.")

        w.status("Scoring photos for the preview…")
        if not rescore and self.plan is None and self.table is None:  # the first preview: say it is coming
            # (a tryout read "Nothing to preview yet" beside a status bar at 65% of scoring)
            self.summary.setText(f"Scoring the photos in {_named(paths)} for the preview (progress in the status bar). "
                                 "Nothing will be copied until you press Apply.")

        def failed(message: str) -> None:
            if self.plan is None and self.table is None:
                self.summary.setText("No preview: it could not be made (see the message). Nothing was copied.")
            if rescore:  # made again after the next training (a tryout's "Retrain first" left the old grid)
                self._replan_wanted = True
            w.error(message)

        start_job(w, job, on_done=done, on_error=failed, on_progress=w.busy("Scoring photos for the preview"))

    def no_new_model(self) -> None:
        """A training failed or was cancelled: a preview waiting for it will not come by itself."""
        if self._preview_after_training:
            self._preview_after_training = None
            text = ("The training stopped, so the preview was not made (the model still knows the old "
                    "category names). Train (Ctrl+T), then sort the folder again. Nothing has been copied.")
            self.summary.setText(text)
            self.main_window.status(text, 15000)

    def _model_names_stale(self) -> bool:
        """The current model knows a category by a name the library no longer has (a rename)."""
        try:
            known = self.main_window.session.classifier().categories
        except Exception:  # no model, or one that cannot be read: the preview job says so itself
            return False
        names = {c.name for c in self.main_window.library.categories}
        return any(c not in names for c in known)

    def rescore_aside(self, why: str) -> None:
        """The preview brought back from behind a past run, scored again: after an undo its
        highlighted photos are "to copy again" (a tryout read "changed with the new model")."""
        if self.sources:
            self.preview_sort(list(self.sources), rescore=True, after_undo=why == "undo")

    def rescore_preview(self) -> None:
        """After retraining: the open preview (if any) is scored again with the new model (the
        photos' features are cached, so this is quick). A preview set aside while a past run is
        reviewed is scored again when it comes back."""
        if self._preview_after_training:
            paths, self._preview_after_training = self._preview_after_training, None
            self.preview_sort(paths)
            return
        if self.run_id is not None:
            if self._set_aside is not None and self.aside_stale != "undo":
                self.aside_stale = "model"
            return
        if (self.plan is not None or self._replan_wanted) and self.sources:
            self.preview_sort(list(self.sources), rescore=True)

    def wait_for_copying(self) -> bool:
        """True (and says why) when Apply or an undo is running: corrections and another Apply
        or undo wait for it."""
        if self.copying is None:
            return False
        doing = "Apply is copying photos" if self.copying == "apply" else "An undo is running"
        text = f"{doing}: wait until it has finished, then try again."
        self.main_window.status(text, 8000)
        # the status bar is soon overwritten by the job's progress: the summary keeps it in sight
        # (a tryout pressed Ctrl+Z during Apply and saw nothing happen)
        summary = self.summary.text()
        if text not in summary:
            self.summary.setText(f"{summary}<br><i>{text}</i>")
        return True

    def apply_sort(self) -> None:
        w = self.main_window
        plan = self.current_plan()
        if plan is None or self.wait_for_copying() or self._destinations_changed(plan):
            return
        self.copying = "apply"
        self.apply_button.setEnabled(False)  # at once: a second click started a second run (attack)
        self.undo_button.setEnabled(False)  # (Ctrl+Z stays on: pressed, it says why it waits)

        def job(progress, cancel, emit):
            from ..sorting.ledger import Ledger
            from ..sorting.sorter import apply_plan

            ledger = Ledger(app_paths().ledger_file)
            try:
                return apply_plan(plan, ledger, progress=progress, cancel=cancel,
                                  detail={"sources": sorted({str(d.path.parent) for d in plan.decisions})[:3], "gui": True,
                                          "thresholds": dict(plan.thresholds)})  # a past run shows its scores against these
            finally:
                ledger.close()

        def failed(message: str) -> None:
            self.copying = None
            self.apply_button.setEnabled(self.current_plan() is not None)
            self.refresh_history()  # what did get copied is a run: undoable
            w.error(message)

        def done(summary):
            self.copying = None
            w.progress.hide()
            self.plan = None
            self.applied_run_id = summary.run_id  # corrections from now on are about copies that exist
            self.apply_button.setEnabled(False)
            # the preview is spent: sliders moved now would change no tile, only the next sort
            self.slider_box.setEnabled(False)
            self._applied_summary = summary
            self._applied_trashed, self._applied_none = 0, self._none_now()
            self._applied_header = self._applied_header_of(summary, 0)
            failed = "".join(f"<br>• {m}" for _p, _r, m in summary.failed[:8])
            self.summary.setText(self._applied_header + f"{failed}<br>Undo puts the copies in the trash (Ctrl+Z).")
            w.status(f"Done (run {summary.run_id}): copied {counted(summary.copied_photos, 'photo')}, "
                     f"{len(summary.failed)} failed. Ctrl+Z undoes it.", 12000)  # the status bar said only "done" (tryout)
            self.refresh_history()

        start_job(w, job, on_done=done, on_error=failed, on_cancel=lambda: setattr(self, "copying", None),
                  on_progress=w.busy("Copying"))

    @staticmethod
    def _applied_header_of(summary, trashed: int, none_since: int = 0) -> str:
        """Apply's own counts, with what changed since: copies removed (``trashed``) and photos the
        person's corrections put in or took out of no category (``none_since``; a tryout read "30 in
        no category" beside a "No category — 31" group)."""
        from ..sorting.ledger import removed_since

        since = f"; {removed_since(trashed)}" if trashed else ""  # one bracket: "(17 copies; 1 … removed)"
        moved = (f" ({none_since:+d} since, by your corrections)" if none_since else "")
        return (f"<b>Done (run {summary.run_id}):</b> copied {counted(summary.copied_photos, 'photo')} "
                f"({counted(summary.copies_made, 'copy', 'copies')}{since}); {summary.already_sorted} already sorted; "
                f"{summary.no_category} in no category{moved}; {len(summary.failed)} failed.")

    def _none_now(self) -> int:
        from .review import NONE_GROUP

        return len(self.review.groups.get(NONE_GROUP, ()))

    def applied_summary_text(self, run_id: int) -> str:
        summary = self._applied_summary
        if summary is None or summary.run_id != run_id:
            return super().applied_summary_text(run_id)
        return self._applied_header + "<br>Undo puts the copies in the trash (Ctrl+Z)."

    def back_to_preview(self) -> None:
        super().back_to_preview()
        if self.applied_run_id is not None:
            self.refresh_history()  # its count of copies removed since, as the History says it

    def _follow_applied_run(self, runs) -> None:
        """The summary Apply wrote counts what its run holds now: a correction that moved a copy
        to the trash changes its count in place, as the History and a past run's view say it (a
        tryout read "copied 25 photos" above a line saying one had gone)."""
        summary = self._applied_summary
        if summary is None or self.run_id is not None or self.applied_run_id != summary.run_id:
            return
        run = next((r for r in runs if r.id == summary.run_id), None)
        if run is not None:
            self._applied_trashed = run.trashed
            self._rewrite_applied_header()

    def _rewrite_applied_header(self) -> None:
        """Apply's first line, counted again (a correction, a copy removed), the rest kept."""
        summary = self._applied_summary
        if summary is None or self.run_id is not None or self.applied_run_id != summary.run_id:
            return
        text = self.summary.text()
        if not text.startswith(self._applied_header):
            return
        header = self._applied_header_of(summary, self._applied_trashed, self._none_now() - self._applied_none)
        self.summary.setText(header + text[len(self._applied_header):])
        self._applied_header = header

    def _destinations_changed(self, plan) -> bool:
        """True (and says what to do) when a category of this preview was renamed, removed or
        given another folder since it was made: Apply would copy into the old folder (a tryout
        renamed pets to Animals with a preview open; Apply filled Sorted/pets, and the next sort
        copied the same photos again into Sorted/Animals)."""
        w = self.main_window
        now = w.library.destinations()
        from ..sorting.planner import real_folder

        changed = [c for c, folder in plan.destinations.items() if c not in now or Path(now[c]) != Path(folder)
                   # the same path, but a link on it now leads elsewhere (another drive): "already
                   # sorted" was decided in the old place (an attack)
                   or (c in plan.resolved and real_folder(Path(now[c])) != plan.resolved[c])]
        if not changed:
            return False
        renamed = [c for c in changed if c not in now]
        if renamed:
            todo = "Train again (Ctrl+T): the preview is then made again with the new names."
        else:
            todo = "The preview is being made again with the new folders; then Apply."
        text = (f"Nothing was copied: {', '.join(changed)} {'was' if len(changed) == 1 else 'were'} renamed, removed or "
                f"given another folder since this preview was made. {todo}")
        self.summary.setText(text)
        w.status(text, 15000)
        if not renamed and self.sources:
            self.preview_sort(list(self.sources), rescore=True)
        return True

    def correct_copied(self, path: str, labels: tuple[str, ...]) -> None:
        """A correction on a photo already copied ("not Pets" after Apply, or on a photo an earlier
        run sorted — a tryout's N on an "already sorted" bear in a later preview left its copy in
        nature without a word):
        the model learns it either way; its copy in a category it no longer belongs to is offered
        to the trash (only that photo's copy and its companions, with undo's checks), and a
        category it was not copied to is said plainly — the grid shows the corrected groups, so
        the disk must not silently disagree with it. ``labels``: the categories' names now
        (names_now), as the ledger's copies are named (sorter._names_now)."""
        w, name = self.main_window, Path(path).name
        if not self.has_copies(path) or self.table is None or path in self._asking:
            return  # (a question about this photo's copy is open already: N twice opened two)
        sha = self.table.plan.decisions[self.table.row_of[path]].sha256
        if sha is None:  # a photo that could not be read has no copies
            return
        # the ledger keeps the name a copy was made under: its copies are named as they are called
        # now, by the categories' lasting ids (copies from before ids: by the folder they are in)
        folders, ids = w.library.destinations(), w.library.category_ids()

        def find(progress, cancel, emit):
            from ..sorting.ledger import Ledger
            from ..sorting.sorter import copied_categories

            ledger = Ledger(app_paths().ledger_file)
            try:
                return copied_categories(ledger, path, sha, folders, ids)
            finally:
                ledger.close()

        def found(copied: list[str]) -> None:
            wrong = [c for c in copied if c not in labels]
            missing = [c for c in labels if c not in copied]
            # an open preview copies it there on Apply (a tryout was told to sort the folder again
            # while the preview beside the question listed "1 → Food")
            then = ("Apply copies it there" if self.plan is not None and self.run_id is None
                    else "sort its folder again to copy it there")
            note = f" It has no copy in {', '.join(missing)}: {then}." if missing else ""
            if not wrong:
                if note:
                    w.status(f"{name}:{note}", 12000)
                    self.summary.setText(self.summary.text() + f"<br>{name}:{note}")
                return
            box = QMessageBox(QMessageBox.Icon.Question, "Remove the copy?",
                              f"{name} was copied into {', '.join(wrong)}, which you said it does not belong in.",
                              parent=self)
            box.setInformativeText("Move that copy to the trash? The original stays where it is; the model learns "
                                   "your correction either way." + note)
            remove = box.addButton("Move the copy to the trash", QMessageBox.ButtonRole.AcceptRole)
            keep = box.addButton("Keep the copy", QMessageBox.ButtonRole.RejectRole)
            # Enter keeps it: removing is a click (a stray Enter, meant for the large view under
            # the question, trashed a right copy in a tryout)
            box.setDefaultButton(keep)
            self.copy_question = box  # tests answer it

            def answered(button) -> None:
                self._asking.discard(path)
                if button is remove:
                    self._remove_copies(path, sha, wrong, folders, ids)
                else:
                    w.status(f"Kept the copy of {name} in {', '.join(wrong)}.", 8000)

            box.buttonClicked.connect(answered)
            box.finished.connect(lambda _r: self._asking.discard(path))  # Escape closes it too
            self._asking.add(path)
            box.open()

        start_job(w, find, on_done=found, on_error=w.error)

    def names_now(self, categories) -> tuple[str, ...]:
        """What the grid's ``categories`` are called now, by the lasting ids the preview recorded:
        an applied preview keeps the names it was made with, and a correction there after a rename
        named a category the library no longer had (an uncaught "There is no category 'pets'").
        A removed category keeps its name (the correction then says it is no longer a category),
        marked "(removed)" when a new category has taken that name: the person's word was about the
        old one."""
        plan = self.table.plan if self.table is not None else None
        ids = plan.category_ids if plan is not None else {}
        now = self.main_window.library.category_ids()
        by_id = {i: n for n, i in now.items()}
        out = []
        for c in categories:
            if c not in ids:  # (a plan without ids: names as they are)
                out.append(c)
            else:
                out.append(by_id.get(ids[c], f"{c} (removed)" if c in now else c))
        return tuple(dict.fromkeys(out))

    def _remove_copies(self, path: str, sha: str, categories: list[str], folders: dict | None = None,
                       ids: dict | None = None) -> None:
        w, name = self.main_window, Path(path).name

        def job(progress, cancel, emit):
            from ..sorting.ledger import Ledger
            from ..sorting.sorter import undo_copies_of

            ledger = Ledger(app_paths().ledger_file)
            try:
                return undo_copies_of(ledger, path, sha, categories, folders=folders, ids=ids)
            finally:
                ledger.close()

        def done(result) -> None:
            errs = "".join(f"<br>• {m}" for _f, m in result.errors[:4])
            text = (f"{name}: {len(result.trashed)} file(s) moved to the trash from {', '.join(categories)}"
                    + (f"; {len(result.kept_modified)} edited copy kept" if result.kept_modified else "")
                    + (f"; {len(result.errors)} left in place:{errs}" if result.errors else "."))
            self.summary.setText(self.summary.text() + "<br>" + text)
            w.status(text.split("<br>")[0], 12000)
            self.refresh_history()

        start_job(w, job, on_done=done, on_error=w.error)

    def undo(self, run_id) -> None:
        w = self.main_window
        if self.wait_for_copying():
            return
        if run_id is None:
            # The ledger as it is now, not as the History last read it: a tryout undid the shown
            # run from the command line, and "Undo last run" then undid the run before it (41
            # copies) without a question. The run named here is the one undone.
            self.refresh_history()
            last = max(self._undoable, default=None)
            if last is None:
                if not self.history.rowCount():
                    w.status("Nothing to undo: no sort run has been made yet.")
                    self.summary.setText("Nothing to undo: no sort run has been made yet.")
                else:
                    text = "Nothing left to undo: every sort run has been undone."
                    w.status(text)
                    self.summary.setText(self.summary.text() + "<br>" + text)
                return
            shown = self.run_id if self.run_id is not None else self.applied_run_id
            if shown is not None and last != shown:
                self._ask_which_run(last, shown)
                return
            run_id = last
        self.copying = "undo"
        self.undo_button.setEnabled(False)  # (Ctrl+Z stays on: pressed again, it says why it waits)

        def job(progress, cancel, emit):
            from ..sorting.ledger import Ledger
            from ..sorting.sorter import undo_run

            ledger = Ledger(app_paths().ledger_file)
            try:
                return undo_run(ledger, run_id)
            finally:
                ledger.close()

        def failed(message: str) -> None:
            self.copying = None
            self.refresh_history()  # what it did undo is said by the History; the buttons come back
            w.error(message)

        def done(result):
            self.copying = None
            kept = f" {len(result.kept_modified)} edited copies were kept." if result.kept_modified else ""
            errs = f" {len(result.errors)} could not be moved to the trash (left in place)." if result.errors else ""
            shown = self.run_id  # a past run on screen (Ctrl+Z undoes the last run, maybe another one)
            applied = self.applied_run_id if shown is None else None  # or the preview Apply carried out
            on_screen = shown if shown is not None else applied
            other = f" (run {on_screen} is shown here)" if on_screen is not None and on_screen != result.run_id else ""
            text = (f"<b>Undid run {result.run_id}{other}:</b> {len(result.trashed)} copies moved to the trash."
                    f"{kept}{errs}")
            if applied is not None and applied != result.run_id:  # that one stays: so does what Apply said
                self.summary.setText(text + "<br>" + self.applied_summary_text(applied))  # (a tryout read only
            else:                                                                    # "Undid run 5" over run 4)
                self.summary.setText(text)
            w.status(text.replace("<b>", "").replace("</b>", ""), 12000)  # seen from any tab (Ctrl+Z on Watch)
            self.refresh_history()
            if shown is not None:
                # a preview set aside may hold photos whose copies just went: score it again on the
                # way back; the run shown is shown again as it now is (a tryout saw it stay as before)
                self.aside_stale = "undo" if self._set_aside is not None else None
                if shown == result.run_id:
                    self.open_run(shown, self.colours, note=text)  # what the undo did stays in sight
                return
            # The grid shows the run just undone (Apply, then Ctrl+Z): its copies are gone, so
            # show the folder's preview again, ready to Apply (tryout: the undone run stayed on
            # screen with Apply off, and the folder had to be chosen again).
            undid_shown = self.applied_run_id is not None and result.run_id == self.applied_run_id
            if self.sources and (self.plan is not None or undid_shown):
                # the open preview's "already sorted" may just have gone to the trash: plan it
                # again (tryout: Apply then skipped 13 photos whose copies Undo had removed)
                self.preview_sort(list(self.sources), rescore=True, after_undo=True)

        start_job(w, job, on_done=done, on_error=failed, on_cancel=lambda: setattr(self, "copying", None))

    def _ask_which_run(self, last: int, shown: int) -> None:
        """Ctrl+Z ("undo the last run") while another run is on screen: which one? A tryout's
        Ctrl+Z undid a background watch run without a word while run 3 was shown."""
        said = (f"The last run is run {last}, not run {shown}, which is shown here." if shown in self._undoable else
                f"Run {shown}, shown here, has already been undone (from the History or the command line). "
                f"The last run still to undo is run {last}.")
        box = QMessageBox(QMessageBox.Icon.Question, "Undo which run?", said, parent=self)
        box.setInformativeText("Undo moves a run's copies to the trash; your originals stay where they are.")
        choices = {box.addButton(f"Undo run {last} (the last)", QMessageBox.ButtonRole.AcceptRole): last}
        if shown in self._undoable:
            choices[box.addButton(f"Undo run {shown} (shown here)", QMessageBox.ButtonRole.AcceptRole)] = shown
        cancel = box.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(cancel)
        self.undo_question = box  # tests answer it

        def answered(button) -> None:
            if button in choices:
                self.undo(choices[button])

        box.buttonClicked.connect(answered)
        box.open()

    def refresh_history(self) -> None:
        w = self.main_window
        from ..sorting.ledger import Ledger

        try:
            ledger = Ledger(app_paths().ledger_file)
            runs = ledger.runs(30)
            ledger.close()
            self.set_history(runs)
            self._follow_applied_run(runs)
            w.undo_action.setEnabled(self.has_history())
        except Exception as exc:  # a damaged ledger must not stop the window from opening
            log.warning("cannot read the ledger: %s", exc)
