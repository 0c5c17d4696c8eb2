"""What the app's lists show of the stored entries: one definition for every query.

Lists show posts, replies, shares and reading lists that are not deleted and not
claimed too far in the future; of a reading list only its current state (the version
with the highest seq: an update shows the list again, at the update's time).
"""

from __future__ import annotations

from collections.abc import Iterable

from lndesk.store import reading
from lndesk.store.ingest import FUTURE_HOLD_MS
from lndesk.store.reading import StoreReader

SHOWN_TYPES = ("post", "reply", "share", "readinglist", "webshare")
_TYPES = ", ".join(f"'{t}'" for t in SHOWN_TYPES)
SHOWN_SQL = (
    f"e.deleted = 0 AND e.type IN ({_TYPES}) AND +e.claimed_ms <= ? AND (e.type != "  # noqa: S608
    "'readinglist' OR EXISTS (SELECT 1 FROM lists l WHERE l.feed = e.feed "
    "AND l.latest_seq = e.seq))"
)
"""The test every shown entry ``e`` passes; its one parameter is :func:`visible_until`.
The unary + leaves the choice of an index to each list's own terms (the timeline's
cursor, an inbox's table): "not in the future" alone would walk every entry by time."""


def visible_until() -> int:
    """Entries claimed later than this are held back (the clock is read through the
    reading module, so every list and the store agree on "now")."""
    return reading.now_ms() + FUTURE_HOLD_MS


def feed_ids(store: StoreReader, keys: Iterable[bytes]) -> list[int]:
    """The index's feed numbers of those keys it knows (unknown keys are left out)."""
    ids = []
    for key in keys:
        row = store.index.conn.execute("SELECT feed FROM feeds WHERE key=?", (key,)).fetchone()
        if row is not None:
            ids.append(int(row[0]))
    return ids


def feed_id(store: StoreReader, key: bytes) -> int:
    """The feed number of ``key``, or -1 (which no entry has) if it is not known."""
    found = feed_ids(store, [key])
    return found[0] if found else -1


def marks(count: int) -> str:
    """``?, ?, ?``: placeholders for an IN list (SQLite takes an empty one: ``IN ()`` is
    false, ``NOT IN ()`` true)."""
    return ", ".join("?" * count)
