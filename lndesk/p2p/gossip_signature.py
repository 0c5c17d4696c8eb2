"""libp2p's message signature (StrictSign), checked as py-libp2p 0.8.1's
``signature_validator`` checks it, with the signer's key found once per sender.

For every received message py-libp2p decoded the key out of the ``from`` peer ID (or
out of the message's ``key``) and derived the peer ID from it again to compare: about
a fifth of the check beside the Ed25519 verification itself, the same work for every
message of one origin. ``signer`` keeps the last keys found; the signature of every
message is still verified, over the same bytes (docs/protocol.md section 21.6 says
why the check stays). ``install`` makes py-libp2p's Pubsub use this check; it is run
once, when ``lndesk.p2p.pubsub`` is imported.
"""

from __future__ import annotations

import functools
import logging

import libp2p.pubsub.pubsub
from libp2p.crypto.keys import PublicKey
from libp2p.crypto.serialization import deserialize_public_key
from libp2p.peer.id import ID
from libp2p.pubsub.pb import rpc_pb2

logger = logging.getLogger(__name__)

SIGNING_PREFIX = b"libp2p-pubsub:"
CACHED_KEY_SIZE = 128
"""Longest ``key`` and ``from`` fields whose signer is remembered (an Ed25519 key takes
36 bytes, its peer ID 38): the cache keeps what it was asked with, so a peer's messages
with ``from`` fields of hundreds of kilobytes would otherwise be held, a few hundred of
them, for as long as the node runs."""


def signature_ok(msg: rpc_pb2.Message) -> bool:
    """Whether ``msg`` carries a signature by the key its ``from`` names, over its data,
    topics, ``from`` and ``seqno`` (never raises)."""
    if not msg.signature:
        return False
    from_id, key = bytes(msg.from_id), bytes(msg.key)
    small = len(key) <= CACHED_KEY_SIZE and len(from_id) <= CACHED_KEY_SIZE
    found = _signer if small else _find_signer
    public_key = found(from_id, key)
    if public_key is None:
        return False
    signed = rpc_pb2.Message(
        data=msg.data, topicIDs=msg.topicIDs, from_id=msg.from_id, seqno=msg.seqno
    )
    try:
        return bool(public_key.verify(SIGNING_PREFIX + signed.SerializeToString(), msg.signature))
    except Exception:  # a malformed signature
        return False


def _find_signer(from_id: bytes, key: bytes) -> PublicKey | None:
    """The public key ``from_id`` names: the one inside the peer ID or else ``key``, and
    only if the peer ID is derived from it; None when there is no such key."""
    sender = ID(from_id)
    public_key: PublicKey | None
    try:
        public_key = sender.extract_public_key()
    except Exception:  # not a key ID py-libp2p can read
        public_key = None
    if public_key is None:
        if not key:
            return None
        try:
            public_key = deserialize_public_key(key)
        except Exception:  # py-libp2p let this out of push_msg; the message is dropped
            logger.debug("a gossip message carries a key that does not decode")
            return None
    if ID.from_pubkey(public_key) != sender:
        return None
    return public_key


_signer = functools.lru_cache(maxsize=256)(_find_signer)


def install() -> None:
    """Have py-libp2p's Pubsub check message signatures with ``signature_ok``."""
    libp2p.pubsub.pubsub.signature_validator = signature_ok  # type: ignore[attr-defined]
