"""Inbox quotas: how much people beyond the owner's follow hops may put in this store.

Anyone can address anyone, and keys cost nothing, so what strangers send is bounded
here (docs/protocol.md 28.6). The owner's **circle** is the owner, everyone within two
follow hops (followed, or followed by someone followed) and everyone the owner accepted.
For an entry by an author outside the circle:

* addressed to the owner, it is a **request**: stored only while the owner's inbox has
  room for the day, at most ``REQUESTS_PER_DAY`` entries and ``REQUEST_BYTES_PER_DAY``
  bytes (entry and payload) received in any 24 hours, counted over every stranger
  together (a fresh key starts with no quota of its own). What does not fit is not
  stored, and no one is blamed: catch-up offers it again later;
* addressed to other people only (a notice a follower would keep for the person it
  follows), it is not stored: followers keep notices only from their own circle; except
  an answer to a held question of someone the owner follows, which is part of the
  question's thread and is kept like a request (within the same quota);
* a reply fetched with its thread (docs/protocol.md 32.3) counts as a request too,
  whoever it addresses;
* anything else (a shared or replied-to entry fetched as context) is stored as usual.

Requests **expire**: after ``REQUEST_DAYS`` days, or sooner when more than
``MAX_REQUESTS`` are held (the oldest first), the entry is forgotten: hidden, its payload
purged from the log (:mod:`lndesk.store.forget`). A feed held only as requests is
neither served to peers nor provided in the DHT, so strangers cannot use the owner's
node to publish. Accepting an author (or following someone who follows them) brings
them into the circle: from then on nothing here applies to them.

The ledger of requests lives in the device's local state (``local.sqlite3``).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from lndesk.content import Reply, addressed_keys, parse_content
from lndesk.entry import decode_entry
from lndesk.errors import EntryError
from lndesk.store.learning import is_within_two_hops, within_two_hops
from lndesk.store.store import Store, now_ms
from lndesk.store.threads import has_answered, is_question

log = logging.getLogger(__name__)

REQUESTS_PER_DAY = 50
"""Entries from outside the circle stored per inbox in any 24 hours."""
REQUEST_BYTES_PER_DAY = 512 * 1024
"""Bytes (entries and payloads) from outside the circle stored per inbox in any 24 hours."""
REQUEST_DAYS = 30
"""A request older than this (by the time it was received) expires."""
MAX_REQUESTS = 500
"""At most this many requests are held; beyond it the oldest expire."""
DAY_MS = 24 * 60 * 60 * 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox_requests (
    author BLOB NOT NULL,
    seq INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    size INTEGER NOT NULL,                 -- entry and payload bytes
    expired INTEGER NOT NULL DEFAULT 0,    -- forgotten: its payload was purged
    PRIMARY KEY (author, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS inbox_requests_by_time ON inbox_requests (received_ms);
"""

Items = Sequence[tuple[bytes, bytes | None]]


@dataclass(frozen=True, slots=True)
class Quota:
    per_day: int = REQUESTS_PER_DAY
    bytes_per_day: int = REQUEST_BYTES_PER_DAY
    days: int = REQUEST_DAYS
    held: int = MAX_REQUESTS


