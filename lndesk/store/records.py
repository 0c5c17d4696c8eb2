"""Reading log records' entries: what a payload means, and a record as the index takes it.

Shared by the store's writes, its reads and the rebuilding of the index from the log.
"""

from __future__ import annotations

from collections.abc import Sequence

from lndesk.entry import Entry
from lndesk.payloads import Parsed, parse_payload
from lndesk.store.index import (
    PAYLOAD_ABSENT,
    PAYLOAD_INVALID,
    PAYLOAD_PRESENT,
    PAYLOAD_PURGED,
    IndexItem,
)

__all__ = ["index_item", "new_items", "parse_payload"]


def index_item(
    offset: int,
    received_ms: int,
    entry: Entry,
    payload: bytes | None,
    *,
    purged: bool = False,
    parsed: Parsed | None = None,
) -> IndexItem:
    """``purged``: the payload is absent because a tombstone deleted it (not missing).
    ``parsed``: what :func:`parse_payload` made of ``payload`` already (the batch's
    check did it on a worker thread); parsed here when None."""
    if payload is None:
        content, error = None, None
    else:
        content, error = parse_payload(entry, payload) if parsed is None else parsed
    if payload is None:
        state = PAYLOAD_PURGED if purged else PAYLOAD_ABSENT
    elif error is not None:
        state = PAYLOAD_INVALID
    else:
        state = PAYLOAD_PRESENT
    return IndexItem(offset, received_ms, entry, state, content)


def new_items(
    received_ms: int,
    new: Sequence[tuple[Entry, bytes | None]],
    parsed: dict[bytes, Parsed],
) -> list[IndexItem]:
    """:func:`index_item` of each (entry, payload) of ``new`` (offsets 0, none purged),
    with what ``parsed`` holds of their payloads (by entry id), in one pass: a batch
    stores thousands of entries, and a call per entry was a tenth of this."""
    items: list[IndexItem] = []
    append = items.append
    known = parsed.get
    for entry, payload in new:
        if payload is None:
            append(IndexItem(0, received_ms, entry, PAYLOAD_ABSENT, None))
            continue
        found = known(entry.id)
        content, error = parse_payload(entry, payload) if found is None else found
        state = PAYLOAD_PRESENT if error is None else PAYLOAD_INVALID
        append(IndexItem(0, received_ms, entry, state, content))
    return items
