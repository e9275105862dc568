"""Grad-CAM looks where the planted evidence is, per category, and leaves no hooks or leaks."""

from __future__ import annotations

import gc
import json
import resource

import numpy as np
import pytest

from photosorter import imaging
from photosorter.cli import main
from photosorter.ml.features import Embedder
from photosorter.ml.gradcam import FAITHFUL_MIN, GradCAM, explain, faithfulness, occlusion, render, target_layer
from photosorter.ml.training import TrainOptions, train_from_folder
from photosorter.samples import make_labeled_folder, make_photo, peak_in_box


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("planted")
    make_labeled_folder(root / "train", per_category=20, categories=("red_disc", "blue_square"), none=20, seed=11)
    embedder = Embedder("efficientnet_lite0")
    clf = train_from_folder(root / "train", embedder, TrainOptions(views=2)).classifier
    return root, embedder, clf


@pytest.mark.slow
def test_single_planted_object(trained):
    root, emb, clf = trained
    c = clf.categories.index("red_disc")
    hits = 0
    with GradCAM(emb.model, clf.head, emb.spec) as cam:
        for i in range(20):
            p = root / "one" / f"{i}.jpg"
            box = make_photo(p, ("red_disc",), 5000 + i)["red_disc"]
            img = imaging.load_image(p).image
            maps, _ = cam(img, [c])
            grid = emb.spec.input_size // 32  # the last block has stride 32: 10x10 at 320 px
            assert maps.shape == (1, grid, grid) and 0.0 <= maps.min() and maps.max() <= 1.0
            hits += peak_in_box(maps[0], box, img.size)
    assert hits / 20 >= 0.9, hits


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="known gap (issue 4 open): at 320 px (10x10 grid) the blue square's "
                   "peak lands next to it, often at the image border, in ~25% of photos; red disc 100%")
def test_two_objects_two_categories(trained):
    root, emb, clf = trained
    hits = {name: 0 for name in clf.categories}
    with GradCAM(emb.model, clf.head, emb.spec) as cam:
        for i in range(20):
            p = root / "two" / f"{i}.jpg"
            boxes = make_photo(p, ("red_disc", "blue_square"), 7000 + i)
            img = imaging.load_image(p).image
            maps, _ = cam(img)
            for k, name in enumerate(clf.categories):
                hits[name] += peak_in_box(maps[k], boxes[name], img.size)
    assert all(v / 20 >= 0.9 for v in hits.values()), hits


@pytest.mark.slow
def test_every_method_gives_maps_on_the_native_grid_and_checked_flags_consistently(trained):
    root, emb, clf = trained
    p = root / "methods" / "0.jpg"
    box = make_photo(p, ("red_disc",), 5200)["red_disc"]
    img = imaging.load_image(p).image
    grid = emb.spec.input_size // 32
    c = clf.categories.index("red_disc")
    for method in ("gradcam", "occlusion", "checked"):
        ex = explain(emb.model, clf.head, emb.spec, img, method=method)
        assert all(m.shape == (grid, grid) and 0 <= m.min() and m.max() <= 1 for m in ex.maps)
        assert peak_in_box(ex.maps[c], box, img.size), method
        if method == "checked":
            assert ex.methods == ["occlusion" if f else "gradcam" for f in ex.flagged]
            assert ex.faithfulness[c] is not None and not ex.flagged[c]  # a clear single disc: Grad-CAM holds


