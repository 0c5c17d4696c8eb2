"""Content types web share and helpful: round trips, limits and the protocol's examples."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import settings

from lndesk import canonical
from lndesk.content import (
    Helpful,
    WebShare,
    encode_content,
    parse_content,
)
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


def test_web_share_round_trip_and_limits() -> None:
    share = WebShare(
        "https://blog.example/a",
        "A title",
        "https://blog.example/feed.xml",
        "g-1",
        "read it",
        ("pedagogy",),
    )
    assert round_trip(share) == {
        "link": "https://blog.example/a",
        "title": "A title",
        "source": "https://blog.example/feed.xml",
        "guid": "g-1",
        "comment": "read it",
        "tags": ["pedagogy"],
    }
    assert round_trip(WebShare("https://blog.example/a")) == {"link": "https://blog.example/a"}
    for bad in (
        {"title": "no link"},
        {"link": "lndesk://feed/x"},
        {"link": "javascript:alert(1)"},
        {"link": "https://a.example/", "source": "file:///etc/passwd"},
        {"link": "https://a.example/", "title": "t" * 201},
        {"link": "https://a.example/", "guid": "g" * 1001},
        {"link": "https://a.example/", "tags": ["two words"]},
    ):
        with pytest.raises(ContentError):
            parse_content("webshare", payload(bad))


def test_the_web_share_example_in_the_protocol_is_the_vector_byte_for_byte() -> None:
    import json
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    doc = (root / "docs" / "protocol.md").read_text(encoding="utf-8")
    section = doc[doc.index("### 10.11 `webshare`") : doc.index("## 11. ")]
    block = section.split("```")[1]
    shown = bytes.fromhex(re.sub(r"\s+", "", block))
    vectors = json.loads((root / "tests" / "vectors" / "content.json").read_text())
    (vector,) = [v for v in vectors["vectors"] if v["name"] == "webshare, every field"]
    assert shown == bytes.fromhex(vector["payload"])
    parsed = parse_content("webshare", shown)
    assert isinstance(parsed, WebShare)
    assert parsed.source == "https://blog.example/feed.xml"


QUESTION = Ref(KEY, 3, bytes(range(32)))


def test_helpful_round_trip_and_its_refusals() -> None:
    assert round_trip(Helpful(REF, QUESTION)) == {
        "ref": REF.to_cbor(),
        "root": QUESTION.to_cbor(),
    }
    for bad in ({"ref": REF.to_cbor()}, {"root": QUESTION.to_cbor()}, {}):
        with pytest.raises(ContentError):
            parse_content("helpful", payload(bad))
    with pytest.raises(ContentError, match="not the question itself"):
        parse_content("helpful", payload({"ref": REF.to_cbor(), "root": REF.to_cbor()}))


def test_the_helpful_example_in_the_protocol_is_the_vector_byte_for_byte() -> None:
    import json
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    doc = (root / "docs" / "protocol.md").read_text(encoding="utf-8")
    section = doc[doc.index("### 10.12 `helpful`") : doc.index("## 11. ")]
    shown = bytes.fromhex(re.sub(r"\s+", "", section.split("```")[1]))
    vectors = json.loads((root / "tests" / "vectors" / "content.json").read_text())
    (vector,) = [v for v in vectors["vectors"] if v["name"] == "helpful"]
    assert shown == bytes.fromhex(vector["payload"])
    parsed = parse_content("helpful", shown)
    assert isinstance(parsed, Helpful)
    assert (parsed.ref.seq, parsed.root.seq) == (1, 3)
