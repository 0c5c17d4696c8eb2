"""Reading log records' entries: what a payload means, and a record as the index takes it.

Shared by the store's writes, its reads and the rebuilding of the index from the log.
"""

from __future__ import annotations

from lndesk.entry import Entry
from lndesk.payloads import Parsed, parse_payload
from lndesk.store.index import (
    PAYLOAD_ABSENT,
    PAYLOAD_INVALID,
    PAYLOAD_PRESENT,
    PAYLOAD_PURGED,
    IndexItem,
)

__all__ = ["index_item", "parse_payload"]


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
