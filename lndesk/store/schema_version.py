"""The one runner of numbered SQLite migrations, for every database lndesk keeps.

Migration N brings ``PRAGMA user_version`` from N-1 to N, in one transaction with the
version bump, so a crash leaves the database at N-1 or N, never between. A database whose
version is higher than the migrations known here was written by a newer lndesk: it is
refused with the caller's error (what the file holds and what to do), never opened half
understood.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

from lndesk.errors import StoreError

NewerError = Callable[[int, int], StoreError]
"""(version found, newest version known here) -> the error to raise."""


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def apply_migrations(
    conn: sqlite3.Connection, migrations: Sequence[str], newer: NewerError
) -> None:
    """Apply the migrations ``conn`` lacks, in order; ``newer`` if it is ahead of them."""
    version = schema_version(conn)
    known = len(migrations)
    if version > known:
        raise newer(version, known)
    for number in range(version + 1, known + 1):
        script = f"BEGIN; {migrations[number - 1]} PRAGMA user_version={number}; COMMIT;"
        try:
            conn.executescript(script)
        except sqlite3.Error:
            if conn.in_transaction:
                conn.rollback()
            raise
