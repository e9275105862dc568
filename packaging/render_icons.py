"""Render the app icon (resources/icons/photosorter.svg) to PNG sizes.

    python packaging/render_icons.py

Writes resources/icons/hicolor/<N>x<N>/apps/photosorter.png (for system installs: the freedesktop
icon theme layout) and copies the SVG and a 256 px PNG into the package (photosorter/gui/icons/),
so an installed wheel finds its icon too.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication(sys.argv)  # noqa: F841 - Qt needs an application for painting
    svg = ROOT / "resources" / "icons" / "photosorter.svg"
    renderer = QSvgRenderer(str(svg))
    package_icons = ROOT / "photosorter" / "gui" / "icons"
    package_icons.mkdir(parents=True, exist_ok=True)
    for n in SIZES:
        img = QImage(n, n, QImage.Format.Format_ARGB32)
        img.fill(Qt.GlobalColor.transparent)
        painter = QPainter(img)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        out = ROOT / "resources" / "icons" / "hicolor" / f"{n}x{n}" / "apps" / "photosorter.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        img.save(str(out))
        if n == 256:
            shutil.copy(out, package_icons / "photosorter.png")
    shutil.copy(svg, package_icons / "photosorter.svg")
    print(f"rendered {len(SIZES)} sizes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
