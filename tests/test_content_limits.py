"""Content limits: counts and lengths of tags, links, names, bios, avatars and text."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import settings

from lndesk import canonical
from lndesk.content import (
    MAX_AVATAR_BYTES,
    MAX_BIO_CHARS,
    MAX_NAME_CHARS,
    Post,
    Profile,
    Reply,
    encode_content,
    parse_content,
)
from lndesk.content_fields import MAX_LINK_CHARS, MAX_LINKS, MAX_TAG_CHARS, MAX_TAGS
from lndesk.entry_refs import Ref
from lndesk.errors import ContentError

STABLE = settings(derandomize=True, database=None, deadline=None, max_examples=200)
KEY = hashlib.sha256(b"feed").digest()
ENTRY_ID = hashlib.sha256(b"entry").digest()
REF = Ref(KEY, 3, ENTRY_ID)
OTHER_REF = Ref(hashlib.sha256(b"other").digest(), 1, hashlib.sha256(b"id").digest())


def payload(doc: Any) -> bytes:
    return canonical.encode(doc)


def round_trip(content: Any) -> Any:
    data = encode_content(content)
    parsed = parse_content(content.type, data)
    assert parsed == content
    assert encode_content(parsed) == data
    return canonical.decode(data)


# --- every type encodes and parses back ------------------------------------------------


def test_tag_count_limit() -> None:
    tags = tuple(f"t{i}" for i in range(MAX_TAGS))
    round_trip(Post("t", tags))
    with pytest.raises(ContentError):
        encode_content(Post("t", (*tags, "extra")))
    with pytest.raises(ContentError):
        parse_content("post", payload({"text": "t", "tags": [*tags, "extra"]}))


def test_tag_length_limit_on_parse() -> None:
    parse_content("post", payload({"text": "t", "tags": ["a" * MAX_TAG_CHARS]}))
    with pytest.raises(ContentError):
        parse_content("post", payload({"text": "t", "tags": ["a" * (MAX_TAG_CHARS + 1)]}))


def test_link_count_limit() -> None:
    links = tuple(f"https://example.org/{i}" for i in range(MAX_LINKS))
    round_trip(Post("t", links=links))
    with pytest.raises(ContentError):
        encode_content(Post("t", links=(*links, "https://example.org/x")))


def test_link_length_limit() -> None:
    prefix = "https://example.org/"
    longest = prefix + "a" * (MAX_LINK_CHARS - len(prefix))
    assert len(longest) == MAX_LINK_CHARS
    round_trip(Post("t", links=(longest,)))
    with pytest.raises(ContentError) as info:
        encode_content(Post("t", links=(longest + "a",)))
    assert "2048" in info.value.hint


def test_name_limit() -> None:
    round_trip(Profile("n" * MAX_NAME_CHARS))
    with pytest.raises(ContentError):
        encode_content(Profile("n" * (MAX_NAME_CHARS + 1)))
    with pytest.raises(ContentError):
        parse_content("profile", payload({"name": "n" * (MAX_NAME_CHARS + 1)}))


def test_bio_limit() -> None:
    round_trip(Profile("n", "b" * MAX_BIO_CHARS))
    with pytest.raises(ContentError):
        encode_content(Profile("n", "b" * (MAX_BIO_CHARS + 1)))


def test_avatar_limit() -> None:
    round_trip(Profile("n", avatar=b"\x01" * MAX_AVATAR_BYTES))
    with pytest.raises(ContentError):
        encode_content(Profile("n", avatar=b"\x01" * (MAX_AVATAR_BYTES + 1)))
    with pytest.raises(ContentError):
        parse_content("profile", payload({"name": "n", "avatar": b"\x01" * (MAX_AVATAR_BYTES + 1)}))


@pytest.mark.parametrize("text", ["", " ", "\n\t "])
def test_empty_text_is_rejected(text: str) -> None:
    with pytest.raises(ContentError, match="empty"):
        encode_content(Post(text))
    with pytest.raises(ContentError):
        encode_content(Reply(text, REF, REF))
    with pytest.raises(ContentError):
        encode_content(Profile(text))
