"""The index schema, as numbered migrations applied in order.

The index is derived from the log and can always be rebuilt (``lndesk reindex``), but
migrations let an upgrade keep a large index instead of rebuilding it. Migration N
brings ``PRAGMA user_version`` from N-1 to N. Never edit a released migration; add one.
"""

from __future__ import annotations

import sqlite3

from lndesk.errors import StoreError

MIGRATIONS: tuple[str, ...] = (
    # 1: feeds, entries, fork proofs, follow edges, tags and references.
    """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value BLOB
    );
    CREATE TABLE feeds (
        feed INTEGER PRIMARY KEY,
        key BLOB NOT NULL UNIQUE,
        height INTEGER NOT NULL DEFAULT 0,      -- entries 1..height are all stored
        max_seq INTEGER NOT NULL DEFAULT 0,     -- highest stored sequence number
        forked_at INTEGER,                      -- lowest seq with two signed entries
        name TEXT,
        bio TEXT,
        profile_seq INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE entries (
        feed INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        id BLOB NOT NULL,
        claimed_ms INTEGER NOT NULL,
        received_ms INTEGER NOT NULL,
        type TEXT NOT NULL,
        payload_state INTEGER NOT NULL,         -- 0 present, 1 absent, 2 invalid
        offset INTEGER NOT NULL,                -- of its record in the log file
        deleted INTEGER NOT NULL DEFAULT 0,     -- a tombstone of its author names it
        PRIMARY KEY (feed, seq)
    ) WITHOUT ROWID;
    -- No index on id: ids are random hashes, and such an index costs a fifth of the ingest
    -- time. References carry (author, seq, id), so lookups go through the primary key;
    -- only ids a person types are searched by a scan.
    CREATE INDEX entries_by_time ON entries (claimed_ms);
    CREATE TABLE forks (
        feed INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        id BLOB NOT NULL,
        offset INTEGER NOT NULL,
        PRIMARY KEY (feed, seq, id)
    ) WITHOUT ROWID;
    CREATE TABLE follows (
        src INTEGER NOT NULL,
        dst INTEGER NOT NULL,
        seq INTEGER NOT NULL,                   -- the follow/unfollow entry that decided
        active INTEGER NOT NULL,
        PRIMARY KEY (src, dst)
    ) WITHOUT ROWID;
    CREATE TABLE tags (
        tag TEXT NOT NULL,
        feed INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (tag, feed, seq)
    ) WITHOUT ROWID;
    CREATE TABLE refs (
        target BLOB NOT NULL,                   -- id of the entry referred to
        kind TEXT NOT NULL,                     -- parent, root, share, tombstone
        feed INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (target, kind, feed, seq)
    ) WITHOUT ROWID;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the index schema up to SCHEMA_VERSION."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the index was written by a newer lndesk (schema {version}, this one knows "
            f"{SCHEMA_VERSION})",
            "Upgrade lndesk, or run `lndesk reindex` to rebuild the index for this version.",
        )
    for number in range(version + 1, SCHEMA_VERSION + 1):
        script = f"BEGIN; {MIGRATIONS[number - 1]} PRAGMA user_version={number}; COMMIT;"
        try:
            conn.executescript(script)
        except sqlite3.Error:
            if conn.in_transaction:
                conn.rollback()
            raise
