"""Hostile text from peers, drawn by the real views offscreen: nothing is read, nothing
grows without bound, the window keeps working and the reader sees what the text is.

Each case is a peer's (Bo's) post, his share quoting it, a note in his reading list and,
for names, his profile name in a tooltip. A local image the text names is a temp file
whose access time is watched (set far in the past, so that any read moves it). The
cases that would take the whole process down when they are read (``/dev/zero``, huge
``data:`` images) run in a child process with a memory limit.
"""

from __future__ import annotations

import base64
import os
import struct
import subprocess
import sys
import textwrap
import unicodedata
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QFontMetrics, QMouseEvent, QTextDocument, QTextFormat
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem, QToolTip
from store_helpers import child_env, make_entry, make_identity

from lndesk.app.items import PostItem
from lndesk.content import ListItem, Post, Profile, ReadingList, Share, encode_content
from lndesk.entry_refs import ref_of
from lndesk.keytext import key_to_text
from lndesk.ui.main_window import MainWindow
from lndesk.ui.models.lists import ListEntriesModel
from lndesk.ui.views import post_delegate as d
from lndesk.ui.views.posts import PostListView

PROBE = "probe.png"
"""The watched local image, named relative to the working directory (the test's)."""
CARD_LINES = 36
"""A card is at most this many lines tall: 20 of text, then "Show more", the author
line, tags, actions and margins."""
EXPANDED_LINES = 2_000
"""Even expanded, a card's text is cut (the parser sees at most 300 lines of a post)."""
MAX_COLUMNS = 12
MAX_INDENT = 60
"""Pixels a quote or list may indent (three levels)."""
MAX_MARKS = 3
FLAG = "⚠ link goes to evil.example"


def png(width: int, height: int) -> bytes:
    """A valid one-bit grey PNG of ``width`` x ``height`` (all black, so it packs small)."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    data = zlib.compress(row * height, 9)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


@dataclass(frozen=True)
class Case:
    text: str
    shows: tuple[str, ...] = ()
    """Text the card must show."""
    hides: tuple[str, ...] = ()
    """Text the card must not show."""


def wide_table(columns: int) -> str:
    return "|" + "a|" * columns + "\n|" + "-|" * columns + "\n"


CASES: dict[str, Case] = {
    "local markdown image": Case(f"look ![x]({PROBE}) here", (f"image: {PROBE}",)),
    "local html image": Case(f'look <img src="{PROBE}"> here', (f'<img src="{PROBE}">',)),
    "html and css spans": Case(
        '<span style="font-size:60px;color:red">YOUR KEY IS STOLEN</span>',
        ('<span style="font-size:60px;color:red">',),
    ),
    "css position": Case(
        '<div style="position:absolute;top:-300px">Fake</div>',
        ('<div style="position:absolute;top:-300px">',),
    ),
    "deceptive html link": Case(
        '<a href="http://evil.example/">https://lndesk.org/recover</a>',
        ('<a href="http://evil.example/">',),
    ),
    "deceptive markdown link": Case(
        "[https://lndesk.org/recover](http://evil.example/)", ("https://lndesk.org/recover", FLAG)
    ),
    "16,000-column table in 64 KB": Case(wide_table(16_000)),
    "2,000-column table in 8 KB": Case(wide_table(2_000)),
    "huge headings": Case("\n\n".join(["# HUGE"] * 50)),
    "10,000 list items": Case("".join(f"- item {i}\n" for i in range(10_000)), ("item 0",)),
    "deeply nested quotes": Case(">" * 1_000 + " deep", ("deep",)),
    "deeply nested lists": Case("".join("  " * i + f"- level {i}\n" for i in range(60))),
    "local file link": Case(
        "[click](file:///etc/passwd)", ("click (file:///etc/passwd, not opened by lndesk)",)
    ),
    "rtl runs": Case(
        "\u202eeciluJ\u202c says שלום and مرحبا", ("eciluJ", "שלום", "مرحبا"), ("\u202e",)
    ),
    "combining-character tower": Case("Z" + "\u0301\u20dd" * 1_500 + "algo", ("algo",)),
    "very long words": Case("```\n" + "y" * 5_000 + "\n```\n\n" + "x" * 30_000),
}


@pytest.fixture
def probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], bool]:
    """A real PNG named :data:`PROBE` in the working directory; the function says
    whether anything has read it since."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / PROBE
    path.write_bytes(png(64, 64))
    os.utime(path, (1, path.stat().st_mtime))
    return lambda: path.stat().st_atime > 1


