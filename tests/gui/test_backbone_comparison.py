"""The Train tab's opt-in extras (gui/backbone_comparison.py, issue 13 item 6), driven offscreen:
compare backbones and fine-tune, and show what the saved model's description says."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")
from fake_backbones import register_fake_backbones
from PySide6.QtCore import Qt

from photosorter.samples import make_labeled_folder


@pytest.fixture
def window(window, monkeypatch):
    """The conftest window, with the fake backbones to compare and a shorter training."""
    from photosorter.gui import backbone_comparison

    register_fake_backbones(monkeypatch)
    monkeypatch.setattr(backbone_comparison, "OFFLINE", ("blind", "missing", "tiny"))
    # The Train tab's own job and path, with a shorter training (the suite runs on 2 shared cores)
    from photosorter.gui import training
    from photosorter.ml import finetune
    from photosorter.ml.training import TrainOptions

    real = backbone_comparison.train_with_extras

    def shorter(photos, session, opts, **kw):
        return real(photos, session, TrainOptions(views=2, folds=3, max_epochs=15, gate_quantile=opts.gate_quantile), **kw)

    monkeypatch.setattr(training, "train_with_extras", shorter)
    ft_options = finetune.FineTuneOptions
    monkeypatch.setattr(finetune, "FineTuneOptions", lambda: ft_options(epochs=1))
    return window


def test_compare_and_fine_tune_from_the_train_tab_show_what_the_model_says(window, qtbot, tmp_path, monkeypatch):
    from photosorter.gui.backbone_comparison import comparison_rows, fine_tune_text
    from photosorter.ml.classifier import Classifier

    w = window
    panel = w.training
    assert not panel.extras.compare.isChecked() and not panel.extras.fine_tune.isChecked()  # off by default
    assert not panel.comparison.isVisible()
    w.import_folder(str(make_labeled_folder(tmp_path / "ex", per_category=6, rel_size=0.6, seed=61)))
    qtbot.mouseClick(panel.extras.compare, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.extras.fine_tune, Qt.MouseButton.LeftButton)
    assert w.library.compare_backbones and w.library.fine_tune  # stored in the library's settings
    qtbot.waitUntil(lambda: panel._read_job is None, timeout=60_000)
    seen: list[float] = []
    shown_progress = panel.on_progress
    panel.on_progress = lambda d, t, m: (seen.append(d / t if t else 0.0), shown_progress(d, t, m))
    charted: list[tuple] = []  # what reached the loss chart, and the chart's name for it at that moment
    shown_data = panel._chart_data
    ticks_enabled: list[bool] = []  # the two boxes while this training runs (they say what it does)
    panel._chart_data = lambda d: (shown_data(d), charted.append((d, panel.chart.stage, dict(panel.chart.folds))),
                                   ticks_enabled.append(panel.extras.isEnabled()))
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel._train_job is None and panel.train_button.isEnabled(), timeout=300_000)
    assert panel.stage.text().startswith("Trained"), panel.stage.text()
    saved = Classifier.load(w.model_path)
    desc = saved.description
    # Live curves for every training of the job (a comparison used to leave the chart empty for
    # minutes): each backbone that loaded, then the fine-tuning folds, each named and starting afresh.
    trainings = [d[1] for d, _name, _folds in charted if d[0] == "stage"]
    assert trainings == ["tiny (1 of 3)", "blind (2 of 3)", "fine-tuning tiny's top"], trainings
    for i, (d, name, folds) in enumerate(charted):
        if d[0] == "stage":
            assert folds == {} and name == d[1]  # the previous training's curves are gone
            assert i + 1 < len(charted) and charted[i + 1][0][0] != "stage"  # and it drew curves of its own
        else:
            assert name in trainings and len(folds[d[0]][1]) >= 1
    assert ticks_enabled and not any(ticks_enabled) and panel.extras.isEnabled()
    assert panel.chart.legend_text().startswith("kept: tiny")  # the name first; no long tail to cut it
    # afterwards the chart shows the kept model's own curves, named
    assert panel.chart.stage == "kept: tiny" + (" (fine-tuned)" if saved.backbone_top else "")
    assert [v for _t, v in panel.chart.folds.values()] == [c["val_loss"] for c in desc.curves]
    # Tryout findings: the bar went back (31% → 5% → 2%) at each stage; the time said was one stage's
    assert seen and seen == sorted(seen), seen
    stages = sum(r.get("seconds", 0.0) for r in desc.backbone_comparison) + desc.fine_tune["seconds"]
    assert desc.train_seconds >= stages - 0.5 and f"in {desc.train_seconds:.1f} s" in panel.stage.text()
    # the rows shown are the model file's comparison: every backbone, its F1 and time, kept / skipped
    shown = panel.comparison.shown_rows()
    assert shown == comparison_rows(desc)
    assert [r[0] for r in shown] == ["tiny", "blind", "missing"]  # the library's backbone first
    assert shown[2][3].startswith("skipped: ") and "not on this computer" in shown[2][3]
    assert shown[0][3].startswith("kept") and shown[1][3] == "not kept"
    assert saved.backbone == "tiny" and w.library.backbone == "tiny"
    # the fine-tuning verdict is shown as the model says it
    assert desc.fine_tune is not None and desc.fine_tune["kept"] in ("frozen", "fine-tuned")
    assert panel.comparison.fine_tune.text() == fine_tune_text(desc) != ""
    assert panel.comparison.isVisible()
    # Tryout: shown in full, the comparison squeezed the per-category table to a row and a half.
    # A summary line says what was kept; the details open on demand.
    summary = panel.comparison.summary.text()
    assert "tiny kept" in summary and "missing skipped" in summary and "Fine-tuning" in summary
    assert "familiarity gate" not in summary and not panel.comparison.body.isVisible()
    assert panel.comparison.height() < 4 * panel.comparison.summary.fontMetrics().lineSpacing() + 40
    table = panel.table  # and the per-category table keeps room for its rows (up to 4) whatever else is shown
    rows = min(table.rowCount(), 4)
    assert rows >= 2 and table.minimumHeight() >= (table.horizontalHeader().sizeHint().height()
                                                   + rows * table.verticalHeader().defaultSectionSize())
    qtbot.mouseClick(panel.comparison.details, Qt.MouseButton.LeftButton)
    assert panel.comparison.body.isVisible() and panel.comparison.table.isVisible()
    qtbot.mouseClick(panel.comparison.details, Qt.MouseButton.LeftButton)
    assert not panel.comparison.body.isVisible()
    # Tryout: one correction started a full compare + fine-tune (a minute, the backbone switched).
    # The quick retrain a correction starts never runs the extras.
    import photosorter.gui.training as training_gui

    calls: list[str] = []
    real = training_gui.train_with_extras
    monkeypatch.setattr(training_gui, "train_with_extras", lambda *a, **k: (calls.append("extras"), real(*a, **k))[1])
    w.correct(str(w.library.labeled_photos().paths[0]), ())
    qtbot.waitUntil(lambda: panel._train_job is None and panel.train_button.isEnabled(), timeout=300_000)
    assert calls == [], "a correction's quick retrain ran the comparison / fine-tuning"
    assert panel.stage.text().startswith("Trained"), panel.stage.text()
    assert w.library.backbone == "tiny"


def test_small_losses_keep_their_digits_on_the_axis():
    """Tryout: a fine-tuning stage's tiny losses drew "0.00" at the top of the axis and "0" at the bottom."""
    from photosorter.gui.loss_chart import axis_label

    assert axis_label(0.77) == "0.77" and axis_label(0.0031) == "0.0031" and axis_label(0.045) == "0.045"
