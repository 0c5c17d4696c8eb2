"""The fork proof vectors of docs/protocol.md (network.json, key ``forks``), byte for byte.

Frames are rebuilt from their described fields with the implementation's encoder and
with the independent reference CBOR encoder; decoding gives the message back; the proof
verifies; every negative vector raises exactly the named error class for its reason.
"""

from __future__ import annotations

from typing import Any

import pytest
from cbor_reference import ref_encode
from vector_decoders import rejection
from vector_reading import from_desc, hx, load, params

from lndesk import errors
from lndesk.entry import decode_entry
from lndesk.p2p.forks import (
    FORKS_PROTOCOL_ID,
    MAX_FEEDS,
    MAX_FORKS_FRAME,
    MAX_PROOFS,
    Forks,
    ForksMessage,
    Proofs,
    check_proof,
    decode_forks_body,
    encode_forks_frame,
)
from lndesk.p2p.wire import Error, StreamGone
from lndesk.store.forks import check_fork

FORKS = load("network.json")["forks"]


def test_limits_and_protocol_id() -> None:
    assert FORKS["forks_protocol"] == FORKS_PROTOCOL_ID == "/lndesk/forks/1"
    assert FORKS["limits"] == {
        "max_feeds": MAX_FEEDS,
        "max_proofs": MAX_PROOFS,
        "max_forks_frame": MAX_FORKS_FRAME,
    }


def message_from(desc: dict[str, Any]) -> ForksMessage:
    doc = from_desc(desc)
    if doc["t"] == "forks":
        return Forks(tuple(doc["feeds"]))
    if doc["t"] == "proofs":
        return Proofs(tuple((a, b) for a, b in doc["proofs"]))
    return Error(doc["code"], doc["message"])


@pytest.mark.parametrize("vector", params(FORKS["frames"]))
def test_frame(vector: dict[str, Any]) -> None:
    message, frame = message_from(vector["message"]), hx(vector["frame"])
    assert encode_forks_frame(message) == frame
    assert ref_encode(from_desc(vector["message"])) == frame[4:]
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    assert decode_forks_body(frame[4:]) == message


def test_the_proof_proves_a_fork() -> None:
    proof = FORKS["proof"]
    feed, first, second = hx(proof["feed"]), hx(proof["first"]), hx(proof["second"])
    entry = check_proof({feed}, set(), first, second)
    assert (entry.author, entry.seq) == (feed, proof["seq"])
    assert check_fork(feed, decode_entry(first), decode_entry(second)) == proof["seq"]


NEGATIVE = FORKS["negative"]


def test_negative_vectors_cover_every_decoder() -> None:
    assert {v["decoder"] for v in NEGATIVE} == {"forks-frame", "fork-proof"}
    names = [(v["decoder"], v["name"]) for v in NEGATIVE]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    "vector", [pytest.param(v, id=f"{v['decoder']}: {v['name']}") for v in NEGATIVE]
)
async def test_negative_vector(vector: dict[str, Any]) -> None:
    expected = StreamGone if vector["error"] == "StreamGone" else getattr(errors, vector["error"])
    caught = await rejection(vector)
    assert type(caught) is expected
    assert str(caught) == vector["reason"]
