"""What a received avatar's bytes are, read from the bytes themselves before decoding.

A profile says nothing trustworthy about its picture: the bytes decide. Only PNG and
JPEG are accepted (Qt's other image plugins, SVG above all, can take minutes or gigabytes
on a few hostile kilobytes), and their width and height are read from the header here, in
plain Python, so an image claiming 60000x60000 pixels is refused before any decoder sees
it.
"""

from __future__ import annotations

from dataclasses import dataclass

PNG = "png"
JPEG = "jpeg"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_START = b"\xff\xd8\xff"
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
"""JPEG start-of-frame markers: the segment that holds the picture's dimensions."""
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_MAX_SEGMENTS = 256


@dataclass(frozen=True, slots=True)
class Header:
    format: str
    """:data:`PNG` or :data:`JPEG`."""
    width: int
    height: int


PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
JPEG_END = b"\xff\xd9"


def sniff(data: bytes) -> Header | None:
    """The format and dimensions ``data`` declares, or None if it is not a whole PNG or
    JPEG whose header can be read (a truncated file, which decoders would fill with grey,
    does not count: it must end as its format ends)."""
    if data.startswith(PNG_SIGNATURE) and data.endswith(PNG_END):
        return _png(data)
    if data.startswith(JPEG_START) and data.endswith(JPEG_END):
        return _jpeg(data)
    return None


def sniff_start(data: bytes) -> Header | None:
    """The format and dimensions the start of ``data`` declares (PNG or JPEG), whatever
    follows: for a picture file the user chose (cameras append data after a JPEG's end)."""
    if data.startswith(PNG_SIGNATURE):
        return _png(data)
    if data.startswith(JPEG_START):
        return _jpeg(data)
    return None


_OTHERS = (
    (b"GIF87a", "a GIF"),
    (b"GIF89a", "a GIF"),
    (b"BM", "a BMP"),
    (b"II*\x00", "a TIFF"),
    (b"MM\x00*", "a TIFF"),
    (b"\x00\x00\x01\x00", "an ICO"),
    (b"8BPS", "a Photoshop"),
)


def other_format(data: bytes) -> str | None:
    """What kind of picture lndesk does not take ``data`` is ("a GIF", "an SVG"...), if
    its first bytes say so; None if they do not name a picture format."""
    for signature, name in _OTHERS:
        if data.startswith(signature):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "a WebP"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"avif", b"heim"):
        return "an AVIF" if data[8:12] == b"avif" else "a HEIC"
    head = data[:512].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml")) and b"<svg" in data[:4096].lower():
        return "an SVG"
    return None


def _png(data: bytes) -> Header | None:
    # The first chunk must be IHDR: length 13, then width and height (big-endian).
    if len(data) < 33 or data[8:16] != b"\x00\x00\x00\x0dIHDR":
        return None
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    return Header(PNG, width, height)


def _jpeg(data: bytes) -> Header | None:
    pos = 2
    for _ in range(_MAX_SEGMENTS):
        while pos < len(data) and data[pos] == 0xFF:  # fill bytes before a marker
            pos += 1
        if pos >= len(data) or data[pos - 1] != 0xFF:
            return None
        marker = data[pos]
        pos += 1
        if marker in _STANDALONE:
            continue
        if marker in (0xD9, 0xDA) or pos + 2 > len(data):
            return None  # end of image or scan data before any frame header
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2:
            return None
        if marker in _SOF:
            if length < 7 or pos + 7 > len(data):
                return None
            height = int.from_bytes(data[pos + 3 : pos + 5], "big")
            width = int.from_bytes(data[pos + 5 : pos + 7], "big")
            return Header(JPEG, width, height)
        pos += length
    return None