def publish_as_bo(call: Any, bo: Any, text: str, name: str = "Bo") -> None:
    """Bo's log: his profile, a post of ``text``, a share quoting it and a reading list
    with ``text`` as a note; followed, as a sync would store it."""
    contents: list[Any] = [Profile(name), Post(text[:60_000])]
    chain: list[tuple[Any, bytes]] = []
    prev = None
    for seq in range(1, 5):
        if seq == 3:
            contents.append(Share(ref_of(chain[1][0])))
        if seq == 4:
            note = text[:1000]
            items = (
                ListItem(link="https://example.org/", note=note),
                ListItem(ref_of(chain[1][0])),
            )
            contents.append(ReadingList("Reading", items))
        content = contents[seq - 1]
        entry = make_entry(
            bo, seq, prev, type=content.type, payload=encode_content(content), claimed_ms=seq * 1000
        )
        chain.append(entry)
        prev = entry[0].id
    from ui_helpers import ingest

    call(lambda desk: desk.people.follow(key_to_text(bo.public_key)))
    ingest(call, bo, chain)


def text_width(view: PostListView) -> int:
    return max(200, view.viewport().width() - 2 * d.MARGIN - d.AVATAR - d.GAP)


def document(view: PostListView, item: PostItem) -> QTextDocument:
    """The laid-out text of ``item``'s card, as the delegate draws it."""
    return view.delegate._document(item, text_width(view), view.font(), None)


def card_height(view: PostListView, row: int) -> int:
    option = QStyleOptionViewItem()
    option.initFrom(view)
    option.rect = view.visualRect(view.model().index(row, 0))
    return view.delegate.sizeHint(option, view.model().index(row, 0)).height()


def largest_heading_step(doc: QTextDocument) -> int:
    step = 0
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fmt = it.fragment().charFormat()
            step = max(step, fmt.intProperty(QTextFormat.Property.FontSizeAdjustment))
            it += 1
        block = block.next()
    return step


def widest_indent(doc: QTextDocument) -> float:
    widest = 0.0
    block = doc.begin()
    while block.isValid():
        indent = block.blockFormat().leftMargin() + block.blockFormat().indent() * 40
        text_list = block.textList()
        if text_list is not None:
            indent += text_list.format().indent() * doc.indentWidth()
        widest = max(widest, indent)
        block = block.next()
    return widest


def widest_table(doc: QTextDocument) -> int:
    from PySide6.QtGui import QTextTable

    widest = 0
    for frame in doc.rootFrame().childFrames():
        if isinstance(frame, QTextTable):
            widest = max(widest, frame.columns())
    return widest


def longest_mark_run(text: str) -> int:
    longest = run = 0
    for char in text:
        run = run + 1 if unicodedata.category(char) in ("Mn", "Me") else 0
        longest = max(longest, run)
    return longest


def images_in(doc: QTextDocument) -> int:
    count = 0
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            count += it.fragment().charFormat().isImageFormat()
            it += 1
        block = block.next()
    return count


def anchors_in(doc: QTextDocument) -> set[str]:
    found = set()
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fmt = it.fragment().charFormat()
            if fmt.isAnchor():
                found.add(fmt.anchorHref())
            it += 1
        block = block.next()
    return found


def drawn_tooltip() -> None:
    """Lay out and paint the tooltip shown now (where its text would load a resource),
    at once: waiting for the event loop to paint it raced with events that close it."""
    tips = [w for w in QApplication.topLevelWidgets() if w.inherits("QTipLabel") and w.isVisible()]
    assert tips, "no tooltip is showing"
    for tip in tips:
        tip.grab()


