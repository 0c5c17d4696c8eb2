"""Drawing a key's fingerprint (:mod:`lndesk.fingerprint`) as a small square picture.

The same picture stands for an author in every view: the card of each post, threads,
search results, Requests, the Following and Blocked lists and the peers list. A person
without a profile picture gets it as their avatar too (never a letter of their key:
every key starts with ``lnd1``).
"""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPixmap

from lndesk.fingerprint import GRID, fingerprint

BACKGROUND = QColor("#f0f0f0")


def identicon_color(key: bytes) -> QColor:
    """The colour of ``key``'s fingerprint."""
    print_ = fingerprint(key)
    return QColor.fromHsl(print_.hue, 170, print_.lightness)


@lru_cache(maxsize=512)
def identicon_image(key: bytes, size: int, *, round_: bool = False) -> QImage:
    """``key``'s fingerprint as a ``size`` x ``size`` image (clipped to a circle if
    ``round_``: the avatar form)."""
    size = max(GRID, size)
    print_ = fingerprint(key)
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    if round_:
        circle = QPainterPath()
        circle.addEllipse(0, 0, size, size)
        painter.setClipPath(circle)
        inset = size * 0.18  # the pattern sits inside the circle
    else:
        inset = size * 0.06
    painter.fillRect(0, 0, size, size, BACKGROUND)
    cell = (size - 2 * inset) / GRID
    colour = identicon_color(key)
    for row, cells in enumerate(print_.cells):
        for col, filled in enumerate(cells):
            if filled:
                area = QRectF(inset + col * cell, inset + row * cell, cell + 0.5, cell + 0.5)
                painter.fillRect(area, colour)
    painter.end()
    return image


@lru_cache(maxsize=1024)
def identicon_pixmap(key: bytes, size: int, *, round_: bool = False) -> QPixmap:
    """:func:`identicon_image` as a pixmap (GUI thread only; cached: every card paints one)."""
    return QPixmap.fromImage(identicon_image(key, size, round_=round_))
