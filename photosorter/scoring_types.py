"""What sorting needs from a scorer, as types: a small module below both ``ml`` and ``sorting``.

``sorting`` must not import ``ml`` (the layers contract in pyproject.toml: `undo` and `runs` need
not load the ML stack, and the two stay independent). So sorting types its ``scorer`` parameters
with the :class:`Scorer` protocol here, and tells a failed photo from a scored one with
:class:`FailedPhoto`; ``ml.scoring.Scorer``, ``PhotoScore`` and ``PhotoFailure`` satisfy them
structurally.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from .jobs import CancelToken, ProgressFn, no_progress


class ScoredPhoto(Protocol):
    """A photo the model could score (``ml.scoring.PhotoScore``)."""

    path: Path
    sha256: str
    scores: dict[str, float]
    categories: list[str]  # those at or above their threshold
    head: dict[str, float]  # before the familiarity check: "check first" in the review


@runtime_checkable
class FailedPhoto(Protocol):
    """A photo that could not be scored (``ml.scoring.PhotoFailure``); runtime-checkable, so
    sorting can tell it from a :class:`ScoredPhoto` without importing ``ml``."""

    path: Path
    reason: str  # stable code, e.g. "truncated"
    message: str


class CategoryModel(Protocol):
    """The part of a trained classifier that sorting reads: its categories and their thresholds."""

    @property
    def categories(self) -> list[str]: ...

    @property
    def thresholds(self) -> Iterable[float]: ...


class ScoringRun(Protocol):
    """The photos of one ``score_paths`` call, in order (``ml.scoring.ScoringRun``), and what
    that call measured against: no side channel on the scorer holds a call's results."""

    @property
    def background_photos(self) -> int: ...  # photos the familiarity gate measured against (0: flat prior)

    @property
    def failures(self) -> Sequence[FailedPhoto]: ...  # the photos that could not be scored, so far

    def __iter__(self) -> Iterator[ScoredPhoto | FailedPhoto]: ...

    def __next__(self) -> ScoredPhoto | FailedPhoto: ...


class Scorer(Protocol):
    """Scores photos with one model against one stored background (``ml.scoring.Scorer``)."""

    threshold_overrides: dict[str, float]  # the user's slider choices, by category

    @property
    def classifier(self) -> CategoryModel: ...

    def score_paths(
        self,
        paths: Iterable[str | Path],
        progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None,
        total: int | None = None,
        background: str = "auto",
        enrich: bool = False,
    ) -> ScoringRun: ...
