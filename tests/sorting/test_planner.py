"""Planning (sorting/planner.py) is pure: it reads photos and the ledger and decides; it never
writes. Re-thresholding a plan is arithmetic on the scores it already holds."""

from __future__ import annotations

import dataclasses

from sorting_helpers import snapshot

from photosorter.sorting.planner import rethreshold
from photosorter.sorting.sorter import plan_sort


def test_planning_writes_nothing_and_decides_every_photo(env, scorer):
    roll, dest, ledger, dests = env
    before = snapshot(roll)
    plan = plan_sort([roll], scorer, ledger, dests, background="off")
    assert not dest.exists() and snapshot(roll) == before
    assert ledger.runs() == []  # a dry run is not a run: nothing to undo
    photos = sorted(p for p in roll.rglob("*.jpg"))
    assert sorted(d.path for d in plan.decisions) == photos
    cats = set(scorer.classifier.categories)
    for d in plan.decisions:
        assert d.outcome in ("copy", "no_category") and set(d.scores) == cats
        chosen = {c for c, v in d.scores.items() if v >= plan.thresholds[c]}
        assert set(d.categories) == chosen and (d.outcome == "copy") == bool(chosen)


def test_rethreshold_is_pure_and_follows_the_thresholds(env, scorer):
    roll, _dest, ledger, dests = env
    plan = plan_sort([roll], scorer, ledger, dests, background="off")
    frozen = [dataclasses.replace(d) for d in plan.decisions]
    cats = list(scorer.classifier.categories)
    everything = rethreshold(plan, dict.fromkeys(cats, 0.0))
    nothing = rethreshold(plan, dict.fromkeys(cats, 1.01))
    assert all(d.outcome == "copy" and sorted(d.categories) == sorted(cats) for d in everything.decisions)
    assert all(d.outcome == "no_category" and not d.categories for d in nothing.decisions)
    assert plan.decisions == frozen  # the preview's own plan is untouched by slider moves
    # stricter thresholds only ever take categories away
    strict = rethreshold(plan, {c: min(1.0, plan.thresholds[c] + 0.2) for c in cats})
    for loose, tight in zip(plan.decisions, strict.decisions):
        assert set(tight.categories) <= set(loose.categories)


def test_a_photo_already_in_a_category_it_is_not_chosen_for_now_is_already_sorted_if_a_correction_chooses_it(
        env, scorer):
    """Tryout: a truck corrected into vehicles after an earlier run had copied it there was
    previewed as "1 → vehicles" and Apply then found it already sorted (the preview said 9 to
    copy, Apply copied 8): only the categories the model chose were checked for a copy."""
    from photosorter.sorting.planner import real_folder
    from photosorter.sorting.review_table import COPY, SORTED, ReviewTable
    from photosorter.sorting.sorter import apply_plan

    roll, _dest, ledger, dests = env
    plan = plan_sort([roll], scorer, ledger, dests, background="off")
    assert plan.resolved == {c: real_folder(p) for c, p in dests.items()}  # where "already sorted" was decided
    d = next(d for d in plan.decisions if d.outcome == "copy" and len(d.categories) == 1)
    (chosen,) = d.categories
    other = next(c for c in dests if c != chosen)
    apply_plan(rethreshold(plan, {chosen: 1.01, other: 0.0}), ledger)  # the photo is now in `other` (a run before)
    again = plan_sort([roll], scorer, ledger, dests, background="off")
    e = next(x for x in again.decisions if x.path == d.path)
    assert e.categories == [chosen] and other in e.done_before  # not chosen, but there already
    table = ReviewTable.from_plan(again)
    row = table.row_of[str(d.path)]
    said = table.decide(again.thresholds, {str(d.path): (other,)})  # the person says: `other`
    assert said.outcome[row] == SORTED and not said.todo[row].any()
    both = table.decide(again.thresholds, {str(d.path): (chosen, other)})
    assert both.outcome[row] == COPY and [table.categories[j] for j in both.todo[row].nonzero()[0]] == [chosen]
