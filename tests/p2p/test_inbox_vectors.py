"""The inbox vectors of docs/protocol.md (network.json, key ``inbox``), byte for byte.

Notices and catch-up frames are rebuilt from their described fields with the
implementation's encoders and with the independent reference CBOR encoder; decoding
gives the fields back; every negative vector raises exactly the named error class.
"""

from __future__ import annotations

from typing import Any

import pytest
from cbor_reference import ref_encode
from libp2p.pubsub.pb import rpc_pb2
from vector_decoders import rejection
from vector_reading import from_desc, hx, load, params

from lndesk import errors
from lndesk.p2p.catchup import (
    CATCHUP_PROTOCOL_ID,
    MAX_CATCHUP_FRAME,
    MAX_REFS,
    Ask,
    CatchupMessage,
    Refs,
    decode_catchup_body,
    encode_catchup_frame,
)
from lndesk.p2p.gossip_ids import message_id
from lndesk.p2p.inbox_notice import (
    MAX_NOTICE_SIZE,
    UnknownContentType,
    decode_notice,
    encode_notice,
    inbox_topic,
    key_of_inbox_topic,
    split_notice,
)
from lndesk.p2p.profiles import (
    MAX_PROFILE_FRAME,
    PROFILE_PROTOCOL_ID,
    ProfileAsk,
    ProfileMessage,
    decode_profile_body,
    encode_profile_frame,
)
from lndesk.p2p.wire import Error, StreamGone

INBOX = load("network.json")["inbox"]


def test_limits_and_protocol_id() -> None:
    assert INBOX["catchup_protocol"] == CATCHUP_PROTOCOL_ID == "/lndesk/inbox/1"
    assert INBOX["profile_protocol"] == PROFILE_PROTOCOL_ID == "/lndesk/profile/1"
    assert INBOX["limits"] == {
        "max_notice": MAX_NOTICE_SIZE,
        "max_refs": MAX_REFS,
        "max_catchup_frame": MAX_CATCHUP_FRAME,
        "max_profile_frame": MAX_PROFILE_FRAME,
    }


@pytest.mark.parametrize("vector", INBOX["topics"], ids=lambda v: v["topic"][-8:])
def test_topic(vector: dict[str, Any]) -> None:
    key = hx(vector["public_key"])
    assert inbox_topic(key) == vector["topic"] == "lndesk/inbox/1/" + key.hex()
    assert key_of_inbox_topic(vector["topic"]) == key


@pytest.mark.parametrize("vector", params(INBOX["not_topics"]))
def test_not_an_inbox_topic(vector: dict[str, Any]) -> None:
    assert key_of_inbox_topic(vector["topic"]) is None


@pytest.mark.parametrize("vector", params(INBOX["notices"]))
def test_notice(vector: dict[str, Any]) -> None:
    to, entry, payload = hx(vector["to"]), hx(vector["entry"]), hx(vector["payload"])
    data = hx(vector["message"])
    assert encode_notice(to, entry, payload) == data
    assert ref_encode({"to": to, "entry": entry, "payload": payload}) == data
    assert split_notice(data) == (to, entry, payload)
    notice = decode_notice(data, topic=vector["topic"])
    assert (notice.to, notice.entry.raw, notice.payload) == (to, entry, payload)
    assert inbox_topic(to) == vector["topic"]
    msg = rpc_pb2.Message(data=data, topicIDs=[vector["topic"]])
    assert message_id(msg) == hx(vector["message_id"])


def message_from(desc: dict[str, Any]) -> CatchupMessage:
    doc = from_desc(desc)
    if doc["t"] == "ask":
        return Ask(doc["to"], doc["since"], doc["limit"])
    if doc["t"] == "refs":
        return Refs(tuple((a, seq, i) for a, seq, i in doc["refs"]))
    return Error(doc["code"], doc["message"])


@pytest.mark.parametrize("vector", params(INBOX["frames"]))
def test_frame(vector: dict[str, Any]) -> None:
    message, frame = message_from(vector["message"]), hx(vector["frame"])
    assert encode_catchup_frame(message) == frame
    assert ref_encode(from_desc(vector["message"])) == frame[4:]
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    assert decode_catchup_body(frame[4:]) == message


def profile_message_from(desc: dict[str, Any]) -> ProfileMessage:
    doc = from_desc(desc)
    if doc["t"] == "profile":
        return ProfileAsk(doc["of"])
    return message_from(desc)  # type: ignore[return-value]  # refs and error: as catch-up


@pytest.mark.parametrize("vector", params(INBOX["profile_frames"]))
def test_profile_frame(vector: dict[str, Any]) -> None:
    message, frame = profile_message_from(vector["message"]), hx(vector["frame"])
    assert encode_profile_frame(message) == frame
    assert ref_encode(from_desc(vector["message"])) == frame[4:]
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    assert decode_profile_body(frame[4:]) == message


DECODERS = {"notice", "inbox-frame", "profile-frame"}
NEGATIVE = INBOX["negative"]


def test_negative_vectors_cover_every_decoder() -> None:
    assert {v["decoder"] for v in NEGATIVE} == set(DECODERS)
    names = [(v["decoder"], v["name"]) for v in NEGATIVE]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    "vector", [pytest.param(v, id=f"{v['decoder']}: {v['name']}") for v in NEGATIVE]
)
async def test_negative_vector(vector: dict[str, Any]) -> None:
    expected = StreamGone if vector["error"] == "StreamGone" else getattr(errors, vector["error"])
    caught = await rejection(vector)
    assert isinstance(caught, errors.LndeskError)
    # An unknown content type is a ContentError that no one is penalised for.
    raised = errors.ContentError if type(caught) is UnknownContentType else type(caught)
    assert raised is expected, caught
    assert ("not penalised" in vector["name"]) == (type(caught) is UnknownContentType)
    assert str(caught) == vector["reason"]
