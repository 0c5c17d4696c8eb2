"""The visit vectors of docs/protocol.md (network.json, key ``visits``), byte for byte.

Frames are rebuilt from their described fields with the implementation's encoder and
with the independent reference CBOR encoder, and decode to the message again; the
digests of reference sets are recomputed, also from the records section 20.16 defines;
the frames the section shows are among them; every negative vector raises exactly the
named error class for its reason.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from cbor_reference import ref_encode
from vector_decoders import rejection
from vector_reading import from_desc, hx, load, params

from lndesk import errors
from lndesk.entry_refs import Ref
from lndesk.p2p.frame_caps import MAX_FORKED, MAX_REFS, MAX_VISIT_INBOXES
from lndesk.p2p.visit_frames import (
    MAX_VISIT_FRAME,
    VISIT_PROTOCOL_ID,
    InboxCheck,
    Visit,
    Visited,
    VisitMessage,
    decode_visit_body,
    encode_visit_frame,
    refs_digest,
)
from lndesk.p2p.wire import Error, StreamGone

VISITS = load("network.json")["visits"]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def test_limits_and_protocol_id() -> None:
    assert VISITS["visit_protocol"] == VISIT_PROTOCOL_ID == "/lndesk/visit/1"
    assert VISITS["limits"] == {
        "max_visit_frame": MAX_VISIT_FRAME,
        "max_visit_inboxes": MAX_VISIT_INBOXES,
        "max_forked": MAX_FORKED,
        "max_refs": MAX_REFS,
    }


def refs(items: list[list[Any]]) -> tuple[Ref, ...]:
    return tuple(Ref(author, seq, entry_id) for author, seq, entry_id in items)


@pytest.mark.parametrize("vector", params(VISITS["refs_digests"]))
def test_refs_digest(vector: dict[str, Any]) -> None:
    items = tuple(Ref(hx(a), seq, hx(i)) for a, seq, i in vector["refs"])
    records = sorted(a + seq.to_bytes(8, "big") + i for a, seq, i in items)
    person = b"lndesk-inbox".ljust(16, b"\0")
    independent = hashlib.blake2b(b"".join(records), digest_size=32, person=person).digest()
    assert refs_digest(items) == independent == hx(vector["digest"])
    assert refs_digest(reversed(items)) == independent


def message_from(desc: dict[str, Any]) -> VisitMessage:
    doc = from_desc(desc)
    if doc["t"] == "visit":
        return Visit(doc["heights"], tuple(InboxCheck(*item) for item in doc["inbox"]))
    if doc["t"] == "visited":
        inbox = tuple(None if item is None else refs(item) for item in doc["inbox"])
        forked = None if doc["forked"] is None else tuple(doc["forked"])
        return Visited(doc["heights"], inbox, forked)
    return Error(doc["code"], doc["message"])


@pytest.mark.parametrize("vector", params(VISITS["frames"]))
def test_frame(vector: dict[str, Any]) -> None:
    message, frame = message_from(vector["message"]), hx(vector["frame"])
    assert encode_visit_frame(message) == frame
    assert ref_encode(from_desc(vector["message"])) == frame[4:]
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    assert decode_visit_body(frame[4:]) == message


def test_the_frames_section_20_16_shows_are_these() -> None:
    text = DOCS.read_text()
    section = text[text.index("### 20.16 Visits") : text.index("## 21. Head announcements")]
    blocks = section.split("```")[1::2]
    shown = {"".join(block.split()) for block in blocks}
    frames = {vector["frame"] for vector in VISITS["frames"]}
    assert len(shown) == 3
    assert shown <= frames


NEGATIVE = VISITS["negative"]


def test_negative_vectors_have_names_of_their_own() -> None:
    assert {v["decoder"] for v in NEGATIVE} == {"visit-frame"}
    names = [v["name"] for v in NEGATIVE]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("vector", [pytest.param(v, id=v["name"]) for v in NEGATIVE])
async def test_negative_vector(vector: dict[str, Any]) -> None:
    expected = StreamGone if vector["error"] == "StreamGone" else getattr(errors, vector["error"])
    caught = await rejection(vector)
    assert type(caught) is expected
    assert str(caught) == vector["reason"]
