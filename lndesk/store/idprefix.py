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
PER_DOCUMENT = 5
"""Entries folded per document that a step of full-text indexing takes: more than
the documents that entries bring (most entries bring one or none), so the ids keep up
with the text, and few enough that folding (3-11 us an entry here, depending on the
load) stays a small part of a step beside the documents (40-500 us each)."""

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
    """Move the oldest pending entries, up to ``limit`` seqs (None: all), into
    ``entry_ids``, sorted; a run is split where the limit falls, so a fold stays a short
    step however large the batches were. Returns how many seqs the moved runs spanned.
    Call inside a transaction."""
    if limit is None:
        (last,) = conn.execute("SELECT max(id) FROM entry_ids_pending").fetchone()
        if last is None:
            return 0
        moved = pending(conn)
        _insert(
            conn, "SELECT feed, first_seq, last_seq FROM entry_ids_pending WHERE id <= ?", [last]
        )
        conn.execute("DELETE FROM entry_ids_pending WHERE id <= ?", (last,))
        return moved
    runs = conn.execute(
        "SELECT id, feed, first_seq, last_seq FROM entry_ids_pending ORDER BY id LIMIT ?",
        (min(limit, MAX_RUNS),),
    ).fetchall()
    taken: list[tuple[int, int, int]] = []
    moved = 0
    for run_id, feed, first, last in runs:
        room = limit - moved
        if last - first + 1 > room:  # the limit falls inside this run: take its start
            taken.append((feed, first, first + room - 1))
            conn.execute(
                "UPDATE entry_ids_pending SET first_seq = ? WHERE id = ?", (first + room, run_id)
            )
            moved = limit
            break
        taken.append((feed, first, last))
        conn.execute("DELETE FROM entry_ids_pending WHERE id = ?", (run_id,))
        moved += last - first + 1
        if moved >= limit:
            break
    if taken:
        values = ", ".join(["(?, ?, ?)"] * len(taken))
        _insert(conn, f"VALUES {values}", [n for run in taken for n in run])
    return moved


MAX_RUNS = 1000
"""Runs taken by one :func:`fold` at most (three parameters each)."""


def _insert(conn: sqlite3.Connection, runs: str, params: Sequence[int] = ()) -> None:
    """Index the entries of ``runs`` (a query or VALUES of (feed, first seq, last seq)),
    in the index's order."""
    conn.execute(
        f"WITH runs(feed, first_seq, last_seq) AS ({runs}) "  # noqa: S608 - only '?' or ints
        "INSERT OR IGNORE INTO entry_ids(prefix, feed, seq) "
        f"SELECT substr(e2.id, 1, {PREFIX_BYTES}), e2.feed, e2.seq FROM runs r "
        "JOIN entries e2 ON e2.feed = r.feed AND e2.seq BETWEEN r.first_seq AND r.last_seq "
        "ORDER BY 1, 2, 3",
        params,
    )


def candidates(prefix: bytes, upper: bytes | None) -> tuple[str, list[bytes]]:
    """A query of (feed, seq) of every entry whose id may start with ``prefix`` (``upper``:
    the smallest byte string above all that do, None if there is none), from the index's
    two parts, and its parameters. A prefix longer than ``PREFIX_BYTES`` bytes finds
    candidates by its first bytes: the caller compares the whole ids."""
    if len(prefix) >= PREFIX_BYTES:
        indexed, params = "prefix = ?", [prefix[:PREFIX_BYTES]]
    elif upper is None:
        indexed, params = "prefix >= ?", [prefix]
    else:  # the ids starting with a shorter prefix are a range of the index
        indexed, params = "prefix >= ? AND prefix < ?", [prefix, upper]
    # The pending runs' entries compare their whole ids: cheaper than cutting each one.
    pending, pending_params = "e2.id >= ?", [prefix]
    if upper is not None:
        pending += " AND e2.id < ?"
        pending_params.append(upper)
    query = (
        f"SELECT feed, seq FROM entry_ids WHERE {indexed} "  # noqa: S608 - only '?'
        f"UNION ALL SELECT e2.feed, e2.seq FROM {_RUN_ENTRIES} WHERE {pending}"
    )
    return query, [*params, *pending_params]
