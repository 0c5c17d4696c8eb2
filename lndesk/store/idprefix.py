"""Finding entries by the first bytes of their id, without an index write per entry.

A person types the start of an id (``lndesk reply 4ac715``); without an index that is a
scan of every entry (96 ms at a million). But ids are random hashes: an index ordered by
them takes each new entry at a random place, so a batch of 2,000 entries dirties about
as many pages of it, and keeping it up inside every ingest cost a fifth of the ingest.

So the index is kept in two parts (migration 5):

* ``entry_ids``: the first ``PREFIX_BYTES`` bytes of each id with its (feed, seq),
  ordered by prefix: the index proper;
* ``entry_ids_pending``: the runs of entries stored since the last fold, one row per
  feed and batch (feed, first seq, last seq), in the order they were stored: storing a
  batch of 2,000 entries appends one row, not 2,000.

:func:`fold` moves the entries of pending runs into ``entry_ids`` in large sorted
chunks, off the ingest path (the node's background indexer, with the text for search).
A lookup reads both parts: a range of ``entry_ids``, and the entries of the pending
runs through the primary key of ``entries``, which stay few while the indexer keeps up
and are at worst what one sync stored before it caught up.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from lndesk.store.bulk import insert_rows

PREFIX_BYTES = 4
"""Bytes of an id that are indexed: at a million entries about one entry per value, and
a quarter of the whole ids' size; the rest of a longer prefix is compared in the rows
these bytes find."""
FOLD_CHUNK = 10_000
"""Entries folded per :func:`fold` by default, about: enough that each page of
``entry_ids`` that a fold writes takes many of them, few enough that a fold stays a
short step (20-40 ms here at 100,000 entries, on a loaded machine)."""
PER_DOCUMENT = 20
"""Entries folded per document that a step of full-text indexing takes, so that a fold
costs a step about a tenth of what indexing the documents does (about 3 us per entry
against 40-500 us per document)."""

_STAGE = "INSERT INTO entry_ids_pending(feed, first_seq, last_seq) VALUES"
_RUN_ENTRIES = (
    "entry_ids_pending p JOIN entries e2 ON e2.feed = p.feed "
    "AND e2.seq BETWEEN p.first_seq AND p.last_seq"
)


def stage(conn: sqlite3.Connection, runs: Sequence[tuple[int, int, int]]) -> None:
    """Append (feed, first seq, last seq) runs of newly stored entries (a run may hold
    seqs that were stored before: they are folded once)."""
    insert_rows(conn, _STAGE, runs)


def pending(conn: sqlite3.Connection) -> int:
    """How many entries at most wait to be folded (the sizes of the pending runs)."""
    row = conn.execute("SELECT sum(last_seq - first_seq + 1) FROM entry_ids_pending").fetchone()
    return int(row[0] or 0)


def fold(conn: sqlite3.Connection, limit: int | None = FOLD_CHUNK) -> int:
    """Move the oldest pending runs, of about ``limit`` entries in all (at least one run;
    None: all runs), into ``entry_ids``, sorted; returns how many runs moved. Call inside
    a transaction."""
    last = None
    if limit is None:
        (last,) = conn.execute("SELECT max(id) FROM entry_ids_pending").fetchone()
    else:
        size = 0
        for run_id, first, end in conn.execute(
            "SELECT id, first_seq, last_seq FROM entry_ids_pending ORDER BY id"
        ):
            last = run_id
            size += end - first + 1
            if size >= limit:
                break
    if last is None:
        return 0
    conn.execute(
        "INSERT OR IGNORE INTO entry_ids(prefix, feed, seq) "  # noqa: S608 - constant SQL
        f"SELECT substr(e2.id, 1, {PREFIX_BYTES}), e2.feed, e2.seq FROM {_RUN_ENTRIES} "
        "WHERE p.id <= ? ORDER BY 1, 2, 3",
        (last,),
    )
    return int(conn.execute("DELETE FROM entry_ids_pending WHERE id <= ?", (last,)).rowcount)


def candidates(prefix: bytes, upper: bytes | None) -> tuple[str, list[bytes]]:
    """A query of (feed, seq) of every entry whose id may start with ``prefix`` (``upper``:
    the smallest byte string above all that do, None if there is none), from the index's
    two parts, and its parameters. A prefix longer than ``PREFIX_BYTES`` bytes finds
    candidates by its first bytes: the caller compares the whole ids."""
    if len(prefix) >= PREFIX_BYTES:
        test, params = "{} = ?", [prefix[:PREFIX_BYTES]]
    elif upper is None:
        test, params = "{} >= ?", [prefix]
    else:  # the ids starting with a shorter prefix are a range of the index
        test, params = "{0} >= ? AND {0} < ?", [prefix, upper]
    query = (
        f"SELECT feed, seq FROM entry_ids WHERE {test.format('prefix')} "  # noqa: S608 - '?'
        f"UNION ALL SELECT e2.feed, e2.seq FROM {_RUN_ENTRIES} "
        f"WHERE {test.format(f'substr(e2.id, 1, {PREFIX_BYTES})')}"
    )
    return query, [*params, *params]
