"""One source of truth for training progress: the bar's fraction and the words under it.

Training reports two kinds of work on different clocks: reading the examples (one step per
photo, near-instant for photos whose features are cached) and training the cross-validation folds
(a few epochs to a few hundred each). Counting both on one scale of "photos + folds" put 150
photos and 5 folds together, so the bar stood at 97% while the text said "fold 1 of 5". Here each
stage has a fixed share of the bar, the text names the stage and the step within it, and both are
computed from the same state in the same call: they cannot disagree.

The words are the user's, not the method's: a cross-validation *fold* is a "round" (it learns from
most of the examples and tests itself on the rest) and an *epoch* a "pass" over the examples. A
tryout found "training fold 2 of 5, epoch 40" unexplained anywhere in the app (ROUNDS_EXPLAINED is
the tab's own explanation).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..jobs import ProgressFn

#: What a round and a pass are, for the Train tab's tooltips (the progress words and the curves).
ROUNDS_EXPLAINED = (
    "Training runs in rounds. Each round learns from most of your examples and then tests itself on "
    "the ones it left out, so every example is judged by a model that never saw it: that is where the "
    "figures below come from. A pass is one look at the examples; a round stops once its test "
    "stops improving (the dot on each curve). The model you keep then learns from every example. "
    "A training that continues from the previous model often stops after a pass or two: it had "
    "little left to learn."
)

#: The bar is reported on this scale (``progress(done, SCALE, text)``).
SCALE = 1000
#: Share of the bar for reading the examples; the folds share the rest equally.
READ_SHARE = 0.4
#: Within a fold the number of epochs is not known in advance (early stopping): the fold's share
#: fills as epoch / (epoch + EPOCH_HALF), never reaching the end before the fold does.
EPOCH_HALF = 10


@dataclass
class TrainProgress:
    """Turns training events into ``sink(done, SCALE, text)`` calls. Also a ProgressFn itself:
    plain ``(done, total, message)`` calls are treated as the current stage's progress."""

    sink: ProgressFn
    stage: str = "reading"  # "reading" | "training" | "finishing"
    read: int = 0
    to_read: int = 0
    folds: int = 0  # 0 until the number of folds is known
    folds_done: int = 0
    epoch: int = -1  # current fold's latest epoch (0-based), -1 before the first
    note: str = ""

    # ------------------------------------------------------------ the one computation
    def fraction(self) -> float:
        if self.stage == "reading":
            return READ_SHARE * (self.read / self.to_read if self.to_read else 0.0)
        if self.stage == "finishing" or not self.folds:
            return READ_SHARE if self.stage != "finishing" else 1.0
        within = (self.epoch + 1) / (self.epoch + 1 + EPOCH_HALF) if self.epoch >= 0 else 0.0
        done = min(self.folds, self.folds_done + within)
        return READ_SHARE + (1.0 - READ_SHARE) * done / self.folds

    def text(self) -> str:
        if self.stage == "reading":
            tail = f": {self.note}" if self.note else ""
            return f"Step 1 of 2 — reading examples, {self.read} of {self.to_read}{tail}"
        if self.stage == "finishing":
            return "Step 2 of 2 — every round done; choosing thresholds"
        if not self.folds:
            return "Step 2 of 2 — learning"
        current = min(self.folds_done + 1, self.folds)
        epoch = f", pass {self.epoch + 1}" if self.epoch >= 0 else ""
        last = f" (round {self.folds_done}: {self.note})" if self.note and self.folds_done else ""
        return f"Step 2 of 2 — learning, round {current} of {self.folds}{epoch}{last}"

    def _report(self) -> None:
        self.sink(round(self.fraction() * SCALE), SCALE, self.text())

    # ------------------------------------------------------------ events
    def reading_progress(self, done: int, total: int, note: str = "") -> None:
        self.stage, self.read, self.to_read, self.note = "reading", done, total, note
        self._report()

    def fold_progress(self, done: int, folds: int, note: str = "") -> None:
        """``done`` folds of ``folds`` finished (called at each fold's start and end)."""
        if done != self.folds_done or folds != self.folds:
            self.epoch = -1
        self.stage, self.folds, self.folds_done = "training", folds, done
        if note:
            self.note = note
        elif done == 0:
            self.note = ""
        if done >= folds:
            self.stage = "finishing"
        self._report()

    def epoch_done(self, fold: int, epoch: int) -> None:
        if self.stage != "training" or fold != self.folds_done:
            return
        self.epoch = epoch
        self._report()

    def __call__(self, done: int, total: int, message: str) -> None:
        if self.stage == "reading":
            self.reading_progress(done, total, message)
        else:
            self.fold_progress(done, total, message)