class InboxGate:
    """Decides which entries from outside the owner's circle are stored (module doc)."""

    def __init__(
        self,
        store: Store,
        conn: sqlite3.Connection,
        own: bytes,
        accepted: Callable[[], frozenset[bytes]],
        *,
        quota: Quota | None = None,
        clock: Callable[[], int] = now_ms,
        pseudonyms: Callable[[], frozenset[bytes]] = frozenset,
    ) -> None:
        """``pseudonyms`` are the owner's other identities (lndesk.app.pseudonyms): what
        addresses them is kept as what addresses the owner, and they are in the circle."""
        self.store = store
        self.conn = conn
        self.own = own
        self._pseudonyms = pseudonyms
        self._accepted = accepted
        self.quota = quota or Quota()
        self._clock = clock
        conn.executescript(_SCHEMA)

    def accepted(self) -> frozenset[bytes]:
        """The people the owner accepted."""
        return self._accepted()

    def admit_replies(self, key: bytes, items: Items) -> list[tuple[int, int]] | None:
        """:meth:`admit` for replies a thread server named: every one by an author
        outside the circle is counted as a request, whoever it addresses (None: no room
        today)."""
        if self.in_circle(key):
            return []
        requests = [
            (decode_entry(raw).seq, len(raw) + len(payload or b"")) for raw, payload in items
        ]
        if not self._room(key, requests):
            log.info("inbox quota for today reached: not storing %d thread replies", len(requests))
            return None
        return requests

    def circle(self) -> frozenset[bytes]:
        """The owner, everyone within two follow hops, everyone accepted, and the owner's
        pseudonyms."""
        mine = self._pseudonyms() | {self.own}
        return within_two_hops(self.store, self.own) | self._accepted() | mine

    def in_circle(self, key: bytes) -> bool:
        """``key in self.circle()``, by look-ups (cheap for every synced batch)."""
        return (
            key == self.own
            or key in self._accepted()
            or key in self._pseudonyms()
            or is_within_two_hops(self.store, self.own, key)
        )

    def admit(self, key: bytes, items: Items) -> list[tuple[int, int]] | None:
        """Whether ``key``'s entries ``items`` may be stored: None if not; else the
        (seq, size) of those that are requests, to :meth:`record` once stored."""
        if self.in_circle(key):
            return []
        requests: list[tuple[int, int]] = []
        others = False
        followed: set[bytes] | None = None
        mine = self._pseudonyms() | {self.own}
        for raw, payload in items:
            addressed = _addressed(raw, payload)
            size = len(raw) + len(payload or b"")
            if addressed & mine:
                requests.append((decode_entry(raw).seq, size))
            elif addressed:
                if followed is None:
                    followed = set(self.store.following(self.own))
                if self._answers_followed(raw, payload, followed):
                    requests.append((decode_entry(raw).seq, size))
                else:
                    others = others or bool(addressed & followed)
        if others and not requests:
            log.debug("not keeping a notice of an author outside the circle")
            return None
        if requests and not self._room(key, requests):
            log.info("inbox quota for today reached: not storing %d requests", len(requests))
            return None
        return requests

    def _answers_followed(self, raw: bytes, payload: bytes | None, followed: set[bytes]) -> bool:
        """Whether the entry answers a held question of someone the owner follows: it is
        part of the thread its asker shows (docs/protocol.md 32.5), so a follower keeps
        it, within the quota of requests."""
        if payload is None:
            return False
        try:
            content = parse_content(decode_entry(raw).type, payload)
        except EntryError:
            return False
        return (
            isinstance(content, Reply)
            and content.root.author in followed
            and is_question(self.store, content.root)
        )

    def record(self, key: bytes, requests: Iterable[tuple[int, int]]) -> None:
        """Count stored requests against the quota."""
        now = self._clock()
        self.conn.executemany(
            "INSERT OR IGNORE INTO inbox_requests(author, seq, received_ms, size) "
            "VALUES (?, ?, ?, ?)",
            [(key, seq, now, size) for seq, size in requests],
        )
        self.expire()  # over MAX_REQUESTS now: the oldest go

    def serves(self, key: bytes) -> bool:
        """False for a feed held only as requests: not served, not provided. An author
        who answered one of the owner's questions is served: the answer is part of the
        thread the owner shows (docs/protocol.md 32.5)."""
        return (
            not self._request_author(key)
            or self.in_circle(key)
            or any(has_answered(self.store, own, key) for own in self._owners())
        )

    def unserved(self) -> frozenset[bytes]:
        """Every feed held only as requests (answers to the owner's questions are not)."""
        authors = {bytes(r[0]) for r in self.conn.execute("SELECT author FROM inbox_requests")}
        left = authors - self.circle() if authors else set()
        owners = self._owners()
        return frozenset(
            k for k in left if not any(has_answered(self.store, own, k) for own in owners)
        )

    def _owners(self) -> list[bytes]:
        """The owner and their pseudonyms: whose questions' answers are served."""
        return [self.own, *sorted(self._pseudonyms() - {self.own})]

    def _request_author(self, key: bytes) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM inbox_requests WHERE author = ? LIMIT 1", (key,)
        ).fetchone()
        return row is not None

    def _room(self, key: bytes, requests: list[tuple[int, int]]) -> bool:
        self.expire()
        since = self._clock() - DAY_MS
        held = {
            int(seq)
            for (seq,) in self.conn.execute(
                "SELECT seq FROM inbox_requests WHERE author = ?", (key,)
            )
        }
        fresh = [(seq, size) for seq, size in requests if seq not in held]
        count, size = self.conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM inbox_requests WHERE received_ms > ?",
            (since,),
        ).fetchone()
        return (
            int(count) + len(fresh) <= self.quota.per_day
            and int(size) + sum(s for _, s in fresh) <= self.quota.bytes_per_day
        )

    def expire(self) -> int:
        """Forget requests older than ``REQUEST_DAYS`` and those over ``MAX_REQUESTS``
        (the oldest); returns how many were forgotten. Requests of authors who joined
        the circle meanwhile are kept (they are no longer requests)."""
        cutoff = self._clock() - self.quota.days * DAY_MS
        rows = self.conn.execute(
            "SELECT author, seq, received_ms FROM inbox_requests WHERE expired = 0 "
            "ORDER BY received_ms DESC, author, seq"
        ).fetchall()
        circle = self.circle() if rows else frozenset()
        live = [(bytes(a), int(s), int(t)) for a, s, t in rows if bytes(a) not in circle]
        doomed = [
            (author, seq)
            for number, (author, seq, received) in enumerate(live)
            if received < cutoff or number >= self.quota.held
        ]
        by_author: dict[bytes, list[int]] = {}
        for author, seq in doomed:
            by_author.setdefault(author, []).append(seq)
        for author, seqs in by_author.items():
            self.store.forget(author, seqs)
            self.conn.executemany(
                "UPDATE inbox_requests SET expired = 1 WHERE author = ? AND seq = ?",
                [(author, seq) for seq in seqs],
            )
        if doomed:
            log.info("forgot %d expired requests", len(doomed))
        return len(doomed)


def _addressed(raw: bytes, payload: bytes | None) -> frozenset[bytes]:
    if payload is None:
        return frozenset()
    try:
        entry = decode_entry(raw)
        return addressed_keys(parse_content(entry.type, payload), entry.author)
    except EntryError:
        return frozenset()
