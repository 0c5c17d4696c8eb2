"""Payloads that arrive after their entries: holes in a feed, and filling them.

A peer may serve entries without their payloads (docs/protocol.md, section 6). An entry
stored that way, whose payload no tombstone deleted, is a **hole**: its payload is
missing, not gone. The index marks it ``PAYLOAD_ABSENT`` (a deleted one is
``PAYLOAD_PURGED``; a tombstone keeps its payload even when another tombstone deletes
it, so a tombstone's is never purged), sync asks peers for the holes of the feeds it
reads, and whatever
carries the entry again with its payload (sync, a head announcement, an inbox notice, a
targeted fetch) fills the hole.

The payload is checked against the stored entry (same id, so its hash and size are the
ones the author signed) and appended to the log as a second ENTRY record of the same
entry, with PAYLOAD set (section 14.2); the index then points to that record and derives
from the payload what it would have derived had the entry come with it. The log stays
append-only, and a reindex meets both records in log order: the first indexes the entry
without its payload, the second fills it, so the payload survives a rebuild.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence

from lndesk.entry import Entry
from lndesk.entry_refs import PostKey
from lndesk.store.index import PAYLOAD_ABSENT, PAYLOAD_PURGED, Index, IndexItem

HOLE_SQL = (
    "SELECT seq, id FROM entries WHERE feed = ? AND seq BETWEEN ? AND ? "  # noqa: S608
    f"AND payload_state = {PAYLOAD_ABSENT:d} ORDER BY seq LIMIT ?"  # an int constant
)
"""Uses the partial index ``entries_missing_payload`` (migration 4). The payload state
is written into the statement: bound as a parameter, it made SQLite prepare the
statement again at every use (a plan that may use a partial index depends on the bound
value), which cost more than the query."""


def payload_holes(index: Index, key: bytes, first: int, last: int, limit: int) -> list[int]:
    """Seqs of ``key``'s stored entries, first <= seq <= last, whose payloads are missing
    (at most ``limit``, ascending)."""
    return list(_holes(index, key, first, last, limit))


def _holes(index: Index, key: bytes, first: int, last: int, limit: int) -> dict[int, bytes]:
    feed = index.known_feed(key)
    if feed is None or limit < 1:
        return {}
    return {
        int(seq): bytes(entry_id)
        for seq, entry_id in index.conn.execute(HOLE_SQL, (feed, first, last, limit))
    }


def holes_among(index: Index, key: bytes, seqs: Sequence[int]) -> dict[int, bytes]:
    """Of these seqs of ``key``, those whose payloads are missing: {seq: entry id}."""
    if not seqs:
        return {}
    found = _holes(index, key, min(seqs), max(seqs), len(seqs) + 1 + max(seqs) - min(seqs))
    wanted = set(seqs)
    return {seq: entry_id for seq, entry_id in found.items() if seq in wanted}


def split_fills(
    index: Index, items: Sequence[IndexItem]
) -> tuple[list[IndexItem], list[IndexItem]]:
    """``items`` (ENTRY records in log order) as (new entries, fills).

    A fill is a record with a payload of an entry that is held without one: indexed
    already, or earlier among ``items``; so is a PURGED record of such an entry, which
    says the hole is closed for good (the entry turned out deleted when its payload
    came). Other repeated records of one entry are left with the new ones, whose insert
    ignores them.
    """
    first: dict[PostKey, IndexItem] = {}
    new: list[IndexItem] = []
    fills: list[IndexItem] = []
    by_author: dict[bytes, list[IndexItem]] = {}
    for item in items:
        entry = item.entry
        slot = (entry.author, entry.seq)
        earlier = first.get(slot)
        if earlier is None:
            first[slot] = item
            new.append(item)
            if _fills(item):
                by_author.setdefault(entry.author, []).append(item)
        elif (
            _fills(item)
            and earlier.payload_state == PAYLOAD_ABSENT
            and earlier.entry.id == entry.id
        ):
            fills.append(item)
        else:
            new.append(item)
    if by_author:
        stored_fills: list[IndexItem] = []
        for author, candidates in by_author.items():
            holes = holes_among(index, author, [item.entry.seq for item in candidates])
            for item in candidates:
                if holes.get(item.entry.seq) == item.entry.id:
                    stored_fills.append(item)
        if stored_fills:
            chosen = {id(item) for item in stored_fills}
            new = [item for item in new if id(item) not in chosen]
            fills = stored_fills + fills
    return new, fills


def _fills(item: IndexItem) -> bool:
    """Whether a later record like ``item`` settles a hole: it has the payload, or says
    that it was deleted."""
    return item.payload_state != PAYLOAD_ABSENT


def apply_fills(index: Index, fills: Sequence[IndexItem]) -> list[tuple[int, bytes]]:
    """Point the index at the records that fill holes and derive what their payloads
    mean. Call inside the index transaction, after the new entries of the same write
    are indexed. Returns the purges a tombstone among them (or a stored one naming an
    entry they edit) calls for, as ``Index.add_entries`` does."""
    if not fills:
        return []
    batch = index.derivation()
    conn = index.conn
    for item in fills:
        entry = item.entry
        feed = index.feed_id(entry.author)
        updated = conn.execute(
            # A hole closed as purged (the edit of a deleted post) is deleted, as when
            # the entry arrives so in the first place (Index.add_entries).
            "UPDATE entries SET offset = ?, payload_state = ?, received_ms = ?, "
            "deleted = MAX(deleted, ?) WHERE feed = ? AND seq = ? AND id = ? AND payload_state = ?",
            (
                item.offset,
                item.payload_state,
                item.received_ms,
                int(item.payload_state == PAYLOAD_PURGED),
                feed,
                entry.seq,
                entry.id,
                PAYLOAD_ABSENT,
            ),
        ).rowcount
        if not updated or item.payload_state == PAYLOAD_PURGED:
            continue  # filled before (or deleted meanwhile), or closed: nothing to derive
        named_later = (
            conn.execute(
                "SELECT 1 FROM edit_claims WHERE feed = ? AND seq = ? LIMIT 1", (feed, entry.seq)
            ).fetchone()
            is not None
        )
        batch.add(feed, entry, item.content, index.feed_id, named_later=named_later)
        # Not new: the entry was indexed before, so settling it replaces what its
        # earlier state (no payload, maybe an edit's text) added.
        batch.new.discard((feed, entry.seq))
    batch.write_claims()
    batch.apply_tombstones([])
    return batch.settle()


def write_index(
    index: Index,
    items: list[IndexItem],
    forks: Sequence[tuple[int, Entry]],
    log_end: int,
    *,
    tombstoned: set[bytes] | None = None,
    unheld: bool = False,
) -> list[tuple[int, bytes]]:
    """Index entries (the fills among them filling their holes) and fork proofs into
    ``index`` in one transaction, with its new ``log_end``; returns the (offset, id) of
    the records whose payloads are now to be purged from the log.

    ``unheld``: the caller knows that the index holds no entry at the place of any of
    ``items`` and that no place comes twice among them (a batch's new entries, found
    so under the same lock), so none of them fills a hole: :func:`split_fills`, a
    statement and a pass over the batch, is skipped."""
    index.begin()
    try:
        fills: list[IndexItem] = []
        if not unheld:
            items, fills = split_fills(index, items)
        purges = index.add_entries(items, tombstoned=tombstoned)
        purges += apply_fills(index, fills)
        for offset, entry in forks:
            index.add_fork_proof(offset, entry)
        index.set_meta("log_end", str(log_end).encode())
        index.commit()
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            index.rollback()
        raise
    return purges
