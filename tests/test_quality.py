"""The quality estimate on the user's other photos (issue 13, item 4): honest, or "unknown"."""

from __future__ import annotations

import dataclasses

import numpy as np

from photosorter.ml.features import Embedder
from photosorter.ml.quality import estimate_quality, mixture_share, summary_line
from photosorter.ml.training import TrainOptions, train_from_folder
from photosorter.samples import make_labeled_folder


def test_no_background_means_unknown_never_healthy(tmp_path):
    ex = make_labeled_folder(tmp_path / "ex", per_category=6, rel_size=0.6, seed=41)
    clf = train_from_folder(ex, Embedder("tiny"), TrainOptions(views=1, folds=2, max_epochs=5)).classifier
    quality = clf.description.quality
    assert quality is not None and [q.status for q in quality] == ["unknown", "unknown"]
    assert all(q.precision is None for q in quality)
    assert "unknown" in (clf.description.quality_summary or "")
    assert any("sort or watch a folder" in a for q in quality for a in q.advice)
    # with the counts: how many it had seen and how many it needs (tryout: 40 sorted photos, and
    # "not seen enough" said nothing of how many more)
    assert "had seen 0 of them when it trained, and needs at least 50" in clf.description.quality_summary


def test_gui_hints_never_say_healthy_without_evidence(tmp_path):
    from types import SimpleNamespace

    from photosorter.gui.training import hints

    per = {"a": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "threshold": 0.5, "support": 20}}
    from photosorter.ml.model_description import ModelDescription

    old_model = SimpleNamespace(metrics={"per_category": per},
                                description=ModelDescription(examples_per_category={"a": 20}, none_examples=3))
    text = " ".join(hints(old_model))
    assert "unknown" in text and "healthy" not in text
    ex = make_labeled_folder(tmp_path / "ex", per_category=6, rel_size=0.6, seed=42)
    clf = train_from_folder(ex, Embedder("tiny"), TrainOptions(views=1, folds=2, max_epochs=5)).classifier
    assert "unknown" in " ".join(hints(clf))


def test_estimate_matches_truth_on_a_synthetic_mixture():
    """A background of 30% members (scoring like the held-out examples) and 70% others: the
    estimated precision must land near the true one, with an interval around it."""
    rng = np.random.default_rng(0)
    pos_held_out = rng.beta(8, 2, 200)
    members, others = rng.beta(8, 2, 600), rng.beta(2, 6, 1400)
    bg = np.concatenate([members, others])
    assert abs(mixture_share(bg, pos_held_out) - 0.3) < 0.06
    th = 0.5
    truth = (members >= th).sum() / ((members >= th).sum() + (others >= th).sum())
    q = estimate_quality(bg[:, None], pos_held_out[:, None], np.ones((200, 1)), np.array([th]), ["c"])[0]
    assert abs(q.precision - truth) < 0.06, (q.precision, truth)
    assert q.precision_low <= q.precision <= q.precision_high
    assert q.taken == int((bg >= th).sum())
    assert "photos" in summary_line([q])


def test_model_files_from_before_this_change_still_load_and_score(tmp_path):
    """Models saved before the quality estimate and the stored background existed (no
    ``quality`` in their info) load, score with the stored background and report "unknown"."""
    from photosorter.ml.scoring import Scorer

    ex = make_labeled_folder(tmp_path / "ex", per_category=6, rel_size=0.6, seed=43)
    clf = train_from_folder(ex, Embedder("tiny"), TrainOptions(views=1, folds=2, max_epochs=5)).classifier
    clf.description = dataclasses.replace(clf.description, quality=None, quality_summary=None)
    clf.save(tmp_path / "old.safetensors")
    scorer = Scorer.from_file(tmp_path / "old.safetensors")
    photo = next((ex / "red_disc").glob("*.jpg"))
    assert scorer.scores_of(photo).shape == (2,)
    assert scorer.classifier.description.quality is None and "quality" not in scorer.classifier.description.to_document()


def test_thin_evidence_is_not_called_a_leak_and_hints_say_each_thing_once():
    """New-user finding: "Likely to take in photos that do not belong: documents, food, …" named
    every category, including ones whose own line said "about 0 of them probably do not belong",
    and the Train tab said each category's figures twice."""
    from types import SimpleNamespace

    from photosorter.gui.training import hints
    from photosorter.ml.model_description import ModelDescription
    from photosorter.ml.quality import CategoryQuality, summary_line

    thin = CategoryQuality("documents", "doubtful", 85, 10, 0.97, 0.55, 1.0,
                           advice=["documents: … they look right (expected precision 0.97), but the evidence is thin"])
    leaky = CategoryQuality("nature", "poor", 85, 30, 0.40, 0.20, 0.60,
                            advice=["nature: … about 18 of them probably do not belong"])
    line = summary_line([thin, leaky])
    assert "Categories likely to take in photos that do not belong: nature." in line
    assert "documents" in line.split("too few of your photos seen yet")[1]
    clf = SimpleNamespace(metrics={"per_category": {}},
                          description=ModelDescription(quality=(thin, leaky), quality_summary=line, none_examples=3))
    text = hints(clf)
    assert sum("documents" in t for t in text[1:]) == 1 and sum("nature" in t for t in text[1:]) == 1


def test_near_certain_held_out_examples_do_not_make_members_look_scarce():
    """Camera-roll finding: a category that took in only its own members (documents) was shown
    with expected precision 0.8 (0.18 in a tryout with ten copies, all right). Its held-out
    examples scored 0.9999-1.0, its other members 0.999-0.9998: a cut-off between them made the
    members look scarce. Scores from 0.999 up count as equally certain."""
    rng = np.random.default_rng(1)
    examples = np.r_[np.ones(12), rng.uniform(0.9998, 0.99999, 8)]  # 60% saturated at exactly 1.0
    members = rng.uniform(0.9990, 0.9998, 50)  # as sure, a hair lower
    others = rng.uniform(0.0, 0.01, 450)
    bg = np.r_[members, others]
    q = estimate_quality(bg[:, None], examples[:, None], np.ones((20, 1)), np.array([0.05]), ["documents"])[0]
    assert q.taken == 50
    assert q.precision is not None and q.precision >= 0.9, q  # the truth is 1.0; before: 0.0
    assert q.status == "good"
