"""Issue 18 on the command line: `explain` of a video shows each sampled keyframe with its scores
and overlays (it used to refuse a video as "not an image"), and a damaged one gets its reason."""

from __future__ import annotations

import json
from pathlib import Path

from media_helpers import make_clip
from PIL import Image

from photosorter.cli import main
from photosorter.samples import make_photo


def test_explain_a_video_shows_its_keyframes_with_scores(tmp_path, scorer, capsys):
    model = tmp_path / "m.safetensors"
    scorer.classifier.save(model)
    frames = []
    for s in range(3):
        make_photo(tmp_path / f"f{s}.jpg", ("red_disc",), s, size=(320, 240), rel_size=0.6)
        frames.append(Image.open(tmp_path / f"f{s}.jpg").convert("RGB"))
    clip = make_clip(tmp_path / "dog.mp4", frames, seconds_each=0.5)
    out = tmp_path / "out"
    assert main(["explain", str(clip), "--model", str(model), "--out", str(out), "--category", "red_disc",
                 "--background", "off", "--json", "-q"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["categories"] == ["red_disc"] and "1 of its 3 sampled frames" in doc["note"]
    assert [round(f["time"], 1) for f in doc["frames"]] == [0.0, 0.5, 1.0]
    assert all(f["scores"]["red_disc"] >= doc["thresholds"]["red_disc"] for f in doc["frames"])
    for f in doc["frames"]:
        assert Path(f["overlays"]["red_disc"]).stat().st_size > 0 and Path(f["original"]).is_file()
    (tmp_path / "cut.mp4").write_bytes(clip.read_bytes()[:1500])
    assert main(["explain", str(tmp_path / "cut.mp4"), "--model", str(model), "--out", str(out), "-q"]) == 3
    err = capsys.readouterr().err
    assert "truncated" in err and err.count("cut.mp4") == 1
