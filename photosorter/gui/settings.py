"""Settings: backbone (with the offline fallback explained), strictness, speed, background watching,
which kinds of files are sorted."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
)

from ..library import Library
from ..ml.backbones import BACKBONES

#: The recognition models as the settings list them (the ids stay in the library and the CLI).
BACKBONE_NAMES = {
    "efficientnet_lite0": "EfficientNet-Lite0 (bundled, works offline; the default)",
    "efficientnet_lite2": "EfficientNet-Lite2 (more accurate on some photos, slower)",
    "resnet50": "ResNet50 (downloaded once, ~100 MB)",
}

KIND_CHOICES = (
    ("stills", "Photos and PDFs", "JPEG, HEIC, PNG, GIF, WebP, BMP, TIFF, and the first page of PDFs"),
    ("videos", "Videos", "MP4, MOV, M4V, 3GP, MKV, WebM, AVI, MTS — scored by 5 frames spread over the clip. "
                         "A Live Photo's movie always travels with its photo."),
    ("raw", "RAW", "DNG, CR2, CR3, NEF, ARW, RAF, ORF, RW2 — a RAW with a JPEG of the same shot goes with it."),
)


class SettingsDialog(QDialog):
    def __init__(self, library: Library, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.library = library
        self.backbone = QComboBox()
        for name in BACKBONES:
            if name == "tiny":
                continue
            self.backbone.addItem(BACKBONE_NAMES.get(name, name), name)  # words, not an id (tryout)
        self.backbone.setCurrentIndex(max(0, self.backbone.findData(library.backbone)))
        self.about_backbone = QLabel()
        self.about_backbone.setWordWrap(True)
        self.backbone.currentIndexChanged.connect(self._describe)
        self.strictness = QSlider(Qt.Orientation.Horizontal)
        self.strictness.setRange(1, 30)
        self.strictness.setValue(round(library.strictness * 100))
        self.strictness_label = QLabel()
        self.strictness.valueChanged.connect(self._strict_text)
        self.speed = QComboBox()
        self.speed.addItem("Recommended — fast modes validated, or checked against exact results on your first photos",
                           "default")
        self.speed.addItem("Exact — the same numbers on every computer (fp32)", "exact")
        self.speed.addItem("Fastest — also int8 (checked against exact results on your first photos)", "fast")
        self.speed.setCurrentIndex(max(0, self.speed.findData(library.speed)))
        self.speed.setToolTip("Fast modes can change a few borderline decisions; see README, Performance. "
                              "A mode not validated for the model checks itself against fp32 on the first "
                              "photos of each session and stays exact if they differ.")
        self.tray = QCheckBox("Keep watching in the tray when the window is closed")
        self.tray.setChecked(library.keep_watching_in_tray)
        self.kinds: dict[str, QCheckBox] = {}
        kinds_row = QHBoxLayout()
        for kind, text, tip in KIND_CHOICES:
            box = QCheckBox(text)
            box.setToolTip(tip)
            box.setChecked(kind in library.kinds)
            self.kinds[kind] = box
            kinds_row.addWidget(box)
        form = QFormLayout()
        form.addRow("Recognition model", self.backbone)
        form.addRow("", self.about_backbone)
        form.addRow("Keep unrelated photos out", self.strictness)
        form.addRow("", self.strictness_label)
        form.addRow("Speed", self.speed)
        form.addRow("", self.tray)
        form.addRow("Sort these files", kinds_row)
        self.delete_faces = QPushButton("Delete face data")  # issue 17: privacy, one click
        self.delete_faces.setToolTip("Faces found in your photos are kept only in photosorter's private cache on this "
                                     "computer. This deletes them; they are found again only if a category is about people.")
        self.delete_faces.clicked.connect(self._delete_faces)
        self.faces_note = QLabel()
        self.faces_note.setWordWrap(True)
        form.addRow("Faces", self.delete_faces)
        form.addRow("", self.faces_note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(QLabel("Changing the recognition model or strictness takes effect at the next training."))
        lay.addWidget(buttons)
        self._describe()
        self._strict_text(self.strictness.value())

    def _delete_faces(self) -> None:
        from ..config import app_paths
        from ..ml.faces import FaceStore

        store = FaceStore(app_paths().feature_cache_file)
        try:
            n = store.clear()
        finally:
            store.close()
        self.faces_note.setText(f"Deleted the face data of {n} photo(s) from this computer's cache.")

    def _describe(self) -> None:
        name = self.backbone.currentData()
        text = BACKBONES[name].description
        if name == "resnet50":
            text += (" Without internet on first use, photosorter tells you and you can keep using "
                     "EfficientNet-Lite0, which is bundled and works offline.")
        self.about_backbone.setText(text)

    def _strict_text(self, v: int) -> None:
        self.strictness_label.setText(
            f"{v}% of a category's own examples may look 'unfamiliar'. Higher keeps more unrelated photos out, "
            "but also misses more genuine ones.")

    def apply(self) -> bool:
        """Write the choices into the library; True if retraining is needed."""
        changed = (self.backbone.currentData() != self.library.backbone
                   or self.speed.currentData() != self.library.speed
                   or abs(self.strictness.value() / 100 - self.library.strictness) > 1e-9)
        self.library.backbone = self.backbone.currentData()
        self.library.strictness = self.strictness.value() / 100
        self.library.keep_watching_in_tray = self.tray.isChecked()
        self.library.speed = self.speed.currentData()
        # At least one kind: an empty choice would make every sort silently do nothing.
        self.library.kinds = [k for k, box in self.kinds.items() if box.isChecked()] or list(self.library.kinds)
        self.library.save()
        return changed
