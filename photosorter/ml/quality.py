"""How good will sorting be on the user's *other* photos? An honest estimate per category.

Cross-validation on the examples alone cannot see the photos a user never labelled: on a camera
roll where most photos belong nowhere it reported precision 0.95-1.00 while the real precision was
0.4-0.8. The stored background (background.py) is a uniform sample of the user's photos, and that
is exactly the evidence needed:

* **taken**: how many background photos the category would take in (at its threshold);
* **how many of them belong there**: the background is a mix of members of the category (share
  π) and other photos. Members score like the category's held-out examples do, so for every
  cut-off t, P_bg(score ≥ t) ≥ π · P_examples(score ≥ t), and

      π̂ = min_t  P_bg(score ≥ t) / P_examples(score ≥ t)

  (mixture proportion estimation, Blanchard, Lee & Scott 2010; the classic positive-unlabelled
  argument: the top of the score range is where only members live). Then the expected members
  among the taken photos are π̂ · n · recall, and precision ≈ that over *taken*.

The uncertainty is a bootstrap over both the background and the examples. With fewer than
MIN_EVIDENCE background photos nothing is claimed: the status is "unknown" and the advice says how
to get evidence. Nothing here ever says "healthy" without the background behind it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from .pu_threshold import MIN_RECALL

#: Below this many photos of the user's own, "how many would it take in" is not worth stating.
MIN_EVIDENCE = 50
#: Cut-offs considered for π̂ keep at least this share of the examples above them. π̂ is a
#: minimum over cut-offs, and a minimum over noisy ratios is biased low: with 20 examples a cut
#: keeping a quarter of them rests on 5 photos, and the estimate was pessimistic by 0.1-0.8 on the
#: camera-roll dev set. Half — the most the threshold may give up (pu_threshold.MIN_RECALL) —
#: keeps every ratio on at least half the examples.
MIN_EXAMPLE_SHARE = MIN_RECALL
#: Scores at or above this are "certain" and compared as equal. Above it a score only says how
#: far one fold head extrapolates (0.999 is a logit of 6.9; float32 rounds logits above ~17 to
#: exactly 1.0), not how much a photo looks like the category — and there the held-out examples,
#: taken by the user in the same shoots as the rest of the examples, sit systematically higher
#: than the category's other members. A cut-off among them makes members look scarcer than they
#: are, and π̂ (a minimum over cut-offs) picks exactly that cut: the estimate read 0.8 for
#: categories that took only members (documents, vehicles on the camera-roll dev set).
CERTAIN = 0.999
BOOTSTRAP = 200
GOOD_PRECISION = 0.85


@dataclass
class CategoryQuality:
    name: str
    status: str  # "unknown" | "good" | "doubtful" | "poor"
    background_photos: int
    taken: int | None = None  # background photos it would take in
    precision: float | None = None
    precision_low: float | None = None  # 10th percentile of the bootstrap
    precision_high: float | None = None  # 90th percentile
    advice: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def mixture_share(bg: np.ndarray, pos: np.ndarray) -> float:
    """π̂: the largest share of ``bg`` that can be members, given members score like ``pos``."""
    if len(bg) == 0 or len(pos) == 0:
        return 0.0
    pos_sorted = np.sort(pos)
    k_max = len(pos) - int(np.ceil(MIN_EXAMPLE_SHARE * len(pos)))
    cuts = pos_sorted[: max(1, k_max + 1)]  # keep >= MIN_EXAMPLE_SHARE of the examples above each cut
    p_pos = 1.0 - np.searchsorted(pos_sorted, cuts, side="left") / len(pos)
    bg_sorted = np.sort(bg)
    p_bg = 1.0 - np.searchsorted(bg_sorted, cuts, side="left") / len(bg)
    return float(min(1.0, np.min(p_bg / np.maximum(p_pos, 1e-9))))


def _precision(bg: np.ndarray, pos: np.ndarray, threshold: float) -> tuple[int, float | None]:
    taken = int((bg >= threshold).sum())
    if taken == 0:
        return 0, None
    recall = float((pos >= threshold).mean()) if len(pos) else 0.0
    members = mixture_share(bg, pos) * len(bg) * recall
    return taken, float(min(1.0, members / taken))


def estimate_quality(
    background_scores: np.ndarray,
    example_scores: np.ndarray,
    example_labels: np.ndarray,
    thresholds: np.ndarray,
    categories: list[str],
    seed: int = 0,
) -> list[CategoryQuality]:
    """Per category: photos of the background it would take in and the expected precision.

    ``background_scores`` (n, C): final scores of the stored background photos; ``example_scores``
    (m, C): held-out scores of the examples *on the same scale* (each from a model that never saw
    it, gated against the same background); ``example_labels`` (m, C) multi-hot."""
    n = len(background_scores)
    out: list[CategoryQuality] = []
    rng = np.random.default_rng(seed)
    for j, name in enumerate(categories):
        if n < MIN_EVIDENCE:
            out.append(CategoryQuality(name, "unknown", n, advice=[
                f"{name}: precision on your other photos is unknown — sort or watch a folder of your photos "
                f"(at least {MIN_EVIDENCE}) so the app can see what it would take in, then train again."]))
            continue
        bg = np.minimum(background_scores[:, j], CERTAIN)
        pos = np.minimum(example_scores[example_labels[:, j] > 0.5, j], CERTAIN)
        cut = min(float(thresholds[j]), CERTAIN)
        _taken, prec = _precision(bg, pos, cut)
        taken = int((background_scores[:, j] >= thresholds[j]).sum())  # the count shown: real scores
        boots = []
        for _ in range(BOOTSTRAP):
            b = bg[rng.integers(0, n, n)]
            p = pos[rng.integers(0, len(pos), len(pos))] if len(pos) else pos
            _t, v = _precision(b, p, cut)
            if v is not None:
                boots.append(v)
        low, high = (float(np.quantile(boots, 0.1)), float(np.quantile(boots, 0.9))) if boots else (None, None)
        q = CategoryQuality(name, "unknown", n, taken, prec, low, high)
        if prec is None:
            q.status = "good" if taken == 0 else "unknown"
            q.advice.append(f"{name}: none of the {n} photos seen so far would go here — if some should, "
                            "add more varied examples.")
        elif low is not None and low >= GOOD_PRECISION:
            q.status = "good"
        elif prec >= GOOD_PRECISION:  # looks precise, but too little evidence to say so
            q.status = "doubtful"
            q.advice.append(
                f"{name}: of the {n} photos seen so far, about {taken} would go here and they look right "
                f"(expected precision {prec:.2f}), but the evidence is thin (likely {low:.2f}–{high:.2f}): "
                "sort or watch more of your photos, then train again.")
        else:
            q.status = "poor"
            wrong = round(taken * (1 - prec))
            q.advice.append(
                f"{name}: of the {n} photos seen so far, about {taken} would go here and about {wrong} of them "
                f"probably do not belong (expected precision {prec:.2f}, likely {low:.2f}–{high:.2f}). Add 10 "
                f"'none of these' photos from your camera roll that look a bit like {name}, or more varied "
                f"{name} examples.")
        out.append(q)
    return out


def summary_line(quality: list[CategoryQuality]) -> str:
    """One honest sentence for the Train tab and the CLI."""
    if not quality:
        return ""
    if all(q.status == "unknown" for q in quality):
        # the counts: a tryout had sorted 40 photos and still read "not seen enough" without knowing
        # how many more it took
        seen = quality[0].background_photos
        return (f"How well this sorts your other photos is unknown: the app had seen {seen} of them when it "
                f"trained, and needs at least {MIN_EVIDENCE}. Sort or watch a folder of your photos, then train "
                "again.")
    bad = [q.name for q in quality if q.status == "poor"]
    unsure = [q.name for q in quality if q.status == "doubtful"]
    if bad or unsure:
        # "Categories …" first: after a line about one category, "Likely to take in …: nature, people,
        # pets" read as said of that category (a tryout saw it under "people: about people …")
        parts = [f"Categories likely to take in photos that do not belong: {', '.join(bad)}." if bad else "",
                 f"Categories that look right, but too few of your photos seen yet to be sure: {', '.join(unsure)}."
                 if unsure else ""]
        return " ".join(p for p in parts if p) + " (See below.)"
    return f"Checked against {quality[0].background_photos} of your photos: every category looks precise."
