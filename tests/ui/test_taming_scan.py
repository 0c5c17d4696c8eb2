"""The renderer's shortcuts: the scan of the text that lets most posts skip taming, and
a card's document laid out again (not parsed again) at a new width."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtGui import QFont, QTextDocument

from lndesk.ui.safe_text import FEATURES, _needs_taming, may_need_taming

NEEDS_TAMING = [
    "![x](/dev/zero)",
    "text ![x](data:image/png;base64,AAAA) text",
    "[lndesk.org/recover](http://evil.example/)",
    "[a\nlink](http://evil.example/)",
    "[x][ref]\n\n[ref]: http://evil.example/",
    "[x][]\n\n[x]: http://evil.example/",
    "[x]\n\n[x]: http://evil.example/",
    "<http://evil.example/>",
    "<mail@evil.example>",
    "see http://evil.example/ now",
    "see www.evil.example now",
    "write to mail@evil.example",
    "# Huge",
    "Huge\n===",
    "Huge\n---",
    "```\ncode\n```",
    "~~~\ncode\n~~~",
    "> > > > deep",
    ">>>> deep",
    "- a\n  - b\n    - c\n      - d\n        - e",
    "1. a\n   1. b\n      1. c\n         1. d\n            1. e",
    "* a\n  * b\n    * c\n      * d\n        * e",
    "+ a\n  + b\n    + c\n      + d\n        + e",
]


def _parsed(markdown: str) -> QTextDocument:
    doc = QTextDocument()
    doc.setMarkdown(markdown, FEATURES)
    return doc


@pytest.mark.parametrize("markdown", NEEDS_TAMING)
def test_the_scan_flags_every_text_that_parses_to_something_to_tame(
    qapp: Any, markdown: str
) -> None:
    assert any(_needs_taming(_parsed(markdown))), "the case must need taming"
    assert may_need_taming(markdown)


def test_plain_prose_skips_the_look_at_formats(qapp: Any) -> None:
    prose = "[feed3#12] Notes: spaced repetition works *best* when (intervals) grow; 3 > 2."
    assert not may_need_taming(prose)
    assert not any(_needs_taming(_parsed(prose)))


TOKENS = st.sampled_from(
    [
        "word",
        " ",
        "  ",
        "    ",
        "\n",
        "\n\n",
        "\t",
        "[",
        "]",
        "(",
        ")",
        ":",
        "!",
        "#",
        "=",
        "-",
        "*",
        "_",
        "+",
        "1.",
        "2)",
        "`",
        "```",
        "~",
        ">",
        "<",
        "|",
        "\\",
        "&#91;",
        "&#x5d;",
        "&lt;",
        "http",
        "//x.org",
        "www",
        ".org",
        "@",
        "a@b",
        "mailto",
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TOKENS, max_size=30).map("".join))
def test_text_the_scan_lets_through_never_needs_taming(qapp: Any, markdown: str) -> None:
    if not may_need_taming(markdown):
        assert _needs_taming(_parsed(markdown)) == (False, False)


def test_a_card_at_a_new_width_is_laid_out_again_without_a_new_parse(qapp: Any) -> None:
    from ui_helpers import post_item

    from lndesk.ui.views.post_delegate import PostDelegate

    font = QFont()
    item = post_item(seq=1, text="words that wrap " * 80 + "\n\n[a](http://b.example/)")
    delegate = PostDelegate()
    wide = delegate._document(item, 900, font)
    narrow = delegate._document(item, 300, font)
    assert narrow is wide and narrow.textWidth() == 300
    fresh = PostDelegate()._document(item, 300, font)
    assert narrow.size().height() == fresh.size().height() > 0
    assert narrow.toPlainText() == fresh.toPlainText()
    assert "(b.example)" in narrow.toPlainText()  # the link's note is not added twice
    assert narrow.toPlainText().count("b.example") == 1


@pytest.mark.parametrize(
    "text",
    [
        "plain words",
        "x" * 30_000,
        "line\n" * 1_000,
        "> " * 40 + "deep\n\n# Big\n\n[a](http://b.example/) ![i](/dev/zero)",
        "|" + "a|" * 200 + "\n|" + "-|" * 200,
        "\u202eeciluJ" + "e" + "\u0301" * 50,
    ],
)
def test_a_card_of_text_alone_reads_as_its_whole_body_would(qapp: Any, text: str) -> None:
    """A post that is text alone is bounded once, at the text's limits: the card reads
    exactly as the card of its whole body does."""
    from ui_helpers import post_item

    from lndesk.ui.plain_text import MAX_CHARS, MAX_LINES
    from lndesk.ui.safe_text import markdown_document
    from lndesk.ui.views.post_delegate import PostDelegate, body_markdown, text_only

    font = QFont()
    item = post_item(text=text)
    assert text_only(item)
    body = markdown_document(
        body_markdown(item), font, 600, chars=2 * MAX_CHARS, lines=2 * MAX_LINES
    )
    card = PostDelegate()._document(item, 600, font)
    assert card.toPlainText() == body.toPlainText()
    assert card.size().height() == body.size().height()
    assert not text_only(post_item(text="a", links=("https://a.example/",)))
    assert not text_only(post_item(text="a", kind="readinglist"))
