"""The renderer of peer text, piece by piece: cleaning, bounds, links, tooltips and
notifications (the hostile cases drawn by the real views are in test_hostile_content)."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QFont, QTextDocument

from lndesk.ui.plain_text import (
    CUT_NOTE,
    MAX_COLUMNS,
    bound_markdown,
    clean_text,
    link_host,
    link_note,
    notify_text,
    notify_title,
    plain_tooltip,
)
from lndesk.ui.safe_text import (
    FEATURES,
    INDENT,
    MAX_DEPTH,
    SafeDocument,
    html_document,
    markdown_document,
    plain_markdown,
    tame,
)
from lndesk.ui.tray import Tray


def test_clean_text_drops_bidi_controls_and_mark_towers_but_keeps_scripts() -> None:
    assert clean_text("\u202eeciluJ\u202c") == "eciluJ"
    assert clean_text("a\u2066b\u2069c\u200fd") == "abcd"
    assert clean_text("שלום مرحبا") == "שלום مرحبا"
    assert clean_text("e" + "\u0301" * 50) == "e" + "\u0301" * 3
    assert clean_text("o" + "\u20dd" * 50 + "k") == "o" + "\u20dd" * 3 + "k"  # enclosing marks
    assert clean_text("नमस्ते") == "नमस्ते"  # spacing marks are letters' parts
    assert clean_text("line\r\nnext\x07") == "line\nnext"


def test_bound_markdown_cuts_before_the_parser_and_says_so() -> None:
    text = bound_markdown("a\n" * 1000, chars=100_000, lines=10)
    assert text.split("\n")[:10] == ["a"] * 10 and text.endswith(CUT_NOTE)
    assert len(bound_markdown("x" * 100_000, chars=500)) <= 500 + len(CUT_NOTE) + 2
    assert bound_markdown("short") == "short"


def test_bound_markdown_turns_wide_tables_into_text_and_flattens_nesting() -> None:
    wide = "|" + "a|" * (MAX_COLUMNS + 1)
    assert "\\|" in bound_markdown(wide)
    narrow = "| a | b |"
    assert bound_markdown(narrow) == narrow
    assert bound_markdown(">" * 100 + " deep") == ">>>deep"
    assert bound_markdown("- " * 100 + "x") == "- - - x"


def test_links_say_where_they_go() -> None:
    assert link_note("https://lndesk.org/a", "https://lndesk.org/a") is None
    assert link_note("www.lndesk.org", "http://www.lndesk.org") is None
    assert link_note("the paper", "https://example.org/p.pdf") == (" (example.org)", False)
    assert link_note("https://lndesk.org/recover", "http://evil.example/") == (
        " ⚠ link goes to evil.example",
        True,
    )
    assert link_note("lndesk.org/recover", "https://lndesk.org/other")[1] is True  # type: ignore[index]
    note = link_note("files", "file:///etc/passwd")
    assert note is not None and "not opened" in note[0]
    assert link_host("https://\u0430pple.com/") == "xn--pple-43d.com"  # a Cyrillic a


def test_a_document_loads_nothing_and_shows_images_as_their_address(qapp: Any) -> None:
    before = SafeDocument.resource_requests
    doc = markdown_document("![x](/etc/hostname) ![y](https://e.org/y.png)", width=300)
    doc.size()  # layout
    assert "image: /etc/hostname" in doc.toPlainText()
    assert "image: https://e.org/y.png" in doc.toPlainText()
    assert SafeDocument.resource_requests == before  # no image left to ask for
    assert doc.resource(QTextDocument.ResourceType.ImageResource, "/etc/hostname") is None
    assert SafeDocument.resource_requests == before + 1


def test_html_from_the_app_is_laid_out_without_resources(qapp: Any) -> None:
    doc = html_document("<b>Bo</b> <img src='/etc/hostname'>" + "w" * 3000, width=200)
    assert "image: /etc/hostname" in doc.toPlainText()
    assert doc.idealWidth() <= 201


def test_markdown_has_no_html_and_plain_markdown_is_the_visible_text(qapp: Any) -> None:
    assert plain_markdown("**a** <b>b</b>") == "a <b>b</b>"


def test_a_tooltip_is_never_markup(qapp: Any) -> None:
    tip = plain_tooltip("Ann<img src=/dev/zero>\nline & more")
    shown = QTextDocument()
    shown.setHtml(tip)
    assert shown.toPlainText() == "Ann<img src=/dev/zero>\nline & more"
    assert "<img" not in tip
    assert len(plain_tooltip("x" * 10_000)) < 700


def test_notification_text_is_escaped(qapp: Any) -> None:
    assert notify_title("Ann<b>x</b> replied") == "Ann&lt;b&gt;x&lt;/b&gt; replied"
    assert notify_text("<img src=/dev/zero> & \u202e") == "&lt;img src=/dev/zero&gt; &amp; "
    tray = Tray()
    tray.notify("<b>Bo</b> replied", "<a href='http://evil.example'>x</a>")
    assert tray.last_notification == (
        "&lt;b&gt;Bo&lt;/b&gt; replied",
        "&lt;a href='http://evil.example'&gt;x&lt;/a&gt;",
    )


def test_tame_bounds_what_the_parser_made(qapp: Any) -> None:
    """The layout guards hold even for nesting the text bounds did not flatten."""
    doc = QTextDocument()
    doc.setMarkdown(">" * 30 + " deep\n\n# Big\n\n```\n" + "y" * 500 + "\n```", FEATURES)
    tame(doc)
    block = doc.begin()
    while block.isValid():
        fmt = block.blockFormat()
        assert fmt.leftMargin() <= INDENT * MAX_DEPTH
        assert not fmt.nonBreakableLines()
        block = block.next()


def test_the_card_cache_keeps_a_bounded_number_of_characters(qapp: Any) -> None:
    from ui_helpers import post_item

    from lndesk.ui.views.post_delegate import CACHE_CHARS, PostDelegate

    delegate = PostDelegate()
    font = QFont()
    for seq in range(1, 120):
        delegate._document(post_item(seq=seq, text="word " * 2_400), 600, font)
    held = sum(doc.characterCount() for doc in delegate._docs.values())
    assert held <= CACHE_CHARS and len(delegate._docs) < 119


def test_a_share_quotes_a_bounded_part_of_the_post() -> None:
    from ui_helpers import post_item

    from lndesk.app.items import Quoted
    from lndesk.ui.views.post_delegate import QUOTE_LINES, body_markdown

    quoted = Quoted(b"q" * 32, "Cy", "line\n" * 5_000, b"i" * 32, 1)
    text = body_markdown(post_item(kind="share", quoted=quoted))
    assert text.count("line") <= QUOTE_LINES


def test_search_snippets_are_cleaned_and_escaped() -> None:
    from lndesk.ui.models.search import highlight_html

    html = highlight_html("\u202eevil <b>" + "e\u0301" * 1 + "\u0301" * 40, [(0, 5)])
    assert "\u202e" not in html and "<b>" not in html
    assert html.count("\u0301") <= 3


def test_tame_bounds_indents_however_they_were_made(qapp: Any) -> None:
    """A deep list or a wide margin alone (no heading, link or code beside it) is tamed."""
    from PySide6.QtGui import QTextBlockFormat, QTextCursor, QTextListFormat

    far = QTextDocument()
    margin = QTextBlockFormat()
    margin.setLeftMargin(600)
    QTextCursor(far).insertBlock(margin)
    tame(far)
    assert far.lastBlock().blockFormat().leftMargin() <= INDENT * MAX_DEPTH
    deep = QTextDocument()
    indent = QTextListFormat()
    indent.setIndent(12)
    QTextCursor(deep).insertList(indent)
    tame(deep)
    text_list = deep.lastBlock().textList()
    assert text_list is not None and text_list.format().indent() <= MAX_DEPTH
