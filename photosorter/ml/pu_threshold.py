"""Choosing a category's threshold with the user's unlabelled photos (positive-unlabelled).

Why: the examples alone cannot say where a category ends. With no "none of these" examples the
cross-validated max-F1 threshold sees only the other categories as negatives, and on a camera roll
where most photos belong nowhere it settles at the lowest allowed value (0.05), so every photo the
familiarity gate lets through goes in: on the camera-roll dev set, buildings into *nature*, clothes
into *people*. Measured there: the unrelated photos that got in passed the gate with a head score
of 0.4-0.6, far below the category's real members (0.94-1.0).

The stored background (background.py) is a uniform sample of the user's photos, i.e. *unlabelled*
data: a mix of members and non-members. For a threshold t, with r(t) the share of held-out
examples scoring ≥ t (members are assumed to score like them) and q(t) the share of the background
scoring ≥ t,

    r(t)² / q(t)  =  precision(t) · recall(t) / π

(Lee & Liu 2003, π the unknown share of members in the background), so it ranks thresholds by
precision × recall without knowing π. It is noisy where few photos are involved, so the
one-standard-error rule picks the *lowest* threshold whose criterion is within one standard error
of the best (a delta-method error from the binomial counts), and thresholds that would give up
more than half of the held-out examples (r < MIN_RECALL) are never considered. The result only
ever raises the cross-validated threshold.
"""

from __future__ import annotations

import numpy as np

#: Never choose a threshold that the held-out examples say loses more than half of the members.
MIN_RECALL = 0.5


def pu_threshold(background: np.ndarray, examples: np.ndarray, lowest: float) -> float:
    """The threshold for one category from its held-out example scores and the background's scores
    (both on the scale the app decides on). Returns ``lowest`` when there is nothing to go on."""
    bg = np.asarray(background, dtype=np.float32)
    pos = np.asarray(examples, dtype=np.float32)
    m, n = len(pos), len(bg)
    if m == 0 or n == 0:
        return float(lowest)
    cands = np.unique(np.r_[pos[pos >= lowest], np.float32(lowest)])
    pos_sorted, bg_sorted = np.sort(pos), np.sort(bg)
    r = 1.0 - np.searchsorted(pos_sorted, cands, side="left") / m
    q = np.maximum(1.0 - np.searchsorted(bg_sorted, cands, side="left") / n, 1.0 / n)
    ok = r >= MIN_RECALL
    if not ok.any():
        return float(lowest)
    cands, r, q = cands[ok], r[ok], q[ok]
    crit = r * r / q
    se = crit * np.sqrt(4.0 * (1.0 - r) / (r * m) + (1.0 - q) / (q * n))
    best = int(np.argmax(crit))
    return float(cands[crit >= crit[best] - se[best]].min())
