"""Gossip message ids: what py-libp2p's seen cache and the router's cache key by.

A head announcement's id is its entry's id, so the same head from two peers is one
message; an inbox notice's and any other data's ids are 33 bytes, so neither can equal
an entry id. The router's message cache, whose ids IHAVE offers and IWANT asks for,
keys by the same ids (``IdCache``).
"""

from __future__ import annotations

import functools
import logging

from libp2p.pubsub.mcache import CacheEntry, MessageCache
from libp2p.pubsub.pb import rpc_pb2

from lndesk.identity import blake2b_256
from lndesk.p2p.announce import MAX_ANNOUNCEMENT_SIZE, split_announcement
from lndesk.p2p.inbox_notice import MAX_NOTICE_SIZE, notice_id, split_notice

logger = logging.getLogger(__name__)


MAX_ID_SIZE = 33
"""The longest message id (an inbox notice's, or other data's); an entry's is 32 bytes."""


def message_id(msg: rpc_pb2.Message) -> bytes:
    """The pubsub message id: the announced entry's id (32 bytes).

    An inbox notice gets ``0x01`` followed by a hash of its key and entry id; anything
    laid out as neither gets ``0x00`` followed by a hash of its bytes (33 bytes each,
    so neither can equal an entry id). Never raises.
    """
    data = bytes(msg.data)
    if len(data) <= _CACHED_DATA:
        return _recent_id(data)
    return _id_of(data)


def _id_of(data: bytes) -> bytes:
    layout = _layout(data)
    if isinstance(layout, bytes):
        return blake2b_256(layout)
    if layout is not None:
        return notice_id(*layout)
    return b"\x00" + blake2b_256(data[: MAX_ANNOUNCEMENT_SIZE + 1])


_CACHED_DATA = max(MAX_ANNOUNCEMENT_SIZE, MAX_NOTICE_SIZE)
_recent_id = functools.lru_cache(maxsize=64)(_id_of)
"""py-libp2p asks for a received message's id three times (seen check, seen mark, the
router's cache); each is a CBOR decode and a hash. Only data no larger than a valid
message is remembered, 64 of them."""


def _layout(data: bytes) -> bytes | tuple[bytes, bytes] | None:
    """The entry of an announcement, (to, entry) of a notice, or None for other data."""
    try:
        return split_announcement(data)[0]
    except Exception:  # ids are computed before validation, for any bytes
        logger.debug("gossip data is not laid out as a head announcement")
    if len(data) > MAX_NOTICE_SIZE:
        return None
    try:
        to, entry_raw, _payload = split_notice(data)
    except Exception:  # not a notice either
        return None
    return to, entry_raw


class IdCache(MessageCache):
    """GossipSub's message cache keyed by ``message_id``.

    py-libp2p's keys by ``from`` + ``seqno`` whatever message id Pubsub uses, so its
    IHAVE offered ids that no node had seen (each answered with an IWANT, though the
    asker held the head already), and an IWANT naming an announcement by its id
    (docs/protocol.md section 21.1, as go-libp2p and js-libp2p peers do) found nothing.
    """

    def put(self, msg: rpc_pb2.Message) -> None:
        mid = message_id(msg)
        if mid not in self.msgs:
            self.msgs[mid] = msg
            self.history[0].append(CacheEntry(mid, msg.topicIDs))
