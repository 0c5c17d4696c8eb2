"""The thread fetch vectors of docs/protocol.md (network.json, key ``threads``), byte for
byte.

Frames are rebuilt from their described fields with the implementation's encoder and
with the independent reference CBOR encoder; decoding on a stream of the frame's version
gives the message back, and on the other version is refused; the frames section 32.1
shows are among them; every negative vector raises exactly the named error class for
its reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cbor_reference import ref_encode
from vector_decoders import rejection
from vector_reading import from_desc, hx, load, params

from lndesk import errors
from lndesk.content import MAX_MARKS_PER_FETCH
from lndesk.entry_refs import Ref
from lndesk.errors import ProtocolError
from lndesk.p2p.frame_caps import MAX_THREAD_MARKS, MAX_THREAD_REPLIES
from lndesk.p2p.thread_frames import (
    MAX_THREAD_FRAME,
    THREAD_MARKS_PROTOCOL_ID,
    THREAD_PROTOCOL_ID,
    Replies,
    ThreadAsk,
    ThreadMessage,
    decode_thread_body,
    encode_thread_frame,
)
from lndesk.p2p.wire import Error, StreamGone

THREADS = load("network.json")["threads"]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def test_limits_and_protocol_ids() -> None:
    assert THREADS["thread_protocol"] == THREAD_PROTOCOL_ID == "/lndesk/thread/1"
    assert THREADS["thread_marks_protocol"] == THREAD_MARKS_PROTOCOL_ID == "/lndesk/thread/2"
    assert THREADS["limits"] == {
        "max_thread_frame": MAX_THREAD_FRAME,
        "max_replies": MAX_THREAD_REPLIES,
        "max_asked_marks": MAX_MARKS_PER_FETCH,
        "max_marks": MAX_THREAD_MARKS,
    }


def refs(items: list[list[Any]]) -> tuple[Ref, ...]:
    return tuple(Ref(author, seq, entry_id) for author, seq, entry_id in items)


def message_from(desc: dict[str, Any], version: int) -> ThreadMessage:
    doc = from_desc(desc)
    if doc["t"] == "thread":
        marks = tuple(doc["marks"]) if version == 2 else None
        return ThreadAsk(Ref(*doc["root"]), doc["limit"], marks)
    if doc["t"] == "replies":
        marks_of = refs(doc["marks"]) if version == 2 else None
        return Replies(doc["total"], refs(doc["refs"]), marks_of)
    return Error(doc["code"], doc["message"])


@pytest.mark.parametrize("vector", params(THREADS["frames"]))
def test_frame(vector: dict[str, Any]) -> None:
    version = vector["version"]
    message, frame = message_from(vector["message"], version), hx(vector["frame"])
    assert encode_thread_frame(message) == frame
    assert ref_encode(from_desc(vector["message"])) == frame[4:]
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    assert decode_thread_body(frame[4:], version) == message
    if not isinstance(message, Error):  # a field of one version is extra or missing on the other
        with pytest.raises(ProtocolError, match="must have exactly the fields"):
            decode_thread_body(frame[4:], 3 - version)


def test_the_frames_section_32_shows_are_these() -> None:
    """Section 32.1's four vectors are frames of network.json, of the versions the text
    gives them."""
    text = DOCS.read_text()
    section = text[text.index("## 32. Thread fetch") : text.index("### 32.2")]
    blocks = section.split("```")[1::2]
    shown = ["".join(block.split()) for block in blocks]
    by_frame = {vector["frame"]: vector["version"] for vector in THREADS["frames"]}
    assert [by_frame.get(hexed) for hexed in shown] == [1, 1, 2, 2]


NEGATIVE = THREADS["negative"]


def test_negative_vectors_cover_both_versions() -> None:
    assert {v["decoder"] for v in NEGATIVE} == {"thread-frame"}
    assert {v["version"] for v in NEGATIVE} == {1, 2}
    names = [(v["version"], v["name"]) for v in NEGATIVE]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    "vector", [pytest.param(v, id=f"/{v['version']}: {v['name']}") for v in NEGATIVE]
)
async def test_negative_vector(vector: dict[str, Any]) -> None:
    expected = StreamGone if vector["error"] == "StreamGone" else getattr(errors, vector["error"])
    caught = await rejection(vector)
    assert type(caught) is expected
    assert str(caught) == vector["reason"]
