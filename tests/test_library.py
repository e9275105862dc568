"""The user's setup file: round trip, and a damaged file is kept (never overwritten) and reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from photosorter import errors
from photosorter.config import app_paths
from photosorter.library import SCHEMA_VERSION, Library, default_sorted_root


def saved_library(tmp_path) -> Library:
    lib = Library()
    lib.add_category("Food", tmp_path / "food")
    lib.add_category("Pets")
    lib.category("Food").examples.append(str(tmp_path / "a.jpg"))
    lib.none_examples.append(str(tmp_path / "b.jpg"))
    lib.watched.append(str(tmp_path / "DCIM"))
    lib.threshold_overrides["Food"] = 0.4
    lib.save()
    return lib


def test_round_trip(tmp_path):
    lib = saved_library(tmp_path)
    loaded = Library.load()
    assert loaded == lib and loaded.path == app_paths().library_file
    assert json.loads(app_paths().library_file.read_text())["schema_version"] == SCHEMA_VERSION
    assert Path(loaded.category("Pets").folder) == default_sorted_root() / "Pets"


def test_missing_file_is_an_empty_setup():
    assert Library.load().categories == []


def test_default_sorted_root_follows_photosorter_home(isolated_home):
    assert default_sorted_root() == isolated_home / "Sorted"


DAMAGED = {
    "not JSON": b"{ this is not json",
    "not UTF-8": b"\xff\xfe\x00garbage",
    "a list, not an object": b"[1, 2, 3]",
    "a category without a folder": json.dumps({"categories": [{"name": "Food"}]}).encode(),
    "a category that is a string": json.dumps({"categories": ["Food"]}).encode(),
    "strictness as a word": json.dumps({"strictness": "high"}).encode(),
    "watched as a string": json.dumps({"watched": "/home/me/DCIM"}).encode(),
    "a threshold of 7": json.dumps({"threshold_overrides": {"Food": 7}}).encode(),
    "schema_version as a word": json.dumps({"schema_version": "one"}).encode(),
}


@pytest.mark.parametrize("case", list(DAMAGED))
def test_damaged_file_is_kept_and_reported(case):
    path = app_paths().library_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(DAMAGED[case])
    with pytest.raises(errors.UsageError) as info:
        Library.load()
    kept = list(path.parent.glob("library.json.damaged-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == DAMAGED[case]
    assert str(kept[0]) in str(info.value) and str(path) in str(info.value)
    assert not path.exists()
    assert Library.load().categories == []  # the next start begins afresh


def test_a_second_damaged_file_never_overwrites_the_first():
    path = app_paths().library_file
    path.parent.mkdir(parents=True, exist_ok=True)
    for content in (b"first {", b"second {", b"third {"):
        path.write_bytes(content)
        with pytest.raises(errors.UsageError):
            Library.load()
    kept = sorted(p.read_bytes() for p in path.parent.glob("library.json.damaged-*"))
    assert kept == [b"first {", b"second {", b"third {"]


def test_unreadable_file_is_left_where_it_is(monkeypatch):
    path = app_paths().library_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")

    def denied(self, *a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_text", denied)
    with pytest.raises(errors.UsageError, match="cannot be read"):
        Library.load()
    monkeypatch.undo()
    assert path.read_text() == "{}" and not list(path.parent.glob("*.damaged-*"))


def test_file_from_a_newer_photosorter_is_left_alone():
    path = app_paths().library_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(errors.UsageError, match="newer photosorter"):
        Library.load()
    assert path.exists() and not list(path.parent.glob("*.damaged-*"))


def test_damaged_file_in_a_read_only_folder_is_reported_not_crashed(monkeypatch):
    import os

    path = app_paths().library_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not json")

    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "link", refuse)
    monkeypatch.setattr(os, "rename", refuse)
    with pytest.raises(errors.UsageError, match="could not be moved aside"):
        Library.load()
    monkeypatch.undo()
    assert path.read_bytes() == b"not json"


def _jpeg(path: Path, seed: int = 0) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (seed, 40, 80)).save(path, "JPEG")
    return path


def test_added_folders_follow_the_walkers_rules(tmp_path):
    """Adding a folder of examples uses the one folder walker: photos in nested folders count,
    hidden folders and files, temporary names, links and documents do not; paths stay as named."""
    import os

    from photosorter.library import expand_photos

    root = tmp_path / "pick"
    keep = [_jpeg(root / "a.jpg", 1), _jpeg(root / "trip" / "b.JPG", 2)]
    _jpeg(root / ".thumbnails" / "c.jpg", 3)
    _jpeg(root / ".hidden.jpg", 4)
    _jpeg(root / "._a.jpg", 5)
    (root / "scan.pdf").write_bytes(b"%PDF-1.4\n")
    os.symlink(tmp_path / "elsewhere.jpg", root / "link.jpg")
    _jpeg(tmp_path / "elsewhere.jpg", 6)
    os.mkfifo(root / "pipe.jpg")
    assert expand_photos([root]) == keep
    assert expand_photos([root / "a.jpg", root / "link.jpg"]) == [root / "a.jpg"]


def test_example_folders_skip_links_and_fifos_with_a_warning(tmp_path):
    """A FIFO named like a photo would block training forever if read; a symlink is not followed
    (the walker's rule): both are named in the warnings, the real photos are examples."""
    import os

    from photosorter.ml.dataset import scan_labeled_folder

    root = tmp_path / "ex"
    a = _jpeg(root / "Food" / "a.jpg", 1)
    _jpeg(root / "Food" / "deeper" / "nested.jpg", 7)  # only photos directly in a category folder
    _jpeg(root / "Food" / ".b.jpg", 2)
    _jpeg(root / ".cache" / "c.jpg", 3)
    os.symlink(a, root / "Food" / "link.jpg")
    os.mkfifo(root / "Food" / "pipe.jpg")
    photos = scan_labeled_folder(root)
    assert photos.categories == ["Food"] and photos.paths == [a]
    assert any("link.jpg" in w and "symbolic link" in w for w in photos.warnings)
    assert any("pipe.jpg" in w and "FIFO" in w for w in photos.warnings)


def test_examples_with_non_utf8_names_are_saved_and_read_back(tmp_path):
    """The walker now adds a folder's non-UTF-8 names (FAT cards, zips) as examples; saving the
    library then raised UnicodeEncodeError, left a .pending temp file, and every later save failed."""
    import os

    from sorting_helpers import non_utf8_name

    folder = tmp_path / "dogs"
    folder.mkdir()
    odd = non_utf8_name(folder, 1)
    lib = Library()
    lib.add_category("dogs")
    assert lib.add_examples("dogs", [folder]) == 1
    saved = lib.save(tmp_path / "library.json")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".pending-")] == []
    (example,) = Library.load(saved).category("dogs").examples
    assert os.fsencode(example) == os.fsencode(odd) and os.path.exists(example)


