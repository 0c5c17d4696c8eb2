"""The fork proof messages (section 20.12): strict decoding and the asker's checks."""

from __future__ import annotations

import pytest
from store_helpers import make_identity

from lndesk.content import Post, encode_content
from lndesk.entry import create_entry, decode_entry
from lndesk.errors import ChainError, ProtocolError, SignatureError
from lndesk.p2p.forks import (
    MAX_FEEDS,
    MAX_PROOFS,
    Forks,
    Proofs,
    check_proof,
    decode_forks_body,
    encode_forks_frame,
)

ANN = make_identity(1)
BO = make_identity(2)


def _entry(identity: object, seq: int, text: str) -> bytes:
    payload = encode_content(Post(text))
    prev = bytes(32) if seq > 1 else None
    return create_entry(
        identity, seq=seq, prev=prev, claimed_ms=1_700_000_000_000, type="post", payload=payload
    ).raw  # type: ignore[arg-type]


def _pair(a: bytes, b: bytes) -> tuple[bytes, bytes]:
    first, second = sorted([a, b], key=lambda raw: decode_entry(raw).id)
    return first, second


def _body(message: Forks | Proofs) -> bytes:
    return encode_forks_frame(message)[4:]


def test_messages_round_trip() -> None:
    ask = Forks((ANN.public_key, BO.public_key))
    assert decode_forks_body(_body(ask)) == ask
    proofs = Proofs((_pair(_entry(ANN, 3, "a"), _entry(ANN, 3, "b")),))
    assert decode_forks_body(_body(proofs)) == proofs
    assert decode_forks_body(_body(Proofs(()))) == Proofs(())


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ({"t": "forks", "feeds": []}, "1 to"),
        ({"t": "forks", "feeds": [b"x" * 31]}, "32 bytes"),
        ({"t": "forks", "feeds": [b"k" * 32, b"k" * 32]}, "twice"),
        ({"t": "forks", "feeds": [b"k" * 32], "more": 1}, "exactly the fields"),
        ({"t": "proofs", "proofs": [[b"a"]]}, "entry, entry"),
        ({"t": "proofs", "proofs": [[b"a" * 513, b"b"]]}, "512"),
        ({"t": "proofs", "proofs": [[b"a", b"b"]] * (MAX_PROOFS + 1)}, "at most"),
    ],
)
def test_malformed_messages_are_protocol_errors(doc: dict[str, object], reason: str) -> None:
    from lndesk import canonical

    with pytest.raises(ProtocolError, match=reason):
        decode_forks_body(canonical.encode(doc))


def test_too_many_feeds_are_refused_before_decoding() -> None:
    from lndesk import canonical

    body = canonical.encode({"t": "forks", "feeds": [bytes(32)] * (MAX_FEEDS + 1)})
    with pytest.raises(ProtocolError):
        decode_forks_body(body)


def test_a_valid_proof_passes() -> None:
    first, second = _pair(_entry(ANN, 3, "laptop"), _entry(ANN, 3, "phone"))
    entry = check_proof({ANN.public_key}, set(), first, second)
    assert (entry.author, entry.seq) == (ANN.public_key, 3)


def test_proofs_that_prove_nothing_are_refused() -> None:
    asked = {ANN.public_key}
    a3, b3 = _pair(_entry(ANN, 3, "laptop"), _entry(ANN, 3, "phone"))
    with pytest.raises(ProtocolError, match="ordered by id"):
        check_proof(asked, set(), b3, a3)
    with pytest.raises(ProtocolError, match="ordered by id"):
        check_proof(asked, set(), a3, a3)
    with pytest.raises(ChainError, match="at 3 and 4"):
        low, high = _pair(_entry(ANN, 3, "x"), _entry(ANN, 4, "y"))
        check_proof(asked, set(), low, high)
    with pytest.raises(ProtocolError, match="not asked"):
        check_proof({BO.public_key}, set(), a3, b3)
    mixed = _pair(_entry(ANN, 3, "ann"), _entry(BO, 3, "bo"))
    with pytest.raises(ProtocolError, match="not asked"):
        check_proof({ANN.public_key, BO.public_key}, set(), *mixed)
    with pytest.raises(ProtocolError, match="twice"):
        check_proof(asked, {ANN.public_key}, a3, b3)
    forged = a3[:-50] + bytes([a3[-50] ^ 1]) + a3[-49:]  # R altered: decodes
    with pytest.raises(SignatureError):
        check_proof(asked, set(), *_pair(a3, forged))
