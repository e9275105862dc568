"""Counts in sentences agree with their nouns (a tryout read "in 1 categories", "copied 1 photos
(1 copies)")."""

from __future__ import annotations

from photosorter.library import Library
from photosorter.reporting import counted
from photosorter.samples import make_photo


def test_counted_says_one_photo_and_two_photos():
    assert counted(1, "photo") == "1 photo" and counted(0, "photo") == "0 photos"
    assert counted(1, "copy", "copies") == "1 copy" and counted(3, "copy", "copies") == "3 copies"


def test_the_train_hint_counts_one_category_in_the_singular(tmp_path):
    from photosorter.gui.training import train_hint

    lib = Library()
    lib.add_category("food")
    for i in range(2):
        make_photo(tmp_path / f"f{i}.jpg", (), seed=i, size=(64, 48))
        lib.category("food").examples.append(str(tmp_path / f"f{i}.jpg"))
    assert train_hint(lib).startswith("Ready to train on 2 example photos in 1 category.")


def test_importing_a_folder_of_photos_already_there_says_nothing_new_was_added(tmp_path):
    """Tryout: importing a folder whose food/ held the 20 photos already in Food reported "Added to
    existing categories: Food", and Food stayed at 20."""
    from photosorter.importing import import_examples

    for i in range(3):
        make_photo(tmp_path / "ex" / "food" / f"f{i}.jpg", (), seed=i, size=(64, 48))
    lib = Library()
    first = import_examples(tmp_path / "ex", lib)
    assert "New categories: food" in first.text() and len(lib.category("food").examples) == 3
    again = import_examples(tmp_path / "ex", lib)
    assert "Added to existing categories: food — nothing new: its photos were examples already" in again.text()
    assert len(lib.category("food").examples) == 3
