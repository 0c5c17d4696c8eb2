"""A batch of one author's entries, checked as far as it can be without stored state.

Decoding a batch's entries, matching their payloads, following their hash links and
parsing the payloads' content for the index is most of the CPU an ingest costs, and
needs nothing but the batch itself, so it can run on a worker thread while the store
(which is not thread-safe) stays on its own. The result, a :class:`CheckedBatch`, is the
batch's items as they were, plus their decoded entries and parsed payloads; the store
then only checks the anchor (docs/protocol.md section 7), appends and indexes. A batch
of the common layout is read in place (:mod:`lndesk.batch_layout`), any other the
general way (:func:`check_each`).
"""

from __future__ import annotations

from collections.abc import Sequence

from lndesk.batch_layout import read_layout
from lndesk.content import named_refs
from lndesk.entry import Entry, authenticate_range, decode_entry
from lndesk.entry_refs import Ref
from lndesk.errors import ChainError, SizeError
from lndesk.payloads import Parsed, parse_payload

MAX_BATCH = 10_000
"""Most entries in one batch (docs/protocol.md section 7), checked before any is decoded."""

Item = tuple[bytes, bytes | None]
"""An entry's bytes and its payload's bytes (None when not held)."""


class CheckedBatch(tuple[Item, ...]):
    """The items of a batch (so it can stand wherever the items can), whose entries
    :func:`check_batch` has decoded and checked: ``author``'s, payloads matching, and
    each linking to the one before. Built only by :func:`check_batch` and
    :func:`check_decoded`."""

    author: bytes
    entries: tuple[Entry, ...]
    parsed: dict[bytes, Parsed]
    """Entry id to what :func:`lndesk.payloads.parse_payload` made of its payload, for
    every entry whose payload is present."""
    size: int
    """The bytes of the items' entries and payloads."""
    named: list[Ref]
    """The entries the batch's shares and replies name, in order
    (:func:`lndesk.content.named_refs` of each parsed payload): what is fetched as
    their context once the batch is stored, found while the payloads were parsed."""


def check_batch(author: bytes, items: Sequence[Item]) -> CheckedBatch:
    """Decode ``items`` and check all that needs no stored state: every entry decodes
    and is ``author``'s, every present payload matches its entry, and the entries link.

    Raises the entry error classes (SizeError for more than ``MAX_BATCH`` items, then
    DecodeError, SizeError, ChainError, PayloadError entry by entry). A payload that
    matches its entry but is not valid content is no error here: its parse says why.
    The last entry's signature is not checked: the anchor is the store's to decide.
    """
    if len(items) > MAX_BATCH:
        raise SizeError(f"a batch of {len(items)} entries is over the {MAX_BATCH}-entry limit")
    read = read_layout(author, items)  # the common layout, read in place
    if read is not None:
        return _made(author, items, *read)
    return check_each(author, items)


def check_each(author: bytes, items: Sequence[Item]) -> CheckedBatch:
    """:func:`check_batch` the general way, whatever the layout: each entry decoded by
    :func:`lndesk.entry.decode_entry`, each payload parsed by
    :func:`lndesk.payloads.parse_payload` (what :func:`lndesk.batch_layout.read_batch`
    answers is held to this). The number of items is not checked."""
    entries = [_owned(author, decode_entry(raw), payload) for raw, payload in items]
    return _checked_run(author, items, entries)


def check_decoded(author: bytes, run: Sequence[tuple[Entry, bytes | None]]) -> CheckedBatch:
    """:func:`check_batch` of entries decoded already (a gossiped head): the very
    ``Entry`` objects are kept, so one whose signature was verified on arrival is not
    verified again when it is stored (``Entry.verified``), nor its payload hashed again
    if it is the object checked on arrival (``Entry.matched``)."""
    if len(run) > MAX_BATCH:
        raise SizeError(f"a batch of {len(run)} entries is over the {MAX_BATCH}-entry limit")
    entries = [_owned(author, entry, payload) for entry, payload in run]
    return _checked_run(author, [(entry.raw, payload) for entry, payload in run], entries)


def _owned(author: bytes, entry: Entry, payload: bytes | None) -> Entry:
    """``entry``, if it is ``author``'s and ``payload`` (when present) matches it: a
    payload this entry was checked against already (the very object, ``Entry.matched``,
    as a gossiped head's is on arrival) is not hashed again."""
    if entry.author != author:
        raise ChainError("an entry in the batch belongs to another author than the log")
    if payload is not None and payload is not entry.matched:
        entry.check_payload(payload)
    return entry


def _checked_run(author: bytes, items: Sequence[Item], entries: list[Entry]) -> CheckedBatch:
    authenticate_range(entries, trusted_last=True)  # links only; the anchor comes later
    parsed = {
        entry.id: parse_payload(entry, payload)
        for entry, (_, payload) in zip(entries, items, strict=True)
        if payload is not None
    }
    named = [ref for content, _ in parsed.values() for ref in named_refs(content)]
    return _made(author, items, entries, parsed, named)


def _made(
    author: bytes,
    items: Sequence[Item],
    entries: list[Entry],
    parsed: dict[bytes, Parsed],
    named: list[Ref],
) -> CheckedBatch:
    checked = CheckedBatch(items)
    checked.author = author
    checked.entries = tuple(entries)
    checked.parsed = parsed
    checked.named = named
    checked.size = sum([len(raw) + (len(payload) if payload else 0) for raw, payload in items])
    return checked


def checked(author: bytes, items: Sequence[Item]) -> CheckedBatch:
    """``items`` as a :class:`CheckedBatch` of ``author``: as they are if
    :func:`check_batch` made them so already (on a worker thread), else checked now."""
    if isinstance(items, CheckedBatch) and items.author == author:
        return items
    return check_batch(author, items)