def test_renaming_a_category_keeps_a_folder_that_already_holds_its_copies(tmp_path):
    """New-user finding: renaming "pets" to "Pets & animals" moved its destination to a new
    folder while its photos stayed in the old one; the next sort copied them again there."""
    from photosorter.library import default_sorted_root

    lib = Library()
    lib.add_category("pets")
    lib.add_category("food")
    used = default_sorted_root() / "pets"
    used.mkdir(parents=True)
    (used / "IMG_1.jpg").write_bytes(b"a copy made by an earlier sort")
    lib.rename_category("pets", "Pets & animals")
    assert lib.category("Pets & animals").folder == str(used)  # kept together
    lib.rename_category("food", "Meals")  # nothing sorted there yet: the folder follows the name
    assert lib.category("Meals").folder == str(default_sorted_root() / "Meals")


def test_new_categories_never_share_a_swatch_colour():
    """Tryout: removing a category and adding one, or adding a ninth, gave two categories the same
    colour (the colour was picked by count), so their score bars looked alike in the grid."""
    from photosorter.library import PALETTE

    lib = Library()
    for name in ("a", "b", "c"):
        lib.add_category(name)
    lib.remove_category("a")
    lib.add_category("d")
    for i in range(20):
        lib.add_category(f"x{i}")
    colours = [c.color.casefold() for c in lib.categories]
    assert len(set(colours)) == len(colours), colours
    assert set(PALETTE) <= set(colours)  # the palette is used first
    assert all(len(c) == 7 and c.startswith("#") for c in colours)


