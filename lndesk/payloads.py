"""What a payload means: its content parsed as its entry's type, or why it cannot be.

A pure function of the entry's type and the payload's bytes, so it can run wherever the
bytes are: on a worker thread while a received batch is checked (:mod:`lndesk.batch`),
or when the store reads a record back.
"""

from __future__ import annotations

import logging

from lndesk.content import Content, parse_content
from lndesk.entry import Entry
from lndesk.errors import ContentError

log = logging.getLogger(__name__)

Parsed = tuple[Content | None, str | None]
"""(content, None) for a valid payload, (None, why not) for an invalid one, (None, None)
for no payload."""


def parse_payload(entry: Entry, payload: bytes | None) -> Parsed:
    """``payload`` parsed as ``entry``'s type: (content, None), or (None, why not)."""
    if payload is None:
        return None, None
    try:
        return parse_content(entry.type, payload), None
    except ContentError as exc:
        return None, exc.message
    except Exception as exc:  # a peer's payload must never take the store down
        log.warning("payload of entry %d could not be parsed: %r", entry.seq, exc)
        return None, f"unreadable content ({type(exc).__name__})"
