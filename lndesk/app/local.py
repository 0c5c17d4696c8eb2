"""What only this device knows: bookmarks, mutes, blocks, accepted people, read marks,
where follows came from, the nicknames given to people, how many replies peers said a
thread has.

None of it is published or derivable from the log, so it lives in its own small SQLite
file (``local.sqlite3``), written with full durability (a bookmark must not vanish in a
power cut), never in the rebuildable index.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from shlex import quote

from lndesk.entry_refs import PostKey
from lndesk.errors import StoreError
from lndesk.store.schema_version import apply_migrations

LOCAL_NAME = "local.sqlite3"

_SCHEMA = (
    """
    CREATE TABLE settings (name TEXT PRIMARY KEY, value);
    CREATE TABLE bookmarks (
        author BLOB NOT NULL, seq INTEGER NOT NULL, added_ms INTEGER NOT NULL,
        PRIMARY KEY (author, seq)
    ) WITHOUT ROWID;
    CREATE TABLE muted (key BLOB PRIMARY KEY, since_ms INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE follow_sources (
        key BLOB PRIMARY KEY, source TEXT NOT NULL, added_ms INTEGER NOT NULL, name TEXT
    ) WITHOUT ROWID;
    CREATE TABLE synced (key BLOB PRIMARY KEY, last_ms INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE holds (
        peer BLOB NOT NULL, feed BLOB NOT NULL, height INTEGER NOT NULL,
        PRIMARY KEY (peer, feed)
    ) WITHOUT ROWID;
    """,
    """
    CREATE TABLE blocked (key BLOB PRIMARY KEY, since_ms INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE accepted (key BLOB PRIMARY KEY, since_ms INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE read_marks (key BLOB PRIMARY KEY, mark_ms INTEGER NOT NULL) WITHOUT ROWID;
    """,
    """
    CREATE TABLE nicknames (
        key BLOB PRIMARY KEY, name TEXT NOT NULL, set_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    """,
    """
    -- The replies peers said they show under a thread's root (docs/protocol.md 32.3):
    -- the highest total of the latest fetch that reached a peer.
    CREATE TABLE thread_totals (
        root BLOB PRIMARY KEY, reported INTEGER NOT NULL, asked_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX thread_totals_by_time ON thread_totals (asked_ms);
    """,
)

MAX_THREAD_TOTALS = 10_000
"""Threads whose reported totals are kept; those whose total changed longest ago go first."""


def _newer_local(path: Path, version: int, known: int) -> StoreError:
    aside = path.parent / "local-newer"
    return StoreError(
        f"the local state file {path} was written by a newer lndesk (schema {version}, "
        f"this one knows {known})",
        "Upgrade lndesk to keep your bookmarks, mutes, blocks, read marks and nicknames; "
        "or, with lndesk closed, move the file (and its -wal and -shm files, if any) "
        f"into another folder to start them afresh: mkdir {quote(str(aside))} && "
        f"mv {quote(str(path))}* {quote(str(aside))}/",
    )


class LocalState:
    """This device's private state for one data directory. Use from one thread."""

    def __init__(self, directory: Path, *, in_memory: bool = False) -> None:
        """``in_memory``: an empty state that is never saved (a read-only data directory)."""
        path = Path(":memory:") if in_memory else directory / LOCAL_NAME
        self._blocked: frozenset[bytes] | None = None
        self._nicknames: dict[bytes, str] | None = None
        try:
            self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            apply_migrations(self.conn, _SCHEMA, lambda v, k: _newer_local(path, v, k))
        except StoreError:
            self.conn.close()
            raise
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"the local state file {path} cannot be opened: {exc}",
                "It holds bookmarks, mutes and read marks only; move it away to start afresh.",
            ) from exc

    def close(self) -> None:
        self.conn.close()

    # --- settings ------------------------------------------------------------

    def get(self, name: str, default: int = 0) -> int:
        row = self.conn.execute("SELECT value FROM settings WHERE name=?", (name,)).fetchone()
        return default if row is None else int(row[0])

    def set(self, name: str, value: int) -> None:
        self.conn.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (name, value))

    def text_setting(self, name: str) -> str | None:
        row = self.conn.execute("SELECT value FROM settings WHERE name=?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set_text_setting(self, name: str, value: str | None) -> None:
        if value is None:
            self.conn.execute("DELETE FROM settings WHERE name=?", (name,))
        else:
            self.conn.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (name, value))

    # --- bookmarks -----------------------------------------------------------

    def set_bookmark(self, author: bytes, seq: int, on: bool, now_ms: int) -> None:
        if on:
            self.conn.execute(
                "INSERT OR IGNORE INTO bookmarks VALUES (?, ?, ?)", (author, seq, now_ms)
            )
        else:
            self.conn.execute("DELETE FROM bookmarks WHERE author=? AND seq=?", (author, seq))

    def bookmarks(self) -> list[PostKey]:
        """Bookmarked (author, seq), most recently bookmarked first."""
        rows = self.conn.execute("SELECT author, seq FROM bookmarks ORDER BY added_ms DESC")
        return [(bytes(a), int(s)) for a, s in rows]

    def bookmark_times(self) -> dict[PostKey, int]:
        """When each bookmarked (author, seq) was bookmarked."""
        rows = self.conn.execute("SELECT author, seq, added_ms FROM bookmarks")
        return {(bytes(a), int(s)): int(t) for a, s, t in rows}

    # --- mutes ---------------------------------------------------------------

    def set_muted(self, key: bytes, on: bool, now_ms: int) -> None:
        if on:
            self.conn.execute("INSERT OR IGNORE INTO muted VALUES (?, ?)", (key, now_ms))
        else:
            self.conn.execute("DELETE FROM muted WHERE key=?", (key,))

    def muted(self) -> frozenset[bytes]:
        return frozenset(bytes(r[0]) for r in self.conn.execute("SELECT key FROM muted"))

    # --- blocks and accepted people ---------------------------------------------

    def set_blocked(self, key: bytes, on: bool, now_ms: int) -> None:
        """Block (or unblock) a feed: it is then neither stored, served nor shown."""
        if on:
            self.conn.execute("INSERT OR IGNORE INTO blocked VALUES (?, ?)", (key, now_ms))
            self.conn.execute("DELETE FROM accepted WHERE key=?", (key,))
        else:
            self.conn.execute("DELETE FROM blocked WHERE key=?", (key,))
        self._blocked = None

    def blocked(self) -> frozenset[bytes]:
        """Blocked feeds. Cached: the network asks for every batch it serves or stores."""
        if self._blocked is None:
            rows = self.conn.execute("SELECT key FROM blocked")
            self._blocked = frozenset(bytes(r[0]) for r in rows)
        return self._blocked

    def set_accepted(self, key: bytes, on: bool, now_ms: int) -> None:
        """Show (or stop showing) this person's replies and mentions outside Requests."""
        if on:
            self.conn.execute("INSERT OR IGNORE INTO accepted VALUES (?, ?)", (key, now_ms))
        else:
            self.conn.execute("DELETE FROM accepted WHERE key=?", (key,))

    def accepted(self) -> frozenset[bytes]:
        return frozenset(bytes(r[0]) for r in self.conn.execute("SELECT key FROM accepted"))

    # --- nicknames ----------------------------------------------------------------

    def set_nickname(self, key: bytes, name: str | None, now_ms: int) -> None:
        """Call ``key`` ``name`` on this device (None: by their own name again)."""
        if name:
            self.conn.execute(
                "INSERT OR REPLACE INTO nicknames VALUES (?, ?, ?)", (key, name, now_ms)
            )
        else:
            self.conn.execute("DELETE FROM nicknames WHERE key=?", (key,))
        self._nicknames = None

    def nicknames(self) -> dict[bytes, str]:
        """Every nickname by key (cached: each list of posts asks). Do not modify."""
        if self._nicknames is None:
            rows = self.conn.execute("SELECT key, name FROM nicknames")
            self._nicknames = {bytes(k): str(n) for k, n in rows}
        return self._nicknames

    # --- per-author read marks --------------------------------------------------

    def set_read_mark(self, key: bytes, mark_ms: int) -> None:
        """Everything ``key`` claimed up to ``mark_ms`` is read (on top of the overall mark)."""
        self.conn.execute(
            "INSERT INTO read_marks VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
            "mark_ms = excluded.mark_ms WHERE excluded.mark_ms > read_marks.mark_ms",
            (key, mark_ms),
        )

    def read_marks(self) -> dict[bytes, int]:
        rows = self.conn.execute("SELECT key, mark_ms FROM read_marks")
        return {bytes(k): int(m) for k, m in rows}

    def clear_read_marks(self) -> None:
        """After "mark all read" the overall mark covers every author's."""
        self.conn.execute("DELETE FROM read_marks")

    # --- follows and sync ----------------------------------------------------

    def set_follow_source(self, key: bytes, source: str, now_ms: int, name: str | None) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO follow_sources VALUES (?, ?, ?, ?)",
            (key, source, now_ms, name),
        )

    def follow_source(self, key: bytes) -> tuple[str, str | None] | None:
        """How ``key`` was followed here, and the name its share link suggested."""
        row = self.conn.execute(
            "SELECT source, name FROM follow_sources WHERE key=?", (key,)
        ).fetchone()
        return None if row is None else (str(row[0]), row[1])

    def set_synced(self, key: bytes, now_ms: int) -> None:
        self.conn.execute("INSERT OR REPLACE INTO synced VALUES (?, ?)", (key, now_ms))

    def last_synced(self, key: bytes) -> int | None:
        row = self.conn.execute("SELECT last_ms FROM synced WHERE key=?", (key,)).fetchone()
        return None if row is None else int(row[0])

    def set_holds(self, peer: bytes, feed: bytes, height: int) -> bool:
        """Record that ``peer`` holds ``feed`` up to ``height``; True if that is news."""
        row = self.conn.execute(
            "SELECT height FROM holds WHERE peer=? AND feed=?", (peer, feed)
        ).fetchone()
        if row is not None and int(row[0]) >= height:
            return False
        self.conn.execute("INSERT OR REPLACE INTO holds VALUES (?, ?, ?)", (peer, feed, height))
        return True

    def holder_heights(self, feed: bytes) -> list[int]:
        """How far each peer known to hold ``feed`` holds it."""
        rows = self.conn.execute("SELECT height FROM holds WHERE feed=?", (feed,))
        return [int(r[0]) for r in rows]

    # --- thread totals ------------------------------------------------------------

    def thread_total(self, root_id: bytes) -> int:
        """How many replies under ``root_id`` peers last said they show (0: not asked)."""
        row = self.conn.execute(
            "SELECT reported FROM thread_totals WHERE root=?", (root_id,)
        ).fetchone()
        return 0 if row is None else int(row[0])

    def keep_thread_total(self, root_id: bytes, reported: int, now_ms: int) -> None:
        """Peers answered a fetch of ``root_id``'s thread, the most saying ``reported``:
        it replaces what an earlier fetch said (replies may have been deleted since).
        Written only when it changed; at most MAX_THREAD_TOTALS threads are kept."""
        if self.conn.execute(
            "SELECT 1 FROM thread_totals WHERE root=? AND reported=?", (root_id, reported)
        ).fetchone():
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.execute(
                "INSERT OR REPLACE INTO thread_totals VALUES (?, ?, ?)",
                (root_id, reported, now_ms),
            )
            self.conn.execute(
                "DELETE FROM thread_totals WHERE root IN (SELECT root FROM thread_totals "
                "ORDER BY asked_ms DESC LIMIT -1 OFFSET ?)",
                (MAX_THREAD_TOTALS,),
            )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
