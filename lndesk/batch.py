"""A batch of one author's entries, checked as far as it can be without stored state.

Decoding a batch's entries, matching their payloads and following their hash links is
most of the CPU an ingest costs, and needs nothing but the batch itself, so it can run
on a worker thread while the store (which is not thread-safe) stays on its own. The
result, a :class:`CheckedBatch`, is the batch's items as they were, plus their decoded
entries; the store then only checks the anchor (docs/protocol.md section 7).
"""

from __future__ import annotations

from collections.abc import Sequence

from lndesk.entry import Entry, authenticate_range, decode_entry
from lndesk.errors import ChainError, SizeError

MAX_BATCH = 10_000
"""Most entries in one batch (docs/protocol.md section 7), checked before any is decoded."""

Item = tuple[bytes, bytes | None]
"""An entry's bytes and its payload's bytes (None when not held)."""


class CheckedBatch(tuple[Item, ...]):
    """The items of a batch (so it can stand wherever the items can), whose entries
    :func:`check_batch` has decoded and checked: ``author``'s, payloads matching, and
    each linking to the one before. Built only by :func:`check_batch`."""

    author: bytes
    entries: tuple[Entry, ...]


def check_batch(author: bytes, items: Sequence[Item]) -> CheckedBatch:
    """Decode ``items`` and check all that needs no stored state: every entry decodes
    and is ``author``'s, every present payload matches its entry, and the entries link.

    Raises the entry error classes (SizeError for more than ``MAX_BATCH`` items, then
    DecodeError, SizeError, ChainError, PayloadError entry by entry).
    The last entry's signature is not checked: the anchor is the store's to decide.
    """
    if len(items) > MAX_BATCH:
        raise SizeError(f"a batch of {len(items)} entries is over the {MAX_BATCH}-entry limit")
    entries = []
    for raw, payload in items:
        entry = decode_entry(raw)
        if entry.author != author:
            raise ChainError("an entry in the batch belongs to another author than the feed")
        if payload is not None:
            entry.check_payload(payload)
        entries.append(entry)
    authenticate_range(entries, trusted_last=True)  # links only; the anchor comes later
    checked = CheckedBatch(items)
    checked.author = author
    checked.entries = tuple(entries)
    return checked
