"""Issue 18: Settings → "Sort these files" (stills / videos / RAW, all by default) decides what the
app's sort looks at; it is saved with the library and never left empty."""

from __future__ import annotations

import pytest
from media_helpers import make_clip, make_dng
from PIL import Image

from photosorter.library import Library
from photosorter.media import KINDS
from photosorter.samples import make_photo

pytest.importorskip("pytestqt")


def test_sort_these_files_setting_chooses_what_the_app_sorts(qtbot, tmp_path, scorer):
    from photosorter.gui.settings import SettingsDialog
    from photosorter.session import Session

    roll = tmp_path / "DCIM"
    make_photo(roll / "IMG_1.jpg", ("red_disc",), 1, rel_size=0.6)
    make_clip(roll / "clip.mp4", [Image.new("RGB", (160, 120), (200, 30, 30))] * 3, seconds_each=0.5)
    make_dng(roll / "solo.dng", size=(320, 240))
    lib = Library()
    lib.backbone = "tiny"
    for c in scorer.classifier.categories:
        lib.add_category(c)
    assert sorted(lib.kinds) == sorted(KINDS)  # all by default

    def planned(kinds) -> set[str]:
        dlg = SettingsDialog(lib)
        qtbot.addWidget(dlg)
        for k, box in dlg.kinds.items():
            box.setChecked(k in kinds)
        dlg.apply()
        lib.backbone = "tiny"  # the dialog offers the real backbones only; the test model is tiny
        lib.save()
        model = tmp_path / "m.safetensors"
        scorer.classifier.save(model)
        plan = Session(Library.load(), model).plan([str(roll)])  # what was saved, as the app reads it
        return {d.path.name for d in plan.decisions}

    assert planned(KINDS) == {"IMG_1.jpg", "clip.mp4", "solo.dng"}
    assert planned({"videos", "raw"}) == {"clip.mp4", "solo.dng"}
    assert planned(set()) == {"clip.mp4", "solo.dng"}  # nothing ticked: the last choice stays, never "sort nothing"
    assert sorted(Library.load().kinds) == ["raw", "videos"]
