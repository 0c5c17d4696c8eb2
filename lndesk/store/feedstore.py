"""Followed web feeds and their items, in this device's ``feeds.sqlite3``.

Subscriptions are private: nothing here is published, announced or derivable from any
log, so the file is written with full durability and kept apart from the rebuildable
index (``lndesk reindex`` never touches it). Items get what posts get: full-text search,
unread marks, bookmarks and tags. Items are deduplicated per feed by guid, then by link
(or enclosure) and title, so a feed that changes its guids does not repeat itself.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

from lndesk.content_fields import normalize_tag
from lndesk.errors import ContentError, StoreError, UsageError
from lndesk.store.feedrecords import (
    ITEM_COLUMNS,
    NEWEST_ITEM,
    SUB_COLUMNS,
    Added,
    Applied,
    ItemCursor,
    StoredItem,
    Subscription,
    item_of_row,
    subscription_of_row,
)
from lndesk.store.migrations import FEED_MIGRATIONS
from lndesk.store.schema_version import apply_migrations
from lndesk.store.search import match_expression
from lndesk.webfeeds import MAX_FEEDS, FeedItem

log = logging.getLogger(__name__)

FEEDS_NAME = "feeds.sqlite3"


def _newer(path: Path, version: int, known: int) -> StoreError:
    return StoreError(
        f"the web feeds file {path} was written by a newer lndesk (schema {version}, this one "
        f"knows {known})",
        "Upgrade lndesk to read the web feeds you follow.",
    )


class FeedStore:
    """The feeds file of one data directory. Use from one thread at a time."""

    def __init__(self, directory: Path, *, in_memory: bool = False) -> None:
        path = Path(":memory:") if in_memory else directory / FEEDS_NAME
        self.path = path
        try:
            self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            apply_migrations(self.conn, FEED_MIGRATIONS, lambda v, k: _newer(path, v, k))
        except StoreError:
            self.conn.close()
            raise
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise StoreError(
                f"the web feeds file {path} cannot be opened: {exc}",
                "With lndesk closed, move the file into another folder; you then follow no "
                "web feeds until you add them again (lndesk feeds import FILE reads an OPML "
                "file of them).",
            ) from exc

    def close(self) -> None:
        self.conn.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One transaction (the connection is in autocommit mode: ``with conn`` alone
        would commit, and fsync, each statement on its own)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # --- subscriptions ----------------------------------------------------------------

    def count(self) -> int:
        """How many web feeds are followed."""
        return int(self.conn.execute("SELECT count(*) FROM subscriptions").fetchone()[0])

    def check_room(self) -> None:
        """UsageError if :data:`~lndesk.webfeeds.MAX_FEEDS` web feeds are followed."""
        if self.count() >= MAX_FEEDS:
            raise UsageError(
                f"you follow {MAX_FEEDS:,} web feeds, the most one data directory can follow",
                "Remove web feeds you no longer read (lndesk feeds list shows their numbers, "
                "lndesk feeds remove NUMBER removes one; or Remove on the Following screen), "
                "then follow this one again.",
            )

    def add(self, url: str, now_ms: int, *, title: str = "", added_url: str = "") -> Subscription:
        """Follow the web feed at ``url`` (polled at once). UsageError if it is followed,
        or if :data:`~lndesk.webfeeds.MAX_FEEDS` are."""
        if self.find(url) is not None:
            raise UsageError(
                f"you already follow the web feed {url}",
                "See the web feeds you follow: lndesk feeds list",
            )
        self.check_room()
        cur = self.conn.execute(
            "INSERT INTO subscriptions (url, added_url, title, added_ms) VALUES (?, ?, ?, ?)",
            (url, added_url or url, title, now_ms),
        )
        log.info("following the feed %s", url)
        return self.subscription(int(cur.lastrowid or 0))

    def add_new(self, feeds: Iterable[tuple[str, str]], now_ms: int) -> Added:
        """Follow each web feed (url, title) of ``feeds`` not followed yet, in their order,
        until :data:`~lndesk.webfeeds.MAX_FEEDS` are followed; all in one transaction with
        one look at what is followed (an OPML file may list 200,000; one :meth:`add` each
        would commit, and scan ``added_url``, 200,000 times)."""
        added = 0
        over: set[str] = set()
        with self._transaction():
            room = MAX_FEEDS - self.count()
            known = {
                url
                for (url,) in self.conn.execute(
                    "SELECT url FROM subscriptions UNION SELECT added_url FROM subscriptions"
                )
            }
            for url, title in feeds:
                if url not in known and added >= room:
                    over.add(url)
                elif url not in known:
                    self.conn.execute(
                        "INSERT INTO subscriptions (url, added_url, title, added_ms) "
                        "VALUES (?, ?, ?, ?)",
                        (url, url, title, now_ms),
                    )
                    known.add(url)
                    added += 1
        log.info("following %d web feeds more (%d over the limit)", added, len(over))
        return Added(added, len(over))

    def find(self, url: str) -> Subscription | None:
        row = self.conn.execute(
            f"SELECT {SUB_COLUMNS} FROM subscriptions WHERE url = ? OR added_url = ?",  # noqa: S608
            (url, url),
        ).fetchone()
        return None if row is None else subscription_of_row(row)

    def subscription(self, sub: int) -> Subscription:
        row = self.conn.execute(
            f"SELECT {SUB_COLUMNS} FROM subscriptions WHERE sub = ?",  # noqa: S608
            (sub,),
        ).fetchone()
        if row is None:
            raise UsageError(
                "that web feed is not followed (any more)",
                "See the web feeds you follow: lndesk feeds list",
            )
        return subscription_of_row(row)

    def subscriptions(self) -> list[Subscription]:
        rows = self.conn.execute(
            f"SELECT {SUB_COLUMNS} FROM subscriptions ORDER BY title COLLATE NOCASE, url"  # noqa: S608
        )
        return [subscription_of_row(r) for r in rows]

    def remove(self, sub: int) -> None:
        """Unfollow: the feed and its items go (bookmarked ones too)."""
        with self._transaction():
            self.conn.execute(
                "DELETE FROM item_search WHERE rowid IN (SELECT item FROM items WHERE sub = ?)",
                (sub,),
            )
            self.conn.execute("DELETE FROM subscriptions WHERE sub = ?", (sub,))

    def due(self, now_ms: int) -> list[Subscription]:
        rows = self.conn.execute(
            f"SELECT {SUB_COLUMNS} FROM subscriptions WHERE paused IS NULL AND next_ms <= ? "  # noqa: S608
            "ORDER BY next_ms",
            (now_ms,),
        )
        return [subscription_of_row(r) for r in rows]

    def next_due_ms(self) -> int | None:
        row = self.conn.execute(
            "SELECT min(next_ms) FROM subscriptions WHERE paused IS NULL"
        ).fetchone()
        return None if row[0] is None else int(row[0])

    def fetched(
        self,
        sub: int,
        now_ms: int,
        next_ms: int,
        *,
        etag: str | None,
        last_modified: str | None,
        url: str | None = None,
        title: str | None = None,
        site: str | None = None,
    ) -> None:
        """A fetch succeeded (200 or 304): new validators, and ``url`` if it moved."""
        with self._transaction():
            self.conn.execute(
                "UPDATE subscriptions SET etag = ?, last_modified = ?, last_fetch_ms = ?, "
                "last_ok_ms = ?, error = NULL, failures = 0, next_ms = ?, take_all = 0, "
                "title = CASE WHEN ? IS NULL OR ? = '' THEN title ELSE ? END, "
                "site = coalesce(?, site) WHERE sub = ?",
                (etag, last_modified, now_ms, now_ms, next_ms, title, title, title, site, sub),
            )
            if url is not None and self.find(url) is None:
                log.info("feed %d moved permanently to %s", sub, url)
                self.conn.execute("UPDATE subscriptions SET url = ? WHERE sub = ?", (url, sub))

    def failed(self, sub: int, now_ms: int, next_ms: int, error: str) -> None:
        self.conn.execute(
            "UPDATE subscriptions SET last_fetch_ms = ?, error = ?, failures = failures + 1, "
            "next_ms = ? WHERE sub = ?",
            (now_ms, error, next_ms, sub),
        )

    def pause(self, sub: int, now_ms: int, why: str, moved_to: str | None = None) -> None:
        log.info("feed %d paused: %s", sub, why)
        self.conn.execute(
            "UPDATE subscriptions SET paused = ?, moved_to = ?, last_fetch_ms = ? WHERE sub = ?",
            (why, moved_to, now_ms, sub),
        )

    def resume(self, sub: int) -> Subscription:
        """Poll again at once; take what made it pause (all new items, or the new site)."""
        found = self.subscription(sub)
        with self._transaction():
            if found.moved_to and self.find(found.moved_to) is None:
                self.conn.execute(
                    "UPDATE subscriptions SET url = ?, etag = NULL, last_modified = NULL "
                    "WHERE sub = ?",
                    (found.moved_to, sub),
                )
            self.conn.execute(
                "UPDATE subscriptions SET paused = NULL, moved_to = NULL, next_ms = 0, "
                "take_all = ? WHERE sub = ?",
                (int(found.paused is not None), sub),
            )
        return self.subscription(sub)

    def refresh_now(self, sub: int | None = None) -> None:
        """Make a feed (every feed) due now."""
        self.conn.execute(
            "UPDATE subscriptions SET next_ms = 0 WHERE (? IS NULL OR sub = ?)", (sub, sub)
        )

    # --- items ------------------------------------------------------------------------

    def _existing(self, sub: int, item: FeedItem) -> tuple[int, str, str, str] | None:
        row = None
        if item.guid:
            row = self.conn.execute(
                "SELECT item, guid, title, text FROM items WHERE sub = ? AND guid = ?",
                (sub, item.guid),
            ).fetchone()
        if row is None:
            row = self.conn.execute(
                "SELECT item, guid, title, text FROM items WHERE sub = ? AND match_key = ? "
                "ORDER BY item LIMIT 1",
                (sub, item.match_key),
            ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]), str(row[2]), str(row[3]))

    def apply(
        self,
        sub: int,
        items: Iterable[FeedItem],
        now_ms: int,
        *,
        flood_limit: int | None,
        first_limit: int,
        first_unread: int | None = None,
    ) -> Applied:
        """Store a fetched document's items. On a feed's first fetch at most
        ``first_limit`` (the newest), of which only the newest ``first_unread`` are unread
        (None: all); later, more than ``flood_limit`` new items store nothing (the caller
        pauses the feed), unless None."""
        first = self.conn.execute(
            "SELECT NOT EXISTS (SELECT 1 FROM items WHERE sub = ?)", (sub,)
        ).fetchone()[0]
        fresh: list[FeedItem] = []
        changed: list[tuple[int, FeedItem]] = []
        seen_keys: set[str] = set()
        for item in items:
            key = item.guid or item.match_key
            if key in seen_keys:
                continue
            seen_keys.add(key)
            found = self._existing(sub, item)
            if found is None:
                fresh.append(item)
            elif (found[1], found[2], found[3]) != (item.guid or found[1], item.title, item.text):
                changed.append((found[0], item))
        unread = len(fresh)
        if first:
            fresh.sort(key=lambda i: i.published_ms or 0, reverse=True)
            fresh = fresh[:first_limit]
            unread = len(fresh) if first_unread is None else first_unread
        elif flood_limit is not None and len(fresh) > flood_limit:
            return Applied(0, 0, flood=len(fresh))
        with self._transaction():
            for number, item in changed:
                guid_taken = (
                    item.guid
                    and self.conn.execute(
                        "SELECT 1 FROM items WHERE sub = ? AND guid = ? AND item != ?",
                        (sub, item.guid, number),
                    ).fetchone()
                )
                self.conn.execute(
                    "UPDATE items SET guid = CASE WHEN ? THEN guid ELSE ? END, title = ?, "
                    "text = ?, match_key = ? WHERE item = ?",
                    (
                        bool(guid_taken) or not item.guid,
                        item.guid,
                        item.title,
                        item.text,
                        item.match_key,
                        number,
                    ),
                )
                self.conn.execute(
                    "UPDATE item_search SET title = ?, text = ? WHERE rowid = ?",
                    (item.title, item.text, number),
                )
            for position, item in enumerate(fresh):
                published = min(item.published_ms or now_ms, now_ms)
                encl = json.dumps(
                    [[e.url, e.mime, e.length, e.duration_s] for e in item.enclosures]
                )
                cur = self.conn.execute(
                    "INSERT INTO items (sub, guid, match_key, link, title, text, author, "
                    "enclosures, published_ms, seen_ms, read) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        sub,
                        item.guid,
                        item.match_key,
                        item.link,
                        item.title,
                        item.text,
                        item.author,
                        encl,
                        published,
                        now_ms,
                        int(position >= unread),
                    ),
                )
                self.conn.execute(
                    "INSERT INTO item_search (rowid, title, text) VALUES (?, ?, ?)",
                    (cur.lastrowid, item.title, item.text),
                )
        return Applied(len(fresh), len(changed))

    def page(
        self,
        before: ItemCursor = NEWEST_ITEM,
        limit: int = 50,
        *,
        sub: int | None = None,
        unread: bool = False,
        bookmarked: bool = False,
        tag: str | None = None,
    ) -> list[StoredItem]:
        """Items older than ``before``, newest first, filtered."""
        where = ["(i.published_ms, i.item) < (?, ?)"]
        params: list[object] = [before[0], before[1]]
        if sub is not None:
            where.append("i.sub = ?")
            params.append(sub)
        if unread:
            where.append("i.read = 0")
        if bookmarked:
            where.append("i.bookmarked_ms IS NOT NULL")
        if tag is not None:
            where.append("i.item IN (SELECT item FROM item_tags WHERE tag = ?)")
            params.append(normalize_tag(tag))
        rows = self.conn.execute(
            f"SELECT {ITEM_COLUMNS} FROM items i JOIN subscriptions s ON s.sub = i.sub "  # noqa: S608
            f"WHERE {' AND '.join(where)} ORDER BY i.published_ms DESC, i.item DESC LIMIT ?",
            (*params, limit),
        )
        return [item_of_row(r) for r in rows]

    def get(self, item: int) -> StoredItem:
        row = self.conn.execute(
            f"SELECT {ITEM_COLUMNS} FROM items i JOIN subscriptions s ON s.sub = i.sub "  # noqa: S608
            "WHERE i.item = ?",
            (item,),
        ).fetchone()
        if row is None:
            raise UsageError(
                "that item is no longer stored (its web feed was unfollowed)",
                "See the web feeds you follow: lndesk feeds list",
            )
        return item_of_row(row)

    def search(
        self,
        text: str,
        limit: int = 50,
        *,
        offset: int = 0,
        tag: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        bookmarked: bool = False,
    ) -> list[StoredItem]:
        """Items whose title or text match ``text`` (words, "phrases", a last prefix;
        empty: every item), newest first, narrowed by an item tag, published times
        (inclusive) and bookmarks; ``limit`` of them after skipping ``offset``."""
        where: list[str] = []
        params: list[object] = []
        if text.strip():
            expression = match_expression(text)
            if expression is None:
                return []
            where.append("i.item IN (SELECT rowid FROM item_search WHERE item_search MATCH ?)")
            params.append(expression)
        if tag is not None:
            where.append("i.item IN (SELECT item FROM item_tags WHERE tag = ?)")
            params.append(normalize_tag(tag))
        if since_ms is not None:
            where.append("i.published_ms >= ?")
            params.append(since_ms)
        if until_ms is not None:
            where.append("i.published_ms <= ?")
            params.append(until_ms)
        if bookmarked:
            where.append("i.bookmarked_ms IS NOT NULL")
        rows = self.conn.execute(
            f"SELECT {ITEM_COLUMNS} FROM items i JOIN subscriptions s ON s.sub = i.sub "  # noqa: S608
            f"WHERE {' AND '.join(where) or '1'} "
            "ORDER BY i.published_ms DESC, i.item DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [item_of_row(r) for r in rows]

    def set_read(self, item: int, read: bool = True) -> None:
        self.conn.execute("UPDATE items SET read = ? WHERE item = ?", (int(read), item))

    def mark_all_read(self, sub: int | None = None) -> int:
        cur = self.conn.execute(
            "UPDATE items SET read = 1 WHERE read = 0 AND (? IS NULL OR sub = ?)", (sub, sub)
        )
        return cur.rowcount

    def mark_read_until(self, ms: int) -> int:
        """Items published up to ``ms`` count as read (the timeline's read mark)."""
        cur = self.conn.execute(
            "UPDATE items SET read = 1 WHERE read = 0 AND published_ms <= ?", (ms,)
        )
        return cur.rowcount

    def unread_counts(self) -> dict[int, int]:
        rows = self.conn.execute("SELECT sub, count(*) FROM items WHERE read = 0 GROUP BY sub")
        return {int(s): int(n) for s, n in rows}

    def item_counts(self) -> dict[int, int]:
        rows = self.conn.execute("SELECT sub, count(*) FROM items GROUP BY sub")
        return {int(s): int(n) for s, n in rows}

    def bookmarked(self, limit: int) -> list[tuple[int, StoredItem]]:
        """Bookmarked items with when they were bookmarked, most recently first."""
        rows = self.conn.execute(
            f"SELECT i.bookmarked_ms, {ITEM_COLUMNS} FROM items i "  # noqa: S608
            "JOIN subscriptions s ON s.sub = i.sub WHERE i.bookmarked_ms IS NOT NULL "
            "ORDER BY i.bookmarked_ms DESC, i.item DESC LIMIT ?",
            (limit,),
        )
        return [(int(r[0]), item_of_row(r[1:])) for r in rows]

    def set_bookmark(self, item: int, on: bool, now_ms: int) -> None:
        self.conn.execute(
            "UPDATE items SET bookmarked_ms = ? WHERE item = ?", (now_ms if on else None, item)
        )

    def set_tags(self, item: int, tags: Iterable[str]) -> tuple[str, ...]:
        """Replace the item's own tags (local, never published); returns them normalised."""
        try:
            normal = tuple(dict.fromkeys(normalize_tag(t) for t in tags if t.strip()))
        except ContentError as exc:
            raise UsageError(exc.message, "Tags are words; use letters, digits, - and _.") from exc
        self.get(item)
        with self._transaction():
            self.conn.execute("DELETE FROM item_tags WHERE item = ?", (item,))
            self.conn.executemany(
                "INSERT INTO item_tags (tag, item) VALUES (?, ?)", [(t, item) for t in normal]
            )
        return normal

    def tags(self, item: int) -> tuple[str, ...]:
        rows = self.conn.execute("SELECT tag FROM item_tags WHERE item = ? ORDER BY tag", (item,))
        return tuple(str(r[0]) for r in rows)


__all__ = [
    "FEEDS_NAME",
    "NEWEST_ITEM",
    "Added",
    "Applied",
    "FeedStore",
    "ItemCursor",
    "StoredItem",
    "Subscription",
]