# ---------------------------------------------------------------- one folder per category
def test_two_categories_never_share_a_folder(tmp_path):
    """Attack: Pets renamed Animals keeps Sorted/Pets (copies are in it); a new "Pets" then took
    Sorted/Pets again, and so did "Folder…" pointed at another category's folder. Copies are known
    by their folder, so a correction "not B" trashed the copy made for A."""
    lib = Library()
    lib.add_category("Pets")
    pets = Path(lib.category("Pets").folder)
    pets.mkdir(parents=True)
    (pets / "IMG_0001.jpg").write_bytes(b"a copy")
    lib.rename_category("Pets", "Animals")
    assert Path(lib.category("Animals").folder) == pets  # copies are in it: the folder stays
    lib.add_category("Pets")
    assert Path(lib.category("Pets").folder) == default_sorted_root() / "Pets (2)"
    lib.add_category("Cats", tmp_path / "cats")
    with pytest.raises(errors.UsageError, match="already the folder of 'Animals'"):
        lib.set_folder("Cats", pets)
    (tmp_path / "link").symlink_to(pets.parent)
    with pytest.raises(errors.UsageError, match="already the folder of 'Animals'"):
        lib.set_folder("Cats", tmp_path / "link" / "Pets")  # the same folder through a link
    with pytest.raises(errors.UsageError, match="already the folder of 'Animals'"):
        lib.set_folder("Cats", pets / ".." / "Pets")
    with pytest.raises(errors.UsageError, match="already the folder of 'Cats'"):
        lib.add_category("Dogs", tmp_path / "cats")
    lib.set_folder("Cats", tmp_path / "cats")  # its own folder again: fine
    assert lib.category("Cats").folder == str(tmp_path / "cats")
    # a rename whose new default folder is another category's keeps its own
    lib.add_category("Birds")
    lib.set_folder("Pets", default_sorted_root() / "Fish")
    lib.rename_category("Birds", "Fish")
    assert Path(lib.category("Fish").folder) == default_sorted_root() / "Birds"


def test_folders_are_compared_as_the_disk_compares_them(tmp_path, monkeypatch):
    """Attack: "~/x" was expanded for the check but not for sorting (which wrote to ./~/x); on
    macOS, whose disks ignore case, "Sorted/pets" was taken for free while "Sorted/Pets" held
    Animals' copies."""
    import sys

    lib = Library()
    lib.add_category("Animals", tmp_path / "Sorted" / "Pets")
    monkeypatch.setenv("HOME", str(tmp_path))
    lib.add_category("Tilde", "~/Sorted/Pets")  # not Animals' folder: sorting does not expand "~"
    monkeypatch.setattr(sys, "platform", "darwin")
    with pytest.raises(errors.UsageError, match="already the folder of 'Animals'"):
        lib.add_category("pets", tmp_path / "Sorted" / "pets")
    monkeypatch.setattr(sys, "platform", "linux")
    lib.add_category("pets", tmp_path / "Sorted" / "pets")  # a case-sensitive disk: another folder


def test_category_ids_are_unique_and_stable_even_when_the_library_cannot_be_saved(tmp_path, monkeypatch):
    """Attack: two categories given one id by hand made A's copy be reported (and trashed) as B's;
    "id": "" gave a new id at every load; a version-1 library that could not be saved (read-only
    config folder) got new ids at every start, so copies made in between lost their category."""
    path = app_paths().library_file
    path.parent.mkdir(parents=True, exist_ok=True)
    cats = [{"name": "A", "folder": str(tmp_path / "a"), "id": "same"},
            {"name": "B", "folder": str(tmp_path / "b"), "id": "same"},
            {"name": "C", "folder": str(tmp_path / "c"), "id": ""}]
    path.write_text(json.dumps({"schema_version": 2, "categories": cats}))
    lib = Library.load()
    ids = [c.id for c in lib.categories]
    assert len(set(ids)) == 3 and all(ids) and ids[0] == "same"
    assert [c.id for c in Library.load().categories] == ids  # kept
    # version 1, and saving fails: the same ids at every load all the same
    path.write_text(json.dumps({"schema_version": 1, "categories": [{"name": "A", "folder": "/x/a"}]}))
    monkeypatch.setattr(Library, "save", lambda self, path=None: (_ for _ in ()).throw(OSError(30, "Read-only")))
    assert Library.load().category("A").id == Library.load().category("A").id
