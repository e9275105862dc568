"""Grad-CAM looks where the planted evidence is, per category, and leaves no hooks or leaks."""

from __future__ import annotations

import gc
import resource

import numpy as np
import pytest
import torch

from photosorter import imaging
from photosorter.ml.features import Embedder
from photosorter.ml.gradcam import (
    AUGMENTED_VIEWS,
    FAITHFUL_MIN,
    GradCAM,
    _turn,
    _turn_back,
    explain,
    faithfulness,
    occlusion,
    render,
    target_layer,
)
from photosorter.ml.training import TrainOptions, train_from_folder
from photosorter.samples import make_labeled_folder, make_photo, peak_in_box


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("planted")
    make_labeled_folder(root / "train", per_category=20, categories=("red_disc", "blue_square"), none=20, seed=11)
    # fp32, whatever this CPU would choose: these tests are about the explanation methods. On a CPU
    # with AMX the default (bf16) features of these flat generated photos are further from fp32
    # (centred cosine down to 0.978, against 0.992 on real photos), and heads trained on them put
    # the occlusion peak beside the disc on 4 of 6 photos (fp32: 1 of 6). What bf16 does to
    # explanations of real photos is measured by benchmarks/experiments/numerics_check.py.
    embedder = Embedder("efficientnet_lite0", numeric_mode="fp32")
    clf = train_from_folder(root / "train", embedder, TrainOptions(views=2)).classifier
    return root, embedder, clf


@pytest.mark.slow
@pytest.mark.parametrize("augment", [False, True], ids=["gradcam", "augmented"])
def test_single_planted_object(trained, augment):
    root, emb, clf = trained
    c = clf.categories.index("red_disc")
    hits = 0
    with GradCAM(emb.model, clf.head, emb.spec, augment=augment) as cam:
        for i in range(20):
            p = root / "one" / f"{i}.jpg"
            box = make_photo(p, ("red_disc",), 5000 + i)["red_disc"]
            img = imaging.load_image(p).image
            maps, _ = cam(img, [c])
            grid = emb.spec.input_size // 32  # the last block has stride 32: 10x10 at 320 px
            assert maps.shape == (1, grid, grid) and maps.min() >= 0.0 and maps.max() <= 1.0
            hits += peak_in_box(maps[0], box, img.size)
    assert hits / 20 >= 0.9, hits


@pytest.mark.slow
def test_two_objects_two_categories(trained):
    """The app's explanation (augmented Grad-CAM) puts each category's peak on its own object.

    Measured margin (README, "Explanations"): on these 20 photos 18 and 19 of 20, i.e. just at the
    bar; the seed design's plain Grad-CAM manages 16 of 20 for the blue square."""
    root, emb, clf = trained
    hits = {name: 0 for name in clf.categories}
    with GradCAM(emb.model, clf.head, emb.spec, augment=True) as cam:
        for i in range(20):
            p = root / "two" / f"{i}.jpg"
            boxes = make_photo(p, ("red_disc", "blue_square"), 7000 + i)
            img = imaging.load_image(p).image
            maps, _ = cam(img)
            for k, name in enumerate(clf.categories):
                hits[name] += peak_in_box(maps[k], boxes[name], img.size)
    assert all(v / 20 >= 0.9 for v in hits.values()), hits


def test_augmented_views_are_the_eight_symmetries_and_turn_back_exactly():
    x = torch.arange(2 * 5 * 5).reshape(2, 5, 5)
    turned = {tuple(_turn(x, k, m).flatten().tolist()) for k, m in AUGMENTED_VIEWS}
    assert len(AUGMENTED_VIEWS) == len(turned) == 8
    assert all(torch.equal(_turn_back(_turn(x, k, m), k, m), x) for k, m in AUGMENTED_VIEWS)


