"""Who is who, against an attacker: hostile profile names and avatars, shown through the
real views offscreen (real desk and store, network off), and the avatar decoder alone.

Names: bidi overrides, "(you)", zero-width characters, look-alikes, huge names, markup.
Avatars: an SVG bomb, TIFF/WebP/ICNS/TGA/BMP bytes, huge dimensions in a PNG header, a
truncated JPEG, a PNG given out as a JPEG; and a decoder that never returns.
"""

from __future__ import annotations

import os
import threading
import zlib
from typing import Any

import pytest
from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QImage
from store_helpers import make_entry, make_identity
from ui_helpers import ingest
from ui_helpers import post_item as hand_made

from lndesk.content import Post, Profile, Reply, encode_content
from lndesk.entry_refs import Ref
from lndesk.identity import Identity
from lndesk.keytext import KEY_PREFIX, short_key
from lndesk.ui import avatar as avatar_module
from lndesk.ui.avatar import MAX_SHOWN_PIXELS, avatar_from_image, decode_avatar
from lndesk.ui.avatar_sniff import JPEG, PNG, Header, sniff
from lndesk.ui.avatar_worker import AvatarDecoder
from lndesk.ui.main_window import REPLIES, TIMELINE, MainWindow
from lndesk.ui.timers import ManualTime
from lndesk.ui.views import author_line
from lndesk.ui.views.author_line import NOT_FOLLOWED, YOU, avatar_of, name_parts
from lndesk.ui.views.post_delegate import meta_text

# --- hostile bytes -------------------------------------------------------------------------

SVG_BOMB = (
    b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
    b'width="64" height="64"><defs><rect id="a0" width="1" height="1"/>'
    + b"".join(
        f'<g id="a{n + 1}">'.encode()
        + b"".join(f'<use xlink:href="#a{n}"/>'.encode() for _ in range(10))
        + b"</g>"
        for n in range(7)
    )
    + b'</defs><use xlink:href="#a7"/></svg>'
)
"""10^7 rectangles in about 2 KB: minutes of work for Qt's SVG plugin. Never decoded here."""
SMALL_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16">'
    b'<rect width="16" height="16" fill="red"/></svg>'
)


def encoded(image: QImage, fmt: str) -> bytes:
    array = QByteArray()
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    assert image.save(buffer, fmt), fmt
    return bytes(array.data())


def picture(width: int = 16, height: int = 16) -> QImage:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(0xFF3366)
    return image


def noise(width: int, height: int) -> QImage:
    data = os.urandom(width * height * 3)
    return QImage(data, width, height, width * 3, QImage.Format.Format_RGB888).copy()


