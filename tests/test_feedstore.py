"""The feeds file: subscriptions, deduplicated items, search, unread, bookmarks, tags."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from lndesk.errors import StoreError, UsageError
from lndesk.store.feedstore import FEEDS_NAME, FeedStore
from lndesk.store.migrations import FEED_MIGRATIONS
from lndesk.webfeeds import MAX_FEEDS, Enclosure, FeedItem

NOW = 1_800_000_000_000


def item(guid: str, title: str, link: str = "", text: str = "", at: int | None = None) -> FeedItem:
    return FeedItem(guid, link, title, text or title, at)


@pytest.fixture
def store(tmp_path: Path) -> FeedStore:
    return FeedStore(tmp_path)


def test_migrations_bring_a_new_file_to_the_last_version(tmp_path: Path) -> None:
    FeedStore(tmp_path).close()
    conn = sqlite3.connect(tmp_path / FEEDS_NAME)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(FEED_MIGRATIONS)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"subscriptions", "items", "item_tags", "item_search"} <= tables
    conn.execute(f"PRAGMA user_version = {len(FEED_MIGRATIONS) + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer lndesk"):
        FeedStore(tmp_path)


def test_a_damaged_file_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / FEEDS_NAME).write_bytes(b"not a database" * 100)
    with pytest.raises(StoreError, match="cannot be opened") as caught:
        FeedStore(tmp_path)
    assert "move the file" in (caught.value.hint or "")


def test_following_twice_is_refused(store: FeedStore) -> None:
    store.add("https://a.example/feed", NOW)
    with pytest.raises(UsageError, match="already follow"):
        store.add("https://a.example/feed", NOW)


def test_items_are_deduplicated_by_guid_then_by_link_and_title(store: FeedStore) -> None:
    sub = store.add("https://a.example/feed", NOW).sub
    first = [item("g1", "One", "https://a.example/1"), item("g2", "Two", "https://a.example/2")]
    assert store.apply(sub, first, NOW, flood_limit=10, first_limit=100).new == 2
    assert store.apply(sub, first, NOW + 1, flood_limit=10, first_limit=100).new == 0
    # The feed changes its guids: same link and title, so the same items (guids updated).
    renamed = [item("n1", "One", "https://a.example/1"), item("n2", "Two", "https://a.example/2")]
    applied = store.apply(sub, renamed, NOW + 2, flood_limit=10, first_limit=100)
    assert (applied.new, applied.updated) == (0, 2)
    assert sorted(i.guid for i in store.page()) == ["n1", "n2"]
    # Without guids, link and title identify; an edited text updates in place.
    bare = [item("", "Three", "https://a.example/3"), item("", "Three", "https://a.example/3")]
    assert store.apply(sub, bare, NOW + 3, flood_limit=10, first_limit=100).new == 1
    edited = [item("", "Three", "https://a.example/3", text="Edited")]
    assert store.apply(sub, edited, NOW + 4, flood_limit=10, first_limit=100).updated == 1
    assert [i.text for i in store.search("edited")] == ["Edited"]


def test_a_podcast_enclosure_identifies_an_item_without_link(store: FeedStore) -> None:
    sub = store.add("https://p.example/feed", NOW).sub
    audio = (Enclosure("https://cdn.example/e1.mp3", "audio/mpeg", 100, 60),)
    one = FeedItem("a", "", "Episode 1", "", None, "", audio)
    store.apply(sub, [one], NOW, flood_limit=10, first_limit=10)
    again = FeedItem("b", "", "Episode 1", "", None, "", audio)
    assert store.apply(sub, [again], NOW, flood_limit=10, first_limit=10).new == 0
    (stored,) = store.page()
    assert stored.enclosures == audio


def test_a_flood_stores_nothing_and_the_first_fetch_keeps_the_newest(store: FeedStore) -> None:
    sub = store.add("https://a.example/feed", NOW).sub
    many = [item(f"g{n}", f"T{n}", at=NOW - n) for n in range(50)]
    assert store.apply(sub, many, NOW, flood_limit=5, first_limit=20).new == 20
    assert store.page(limit=1)[0].guid == "g0"
    more = [item(f"h{n}", f"U{n}") for n in range(6)]
    applied = store.apply(sub, more, NOW, flood_limit=5, first_limit=20)
    assert (applied.new, applied.flood) == (0, 6)
    assert store.apply(sub, more, NOW, flood_limit=None, first_limit=20).new == 6


def test_claimed_times_are_never_later_than_first_seen(store: FeedStore) -> None:
    sub = store.add("https://a.example/feed", NOW).sub
    store.apply(sub, [item("f", "Future", at=NOW + 10**12)], NOW, flood_limit=9, first_limit=9)
    assert store.page()[0].published_ms == NOW


def test_unread_bookmarks_tags_and_paging(store: FeedStore) -> None:
    a = store.add("https://a.example/feed", NOW, title="A").sub
    b = store.add("https://b.example/feed", NOW, title="B").sub
    store.apply(
        a,
        [item(f"a{n}", f"A{n}", at=NOW - n * 10) for n in range(5)],
        NOW,
        flood_limit=None,
        first_limit=99,
    )
    store.apply(
        b,
        [item(f"b{n}", f"B{n}", at=NOW - n * 10 - 5) for n in range(5)],
        NOW,
        flood_limit=None,
        first_limit=99,
    )
    assert store.unread_counts() == {a: 5, b: 5}
    first = store.page(limit=3)
    assert [i.title for i in first] == ["A0", "B0", "A1"]
    assert [i.title for i in store.page(first[-1].cursor, limit=2)] == ["B1", "A2"]
    assert first[0].feed_title == "A"
    store.set_read(first[0].item)
    assert store.unread_counts()[a] == 4
    assert len(store.page(unread=True, limit=99)) == 9
    assert store.mark_all_read(b) == 5
    store.set_bookmark(first[1].item, True, NOW)
    assert [i.title for i in store.page(bookmarked=True)] == ["B0"]
    assert store.set_tags(first[2].item, ["#Pedagogy", "notes"]) == ("pedagogy", "notes")
    assert [i.title for i in store.page(tag="PEDAGOGY")] == ["A1"]
    with pytest.raises(UsageError, match="not a usable tag"):
        store.set_tags(first[2].item, ["no spaces allowed"])
    store.remove(a)
    assert {i.sub for i in store.page(limit=99)} == {b}
    assert store.search("A1") == []
    with pytest.raises(UsageError, match="no longer stored"):
        store.get(first[0].item)


def test_pause_resume_and_moves(store: FeedStore) -> None:
    sub = store.add("https://a.example/feed", NOW).sub
    assert [s.sub for s in store.due(NOW)] == [sub]
    store.pause(sub, NOW, "moved", "https://b.example/feed")
    assert store.due(NOW) == []
    resumed = store.resume(sub)
    assert (resumed.url, resumed.paused, resumed.take_all) == ("https://b.example/feed", None, True)
    store.fetched(sub, NOW, NOW + 10, etag='"e"', last_modified=None, title="Title")
    again = store.subscription(sub)
    assert (again.take_all, again.etag, again.title, again.next_ms) == (
        False,
        '"e"',
        "Title",
        NOW + 10,
    )
    store.failed(sub, NOW + 20, NOW + 30, "boom")
    store.failed(sub, NOW + 40, NOW + 50, "boom again")
    failed = store.subscription(sub)
    assert (failed.failures, failed.error, failed.last_ok_ms) == (2, "boom again", NOW)
    assert store.next_due_ms() == NOW + 50


def test_the_feeds_file_survives_a_reindex_of_the_index(tmp_path: Path) -> None:
    from lndesk.store.store import Store

    store = FeedStore(tmp_path)
    store.add("https://a.example/feed", NOW)
    store.close()
    Store(tmp_path).close()
    Store(tmp_path, reindex=True).close()
    assert [s.url for s in FeedStore(tmp_path).subscriptions()] == ["https://a.example/feed"]


def test_feeds_of_a_file_are_added_at_once_and_none_twice(store: FeedStore) -> None:
    store.add("https://a.example/moved", NOW, added_url="https://a.example/old")
    store.add("https://b.example/feed", NOW)
    feeds = [
        ("https://a.example/old", "A"),  # followed, under the address it was given as
        ("https://b.example/feed", "B"),  # followed
        ("https://c.example/feed", "C"),
        ("https://c.example/feed", "C again"),
        ("https://d.example/feed", ""),
    ]
    assert store.add_new(feeds, NOW) == (2, 0)
    assert [(s.url, s.title) for s in store.subscriptions()] == [
        ("https://a.example/moved", ""),
        ("https://b.example/feed", ""),
        ("https://d.example/feed", ""),
        ("https://c.example/feed", "C"),
    ]
    assert store.add_new(feeds, NOW) == (0, 0)


def test_feeds_of_a_file_are_added_all_or_none(store: FeedStore) -> None:
    """One transaction: a failure on the way adds none (and the import costs one commit,
    not one per feed: 2,000 feeds took 12 s)."""

    def feeds() -> Iterator[tuple[str, str]]:
        for n in range(2000):
            yield f"https://a.example/{n}", ""
        raise OSError("the file went away")

    with pytest.raises(OSError, match="went away"):
        store.add_new(feeds(), NOW)
    assert store.subscriptions() == []
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    many = ((f"https://a.example/{n}", "") for n in range(2000))
    assert store.add_new(many, NOW) == (MAX_FEEDS, 2000 - MAX_FEEDS)
    assert statements.count("COMMIT") == 1
    assert sum(s.startswith("SELECT") for s in statements) == 2  # the count, the addresses


def test_no_more_than_max_feeds_are_followed(store: FeedStore) -> None:
    store.add("https://b.example/0", NOW)
    feeds = [(f"https://a.example/{n}", "") for n in range(MAX_FEEDS + 4)]
    feeds.insert(3, ("https://b.example/0", "followed already"))
    feeds.append((feeds[-1][0], "listed twice"))
    assert store.add_new(feeds, NOW) == (MAX_FEEDS - 1, 5)
    assert store.count() == MAX_FEEDS
    urls = {s.url for s in store.subscriptions()}
    assert f"https://a.example/{MAX_FEEDS - 2}" in urls  # the first ones of the file
    assert f"https://a.example/{MAX_FEEDS - 1}" not in urls
    with pytest.raises(UsageError) as full:
        store.add("https://c.example/feed", NOW)
    assert (
        full.value.message
        == f"you follow {MAX_FEEDS:,} web feeds, the most one data directory can follow"
    )
    assert "lndesk feeds remove NUMBER" in full.value.hint
    assert store.add_new(feeds, NOW) == (0, 5)
    store.remove(store.subscriptions()[0].sub)  # as the hint says, then again
    assert store.add("https://c.example/feed", NOW).url == "https://c.example/feed"