def check_card(view: PostListView, row: int, case: Case, *, quoted: bool = False) -> None:
    """One card of the case, as drawn: bounded, and showing what the spec says."""
    item = view.posts.item(row)
    doc = document(view, item)
    line = QFontMetrics(view.font()).lineSpacing()
    assert card_height(view, row) <= CARD_LINES * line
    assert doc.idealWidth() <= text_width(view) + 1  # no word wider than the card
    assert doc.characterCount() <= 2 * 12_000 + 1_000  # the parser saw a bounded text
    assert doc.blockCount() <= 2 * 300 + 50  # ... of a bounded number of lines
    assert all(href.startswith(("http://", "https://")) for href in anchors_in(doc))
    assert images_in(doc) == 0
    assert largest_heading_step(doc) <= 1
    assert widest_indent(doc) <= MAX_INDENT + (40 if quoted else 0)
    assert widest_table(doc) <= MAX_COLUMNS
    shown = doc.toPlainText()
    assert longest_mark_run(shown) <= MAX_MARKS
    assert "evil.example" not in anchors_in(doc) or FLAG in shown
    for text in case.shows:
        assert text in shown, (text, shown[:300])
    for text in case.hides:
        assert text not in shown


@pytest.mark.parametrize("name", list(CASES))
def test_a_hostile_post_share_and_list_note_render_harmlessly(
    name: str, window: MainWindow, call: Any, qtbot: Any, probe: Callable[[], bool]
) -> None:
    case = CASES[name]
    bo = make_identity(61)
    window.resize(1100, 760)
    publish_as_bo(call, bo, case.text)
    model = window.timeline.model
    qtbot.waitUntil(lambda: model.rowCount() == 3, timeout=20_000)
    view = window.timeline.view
    view.grab()  # lays out and paints every card in view
    kinds = {model.item(row).kind: row for row in range(3)}
    check_card(view, kinds["post"], case)
    check_card(view, kinds["share"], case, quoted=True)
    note = model.item(kinds["readinglist"]).list_items[0].note
    assert note  # the note is on the list's card (escaped) and in the entry's tooltip
    check_card(view, kinds["readinglist"], Case(case.text, hides=case.hides))
    entries = ListEntriesModel()
    entries.set_entries(model.item(kinds["readinglist"]).list_items)
    for tip in [
        *(entries.data(entries.index(row), Qt.ItemDataRole.ToolTipRole) for row in range(2)),
        *(model.data(model.index(row), Qt.ItemDataRole.ToolTipRole) for row in range(3)),
    ]:
        QToolTip.showText(view.mapToGlobal(QPoint(20, 20)), tip, view)
        drawn_tooltip()
        QToolTip.hideText()
    assert not probe(), "a local file was read"
    # the window keeps working: scroll, draw, and open and close a long card's text
    view.scrollToBottom()
    view.grab()
    post = kinds["post"]
    item = model.item(post)
    view.scrollTo(model.index(post))
    more = view.delegate.more_rect(item, view.visualRect(model.index(post)), view.font())
    if more is not None:
        before = card_height(view, post)
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=more.center())
        assert card_height(view, post) > before
        assert card_height(view, post) <= EXPANDED_LINES * QFontMetrics(view.font()).lineSpacing()
        view.grab()
    assert not probe()


def test_a_hostile_name_in_a_tooltip_is_shown_as_text(
    window: MainWindow, call: Any, qtbot: Any, probe: Callable[[], bool]
) -> None:
    bo = make_identity(62)
    name = f"Ann<img src={PROBE}>"
    publish_as_bo(call, bo, "hello", name=name)
    model = window.timeline.model
    qtbot.waitUntil(lambda: model.rowCount() == 3 and model.item(0).author_name == name)
    view = window.timeline.view
    for row in range(3):
        tip = model.data(model.index(row), Qt.ItemDataRole.ToolTipRole)
        QToolTip.showText(view.mapToGlobal(QPoint(20, 20)), tip, view)
        drawn_tooltip()
        shown = QTextDocument()
        shown.setHtml(tip)
        assert name in shown.toPlainText()
        QToolTip.hideText()
    assert not probe(), "the tooltip read a local file"


