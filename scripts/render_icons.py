"""Render the app icon's PNG sizes from resources/icons/lndesk.svg and copy the desktop
resources into the package (lndesk/ui/resources), so an installed lndesk finds them.

Run after editing the SVG or the .desktop file::

    python scripts/render_icons.py

The top-level ``resources/`` directory is the source; the package copy must stay
identical (tests/ui/test_resources.py checks it).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "resources"
PACKAGE_COPY = ROOT / "lndesk" / "ui" / "resources"
SIZES = (16, 32, 48, 64, 128, 256)
COPIED = ("lndesk.desktop", "icons")


def render(svg: Path, size: int, target: Path) -> None:
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg} is not an SVG file Qt can read")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    target.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(target), "PNG"):
        raise SystemExit(f"could not write {target}")


def main() -> int:
    _app = QGuiApplication(sys.argv[:1])
    svg = SOURCE / "icons" / "lndesk.svg"
    for size in SIZES:
        render(svg, size, SOURCE / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "lndesk.png")
    for name in COPIED:
        source, target = SOURCE / name, PACKAGE_COPY / name
        if source.is_dir():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    print(f"rendered {len(SIZES)} sizes and copied {', '.join(COPIED)} into {PACKAGE_COPY}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