def tga(width: int = 16, height: int = 16) -> bytes:
    """An uncompressed 24-bit TGA (Qt reads TGA but cannot write it)."""
    header = bytes([0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    header += width.to_bytes(2, "little") + height.to_bytes(2, "little") + bytes([24, 0])
    footer = bytes(8) + b"TRUEVISION-XFILE.\x00"
    return header + b"\x10\x20\x30" * width * height + footer


def png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body).to_bytes(4, "big")
    return len(body).to_bytes(4, "big") + kind + body + crc


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` (the pixels are a few bytes)."""
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def other_formats() -> dict[str, bytes]:
    """Pictures in the formats Qt reads besides PNG and JPEG, by Qt's format name."""
    image = picture()
    return {
        "SVG": SMALL_SVG,
        "TIFF": encoded(image, "TIFF"),
        "WEBP": encoded(image, "WEBP"),
        "ICNS": encoded(picture(32, 32), "ICNS"),
        "BMP": encoded(image, "BMP"),
        "TGA": tga(),
    }


# --- avatars: what reaches a decoder --------------------------------------------------------


def test_only_png_and_jpeg_are_decoded(qapp: Any) -> None:
    for fmt, data in other_formats().items():
        assert not QImage.fromData(data, fmt).isNull(), f"Qt reads {fmt}: the case is real"
        assert sniff(data) is None, fmt
        assert decode_avatar(data, 32) is None, fmt
    assert sniff(SVG_BOMB) is None
    assert decode_avatar(SVG_BOMB, 32) is None
    good = avatar_from_image(picture(64, 64))
    assert sniff(good) == Header(JPEG, 64, 64)
    decoded = decode_avatar(good, 32)
    assert decoded is not None and decoded.size().width() == 32
    png = encoded(picture(20, 30), "PNG")
    assert sniff(png) == Header(PNG, 20, 30)
    assert decode_avatar(png, 32) is not None


def test_only_the_sniffed_formats_decoder_reads_the_bytes(
    qapp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even if the sniffing were fooled, no other plugin gets to read: bytes taken for a
    PNG are read by the PNG decoder or not at all."""
    tiff = encoded(picture(), "TIFF")
    monkeypatch.setattr(avatar_module, "sniff", lambda _data: Header(PNG, 16, 16))
    assert decode_avatar(tiff, 16) is None
    monkeypatch.setattr(avatar_module, "sniff", lambda _data: Header(JPEG, 16, 16))
    assert decode_avatar(SMALL_SVG, 16) is None


def test_dimensions_are_checked_from_the_header_before_decoding(qapp: Any) -> None:
    assert sniff(png_claiming(60_000, 60_000)) == Header(PNG, 60_000, 60_000)
    assert decode_avatar(png_claiming(60_000, 60_000), 32) is None
    wide = QImage(MAX_SHOWN_PIXELS * 2, 8, QImage.Format.Format_Grayscale8)
    wide.fill(0)
    data = encoded(wide, "PNG")
    assert not QImage.fromData(data).isNull()  # small and decodable: refused for its size
    assert decode_avatar(data, 32) is None
    assert decode_avatar(png_claiming(0, 16), 32) is None


def test_a_truncated_jpeg_is_not_shown(qapp: Any) -> None:
    good = avatar_from_image(noise(64, 64))
    cut = good[: len(good) * 2 // 3]
    assert not QImage.fromData(cut, "JPEG").isNull()  # Qt would show it, half grey
    assert decode_avatar(cut, 32) is None
    assert decode_avatar(good[:200] + b"\xff\xd9", 32) is None  # ends well, frame cut short


def test_a_png_given_out_as_a_jpeg_is_read_as_what_it_is(qapp: Any) -> None:
    png = encoded(picture(24, 24), "PNG")
    assert decode_avatar(png, 24) is not None  # the bytes decide, not a file name or field
    disguised = b"\xff\xd8\xff" + png  # JPEG's first bytes, then a PNG
    assert sniff(disguised) is None
    assert decode_avatar(disguised, 24) is None


def test_jpeg_header_walk_is_bounded(qapp: Any) -> None:
    # Many empty segments and no frame header: refused without reading them all.
    data = b"\xff\xd8" + b"\xff\xfe\x00\x02" * 10_000 + b"\xff\xd9"
    assert sniff(data) is None
    assert sniff(b"\xff\xd8\xff") is None


# --- avatars: off the GUI thread, with a time limit -------------------------------------------


def test_avatars_are_decoded_on_a_worker_thread(qapp: Any, qtbot: Any) -> None:
    threads: list[threading.Thread] = []

    def decode(data: bytes, size: int) -> QImage | None:
        threads.append(threading.current_thread())
        return decode_avatar(data, size)

    decoder = AvatarDecoder(decode=decode)
    good = avatar_from_image(picture(64, 64))
    with qtbot.waitSignal(decoder.changed):
        assert decoder.image(good, 36) is None  # not yet: the fingerprint is drawn meanwhile
    assert threads and threads[0] is not threading.main_thread()
    ready = decoder.image(good, 36)
    assert ready is not None and ready.width() == 36
    with qtbot.waitSignal(decoder.changed):
        decoder.image(SMALL_SVG, 36)
    assert decoder.state(SMALL_SVG, 36) == "failed"
    assert decoder.image(SMALL_SVG, 36) is None


def test_a_decode_that_takes_too_long_falls_back_and_others_go_on(qapp: Any, qtbot: Any) -> None:
    now = [0.0]
    release = threading.Event()
    started = threading.Event()
    stuck = b"slow picture"

    def decode(data: bytes, size: int) -> QImage | None:
        if data == stuck:
            started.set()
            release.wait(30)
        return decode_avatar(data, size)

    decoder = AvatarDecoder(decode=decode, timeout_ms=1000, clock=lambda: now[0])
    good = avatar_from_image(picture(64, 64))
    decoder.image(stuck, 36)
    decoder.image(good, 36)  # queued behind the slow one
    assert started.wait(10)
    decoder.check_time()
    assert decoder.state(stuck, 36) == "pending"  # within the limit
    now[0] = 1.5
    with qtbot.waitSignal(decoder.changed):
        decoder.check_time()
    assert decoder.state(stuck, 36) == "failed"
    qtbot.waitUntil(lambda: decoder.state(good, 36) == "ready")  # a fresh worker did it
    release.set()
    assert decoder.image(stuck, 36) is None  # late results do not count
    assert decoder.state(stuck, 36) == "failed"


def test_the_decoders_watchdog_runs_on_the_injected_clock(qapp: Any) -> None:
    manual = ManualTime()
    release = threading.Event()
    started = threading.Event()

    def decode(data: bytes, size: int) -> QImage | None:
        started.set()
        release.wait(30)
        return None

    decoder = AvatarDecoder(decode=decode, timeout_ms=1000, clock=manual.clock, timer=manual.timer)
    decoder.image(b"slow picture", 36)
    assert started.wait(10)
    manual.advance(0.9)  # the watchdog looked three times, within the limit
    assert decoder.state(b"slow picture", 36) == "pending"
    manual.advance(0.2)  # its look at 1 s finds the decode over the limit
    assert decoder.state(b"slow picture", 36) == "failed"
    release.set()


def test_a_card_draws_the_fingerprint_until_the_picture_is_ready(qapp: Any, qtbot: Any) -> None:
    decoder = AvatarDecoder()
    item = hand_made(avatar=SVG_BOMB)
    fingerprint = avatar_of(hand_made(), 36, decoder).toImage()
    with qtbot.waitSignal(decoder.changed):
        shown = avatar_of(item, 36, decoder).toImage()
    assert shown == fingerprint
    assert avatar_of(item, 36, decoder).toImage() == fingerprint  # failed: stays so


# --- names and avatars through the real window --------------------------------------------


def profile_and_post(identity: Identity, profile: Profile, text: str) -> list[Any]:
    first = make_entry(identity, 1, None, type="profile", payload=encode_content(profile))
    second = make_entry(identity, 2, first[0].id, payload=encode_content(Post(text)))
    return [first, second]


HOSTILE = {
    11: "Ann\u202eeciluJ",
    12: "Bob (you)",
    13: "C\u200ba\u200dr\u2060l",
    14: "Ann<img src=/dev/zero>",
    15: "D" + "\u0336" * 62 + "x",
    16: "\u0410nn",  # Cyrillic A: a look-alike, told apart by the fingerprint
    17: "Eve \u04cfnd1\u0430bcd\u0301efgh",  # a key of look-alikes: only lndesk shows keys
}
CLEANED = {
    11: "AnneciluJ",
    12: "Bob",
    13: "Carl",
    14: "Ann<img src=/dev/zero>",
    15: "D\u0336\u0336x",
    16: "\u0410nn",
    17: "Eve",
}


def test_hostile_names_and_avatars_in_the_timeline(
    window: MainWindow, call: Any, qtbot: Any
) -> None:
    avatars = [SVG_BOMB, *other_formats().values()]
    for n, name in HOSTILE.items():
        who = make_identity(n)
        profile = Profile(name, "", avatars[n % len(avatars)])
        ingest(call, who, profile_and_post(who, profile, f"hello from {n}"), follow=True)
    window.show_page(TIMELINE)
    model = window.timeline.model
    qtbot.waitUntil(lambda: model.rowCount() == len(HOSTILE), timeout=10_000)
    items = {model.item(r).author: model.item(r) for r in range(model.rowCount())}
    for n, cleaned in CLEANED.items():
        item = items[make_identity(n).public_key]
        assert item.author_name == cleaned
        assert YOU not in name_parts(item)[0]
        assert item.short_key == short_key(item.author)
        assert len(item.short_key) == len(KEY_PREFIX) + 16
    assert all(item.followed and name_parts(item)[2] == "" for item in items.values())
    window.grab()  # every card painted: names as text, hostile avatars queued
    decoder = author_line.avatar_decoder()
    qtbot.waitUntil(
        lambda: all(decoder.state(i.avatar, 36) == "failed" for i in items.values()),
        timeout=10_000,
    )
    window.grab()  # and painted again with the fingerprints: the window still works
    assert window.isVisible()


def test_a_stranger_in_requests_is_shown_by_fingerprint_not_a_letter(
    window: MainWindow, call: Any, qtbot: Any
) -> None:
    seq = call(lambda desk: desk.posting.post("Any reading on spaced repetition?"))
    root = call(lambda desk: desk.reading.find((desk.own, seq)).entry)
    ref = Ref(root.author, root.seq, root.id)
    zed = make_identity(52)
    link = make_entry(zed, 1, None, type="reply", payload=encode_content(Reply("Hi", ref, ref)))
    ingest(call, zed, [link])
    window.show_page(REPLIES)
    requests = window.replies.requests_model
    qtbot.waitUntil(lambda: requests.rowCount() == 1)
    item = requests.item(0)
    assert item.author_name == short_key(zed.public_key)
    assert name_parts(item)[0] == short_key(zed.public_key)
    assert name_parts(item)[2] == NOT_FOLLOWED
    assert short_key(zed.public_key) not in meta_text(item)  # the key once, not twice
    shown = avatar_of(item, 36).toImage()
    other = avatar_of(hand_made(author=make_identity(53).public_key), 36).toImage()
    assert shown != other  # two strangers never share an avatar letter


def test_a_huge_hostile_name_is_painted_cleaned_and_capped(qapp: Any, qtbot: Any) -> None:
    """However an item was made, a card paints only a cleaned name of bounded length."""
    from PySide6.QtGui import QStandardItem, QStandardItemModel
    from PySide6.QtWidgets import QListView

    from lndesk.names import MAX_NAME_CHARS
    from lndesk.ui.models.live import ItemRole
    from lndesk.ui.views.post_delegate import PostDelegate

    huge = "\u202eAnn (you)\u200b" + "A\u0301\u0301\u0301" * 2500  # about 10 KB
    item = hand_made(author_name=huge, chosen_name="\u2067x\u2069" * 3000)
    name, secondary, mark = name_parts(item)
    assert len(name) <= MAX_NAME_CHARS and "\u202e" not in name and YOU not in name
    assert len(secondary) <= MAX_NAME_CHARS + 3 and mark == NOT_FOLLOWED
    view = QListView()
    qtbot.addWidget(view)
    model = QStandardItemModel(view)
    row = QStandardItem()
    row.setData(item, ItemRole)
    model.appendRow(row)
    view.setModel(model)
    view.setItemDelegate(PostDelegate(view))
    view.resize(600, 400)
    view.show()
    assert not view.grab().isNull()


def test_search_results_show_the_key_and_the_not_followed_mark(qapp: Any) -> None:
    from dataclasses import replace

    from lndesk.app.items import SearchResult
    from lndesk.ui.models.search import result_html

    key = make_identity(54).public_key
    item = hand_made(author=key, short_key=short_key(key), followed=False)
    shown = result_html(SearchResult(item, "hello", ()))
    assert short_key(key) in shown and NOT_FOLLOWED in shown
    followed = result_html(SearchResult(replace(item, followed=True), "hello", ()))
    assert NOT_FOLLOWED not in followed
