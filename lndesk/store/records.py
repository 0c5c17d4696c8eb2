"""Reading log records' entries: what a payload means, and a record as the index takes it.

Shared by the store's writes, its reads and the rebuilding of the index from the log.
"""

from __future__ import annotations

import logging

from lndesk.content import Content, parse_content
from lndesk.entry import Entry
from lndesk.errors import ContentError
from lndesk.store.index import (
    PAYLOAD_ABSENT,
    PAYLOAD_INVALID,
    PAYLOAD_PRESENT,
    PAYLOAD_PURGED,
    IndexItem,
)

log = logging.getLogger(__name__)


def parse_payload(entry: Entry, payload: bytes | None) -> tuple[Content | None, str | None]:
    """``payload`` parsed as ``entry``'s type: (content, None), or (None, why not)."""
    if payload is None:
        return None, None
    try:
        return parse_content(entry.type, payload), None
    except ContentError as exc:
        return None, exc.message
    except Exception as exc:  # a peer's payload must never take the store down
        log.warning("payload of entry %d could not be parsed: %r", entry.seq, exc)
        return None, f"unreadable payload ({type(exc).__name__})"


def index_item(
    offset: int, received_ms: int, entry: Entry, payload: bytes | None, *, purged: bool = False
) -> IndexItem:
    """``purged``: the payload is absent because a tombstone deleted it (not missing)."""
    content, error = parse_payload(entry, payload)
    if payload is None:
        state = PAYLOAD_PURGED if purged else PAYLOAD_ABSENT
    elif error is not None:
        state = PAYLOAD_INVALID
    else:
        state = PAYLOAD_PRESENT
    return IndexItem(offset, received_ms, entry, state, content)
