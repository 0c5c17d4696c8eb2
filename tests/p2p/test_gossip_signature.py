"""libp2p's message signature as lndesk checks it (``lndesk.p2p.gossip_signature``): the
same verdict as py-libp2p's own check on every kind of message, forged ones included,
and the check Pubsub uses."""

from __future__ import annotations

import libp2p.pubsub.pubsub
import pytest
from libp2p.crypto import ed25519, rsa
from libp2p.crypto.keys import KeyPair
from libp2p.peer.id import ID
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.validators import signature_validator as libp2p_check

import lndesk.p2p.pubsub  # noqa: F401 - installs the check
from lndesk.p2p.gossip_signature import SIGNING_PREFIX, _signer, signature_ok

ED = ed25519.create_new_key_pair(b"\x01" * 32)
OTHER = ed25519.create_new_key_pair(b"\x02" * 32)
RSA = rsa.create_new_key_pair(1024)


def signed(pair: KeyPair, *, named: KeyPair | None = None, seqno: bytes = b"1") -> rpc_pb2.Message:
    """A message of ``named`` (``pair`` unless given) signed with ``pair``'s key."""
    sender = ID.from_pubkey((named or pair).public_key)
    msg = rpc_pb2.Message(
        data=b"head", topicIDs=["lndesk/feed/1/00"], from_id=sender.to_bytes(), seqno=seqno
    )
    msg.signature = pair.private_key.sign(SIGNING_PREFIX + msg.SerializeToString())
    msg.key = pair.public_key.serialize()
    return msg


def changed(msg: rpc_pb2.Message, **fields: bytes) -> rpc_pb2.Message:
    out = rpc_pb2.Message()
    out.CopyFrom(msg)
    for name, value in fields.items():
        setattr(out, name, value)
    return out


VALID = {
    "ed25519": signed(ED),
    "ed25519 without key": changed(signed(ED), key=b""),
    # The key inside an Ed25519 peer ID is the one used; a carried key is not.
    "ed25519, another key carried": changed(signed(ED), key=OTHER.public_key.serialize()),
    "rsa": signed(RSA),
}
FORGED = {
    "no signature": changed(signed(ED), signature=b""),
    "signature of zeros": changed(signed(ED), signature=bytes(64)),
    "short signature": changed(signed(ED), signature=b"\x01"),
    "data changed": changed(signed(ED), data=b"other head"),
    "seqno changed": changed(signed(ED), seqno=b"2"),
    "from another ed25519 key": signed(OTHER, named=ED),
    "rsa id, signed by another key it carries": signed(ED, named=RSA),
    "rsa id, no key": changed(signed(RSA), key=b""),
    "rsa id, key that does not decode": changed(signed(RSA), key=b"\x08\x00\x12\x01x"),
    "from that is no peer id": changed(signed(ED), from_id=b"\xff\x01"),
}


@pytest.mark.parametrize("name", VALID)
def test_a_valid_signature_passes(name: str) -> None:
    assert signature_ok(VALID[name])
    assert signature_ok(VALID[name])  # again, its signer now remembered


@pytest.mark.parametrize("name", FORGED)
def test_a_forged_message_fails(name: str) -> None:
    assert not signature_ok(FORGED[name])
    assert not signature_ok(FORGED[name])


@pytest.mark.parametrize("name", [*VALID, *FORGED])
def test_the_verdict_is_py_libp2ps(name: str) -> None:
    msg = {**VALID, **FORGED}[name]
    try:
        theirs = bool(libp2p_check(msg))
    except Exception:  # py-libp2p raises on a key that does not decode
        theirs = False
    assert signature_ok(msg) is theirs


def test_pubsub_uses_it() -> None:
    assert libp2p.pubsub.pubsub.signature_validator is signature_ok  # type: ignore[attr-defined]


@pytest.mark.parametrize("field", ["from_id", "key"])
def test_a_long_field_is_not_remembered(field: str) -> None:
    """A peer's messages with huge ``from`` or ``key`` fields are checked (a ``from``
    that is no peer ID fails; an Ed25519 ID's own key is used, whatever ``key`` holds),
    and their fields are not kept in the cache of signers."""
    _signer.cache_clear()
    msg = changed(signed(ED), **{field: b"\x00\x80\x80\x04" + bytes(200_000)})
    assert signature_ok(msg) is (field == "key")
    assert _signer.cache_info().currsize == 0
    assert signature_ok(signed(ED))
    assert _signer.cache_info().currsize == 1
