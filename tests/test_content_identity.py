"""Examples are identified by their content, never by their file name (issue 13, item 1)."""

from __future__ import annotations

import shutil
from pathlib import Path

from photosorter.library import Library, import_labeled_folder
from photosorter.ml.dataset import scan_labeled_folder
from photosorter.ml.features import Embedder
from photosorter.ml.training import TrainOptions, train_from_folder
from photosorter.samples import make_photo


def _two_phones(tmp_path):
    """Pets/IMG_0001.JPG and Food/IMG_0001.JPG: two different photos with the same name, plus one
    photo (identical bytes) in both Pets/ and Food/ under different names."""
    root = tmp_path / "ex"
    for i in range(4):
        make_photo(root / "Food" / f"Food_{i:03d}.jpg", ("red_disc",), 100 + i)
        make_photo(root / "Pets" / f"Pets_{i:03d}.jpg", ("blue_square",), 200 + i)
    make_photo(root / "Pets" / "IMG_0001.JPG", ("blue_square",), 901)
    make_photo(root / "Food" / "IMG_0001.JPG", ("red_disc",), 902)
    assert (root / "Pets" / "IMG_0001.JPG").read_bytes() != (root / "Food" / "IMG_0001.JPG").read_bytes()
    shutil.copy(root / "Pets" / "Pets_000.jpg", root / "Food" / "shared_copy.jpg")
    return root


def test_same_name_different_photos_are_two_examples(tmp_path):
    root = _two_phones(tmp_path)
    photos = scan_labeled_folder(root)
    by_path = {p: row.tolist() for p, row in zip(photos.paths, photos.labels)}
    assert by_path[root / "Pets" / "IMG_0001.JPG"] == [0.0, 1.0]  # Pets only
    assert by_path[root / "Food" / "IMG_0001.JPG"] == [1.0, 0.0]  # Food only
    # identical bytes under two names in two folders: one photo with both labels
    shared = [p for p in photos.paths if p.name in ("Pets_000.jpg", "shared_copy.jpg")]
    assert len(shared) == 1 and by_path[shared[0]] == [1.0, 1.0]
    assert len(photos.paths) == 4 + 4 + 2  # nothing silently dropped, the copy counted once


def test_training_and_import_keep_both_img_0001(tmp_path):
    root = _two_phones(tmp_path)
    result = train_from_folder(root, Embedder("tiny"), TrainOptions(views=1, folds=2, max_epochs=5))
    assert result.classifier.description.examples == 10
    assert result.classifier.description.examples_per_category == {"Food": 6, "Pets": 5}
    lib = import_labeled_folder(root, Library())
    food, pets = lib.category("Food").examples, lib.category("Pets").examples
    assert str(root / "Food" / "IMG_0001.JPG") in food and str(root / "Pets" / "IMG_0001.JPG") in pets
    assert str(root / "Food" / "IMG_0001.JPG") not in pets
    # each category keeps the copy in its own folder; every example file exists
    assert str(root / "Food" / "shared_copy.jpg") in food and str(root / "Pets" / "Pets_000.jpg") in pets
    assert all(Path(p).exists() for p in food + pets)
