"""Avatar scaling and size caps, fallback avatars, and the share link's QR image."""

from __future__ import annotations

import os
import random
import struct
from pathlib import Path
from typing import Any

import pytest
import segno
from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QColor, QImage

from lndesk.content import MAX_AVATAR_BYTES
from lndesk.keytext import key_to_link
from lndesk.ui.avatar import (
    SAVE_AS_HINT,
    ImageError,
    avatar_from_file,
    avatar_from_image,
    avatar_pixmap,
    decode_avatar,
)
from lndesk.ui.identicon import identicon_image
from lndesk.ui.qr import QUIET_ZONE, qr_image

KEY = bytes(range(32))


def noise(width: int, height: int) -> QImage:
    data = os.urandom(width * height * 3)
    return QImage(data, width, height, width * 3, QImage.Format.Format_RGB888).copy()


def size_of(data: bytes) -> tuple[int, int]:
    image = QImage.fromData(data)
    assert not image.isNull()
    return image.width(), image.height()


def test_large_picture_becomes_a_small_square(qapp: Any, tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    assert noise(1000, 700).save(str(path))
    assert path.stat().st_size > MAX_AVATAR_BYTES * 10
    data = avatar_from_file(path)
    assert len(data) <= MAX_AVATAR_BYTES
    assert data[:3] == b"\xff\xd8\xff"  # JPEG
    assert size_of(data) == (128, 128)


def test_quality_drops_until_the_cap_is_met(qapp: Any) -> None:
    picture = noise(128, 128)  # not smoothed by scaling: the hardest case for JPEG
    generous = avatar_from_image(picture)
    tight = avatar_from_image(picture, max_bytes=len(generous) // 2)
    assert len(tight) <= len(generous) // 2
    assert size_of(tight) == (128, 128)  # lower quality first, same size
    tiny = avatar_from_image(picture, max_bytes=2500)
    assert len(tiny) <= 2500
    assert size_of(tiny)[0] < 128  # then smaller


def test_small_picture_is_not_enlarged(qapp: Any) -> None:
    assert size_of(avatar_from_image(noise(40, 90))) == (40, 40)


def test_unreadable_or_huge_pictures_are_refused(qapp: Any, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(ImageError, match=r"notes\.txt is not a picture lndesk can read \(PNG"):
        avatar_from_file(path)
    with pytest.raises(ImageError, match="empty"):
        avatar_from_image(QImage())


def test_received_avatar_claiming_huge_dimensions_is_not_decoded(qapp: Any) -> None:
    big = QImage(4000, 10, QImage.Format.Format_Grayscale8)
    big.fill(0)
    array = QByteArray()
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    assert big.save(buffer, "PNG")
    data = bytes(array.data())
    assert len(data) <= MAX_AVATAR_BYTES
    assert decode_avatar(data, 32) is None
    assert decode_avatar(b"garbage", 32) is None
    good = avatar_from_image(noise(300, 200))
    decoded = decode_avatar(good, 32)
    assert decoded is not None and (decoded.width(), decoded.height()) == (32, 32)


def test_fallback_avatar_is_the_key_fingerprint(qapp: Any) -> None:
    pixmap = avatar_pixmap(b"not a picture", 48, key=KEY)
    assert (pixmap.width(), pixmap.height()) == (48, 48)
    image = pixmap.toImage().convertToFormat(QImage.Format.Format_ARGB32)
    assert image.pixelColor(0, 0).alpha() == 0  # round: the corners are transparent
    assert image == identicon_image(KEY, 48, round_=True).convertToFormat(
        QImage.Format.Format_ARGB32
    )
    other = avatar_pixmap(b"", 48, key=bytes(31) + b"\x01").toImage()
    assert other.convertToFormat(QImage.Format.Format_ARGB32) != image
    picture = avatar_pixmap(avatar_from_image(noise(64, 64)), 48, key=KEY).toImage()
    assert picture.convertToFormat(QImage.Format.Format_ARGB32) != image


def test_qr_image_of_a_share_link(qapp: Any) -> None:
    link = key_to_link(KEY, "Ann Lee")
    code = segno.make(link, error="m", micro=False)
    modules = code.symbol_size(scale=1, border=0)[0]
    assert code.version == 6 and modules == 41
    image = qr_image(link, scale=5)
    assert image.width() == image.height() == (modules + 2 * QUIET_ZONE) * 5
    white = QColor("white").rgb()
    border = QUIET_ZONE * 5
    for i in range(image.width()):
        for edge in (0, border - 1, image.width() - border):
            assert image.pixel(i, edge) == white
            assert image.pixel(edge, i) == white
    # The top-left finder pattern starts right after the quiet zone: dark, module-sized.
    assert image.pixelColor(border, border).rgb() == QColor("black").rgb()
    assert image.pixelColor(border + 4, border + 4).rgb() == QColor("black").rgb()
    # Every module is a solid block: sample each module's centre against segno's matrix.
    rng = random.Random(5)
    for _ in range(200):
        row, col = rng.randrange(modules), rng.randrange(modules)
        x, y = border + col * 5 + 2, border + row * 5 + 2
        expected = QColor("black" if code.matrix[row][col] else "white").rgb()
        assert image.pixel(x, y) == expected


def _saved(image: QImage, path: Path, fmt: str) -> Path:
    assert image.save(str(path), fmt)
    return path


def test_a_chosen_picture_must_be_png_or_jpeg_and_the_advice_works(
    qapp: Any, tmp_path: Path
) -> None:
    """A BMP is refused by its bytes with advice to save it as PNG or JPEG; following
    the advice (what an image viewer does: open it, save it as PNG) makes it usable."""
    bmp = _saved(noise(90, 60), tmp_path / "me.bmp", "BMP")
    with pytest.raises(ImageError) as refused:
        avatar_from_file(bmp)
    assert str(refused.value) == "me.bmp is a BMP picture: lndesk takes PNG or JPEG pictures only"
    assert refused.value.hint == SAVE_AS_HINT
    assert "save or export it as PNG or JPEG" in refused.value.describe()
    png = _saved(QImage(str(bmp)), tmp_path / "me-saved.png", "PNG")
    data = avatar_from_file(png)
    assert data[:3] == b"\xff\xd8\xff" and size_of(data) == (60, 60)
    jpeg = _saved(QImage(str(bmp)), tmp_path / "me-saved.jpg", "JPEG")
    assert size_of(avatar_from_file(jpeg)) == (60, 60)


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect/></svg>', "SVG"),
        (b"GIF89a\x40\x00\x40\x00\x00\x00\x00;", "GIF"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "WebP"),
        (b"II*\x00\x08\x00\x00\x00", "TIFF"),
    ],
)
def test_the_bytes_decide_not_the_name(
    qapp: Any, tmp_path: Path, content: bytes, kind: str
) -> None:
    """Another format named .png is refused before any decoder reads it."""
    path = tmp_path / "avatar.png"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=rf"avatar\.png is an? {kind} picture"):
        avatar_from_file(path)


def test_a_camera_jpeg_with_data_after_its_end_is_taken(qapp: Any, tmp_path: Path) -> None:
    path = _saved(noise(300, 400), tmp_path / "camera.jpg", "JPEG")
    path.write_bytes(path.read_bytes() + b"\x00" * 64 + b"ftypmp42 motion photo trailer")
    assert size_of(avatar_from_file(path)) == (128, 128)


def test_a_chosen_picture_too_large_to_read_is_refused(qapp: Any, tmp_path: Path) -> None:
    header = struct.pack(">IIBBBBB", 20_000, 20, 8, 0, 0, 0, 0)
    path = tmp_path / "wide.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR" + header + b"\x00" * 20)
    with pytest.raises(ImageError, match=r"wide\.png is too large \(20000x20 pixels\)"):
        avatar_from_file(path)
