"""The ``questions`` table (migration 6), written: a row for every stored, not deleted
post whose current version asks (docs/protocol.md 10.1, 10.8). The derivation
(:mod:`lndesk.store.derive`) keeps it at ingest; :func:`backfill` fills it once in an
index written before the table existed. Read by :mod:`lndesk.store.questions`.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence

from lndesk.content import Content, Edit, Post, parse_content
from lndesk.store.rules import PAYLOAD_PRESENT, ContentLoader

log = logging.getLogger(__name__)

BACKFILL = "questions_backfill"
"""The ``meta`` key migration 6 sets: the table is still to be filled from the log."""

PayloadReader = Callable[[int], bytes | None]
"""Reads the payload of the log record at an offset (None: the record has none)."""
VersionLoader = Callable[[int, str], Content | None]
"""(log offset, entry type) -> the content of a post's current version, or None when
it surely does not ask."""


def version_loader(load: ContentLoader, read_payload: PayloadReader | None) -> VersionLoader:
    """How :func:`backfill` reads a version: with ``read_payload``, only payloads that
    hold the bytes of the key ``question`` are parsed (every version that asks has it),
    so the posts that do not ask cost one read each; else ``load`` reads every one."""
    if read_payload is None:
        return lambda offset, _type: load(offset)

    def quick(offset: int, type_: str) -> Content | None:
        payload = read_payload(offset)
        if payload is None or b"question" not in payload:
            return None
        return parse_content(type_, payload)

    return quick


def asks(content: Content | None) -> bool:
    """Whether a post's current version (the post, or its latest edit) asks."""
    return isinstance(content, Post | Edit) and content.question


def mark_question(conn: sqlite3.Connection, feed: int, seq: int, claimed_ms: int) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO questions(feed, seq, claimed_ms) VALUES (?, ?, ?)",
        (feed, seq, claimed_ms),
    )


def unmark_question(conn: sqlite3.Connection, feed: int, seq: int) -> None:
    conn.execute("DELETE FROM questions WHERE feed = ? AND seq = ?", (feed, seq))


def add_questions(conn: sqlite3.Connection, rows: Sequence[tuple[int, int, int]]) -> None:
    """Add (feed, seq, claimed_ms) rows of new posts asked as questions."""
    if rows:
        conn.executemany(
            "INSERT OR REPLACE INTO questions(feed, seq, claimed_ms) VALUES (?, ?, ?)", rows
        )


def backfill_pending(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM meta WHERE key = ?", (BACKFILL,)).fetchone() is not None


def backfill(conn: sqlite3.Connection, load: VersionLoader) -> int:
    """Fill ``questions`` from the posts the index holds, if migration 6 asked for it;
    returns how many questions were found. One transaction: a crash leaves the marker,
    and the next open starts again."""
    if not backfill_pending(conn):
        return 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("DELETE FROM questions")
        rows = conn.execute(
            "SELECT e.feed, e.seq, e.claimed_ms, COALESCE(v.offset, e.offset), "
            "COALESCE(v.payload_state, e.payload_state), COALESCE(v.type, e.type) "
            "FROM entries e "
            "LEFT JOIN edits d ON d.feed = e.feed AND d.seq = e.seq "
            "LEFT JOIN entries v ON v.feed = d.feed AND v.seq = d.edit_seq "
            "WHERE e.type = 'post' AND e.deleted = 0"
        ).fetchall()
        found = []
        for feed, seq, claimed_ms, offset, state, type_ in rows:
            if state != PAYLOAD_PRESENT:
                continue
            try:
                content = load(offset, type_)
            except Exception as exc:  # a damaged record: lndesk verify reports it
                log.warning("the post at log offset %d cannot be read: %s", offset, exc)
                continue
            if asks(content):
                found.append((feed, seq, claimed_ms))
        add_questions(conn, found)
        conn.execute("DELETE FROM meta WHERE key = ?", (BACKFILL,))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    log.info("indexed %d questions among %d posts", len(found), len(rows))
    return len(found)
