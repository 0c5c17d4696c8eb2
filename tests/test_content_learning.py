"""Content for learning together: questions, mentions, edits, reading lists, and whom
an entry is addressed to."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from lndesk import canonical
from lndesk.content import (
    MAX_LIST_ITEMS,
    Edit,
    Follow,
    ListItem,
    Post,
    ReadingList,
    Reply,
    Share,
    addressed_keys,
    encode_content,
    parse_content,
)
from lndesk.content_fields import MAX_MENTIONS
from lndesk.entry_refs import Ref
from lndesk.errors import ContentError

KEY = hashlib.sha256(b"feed").digest()
REF = Ref(KEY, 3, hashlib.sha256(b"entry").digest())
OTHER_REF = Ref(hashlib.sha256(b"other").digest(), 1, hashlib.sha256(b"id").digest())


def payload(doc: Any) -> bytes:
    return canonical.encode(doc)


def round_trip(content: Any) -> Any:
    data = encode_content(content)
    parsed = parse_content(content.type, data)
    assert parsed == content
    assert encode_content(parsed) == data
    return canonical.decode(data)


MENTIONED = bytes(range(32, 64))


def test_question_and_mentions() -> None:
    doc = round_trip(Post("Why?", mentions=(MENTIONED, KEY), question=True))
    assert doc == {"text": "Why?", "mentions": [MENTIONED, KEY], "question": True}
    assert round_trip(Post("plain")) == {"text": "plain"}
    reply = round_trip(Reply("because", REF, REF, mentions=(MENTIONED,)))
    assert reply["mentions"] == [MENTIONED]
    # Writers drop a repeated mention; readers refuse one.
    data = encode_content(Post("x", mentions=(KEY, KEY)))
    assert parse_content("post", data) == Post("x", mentions=(KEY,))


def test_edit() -> None:
    doc = round_trip(Edit(REF, "Fixed a typo", ("maths",), question=True))
    assert doc == {
        "ref": REF.to_cbor(),
        "text": "Fixed a typo",
        "tags": ["maths"],
        "question": True,
    }


def test_reading_list() -> None:
    items = (ListItem(ref=REF, note="start here"), ListItem(link="https://example.org/a"))
    doc = round_trip(ReadingList("Fractions", items, of=OTHER_REF))
    assert doc == {
        "title": "Fractions",
        "items": [{"ref": REF.to_cbor(), "note": "start here"}, {"link": "https://example.org/a"}],
        "of": OTHER_REF.to_cbor(),
    }
    assert round_trip(ReadingList("Empty")) == {"title": "Empty", "items": []}


@pytest.mark.parametrize(
    ("type_", "doc"),
    [
        ("post", {"text": "t", "question": 1}),
        ("post", {"text": "t", "mentions": [KEY, KEY]}),
        ("post", {"text": "t", "mentions": [b"short"]}),
        ("post", {"text": "t", "mentions": [bytes([i]) * 32 for i in range(MAX_MENTIONS + 1)]}),
        ("reply", {"text": "t", "root": REF.to_cbor(), "parent": REF.to_cbor(), "mentions": KEY}),
        ("edit", {"text": "t"}),
        ("edit", {"ref": REF.to_cbor(), "text": " "}),
        ("readinglist", {"title": "", "items": []}),
        ("readinglist", {"title": "t"}),
        ("readinglist", {"title": "t", "items": [{}]}),
        ("readinglist", {"title": "t", "items": [{"ref": REF.to_cbor(), "link": "https://a"}]}),
        ("readinglist", {"title": "t", "items": [{"link": "ftp://a"}]}),
        ("readinglist", {"title": "t", "items": [{"link": "https://a", "note": 3}]}),
        ("readinglist", {"title": "t", "items": [{"link": "https://a"}] * (MAX_LIST_ITEMS + 1)}),
        ("readinglist", {"title": "x" * 201, "items": []}),
        ("readinglist", {"title": "t", "items": [], "of": [1, 2]}),
    ],
)
def test_malformed_new_payloads_are_rejected(type_: str, doc: Any) -> None:
    with pytest.raises(ContentError):
        parse_content(type_, payload(doc))


def test_addressed_keys() -> None:
    me = bytes(32)
    assert addressed_keys(Post("hi", mentions=(MENTIONED, me)), me) == {MENTIONED}
    assert addressed_keys(Reply("re", REF, OTHER_REF), me) == {REF.author, OTHER_REF.author} - {me}
    assert addressed_keys(Share(REF), me) == ({REF.author} - {me})
    assert addressed_keys(Edit(REF, "t", mentions=(MENTIONED,)), me) == {MENTIONED}
    assert addressed_keys(Follow(KEY), me) == frozenset()
