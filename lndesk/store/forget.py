"""Forgetting stored entries that no tombstone deleted: expired inbox requests.

The app keeps what people beyond the owner's follow hops address to the owner only for
a while (docs/protocol.md 28.6). When such a request expires its entry stays (its
feed's chain needs the bytes) but everything else goes as for a deleted entry: hidden,
its inbox, tag and search rows removed, its payload purged from the log (section 14.4,
the record marked PURGED). Its edits go with it, as with a tombstone: those stored
already and any that arrive later are purged too (the derivation's dead claims). A
rebuilt index reads a purged record as a deleted entry without payload that is not
missing, so neither the request nor an edit's text of it comes back.

An entry held without its payload (a hole, :mod:`lndesk.store.fill`) has no payload to
purge, but its record is rewritten PURGED all the same: nothing else in the log says it
was forgotten (no tombstone names it), and a record left a hole would make a rebuilt
index take it for a hole again, one that its payload, arriving later, would fill. PURGED,
it is deleted in the rebuilt index too, and a payload that comes for it is not stored.
Until its record is rewritten only the index's queue of purges says it was forgotten, so
an index about to be rebuilt (older rules, another log, lndesk reindex) has that queue
run first (:func:`lndesk.store.recovery.queued_purges`), and again before the rebuilt
index takes its place (what was queued while it was built).
"""

from __future__ import annotations

from collections.abc import Iterable

from lndesk.store.index import Index
from lndesk.store.rules import PAYLOAD_ABSENT, entry_row


def forget_entries(index: Index, key: bytes, seqs: Iterable[int]) -> list[tuple[int, bytes]]:
    """Forget these entries of ``key``; returns the purges to run after the commit.
    Call inside the index transaction."""
    row = index.conn.execute("SELECT feed FROM feeds WHERE key = ?", (key,)).fetchone()
    if row is None:
        return []
    feed = int(row[0])
    batch = index.derivation()
    holes: list[tuple[int, bytes]] = []
    for seq in sorted(set(seqs)):
        stored = entry_row(index.conn, feed, seq)
        if stored is None:
            continue
        if stored.payload_state == PAYLOAD_ABSENT and not stored.deleted:
            holes.append((stored.offset, stored.id))  # its record is marked PURGED
        batch.forget((feed, seq), stored)
    purges = batch.settle()
    index.conn.executemany("INSERT OR REPLACE INTO purges(offset, id) VALUES (?, ?)", holes)
    return purges + holes
