"""The records of the web feeds file (:mod:`lndesk.store.feedstore`): a subscription, a
stored item, what an import added and what a fetch applied, and how rows become them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from lndesk.webfeeds import Enclosure

ItemCursor = tuple[int, int]
"""(published_ms, item): items are listed newest first by it."""
NEWEST_ITEM: ItemCursor = (2**63 - 1, 0)

SUB_COLUMNS = (
    "sub, url, added_url, title, site, added_ms, etag, last_modified, last_fetch_ms, "
    "last_ok_ms, error, failures, next_ms, paused, moved_to, take_all"
)
ITEM_COLUMNS = (
    "i.item, i.sub, i.guid, i.link, i.title, i.text, i.author, i.enclosures, i.published_ms, "
    "i.seen_ms, i.read, i.bookmarked_ms, s.title, s.url"
)


class Added(NamedTuple):
    """What :meth:`FeedStore.add_new` did."""

    new: int
    """Web feeds followed now."""
    over_limit: int
    """Web feeds not followed yet that were not added: :data:`~lndesk.webfeeds.MAX_FEEDS`
    are followed."""


@dataclass(frozen=True, slots=True)
class Subscription:
    sub: int
    url: str
    added_url: str
    title: str
    site: str
    added_ms: int
    etag: str | None
    last_modified: str | None
    last_fetch_ms: int | None
    last_ok_ms: int | None
    error: str | None
    failures: int
    next_ms: int
    paused: str | None
    moved_to: str | None
    take_all: bool

    @property
    def name(self) -> str:
        return self.title or self.url


@dataclass(frozen=True, slots=True)
class StoredItem:
    item: int
    sub: int
    guid: str
    link: str
    title: str
    text: str
    author: str
    enclosures: tuple[Enclosure, ...]
    published_ms: int
    seen_ms: int
    read: bool
    bookmarked: bool
    feed_title: str
    feed_url: str

    @property
    def cursor(self) -> ItemCursor:
        return (self.published_ms, self.item)


@dataclass(frozen=True, slots=True)
class Applied:
    new: int
    updated: int
    flood: int = 0
    """New items held back (more than the flood limit): the feed was not changed."""


def _enclosures(text: str) -> tuple[Enclosure, ...]:
    try:
        rows = json.loads(text)
        return tuple(Enclosure(str(u), str(m), ln, d) for u, m, ln, d in rows)
    except (ValueError, TypeError):
        return ()


def item_of_row(row: Sequence[Any]) -> StoredItem:
    (
        item,
        sub,
        guid,
        link,
        title,
        text,
        author,
        encl,
        published,
        seen,
        read,
        marked,
        feed_title,
        feed_url,
    ) = row
    return StoredItem(
        int(item),
        int(sub),
        str(guid),
        str(link),
        str(title),
        str(text),
        str(author),
        _enclosures(str(encl)),
        int(published),
        int(seen),
        bool(read),
        marked is not None,
        str(feed_title),
        str(feed_url),
    )


def subscription_of_row(row: Sequence[Any]) -> Subscription:
    values = list(row)
    values[15] = bool(values[15])
    return Subscription(*values)