def test_a_link_shows_where_it_goes_on_hover(window: MainWindow, call: Any, qtbot: Any) -> None:
    bo = make_identity(63)
    publish_as_bo(call, bo, "[https://lndesk.org/recover](http://evil.example/)")
    model = window.timeline.model
    qtbot.waitUntil(lambda: model.rowCount() == 3)
    view = window.timeline.view
    row = next(r for r in range(3) if model.item(r).kind == "post")
    item = model.item(row)
    doc = document(view, item)
    assert FLAG in doc.toPlainText()
    # Lay out now what Qt would lay out later (the window's layouts, the list's delayed
    # item layout), so the geometry the point is computed from is the geometry the move
    # is delivered to, however late the rows arrived.
    QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
    view.doItemsLayout()
    rect = view.visualRect(model.index(row))
    top = rect.top() + d.MARGIN + QFontMetrics(view.font()).height() + d.GAP
    point = QPoint(rect.left() + d.MARGIN + d.AVATAR + d.GAP + 5, top + 5)
    assert view.delegate.link_at(item, rect, view.font(), point) == "http://evil.example/"
    assert view.link_under(point) == "http://evil.example/"
    # The move goes straight to the viewport: a move through the window system is
    # dropped when Qt believes the pointer is already there, which depends on where
    # earlier tests left it.
    viewport = view.viewport()
    move = QMouseEvent(
        QEvent.Type.MouseMove,
        QPointF(point),
        QPointF(viewport.mapToGlobal(point)),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(view.link_hovered) as hovered:
        QApplication.sendEvent(viewport, move)
    assert hovered.args == ["http://evil.example/"]
    assert "evil.example" in window.statusBar().currentMessage()


CHILD = textwrap.dedent(
    """
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (3 << 29, 3 << 29))
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtWidgets import QApplication, QListView, QToolTip
    sys.path[:0] = [sys.argv[1], sys.argv[1] + "/.."]
    from ui_helpers import post_item
    from lndesk.app.items import ListEntry, PeerItem, Quoted
    from lndesk.ui.models.lists import ListEntriesModel
    from lndesk.ui.models.peers import PeersModel
    from lndesk.ui.views.post_delegate import PostDelegate

    app = QApplication([])
    texts = open(sys.argv[2], encoding="utf-8").read().split("\\x00")
    view = QListView()
    delegate = PostDelegate(view)
    for n, text in enumerate(texts):
        quoted = Quoted(author=b"q" * 32, author_name="Cy", text=text, id=b"i" * 32, seq=1)
        entry = ListEntry(title="", link="https://example.org/", note=text[:1000])
        items = [
            post_item(seq=3 * n + 1, text=text),
            post_item(seq=3 * n + 2, kind="share", quoted=quoted),
            post_item(seq=3 * n + 3, kind="readinglist", text="L", list_items=(entry,)),
        ]
        for item in items:
            doc = delegate._document(item, 800, view.font(), None)
            height = int(doc.size().height())  # laying out is what reads images
            images = 0
            block = doc.begin()
            while block.isValid():
                it = block.begin()
                while not it.atEnd():
                    images += it.fragment().charFormat().isImageFormat()
                    it += 1
                block = block.next()
            print(n, item.kind, height, images, "image:" in doc.toPlainText(), flush=True)
        entries = ListEntriesModel()
        entries.set_entries([entry])
        tip = entries.data(entries.index(0), Qt.ItemDataRole.ToolTipRole)
        QToolTip.showText(QPoint(5, 5), tip, view)
        app.processEvents()
        QToolTip.hideText()
    peers = PeersModel(None)
    name = "Ann<img src=/dev/zero>"
    peers._apply([PeerItem(b"k" * 32, name, "12D3KooWx", "/ip4/127.0.0.1/tcp/1", 1.0, False)])
    QToolTip.showText(QPoint(5, 5), peers.data(peers.index(0), Qt.ItemDataRole.ToolTipRole), view)
    app.processEvents()
    print("done", flush=True)
    """
)


def test_dev_zero_and_huge_data_images_are_never_read(tmp_path: Path) -> None:
    """In a child process (a read of /dev/zero aborts it): the cards and tooltips of
    posts naming /dev/zero and six 8000 x 8000 data: PNGs lay out small, and say
    "image: …" where the image would be."""
    big = base64.b64encode(png(8000, 8000)).decode()
    texts = [
        "![x](/dev/zero)",
        "<img src=/dev/zero>",
        "".join(f"![p{i}](data:image/png;base64,{big})\n" for i in range(6)),
    ]
    assert len(texts[2]) < 65_536
    source = tmp_path / "texts"
    source.write_text("\x00".join(texts), encoding="utf-8")
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    env = child_env() | {"QT_QPA_PLATFORM": "offscreen"}
    helpers = str(Path(__file__).parent)
    done = subprocess.run(
        [sys.executable, str(script), helpers, str(source)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.split("\n")
    assert "done" in lines
    rows = [line.split() for line in lines if line and line != "done"]
    assert len(rows) == 9
    for n, kind, height, images, says_image in rows:
        assert int(height) < 2_000, (n, kind, height)
        assert images == "0", (n, kind)
        if kind == "post" and n in ("0", "2"):  # markdown images, shown as their address
            assert says_image == "True", (n, kind)


def test_search_results_of_a_hostile_name_read_nothing(
    qtbot: Any, probe: Callable[[], bool]
) -> None:
    from ui_helpers import post_item, shown

    from lndesk.app.items import SearchResult
    from lndesk.ui.models.search import SearchResultsModel
    from lndesk.ui.views.search_results import ResultsView

    item = post_item(author_name=f"Ann<img src={PROBE}>", text=f"![x]({PROBE})")
    model = SearchResultsModel()
    model.set_results([SearchResult(item, f"<img src={PROBE}> ![x]({PROBE})", ((0, 4),))])
    view = shown(qtbot, ResultsView(model))
    view.grab()
    tip = model.data(model.index(0), Qt.ItemDataRole.ToolTipRole)
    QToolTip.showText(view.mapToGlobal(QPoint(20, 20)), tip, view)
    drawn_tooltip()
    QToolTip.hideText()
    assert not probe(), "a search result read a local file"


def test_replying_to_a_hostile_post_previews_it_harmlessly(
    bridge: Any, qtbot: Any, probe: Callable[[], bool]
) -> None:
    from ui_helpers import post_item, shown

    from lndesk.ui.views.compose import REPLY, ComposeDialog

    target = post_item(text=f"![x]({PROBE}) <img src={PROBE}>")
    dialog = shown(qtbot, ComposeDialog(bridge, REPLY, target))
    dialog.box.text.setPlainText(f"quoting ![x]({PROBE})")
    qtbot.waitUntil(lambda: "image: " in dialog.preview.toPlainText())
    dialog.grab()
    assert f"image: {PROBE}" in dialog.preview.toPlainText()
    assert not probe(), "the compose dialog read a local file"


def test_a_link_hidden_by_show_more_cannot_be_clicked(qapp: Any) -> None:
    from PySide6.QtCore import QRect
    from PySide6.QtWidgets import QListView
    from ui_helpers import post_item

    view = QListView()
    view.resize(900, 600)
    delegate = d.PostDelegate(view)
    text = "\n\n".join(f"[hidden {n}](https://evil.example/{n})" for n in range(200))
    item = post_item(text=text)
    rect = QRect(0, 0, 900, 5_000)
    font = view.font()
    more = delegate.more_rect(item, rect, font)
    assert more is not None
    x = d.MARGIN + d.AVATAR + d.GAP + 5
    below = [QPoint(x, y) for y in range(more.top(), more.top() + 200, 3)]
    assert all(delegate.link_at(item, rect, font, point) is None for point in below)
    top = QPoint(x, d.MARGIN + QFontMetrics(font).height() + d.GAP + 5)
    assert delegate.link_at(item, rect, font, top) == "https://evil.example/0"