def test_augmented_map_follows_the_photo_and_nested_explainers_do_not_interfere(tmp_path):
    """A mirrored photo gets the mirrored augmented map (the eight views are the same set), and two
    explainers open on one model at once each get their own, correct result."""
    from PIL import Image

    root = make_labeled_folder(tmp_path / "ex", per_category=6, rel_size=0.6, seed=5)
    emb = Embedder("tiny")
    clf = train_from_folder(root, emb, TrainOptions(views=1, folds=2, max_epochs=5)).classifier
    img = imaging.load_image(next((root / "red_disc").glob("*.jpg"))).image
    with GradCAM(emb.model, clf.head, emb.spec, augment=True) as aug:
        maps, logits = aug(img)
        mirrored, _ = aug(img.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    assert np.allclose(mirrored, maps[:, :, ::-1], atol=1e-4)
    with GradCAM(emb.model, clf.head, emb.spec) as plain:
        alone, _ = plain(img)
    with GradCAM(emb.model, clf.head, emb.spec) as plain, GradCAM(emb.model, clf.head, emb.spec, augment=True) as aug:
        both_plain, _ = plain(img)
        both_aug, both_logits = aug(img)
    assert np.allclose(both_plain, alone) and np.allclose(both_aug, maps) and np.allclose(both_logits, logits, atol=1e-5)


@pytest.mark.slow
def test_every_method_gives_maps_on_the_native_grid_and_checked_flags_consistently(trained):
    root, emb, clf = trained
    p = root / "methods" / "0.jpg"
    box = make_photo(p, ("red_disc",), 5200)["red_disc"]
    img = imaging.load_image(p).image
    grid = emb.spec.input_size // 32
    c = clf.categories.index("red_disc")
    for method in ("gradcam", "augmented", "occlusion", "checked"):
        ex = explain(emb.model, clf.head, emb.spec, img, method=method)
        assert all(m.shape == (grid, grid) and m.min() >= 0 and m.max() <= 1 for m in ex.maps)
        assert peak_in_box(ex.maps[c], box, img.size), method
        if method == "checked":
            assert ex.methods == ["occlusion" if f else "augmented" for f in ex.flagged]
            assert ex.faithfulness[c] is not None and not ex.flagged[c]  # a clear single disc: Grad-CAM holds
        else:
            assert ex.methods == [method] * len(ex.maps)


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
    with pytest.raises(ZeroDivisionError), GradCAM(emb.model, clf.head, emb.spec):
        _ = 1 / 0
    assert not layer._forward_hooks
    def rss_kb() -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * (resource.getpagesize() // 1024)
    with GradCAM(emb.model, clf.head, emb.spec, augment=True) as cam:
        for _ in range(20):
            cam(img)
    gc.collect()
    before = rss_kb()
    for n in range(200):
        with GradCAM(emb.model, clf.head, emb.spec, augment=n % 2 == 0) as cam:  # the app's and the seed's
            cam(img)
    gc.collect()
    assert rss_kb() - before < 30_000, "memory grew by more than 30 MB over 200 explanations"
    assert not any(m._forward_hooks or m._backward_hooks for m in emb.model.modules())


def test_bf16_occlusion_agrees_with_fp32_and_the_app_asks_for_it_only_when_scoring_in_bf16(tmp_path):
    root = make_labeled_folder(tmp_path / "ex", per_category=6, rel_size=0.6, seed=6)
    emb = Embedder("tiny", numeric_mode="fp32")
    assert not emb.bf16_active  # the CLI and the preview pass this: fp32 scoring gets an fp32 check
    clf = train_from_folder(root, emb, TrainOptions(views=1, folds=2, max_epochs=5)).classifier
    img = imaging.load_image(next((root / "red_disc").glob("*.jpg"))).image
    exact = occlusion(emb.model, clf.head, emb.spec, img)
    fast = occlusion(emb.model, clf.head, emb.spec, img, bf16=True)
    assert not np.array_equal(fast.drops, exact.drops)  # really computed differently
    assert np.corrcoef(fast.drops.ravel(), exact.drops.ravel())[0, 1] > 0.95
    assert np.abs(fast.logits - exact.logits).max() < 0.1 * (np.abs(exact.logits).max() + 1)


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
