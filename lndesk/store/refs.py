"""Entries that name earlier entries of their own feed: tombstones, edits, list updates.

What such an entry I publish may name (protocol 10.8), and which new entries of a
feed a tombstone, stored or arriving with them, has deleted already: those are stored
without their payloads, which never reach the disk.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lndesk.content import (
    READING_LIST,
    REVEAL,
    TOMBSTONE,
    Content,
    Edit,
    Post,
    ReadingList,
    Tombstone,
)
from lndesk.entry_refs import Ref
from lndesk.errors import ContentError
from lndesk.store.index import PAYLOAD_ABSENT, EntryRow, Index, IndexItem

ContentAt = Callable[[int], Content | None]
"""The content of the log record at an offset (None: no usable payload)."""


def check_own_refs(
    index: Index, content_at: ContentAt, author: bytes, content: Content, seq: int
) -> None:
    """Raise ContentError unless ``content``, as ``author``'s entry ``seq``, names
    what it may: a tombstone one of my stored entries, an edit one of my stored posts
    or replies, not deleted, a list update the first version of one of my lists."""
    if isinstance(content, Tombstone):
        _check_tombstone(index, author, content, seq)
    elif isinstance(content, Edit):
        _check_edit(index, author, content.ref, seq)
    elif isinstance(content, ReadingList) and content.of is not None:
        _check_list_update(index, content_at, author, content.of, seq)


def _check_tombstone(index: Index, author: bytes, content: Tombstone, seq: int) -> None:
    ref = content.ref
    held = index.stored_ids(author, ref.seq, ref.seq).get(ref.seq)
    if ref.author != author or ref.seq >= seq or held is None or held[0] != ref.id:
        raise ContentError("you can only delete entries of your own log")


def _check_edit(index: Index, author: bytes, ref: Ref, seq: int) -> None:
    """An edit names one of my stored posts or replies, not deleted (protocol 10.8)."""
    row = _own_entry(index, author, ref, seq)
    if row is None or row.type not in ("post", "reply"):
        raise ContentError("you can only edit your own posts and replies")
    if row.deleted:
        raise ContentError("that post was deleted; it cannot be edited")


def _check_list_update(
    index: Index, content_at: ContentAt, author: bytes, of: Ref, seq: int
) -> None:
    """A list update names the first version of one of my stored reading lists."""
    row = _own_entry(index, author, of, seq)
    if row is not None and row.type == READING_LIST and row.deleted:
        raise ContentError("that reading list was deleted")
    first = content_at(row.offset) if row is not None else None
    if not isinstance(first, ReadingList) or first.of is not None:
        raise ContentError(
            "you can only update your own reading lists",
            "An update names the list's first version.",
        )


def _own_entry(index: Index, author: bytes, ref: Ref, seq: int) -> EntryRow | None:
    """The stored entry ``ref`` names, if it is ``author``'s and before ``seq``."""
    if ref.author != author or ref.seq >= seq:
        return None
    rows = index.entry_rows("f.key = ? AND e.seq = ?", (author, ref.seq))
    return rows[0] if rows and rows[0].id == ref.id else None


def already_deleted(
    index: Index, items: Sequence[IndexItem], max_seq: int
) -> tuple[list[int], set[bytes]]:
    """Which new entries a tombstone (stored, or in the batch) deletes already, with
    the edits and list updates of entries it deletes: they are stored without their
    payloads, which never reach the disk. Tombstones and reveals always keep theirs.

    ``items`` are one author's new entries; ``max_seq`` is the feed's before them.
    Also returns the ids that were looked up and found named: of the new entries'
    ids, exactly those a tombstone (stored, or in the batch) names, which spares the
    index a second look (``Index.add_entries``)."""
    author = items[0].entry.author
    named: set[bytes] = set()
    ask: set[bytes] = set()
    for item in items:
        content = item.content
        if content is None or type(content) is Post:
            continue  # the common case: names nothing
        entry = item.entry
        if isinstance(content, Tombstone):
            if content.ref.author == author and content.ref.seq < entry.seq:
                named.add(content.ref.id)
        elif isinstance(content, Edit):
            ask.add(content.ref.id)
        elif isinstance(content, ReadingList) and content.of is not None:
            ask.add(content.of.id)
    # Only a later entry, stored already, can name one of them.
    ask.update([item.entry.id for item in items if item.entry.seq < max_seq])
    if not named and not ask:
        return [], named  # the common case: a run after the feed's head, no tombstones
    named |= index.tombstoned_ids(author, list(ask - named))
    if not named:
        return [], named  # a newest-first sync's batch: below stored entries, none deleted
    doomed = []
    for number, item in enumerate(items):
        if item.payload_state == PAYLOAD_ABSENT or item.entry.type in (TOMBSTONE, REVEAL):
            continue  # both keep their payloads and their effect (10.6, 10.13)
        content = item.content
        if isinstance(content, Edit):
            target: Ref | None = content.ref
        elif isinstance(content, ReadingList):
            target = content.of
        else:
            target = None
        if item.entry.id in named or (target is not None and target.id in named):
            doomed.append(number)
    return doomed, named
