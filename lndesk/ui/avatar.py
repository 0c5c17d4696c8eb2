"""Profile pictures: making a small avatar from a user's image, and drawing anyone's avatar.

An avatar travels inside a signed profile entry to every follower, so it is capped at
:data:`lndesk.content.MAX_AVATAR_BYTES`. :func:`avatar_from_file` takes a PNG or JPEG
file (recognised from its bytes; other formats are refused with advice to save the
picture as one of them), crops the picture to a centred square, scales it to at most
128x128 pixels and encodes it as JPEG, lowering the quality (then the size) until it
fits.

Avatars received from others are untrusted bytes: :func:`decode_avatar` accepts only PNG
and JPEG recognised from the bytes, refuses images whose header claims large dimensions
before decoding them (a small compressed file can unpack to gigabytes) and lets only that
format's decoder read them. Peers' avatars are decoded off the GUI thread, with a time
limit (:mod:`lndesk.ui.avatar_worker`). Without a usable picture a person is drawn as
their key's fingerprint (:mod:`lndesk.ui.identicon`), the same everywhere.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRect, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QImage,
    QImageReader,
    QImageWriter,
    QPainter,
    QPainterPath,
    QPixmap,
)

from lndesk.content import MAX_AVATAR_BYTES
from lndesk.errors import LndeskError
from lndesk.ui.avatar_sniff import other_format, sniff, sniff_start
from lndesk.ui.identicon import identicon_image

logger = logging.getLogger(__name__)

AVATAR_PIXELS = 128
"""The largest width and height of an avatar we make."""
MAX_SOURCE_PIXELS = 10_000
"""Pictures wider or taller than this are refused rather than decoded."""
MAX_SOURCE_BYTES = 64 * 2**20
"""Picture files larger than this are refused rather than read."""
SAVE_AS_HINT = (
    "Open it in an image editor or viewer, save or export it as PNG or JPEG, and choose that file."
)
MAX_SHOWN_PIXELS = 1024
"""Received avatars claiming to be larger than this are not decoded (drawn as initials)."""
_QUALITIES = (85, 75, 65, 55, 45, 35, 25)
_SIDES = (AVATAR_PIXELS, 96, 64, 48)


class ImageError(LndeskError):
    """A picture chosen as an avatar cannot be used."""

    default_hint = "Choose a PNG or JPEG picture."


def avatar_from_file(path: Path) -> bytes:
    """Read a PNG or JPEG file and make avatar bytes of it (at most ``MAX_AVATAR_BYTES``).

    The format is recognised from the file's bytes (not its name), and only that
    format's decoder reads it: no other Qt image plugin sees the file."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_SOURCE_BYTES + 1)
    except OSError as exc:
        raise ImageError(
            f"{path.name} could not be read: {exc.strerror or exc}",
            "Check that the file exists and that you may read it, or choose another.",
        ) from exc
    if len(data) > MAX_SOURCE_BYTES:
        raise ImageError(
            f"{path.name} is too large (over {MAX_SOURCE_BYTES // 2**20} MB)",
            f"Choose a picture file of at most {MAX_SOURCE_BYTES // 2**20} MB.",
        )
    header = sniff_start(data)
    if header is None:
        kind = other_format(data)
        raise ImageError(
            f"{path.name} is {kind} picture: lndesk takes PNG or JPEG pictures only"
            if kind is not None
            else f"{path.name} is not a picture lndesk can read (PNG or JPEG)",
            SAVE_AS_HINT,
        )
    if max(header.width, header.height) > MAX_SOURCE_PIXELS or min(header.width, header.height) < 1:
        raise ImageError(
            f"{path.name} is too large ({header.width}x{header.height} pixels)",
            f"Choose a picture of at most {MAX_SOURCE_PIXELS} pixels on each side.",
        )
    array = QByteArray(data)
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer, header.format.encode("ascii"))
    reader.setAutoDetectImageFormat(False)  # only the decoder of the sniffed format
    reader.setDecideFormatFromContent(False)
    reader.setAutoTransform(True)  # honour the camera's rotation (EXIF orientation)
    if reader.size() != QSize(header.width, header.height):
        raise ImageError(f"{path.name} could not be read: it is damaged", SAVE_AS_HINT)
    if min(header.width, header.height) > 2 * AVATAR_PIXELS:  # decode no more than needed
        reader.setScaledSize(_fit(reader.size(), 2 * AVATAR_PIXELS))
    image = reader.read()
    if image.isNull():
        raise ImageError(f"{path.name} could not be read: {reader.errorString()}", SAVE_AS_HINT)
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
    """The avatar ``data`` as a ``size`` x ``size`` image, or None if it is not usable.

    Only PNG and JPEG, recognised by their bytes (:mod:`lndesk.ui.avatar_sniff`), with at
    most :data:`MAX_SHOWN_PIXELS` on each side as their header says, reach a decoder, and
    only that format's decoder: no other Qt image plugin ever reads a peer's bytes."""
    if not data or len(data) > MAX_AVATAR_BYTES:
        return None
    header = sniff(data)
    if header is None or not (
        0 < header.width <= MAX_SHOWN_PIXELS and 0 < header.height <= MAX_SHOWN_PIXELS
    ):
        return None
    array = QByteArray(data)
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer, header.format.encode("ascii"))
    reader.setAutoDetectImageFormat(False)  # only the plugin named above, whatever the bytes
    reader.setDecideFormatFromContent(False)
    claimed = reader.size()
    if claimed != QSize(header.width, header.height):
        return None  # the decoder reads another header than the one checked
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


def avatar_pixmap(data: bytes, size: int, *, key: bytes = b"") -> QPixmap:
    """A round ``size`` x ``size`` avatar, decoded here and now: the picture in ``data``,
    else ``key``'s fingerprint. Never raises for bad data. For one's own picture; a
    peer's is decoded off the GUI thread (:mod:`lndesk.ui.avatar_worker`)."""
    return QPixmap.fromImage(avatar_image(data, size, key))


@lru_cache(maxsize=64)
def avatar_image(data: bytes, size: int, key: bytes = b"") -> QImage:
    """What :func:`avatar_pixmap` draws, as an image (cached: lists draw the same few often)."""
    size = max(1, size)
    image = decode_avatar(data, size) if data else None
    if image is None and data:
        logger.debug("an avatar of %d bytes is not a usable picture", len(data))
    return _round(image, size, key)


def round_avatar(image: QImage | None, size: int, key: bytes) -> QPixmap:
    """A decoded avatar ``image`` clipped to a circle, or ``key``'s fingerprint if None."""
    return QPixmap.fromImage(_round(image, size, key))


def _round(image: QImage | None, size: int, key: bytes) -> QImage:
    if image is None:
        return identicon_image(key, size, round_=True)
    canvas = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    canvas.fill(Qt.GlobalColor.transparent)
    painter = QPainter(canvas)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    circle = QPainterPath()
    circle.addEllipse(0, 0, size, size)
    painter.setClipPath(circle)
    painter.drawImage(QRect(0, 0, size, size), image)
    painter.end()
    return canvas