@pytest.mark.slow
def test_faithfulness_flags_heat_that_is_not_where_the_evidence_is(trained):
    root, emb, clf = trained
    c = clf.categories.index("red_disc")
    p = root / "flag" / "0.jpg"
    box = make_photo(p, ("red_disc",), 5100)["red_disc"]
    img = imaging.load_image(p).image
    occ = occlusion(emb.model, clf.head, emb.spec, img)
    assert peak_in_box(occ.maps[c], box, img.size)  # occlusion finds the disc
    with GradCAM(emb.model, clf.head, emb.spec) as cam:
        heat, _ = cam(img, [c])
    right = faithfulness(emb.model, clf.head, emb.spec, img, heat, [c], occ)[0]
    # a heatmap that points at the cell farthest from the disc: hiding it changes nothing
    wrong = np.zeros_like(heat)
    g = heat.shape[-1]
    cx, cy = (box[0] + box[2]) / 2 / img.size[0], (box[1] + box[3]) / 2 / img.size[1]
    wrong[0, 0 if cy > 0.5 else g - 1, 0 if cx > 0.5 else g - 1] = 1.0
    misplaced = faithfulness(emb.model, clf.head, emb.spec, img, wrong, [c], occ)[0]
    assert right >= FAITHFUL_MIN > misplaced, (right, misplaced)


def test_hooks_removed_even_on_error_and_no_memory_growth(tmp_path):
    root = make_labeled_folder(tmp_path / "ex", per_category=6, rel_size=0.6, seed=3)
    emb = Embedder("tiny")
    clf = train_from_folder(root, emb, TrainOptions(views=1, folds=2, max_epochs=5)).classifier
    layer = target_layer(emb.model)
    img = imaging.load_image(next(root.rglob("*.jpg"))).image
    with pytest.raises(ZeroDivisionError):
        with GradCAM(emb.model, clf.head, emb.spec):
            1 / 0
    assert not layer._forward_hooks
    def rss_kb() -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * (resource.getpagesize() // 1024)
    with GradCAM(emb.model, clf.head, emb.spec) as cam:
        for _ in range(20):
            cam(img)
    gc.collect()
    before = rss_kb()
    for _ in range(200):
        with GradCAM(emb.model, clf.head, emb.spec) as cam:
            cam(img)
    gc.collect()
    assert rss_kb() - before < 30_000, "memory grew by more than 30 MB over 200 explanations"
    assert not any(m._forward_hooks or m._backward_hooks for m in emb.model.modules())


def test_render_outputs_align_with_photo():
    photo = imaging.to_rgb(make_rgb(300, 200))
    heat = np.zeros((7, 7))
    heat[0, 6] = 1.0  # top-right cell
    r = render(photo, heat, opacity=0.6)
    assert r.overlay.size == r.heatmap.size == photo.size
    arr = np.asarray(r.heatmap.convert("L"), dtype=float)
    assert arr[:40, -40:].mean() > arr[-40:, :40].mean() + 50


def make_rgb(w, h):
    from PIL import Image
    return Image.new("RGB", (w, h), (90, 120, 90))


def test_explain_cli_json(tmp_path, capsys):
    root = make_labeled_folder(tmp_path / "ex", per_category=6, rel_size=0.6, seed=4)
    model = tmp_path / "m.safetensors"
    assert main(["train", str(root), "--model", str(model), "--backbone", "tiny", "-q"]) == 0
    capsys.readouterr()
    photo = next((root / "red_disc").glob("*.jpg"))
    assert main(["explain", str(photo), "--model", str(model), "--out", str(tmp_path / "out"), "--json", "-q"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["scores"]) == {"blue_square", "red_disc"}
    grid = np.array(doc["heatmap"]["red_disc"])
    assert grid.ndim == 2 and grid.min() >= 0 and grid.max() <= 1
    for name in ("blue_square", "red_disc"):
        for f in doc["files"][name].values():
            assert (tmp_path / "out").joinpath(f.split("/")[-1]).is_file()
    # the check covers the categories the photo goes to; the others keep plain Grad-CAM
    for name in ("blue_square", "red_disc"):
        checked = name in doc["categories"]
        if not checked:
            assert doc["method"][name] == "gradcam" and doc["faithfulness"][name] is None
            assert name not in doc["flagged"]
        else:
            assert doc["method"][name] == ("occlusion" if name in doc["flagged"] else "gradcam")
