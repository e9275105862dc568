"""A third new-user tryout: examples could only be added by drag and drop, and importing a folder
whose sub-folder names a category there already skipped it (offscreen)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog

from photosorter.importing import import_examples
from photosorter.samples import make_photo


def _photos(folder, n: int, seed: int = 0) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = folder / f"p{seed}_{i}.jpg"
        make_photo(p, (), seed=seed + i, size=(64, 48))
        out.append(str(p))
    return out


def test_add_photos_button_and_menu_action_add_the_chosen_photos_to_the_selected_category(window, qtbot, tmp_path,
                                                                                         monkeypatch):
    w = window
    w.library.add_category("food")
    w.library.add_category("pets")
    w.categories.refresh(select="pets")
    picked = _photos(tmp_path / "camera", 3)
    notes = tmp_path / "camera" / "notes.txt"
    notes.write_text("not a photo")
    asked: list = []

    def dialog(parent, title, folder, filters):
        asked.append((title, filters))
        return [*picked[:2], str(notes)], filters

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(dialog))
    qtbot.mouseClick(w.categories.add_photos_button, Qt.MouseButton.LeftButton)
    assert "pets" in asked[-1][0] and "*.jpg" in asked[-1][1] and "*.txt" not in asked[-1][1]
    assert w.library.category("pets").examples == picked[:2]  # the text file is not an example
    assert w.library.category("food").examples == []
    assert "Added 2 photo(s)" in w.categories.header.text()
    assert w.categories.thumbs.count() == 2
    # the menu action, with its shortcut shown in the menu, adds to whichever category is selected
    action = w.add_photos_action
    assert action.shortcut() == QKeySequence("Ctrl+E") and action in w.menuBar().actions()[0].menu().actions()
    w.categories.refresh(select="food")
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(lambda *a: ([picked[2]], "")))
    action.trigger()
    assert w.library.category("food").examples == [picked[2]]


def test_importing_a_folder_whose_sub_folder_names_an_existing_category_adds_to_it(window, tmp_path):
    w = window
    w.library.add_category("Food")
    before = _photos(tmp_path / "old", 2, seed=10)
    w.library.add_examples("Food", before)
    root = tmp_path / "import"
    new = _photos(root / "food", 3, seed=20)  # names the category in another case
    pets = _photos(root / "pets", 2, seed=30)
    w.import_folder(str(root))
    report = w.last_import
    assert sorted(w.library.category("Food").examples) == sorted(before + new)
    assert w.library.category("pets").examples == pets
    assert report.skipped_folders == [], report.skipped_folders
    text = report.text()
    assert "Added to existing categories: Food (from the folder food)" in text and "New categories: pets" in text
    assert "already a category" not in w.categories.header.text()
    # importing the same folder again adds nothing new and still skips nothing
    again = import_examples(root, w.library)
    assert again.skipped_folders == [] and sum(again.added.values()) == 0


def test_ctrl_number_switches_tabs_from_anywhere_and_the_theme_menu_marks_the_current_theme(window, qtbot):
    """Tryout: Ctrl+Tab / Alt+2 did nothing with the focus outside the tabs; the View menu did not
    say which theme was on."""
    w = window
    w.categories.setFocus()
    for i, key in enumerate((Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3)):
        qtbot.keyClick(w, key, Qt.KeyboardModifier.ControlModifier)
        assert w.tabs.currentIndex() == i
    qtbot.keyClick(w, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert w.tabs.currentIndex() == 0
    assert [k for k, a in w.theme_actions.items() if a.isChecked()] == ["system"]
    w.theme_actions["dark"].trigger()
    assert [k for k, a in w.theme_actions.items() if a.isChecked()] == ["dark"]
    w.theme_actions["system"].trigger()  # the app-wide palette back for the tests that follow
