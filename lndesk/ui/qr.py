"""A QR code of a share link, so a phone or another laptop's camera can follow you.

Built with ``segno`` (pure Python, maintained). Error correction level M survives a
smudged screen or a poor camera; the quiet zone is the standard four modules, which
scanners need to find the code. Each module is drawn as a block of whole pixels (no
smoothing), dark on white whatever the colour theme, because scanners expect that.
"""

from __future__ import annotations

import segno
from PySide6.QtGui import QImage, QPixmap

ERROR_LEVEL = "m"
QUIET_ZONE = 4
"""Modules of white border around the code (the QR standard's minimum)."""
DEFAULT_SCALE = 6
"""Pixels per module: a version-5 code becomes 270 pixels wide, easy to scan from a screen."""


def qr_code(text: str) -> segno.QRCode:
    """The QR code (never a Micro QR code) for ``text``."""
    return segno.make(text, error=ERROR_LEVEL, micro=False)


def qr_image(text: str, scale: int = DEFAULT_SCALE) -> QImage:
    """``text`` as a black-on-white square QR image with a quiet zone."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    code = qr_code(text)
    width, height = (int(n) for n in code.symbol_size(scale=scale, border=QUIET_ZONE))
    pixels = bytearray()
    for row in code.matrix_iter(scale=scale, border=QUIET_ZONE):
        pixels += bytes(0 if dark else 255 for dark in row)
    image = QImage(bytes(pixels), width, height, width, QImage.Format.Format_Grayscale8)
    return image.copy()  # own the pixels; the bytes above go away


def qr_pixmap(text: str, scale: int = DEFAULT_SCALE) -> QPixmap:
    return QPixmap.fromImage(qr_image(text, scale))
