"""The app icon, loaded from the files installed with the package (``lndesk/ui/resources``).

The files are read through :mod:`importlib.resources`, so they are found wherever the
package is installed. The top-level ``resources/`` directory of the source tree holds the
same files plus what a desktop needs (the ``.desktop`` entry); scripts/render_icons.py
keeps both in step.
"""

from __future__ import annotations

import logging
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

from PySide6.QtGui import QIcon, QPixmap

logger = logging.getLogger(__name__)

ICON_NAME = "lndesk"
SIZES = (16, 32, 48, 64, 128, 256)


def resource_dir() -> Traversable:
    """The package's resource directory (the .desktop entry and the icons)."""
    return resources.files("lndesk.ui") / "resources"


def icon_file(size: int) -> Traversable:
    return resource_dir() / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{ICON_NAME}.png"


@cache
def app_icon() -> QIcon:
    """lndesk's icon at every size shipped; the desktop theme's icon if none is found.

    Needs a QGuiApplication (pixmaps cannot be made before one exists).
    """
    icon = QIcon()
    for size in SIZES:
        source = icon_file(size)
        pixmap = QPixmap()
        try:
            loaded = pixmap.loadFromData(source.read_bytes(), "PNG")
        except OSError:
            loaded = False
        if loaded:
            icon.addPixmap(pixmap)
        else:
            logger.warning("the %dx%d app icon is missing from the installed package", size, size)
    if icon.isNull():
        return QIcon.fromTheme(ICON_NAME)
    return icon
