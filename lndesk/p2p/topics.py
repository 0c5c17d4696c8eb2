"""What the two lndesk GossipSub messages share: topics named by a key, and their layout.

Head announcements (:mod:`lndesk.p2p.announce`) go on a feed's topic and inbox notices
(:mod:`lndesk.p2p.inbox_notice`) on a person's inbox topic; both topics are a fixed prefix and
a key as 64 lowercase hex digits. Both messages are one deterministic CBOR map under a
size cap, checked before anything is decoded (docs/protocol.md sections 21 and 28).
"""

from __future__ import annotations

from typing import Any

from lndesk import canonical
from lndesk.cbor_scan import scan
from lndesk.entry import KEY_SIZE
from lndesk.errors import DecodeError, SizeError
from lndesk.p2p.frame_caps import gossip_limits


def key_topic(prefix: str, key: bytes, what: str) -> str:
    """The topic ``prefix`` + ``key`` in hex; DecodeError naming ``what`` if not a key."""
    if len(key) != KEY_SIZE:
        raise DecodeError(f"{what} must be 32 bytes")
    return prefix + key.hex()


def topic_key(prefix: str, topic: str) -> bytes | None:
    """The key a topic name of ``prefix`` stands for, or None if it is not one."""
    if not topic.startswith(prefix):
        return None
    text = topic[len(prefix) :]
    if len(text) != 2 * KEY_SIZE or text != text.lower():
        return None
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None


def message_map(data: bytes, max_size: int, what: str) -> dict[Any, Any]:
    """The CBOR map a message of kind ``what`` holds, checking its size first.

    Raises SizeError over ``max_size`` bytes, DecodeError if ``data`` holds more than a
    few CBOR items (scanned before anything is built) or is not the deterministic
    encoding of a map; the keys and values are the caller's to check.
    """
    if len(data) > max_size:
        a = "an" if what[0] in "aeiou" else "a"
        raise SizeError(f"{a} {what} of {len(data)} bytes is over the {max_size}-byte limit")
    try:
        scan(bytes(data), gossip_limits(max_size))
        doc = canonical.decode(bytes(data))
    except DecodeError as exc:
        raise DecodeError(f"{what} is not canonical CBOR: {exc}") from exc
    if type(doc) is not dict:
        raise DecodeError(f"{what} must be a CBOR map")
    return doc
