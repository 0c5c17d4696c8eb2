"""Profile pictures: making a small avatar from a user's image, and drawing anyone's avatar.

An avatar travels inside a signed profile entry to every follower, so it is capped at
:data:`lndesk.content.MAX_AVATAR_BYTES`. :func:`avatar_from_file` crops the picture to a
centred square, scales it to at most 128x128 pixels and encodes it as JPEG, lowering the
quality (then the size) until it fits.

Avatars received from others are untrusted bytes: :func:`avatar_pixmap` refuses images
whose header claims large dimensions before decoding them (a small compressed file can
unpack to gigabytes), and draws a coloured circle with initials instead, the colour
derived from the key so a person keeps the same colour everywhere.
"""

from __future__ import annotations

import hashlib
import logging
from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRect, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QImageReader,
    QImageWriter,
    QPainter,
    QPainterPath,
    QPixmap,
)

from lndesk.content import MAX_AVATAR_BYTES
from lndesk.errors import LndeskError
from lndesk.keytext import KEY_PREFIX, key_to_text

logger = logging.getLogger(__name__)

AVATAR_PIXELS = 128
"""The largest width and height of an avatar we make."""
MAX_SOURCE_PIXELS = 10_000
"""Pictures wider or taller than this are refused rather than decoded."""
MAX_SHOWN_PIXELS = 1024
"""Received avatars claiming to be larger than this are not decoded (drawn as initials)."""
_QUALITIES = (85, 75, 65, 55, 45, 35, 25)
_SIDES = (AVATAR_PIXELS, 96, 64, 48)


class ImageError(LndeskError):
    """A picture chosen as an avatar cannot be used."""

    default_hint = "Choose a PNG or JPEG picture."


def avatar_from_file(path: Path) -> bytes:
    """Read an image file and make avatar bytes of it (at most ``MAX_AVATAR_BYTES``)."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)  # honour the camera's rotation (EXIF orientation)
    size = reader.size()
    if not reader.canRead():
        raise ImageError(f"{path.name} is not a picture lndesk can read")
    if size.isValid() and max(size.width(), size.height()) > MAX_SOURCE_PIXELS:
        raise ImageError(
            f"{path.name} is too large ({size.width()}x{size.height()} pixels)",
            f"Choose a picture of at most {MAX_SOURCE_PIXELS} pixels on each side.",
        )
    image = reader.read()
    if image.isNull():
        raise ImageError(f"{path.name} could not be read: {reader.errorString()}")
    return avatar_from_image(image)


def avatar_from_image(image: QImage, max_bytes: int = MAX_AVATAR_BYTES) -> bytes:
    """Crop ``image`` to a centred square, scale it down and encode it in ``max_bytes``.

    A 128x128 JPEG at quality 85 is usually 5-15 KB, so the lower qualities and sizes
    are a safety net for unusual pictures.
    """
    if image.isNull() or image.width() < 1 or image.height() < 1:
        raise ImageError("the picture is empty")
    side = min(image.width(), image.height())
    square = image.copy(
        QRect((image.width() - side) // 2, (image.height() - side) // 2, side, side)
    )
    for target in _SIDES:
        scaled = _flatten(_scaled(square, min(target, side)))
        for quality in _QUALITIES:
            data = _encode(scaled, quality)
            if len(data) <= max_bytes:
                return data
    raise ImageError("the picture could not be made small enough for an avatar")


def _scaled(square: QImage, side: int) -> QImage:
    if square.width() == side:
        return square
    return square.scaled(
        side,
        side,
        Qt.AspectRatioMode.IgnoreAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )


def _flatten(image: QImage) -> QImage:
    """Transparent parts become white (JPEG has no transparency)."""
    flat = QImage(image.size(), QImage.Format.Format_RGB32)
    flat.fill(QColor("white"))
    painter = QPainter(flat)
    painter.drawImage(0, 0, image)
    painter.end()
    return flat


def _encode(image: QImage, quality: int) -> bytes:
    array = QByteArray()
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QImageWriter(buffer, b"JPEG")
    writer.setQuality(quality)
    if not writer.write(image):
        raise ImageError(f"the picture could not be encoded: {writer.errorString()}", "")
    buffer.close()
    return bytes(array.data())


def decode_avatar(data: bytes, size: int) -> QImage | None:
    """The avatar ``data`` as a ``size`` x ``size`` image, or None if it is not usable."""
    if not data or len(data) > MAX_AVATAR_BYTES:
        return None
    array = QByteArray(data)
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer)
    claimed = reader.size()
    if (
        not claimed.isValid()
        or claimed.isEmpty()
        or max(claimed.width(), claimed.height()) > MAX_SHOWN_PIXELS
    ):
        return None
    reader.setScaledSize(_fit(claimed, size))
    image = reader.read()
    if image.isNull():
        return None
    side = min(image.width(), image.height())
    square = image.copy(
        QRect((image.width() - side) // 2, (image.height() - side) // 2, side, side)
    )
    return _scaled(square, size)


def _fit(claimed: QSize, size: int) -> QSize:
    """The decoding size that keeps the aspect ratio with the shorter side ``size``."""
    short = min(claimed.width(), claimed.height())
    scale = size / short
    return QSize(max(1, round(claimed.width() * scale)), max(1, round(claimed.height() * scale)))


def key_color(key: bytes) -> QColor:
    """A stable, readable colour for a key (white initials stay legible on it)."""
    digest = hashlib.blake2b(key, digest_size=2, person=b"lndesk-avatar").digest()
    hue = int.from_bytes(digest, "big") % 360
    return QColor.fromHsl(hue, 150, 95)


def initials(name: str, key: bytes) -> str:
    """Up to two letters for a fallback avatar: from the name, else from the key."""
    letters = [word[0] for word in name.split() if word[:1].isalnum()][:2]
    if letters:
        return "".join(letters).upper()
    if len(key) == 32:
        return key_to_text(key)[len(KEY_PREFIX) : len(KEY_PREFIX) + 2].upper()
    return "?"


def avatar_pixmap(data: bytes, size: int, *, key: bytes = b"", name: str = "") -> QPixmap:
    """A round ``size`` x ``size`` avatar: the picture in ``data``, else initials on a
    colour derived from ``key``. Never raises for bad data."""
    return QPixmap.fromImage(avatar_image(data, size, key, name))


@lru_cache(maxsize=256)
def avatar_image(data: bytes, size: int, key: bytes = b"", name: str = "") -> QImage:
    """What :func:`avatar_pixmap` draws, as an image (cached: lists draw the same few often)."""
    size = max(1, size)
    image = decode_avatar(data, size) if data else None
    canvas = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    canvas.fill(Qt.GlobalColor.transparent)
    painter = QPainter(canvas)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    circle = QPainterPath()
    circle.addEllipse(0, 0, size, size)
    painter.setClipPath(circle)
    if image is not None:
        painter.drawImage(QRect(0, 0, size, size), image)
    else:
        if data:
            logger.debug("an avatar of %d bytes is not a usable picture", len(data))
        painter.fillRect(QRect(0, 0, size, size), key_color(key))
        font = QFont()
        font.setBold(True)
        font.setPixelSize(max(1, int(size * 0.4)))
        painter.setFont(font)
        painter.setPen(QColor("white"))
        painter.drawText(QRect(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, initials(name, key))
    painter.end()
    return canvas
