"""Reading a ``batch`` frame's body by its one layout, without a general CBOR decoder.

A sync reader's frames are nearly all batches, and a batch body has one deterministic
layout (docs/protocol.md section 20.3): the map ``{"t": "batch", "feed": <32 bytes>,
"items": [[entry, payload or null], ...]}`` with its keys in that order. Scanning such a
body against its caps (:func:`lndesk.p2p.frame_caps.check_body`), decoding it and
checking that its encoding is the deterministic one costs about as much as reading the
layout by hand three times over, a tenth of what a synced entry costs the reader.

:func:`read_batch_body` reads that layout and nothing else: every head in its shortest
form, every string within its limits (the caps' and the batch's own), the item count
within the caps, no byte after the array. It answers None for any body it does not
take, which is then decoded the general way (:func:`decode_body`), so a frame is
refused with the same error either way; the tests hold the two readers to the same
answers.
"""

from __future__ import annotations

from lndesk.entry import MAX_ENTRY_SIZE, MAX_PAYLOAD_SIZE
from lndesk.p2p.frame_caps import Caps
from lndesk.p2p.wire import Batch, Message, decode_frame_body

_HEAD = b"\xa3\x61t\x65batch\x64feed\x58\x20"
"""A map of three pairs, ``"t": "batch"``, then the key ``feed`` and a 32-byte string."""
_ITEMS = b"\x65items"
_FIXED_ITEMS = 7
"""Data items of a batch besides its entries: the map, three keys, ``batch``, the feed
and the array (each entry adds three: its array, its entry and its payload)."""
_NULL = 0xF6


def decode_body(body: bytes, caps: Caps) -> Message:
    """``body`` decoded as :func:`lndesk.p2p.wire.decode_frame_body` decodes it; a batch
    read by its layout (:func:`read_batch_body`)."""
    batch = read_batch_body(body, caps)
    return batch if batch is not None else decode_frame_body(body, caps)


def read_batch_body(body: bytes, caps: Caps) -> Batch | None:
    """The batch in ``body`` if it has the layout of one within ``caps``; else None."""
    limits = caps.get("batch")
    size = len(body)
    if limits is None or size > limits.max_bytes or not body.startswith(_HEAD):
        return None
    pos = len(_HEAD) + 32
    if body[pos : pos + 6] != _ITEMS:
        return None
    try:
        count, pos = _array_head(body, pos + 6)
        if not 0 < count <= (limits.max_items - _FIXED_ITEMS) // 3:
            return None
        longest = min(limits.max_string, MAX_ENTRY_SIZE)
        longest_payload = min(limits.max_string, MAX_PAYLOAD_SIZE)
        items: list[tuple[bytes, bytes | None]] = []
        append = items.append
        for _ in range(count):
            # The common heads inline (an entry of 256 to 512 bytes, a payload of 256
            # bytes or more), the others through _string.
            if body[pos] != 0x82:
                return None
            if body[pos + 1] == 0x59:
                start = pos + 4
                end = start + ((body[pos + 2] << 8) | body[pos + 3])
                if end - start < 0x100:
                    return None
            else:
                start, end = _string(body, pos + 1)
            if end - start > longest or end > size:
                return None
            initial = body[end]
            if initial == _NULL:
                append((body[start:end], None))
                pos = end + 1
                continue
            if initial == 0x59:
                pos = end + 3 + ((body[end + 1] << 8) | body[end + 2])
                if pos - end - 3 < 0x100:
                    return None
                payload_start = end + 3
            else:
                payload_start, pos = _string(body, end)
            if pos - payload_start > longest_payload or pos > size:
                return None
            append((body[start:end], body[payload_start:pos]))
    except (IndexError, ValueError):
        return None
    if pos != size:
        return None
    return Batch(body[len(_HEAD) : len(_HEAD) + 32], tuple(items))


def _array_head(body: bytes, pos: int) -> tuple[int, int]:
    """An array's length (shortest form) and where its first item starts."""
    initial = body[pos]
    if 0x80 <= initial <= 0x97:
        return initial - 0x80, pos + 1
    return _long_argument(body, pos, initial - 0x80)


def _string(body: bytes, pos: int) -> tuple[int, int]:
    """Where a byte string's bytes start and end (ValueError: not a byte string in
    shortest form, or longer than the bytes left)."""
    initial = body[pos]
    if 0x40 <= initial <= 0x57:
        start, length = pos + 1, initial - 0x40
    else:
        length, start = _long_argument(body, pos, initial - 0x40)
    end = start + length
    if end > len(body):
        raise ValueError("a string longer than the bytes left")
    return start, end


_MINIMUM = {24: 24, 25: 1 << 8, 26: 1 << 16}
_WIDTH = {24: 1, 25: 2, 26: 4}


def _long_argument(body: bytes, pos: int, info: int) -> tuple[int, int]:
    """The argument of a head whose additional information ``info`` is 24, 25 or 26,
    in shortest form, and where the item's content starts (ValueError otherwise)."""
    width = _WIDTH.get(info)
    if width is None:
        raise ValueError("not a head of this layout")
    end = pos + 1 + width
    if end > len(body):
        raise ValueError("a head longer than the bytes left")
    value = int.from_bytes(body[pos + 1 : end], "big")
    if value < _MINIMUM[info]:
        raise ValueError("a head not in shortest form")
    return value, end
