"""Following web feeds against a real HTTP server on 127.0.0.1 (tests/feed_server.py):
conditional GETs, 304, redirects, Retry-After, size caps, discovery, floods, polling."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import pytest
import trio
import trio.testing

import lndesk.store.feedstore
from lndesk.app.subscriptions import MAX_PARALLEL, Outcome, Subscriptions
from lndesk.errors import FeedError, UsageError
from lndesk.feeds.fetch import USER_AGENT, fetch
from lndesk.feeds.policy import FIRST_UNREAD_ITEMS, FLOOD_ITEMS
from lndesk.store.feedstore import FeedStore, Subscription
from lndesk.webfeeds import MAX_DOCUMENT_BYTES, web_address
from tests.feed_server import DATA, Answer, FeedServer, Request

T0 = 1_800_000_000_000


class Clock:
    def __init__(self) -> None:
        self.ms = T0

    def __call__(self) -> int:
        return self.ms


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def subs(tmp_path: Path, clock: Clock) -> AsyncIterator[Subscriptions]:
    made = Subscriptions(FeedStore(tmp_path), clock_ms=clock, random=lambda: 0.0)
    yield made
    await made.aclose()
    made.store.close()


def rss(n: int, prefix: str = "i") -> bytes:
    items = "".join(
        f"<item><title>{prefix}{k}</title><link>https://x.example/{prefix}{k}</link>"
        f"<guid>{prefix}{k}</guid></item>"
        for k in range(n)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Gen</title>'
        f"<link>https://x.example/</link>{items}</channel></rss>"
    ).encode()


def conditional(body: bytes, etag: str = '"v1"', modified: str = "Mon, 30 Nov 2026 09:00:00 GMT"):
    def route(request: Request) -> Answer:
        if request.headers.get("If-None-Match") == etag:
            return Answer(304, {"ETag": etag})
        return Answer(
            200,
            {
                "Content-Type": "application/rss+xml",
                "ETag": etag,
                "Last-Modified": modified,
                "Cache-Control": "max-age=7200",
            },
            body,
        )

    return route


async def test_follow_then_refresh_is_a_conditional_get_answered_304(
    server: FeedServer, subs: Subscriptions, clock: Clock
) -> None:
    server.routes["/feed"] = conditional((DATA / "rss_guids.xml").read_bytes())
    sub, new = await subs.follow(server.url("/feed"))
    assert (new, sub.title, sub.etag) == (3, "Teaching Notes", '"v1"')
    assert sub.last_modified == "Mon, 30 Nov 2026 09:00:00 GMT"
    assert sub.next_ms == T0 + 7_200_000  # the server's max-age, above the hourly floor
    (first,) = server.hits("/feed")
    assert first.headers["User-Agent"] == USER_AGENT
    assert "If-None-Match" not in first.headers
    clock.ms += 7_200_000
    outcomes = await subs.refresh_due()
    assert [(o.status, o.new) for o in outcomes] == [("unchanged", 0)]
    second = server.hits("/feed")[1]
    assert second.headers["If-None-Match"] == '"v1"'
    assert second.headers["If-Modified-Since"] == "Mon, 30 Nov 2026 09:00:00 GMT"
    assert await subs.refresh_due() == []  # not due again for max-age


async def test_each_real_world_feed_is_followed(server: FeedServer, subs: Subscriptions) -> None:
    for name, count, title in [
        ("rss_noguid.xml", 2, "No Guids Weekly"),
        ("atom_base.xml", 2, "Atom Learner"),
        ("feed.json", 3, "JSON Learner"),
        ("podcast.xml", 2, "Learning Out Loud"),
    ]:
        sub, new = await subs.follow(server.url("/" + name))
        assert (new, sub.title) == (count, title), name
    episode = subs.store.search("feedback")[0]
    assert episode.enclosures[0].duration_s == 3723


async def test_a_site_address_finds_its_feed(server: FeedServer, subs: Subscriptions) -> None:
    sub, new = await subs.follow(server.url("/site.html"))
    assert sub.url == server.url("/rss_guids.xml")
    assert sub.added_url == server.url("/site.html")
    assert new == 3
    with pytest.raises(UsageError, match="already follow"):
        await subs.follow(server.url("/site.html"))
    server.routes["/bare.html"] = lambda r: Answer(
        200, {"Content-Type": "text/html"}, b"<html><head></head></html>"
    )
    with pytest.raises(FeedError, match="names no web feed"):
        await subs.follow(server.url("/bare.html"))


async def test_a_malformed_feed_is_refused_and_a_failing_one_recorded(
    server: FeedServer, subs: Subscriptions, clock: Clock
) -> None:
    with pytest.raises(FeedError, match="not a web feed"):
        await subs.follow(server.url("/malformed.xml"))
    assert subs.store.subscriptions() == []
    body = {"doc": (DATA / "rss_guids.xml").read_bytes()}
    server.routes["/flaky"] = lambda r: Answer(
        200, {"Content-Type": "application/xml"}, body["doc"]
    )
    await subs.follow(server.url("/flaky"))
    body["doc"] = (DATA / "malformed.xml").read_bytes()
    clock.ms += 3_600_000
    (outcome,) = await subs.refresh_due()
    assert outcome.status == "failed"
    failed = subs.store.subscriptions()[0]
    assert failed.failures == 1
    assert "not a web feed" in (failed.error or "")


async def test_429_with_retry_after_is_honoured(
    server: FeedServer, subs: Subscriptions, clock: Clock
) -> None:
    server.routes["/busy"] = conditional((DATA / "rss_guids.xml").read_bytes())
    await subs.follow(server.url("/busy"))
    server.routes["/busy"] = lambda r: Answer(429, {"Retry-After": "10800"}, b"slow down")
    clock.ms += 7_200_000
    (outcome,) = await subs.refresh_due()
    assert outcome.status == "failed"
    assert "HTTP 429" in outcome.message
    assert subs.store.subscriptions()[0].next_ms == clock.ms + 10_800_000
    server.routes["/down"] = lambda r: Answer(
        503, {"Retry-After": "Fri, 31 Dec 2027 23:59:59 GMT"}, b""
    )
    sub = subs.store.add(server.url("/down"), clock.ms)
    await subs.refresh(sub)
    assert subs.store.subscription(sub.sub).next_ms == clock.ms + 7 * 24 * 3_600_000  # capped


async def test_a_retry_after_of_other_digits_than_ascii_ones_is_ignored(
    server: FeedServer, subs: Subscriptions, clock: Clock
) -> None:
    """'²' is a digit to str.isdigit but not to int(): the 429 is still told as a 429."""
    server.routes["/busy"] = lambda r: Answer(429, {"Retry-After": "\u00b2"}, b"slow down")
    sub = subs.store.add(server.url("/busy"), clock.ms)
    outcome = await subs.refresh(sub)
    assert outcome.status == "failed"
    assert "HTTP 429" in outcome.message
    assert subs.store.subscription(sub.sub).next_ms == clock.ms + 3_600_000


async def test_permanent_redirects_are_remembered_temporary_ones_not(
    server: FeedServer, subs: Subscriptions, clock: Clock
) -> None:
    server.routes["/old"] = lambda r: Answer(301, {"Location": "/temp"})
    server.routes["/temp"] = lambda r: Answer(302, {"Location": "/rss_guids.xml"})
    sub, _ = await subs.follow(server.url("/old"))
    assert sub.url == server.url("/temp")  # the 302 behind the 301 is not remembered
    clock.ms += 3_600_000
    await subs.refresh_due()
    assert server.hits("/old") == server.hits("/old")[:1]  # never asked again
    assert len(server.hits("/temp")) == 2


async def test_a_permanent_move_to_another_site_pauses_the_feed(
    server: FeedServer, subs: Subscriptions, clock: Clock
) -> None:
    server.routes["/moving"] = lambda r: Answer(
        200, {"Content-Type": "application/xml"}, (DATA / "rss_guids.xml").read_bytes()
    )
    sub, _ = await subs.follow(server.url("/moving"))
    elsewhere = f"http://localhost:{server.port}/rss_noguid.xml"
    server.routes["/moving"] = lambda r: Answer(308, {"Location": elsewhere})
    outcome = await subs.refresh(sub)
    assert outcome.status == "paused"
    paused = subs.store.subscription(sub.sub)
    assert paused.moved_to == elsewhere
    assert "moved to another site" in (paused.paused or "")
    clock.ms += 10 * 3_600_000
    assert await subs.refresh_due() == []
    subs.store.resume(sub.sub)
    (again,) = await subs.refresh_due()
    assert (again.status, again.new) == ("new", 2)
    assert subs.store.subscription(sub.sub).url == elsewhere


async def test_a_huge_feed_is_cut_off_while_it_streams(
    server: FeedServer, subs: Subscriptions
) -> None:
    sent = {"bytes": 0}

    def endless() -> Iterator[bytes]:
        yield b'<?xml version="1.0"?><rss version="2.0"><channel><title>Huge</title>'
        chunk = b"<item><title>" + b"x" * 65_000 + b"</title></item>"
        for _ in range(400):  # 26 MB if it were all read
            sent["bytes"] += len(chunk)
            yield chunk

    async def fetched(path: str) -> None:
        await fetch(subs.client, server.url(path), now_s=0.0)  # the fetch alone, no parser

    server.routes["/huge"] = lambda r: Answer(200, {"Content-Type": "application/xml"}, endless())
    with pytest.raises(FeedError, match="larger than 5 MB"):
        await fetched("/huge")
    assert sent["bytes"] < 16 * 1024 * 1024  # it stopped reading, not parsing
    server.routes["/declared"] = lambda r: Answer(
        200, {"Content-Type": "application/xml"}, b" " * (MAX_DOCUMENT_BYTES + 1)
    )
    with pytest.raises(FeedError, match=r"larger than 5 MB \(5,242,881 bytes\)"):
        await fetched("/declared")
    bomb = gzip.compress(b" " * (MAX_DOCUMENT_BYTES + 10))
    server.routes["/bomb"] = lambda r: Answer(
        200, {"Content-Type": "application/xml", "Content-Encoding": "gzip"}, bomb
    )
    with pytest.raises(FeedError, match="larger than 5 MB"):
        await fetched("/bomb")
    assert len(bomb) < 100_000
    with pytest.raises(FeedError, match="larger than 5 MB"):
        await subs.follow(server.url("/huge"))
    assert subs.store.subscriptions() == []


def deflated(data: bytes, wbits: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return packer.compress(data) + packer.flush()


async def test_a_gzip_bomb_stops_at_the_cap_without_inflating_a_whole_read(
    server: FeedServer, subs: Subscriptions
) -> None:
    bomb = deflated(b" " * (128 * 1024 * 1024), 31)  # 125 KB: two reads of 64 KiB
    server.routes["/bomb"] = lambda r: Answer(
        200, {"Content-Type": "application/xml", "Content-Encoding": "gzip"}, bomb
    )
    tracemalloc.start()
    try:
        with pytest.raises(FeedError, match="larger than 5 MB"):
            await fetch(subs.client, server.url("/bomb"), now_s=0.0)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * MAX_DOCUMENT_BYTES


@pytest.mark.parametrize(
    ("coding", "wbits"), [("gzip", 31), ("x-gzip", 31), ("deflate", 15), ("deflate", -15)]
)
async def test_a_compressed_feed_is_read(
    server: FeedServer, subs: Subscriptions, coding: str, wbits: int
) -> None:
    body = rss(40)
    server.routes["/packed"] = lambda r: Answer(
        200,
        {"Content-Type": "application/rss+xml", "Content-Encoding": coding},
        deflated(body, wbits),
    )
    fetched = await fetch(subs.client, server.url("/packed"), now_s=0.0)
    assert fetched.body == body
    assert server.requests[-1].headers["Accept-Encoding"] == "gzip, deflate"


async def test_a_feed_in_a_compression_not_asked_for_is_refused_clearly(
    server: FeedServer, subs: Subscriptions
) -> None:
    server.routes["/br"] = lambda r: Answer(
        200, {"Content-Type": "application/rss+xml", "Content-Encoding": "br"}, b"\x8b\x00"
    )
    with pytest.raises(FeedError, match="compressed as br, which lndesk does not read") as raised:
        await fetch(subs.client, server.url("/br"), now_s=0.0)
    assert "gzip, deflate or no compression" in (raised.value.hint or "")
    server.routes["/broken"] = lambda r: Answer(
        200, {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}, b"not gzip"
    )
    with pytest.raises(FeedError, match="could not be decompressed"):
        await fetch(subs.client, server.url("/broken"), now_s=0.0)


async def test_a_feed_that_changes_its_guids_does_not_repeat(
    server: FeedServer, subs: Subscriptions, clock: Clock
) -> None:
    doc = {"body": (DATA / "guids_v1.xml").read_bytes()}
    server.routes["/fickle"] = lambda r: Answer(
        200, {"Content-Type": "application/xml"}, doc["body"]
    )
    _, new = await subs.follow(server.url("/fickle"))
    assert new == 2
    doc["body"] = (DATA / "guids_v2.xml").read_bytes()
    clock.ms += 3_600_000
    (outcome,) = await subs.refresh_due()
    assert (outcome.new, outcome.updated) == (0, 2)
    assert sorted(i.guid.rsplit("/", 1)[-1] for i in subs.store.page()) == ["new-a", "new-b"]


async def test_a_sudden_flood_pauses_the_feed_until_resumed(
    server: FeedServer, subs: Subscriptions, clock: Clock
) -> None:
    doc = {"body": rss(3)}
    server.routes["/gen"] = lambda r: Answer(200, {"Content-Type": "application/xml"}, doc["body"])
    sub, _ = await subs.follow(server.url("/gen"))
    doc["body"] = rss(FLOOD_ITEMS + 1, "flood")
    clock.ms += 3_600_000
    (outcome,) = await subs.refresh_due()
    assert outcome.status == "paused"
    assert f"brought {FLOOD_ITEMS + 1} new items at once" in outcome.message
    assert len(subs.store.page(limit=500)) == 3
    subs.store.resume(sub.sub)
    (taken,) = await subs.refresh_due()
    assert taken.new == FLOOD_ITEMS + 1
    assert subs.store.subscription(sub.sub).take_all is False


def dated_rss(days: Sequence[int]) -> bytes:
    """A feed with an item per day of December 2026 in ``days``, in the order given."""
    items = "".join(
        f"<item><title>day {d}</title><link>https://x.example/{d}</link><guid>d{d}</guid>"
        f"<pubDate>Wed, {d:02d} Dec 2026 09:00:00 GMT</pubDate></item>"
        for d in days
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Days</title>'
        f"<link>https://x.example/</link>{items}</channel></rss>"
    ).encode()


async def test_a_new_feed_brings_its_newest_items_unread_and_the_rest_read(
    server: FeedServer, subs: Subscriptions, clock: Clock
) -> None:
    doc = {"body": dated_rss([2, 6, 1, 5, 3, 4])}
    server.routes["/days"] = lambda _r: Answer(
        200, {"Content-Type": "application/rss+xml"}, doc["body"]
    )
    sub, new = await subs.follow(server.url("/days"))
    assert new == 6
    unread = {i.title for i in subs.store.page(unread=True)}
    assert unread == {f"day {d}" for d in (6, 5, 4)} and FIRST_UNREAD_ITEMS == 3
    assert subs.store.unread_counts() == {sub.sub: FIRST_UNREAD_ITEMS}
    # What a later fetch brings is unread, however many.
    doc["body"] = dated_rss([1, 2, 3, 4, 5, 6, 7, 8])
    clock.ms += 7_200_000
    subs.refresh_soon(sub.sub)
    assert [(o.status, o.new) for o in await subs.refresh_due()] == [("new", 2)]
    assert subs.store.unread_counts() == {sub.sub: FIRST_UNREAD_ITEMS + 2}


async def test_a_feed_too_costly_to_parse_is_stopped_and_its_status_says_so(
    server: FeedServer, subs: Subscriptions, clock: Clock
) -> None:
    deep = subs.store.add(server.url("/deep_nesting.xml"), clock.ms)
    await subs.parser.parse((DATA / "rss_guids.xml").read_bytes(), "https://x.example/")
    subs.parser.seconds = 0.05
    (outcome,) = await subs.refresh_due()
    assert outcome.status == "failed"
    failed = subs.store.subscription(deep.sub)
    assert failed.error is not None
    assert failed.error.startswith(
        f"reading the web feed at {deep.url} took longer than 0.05 seconds and was stopped"
    )
    assert not subs.parser.alive
    subs.parser.seconds = 60
    subs.refresh_soon(deep.sub)
    assert [o.status for o in await subs.refresh_due()] == ["new"]
    assert subs.store.subscription(deep.sub).error is None


async def test_stopping_a_refresh_stops_its_parse(server: FeedServer, subs: Subscriptions) -> None:
    server.routes["/deeper.xml"] = lambda r: Answer(
        200, {"Content-Type": "application/xml"}, (DATA / "deep_nesting.xml").read_bytes() * 8
    )
    subs.store.add(server.url("/deeper.xml"), 0)
    await subs.parser.parse((DATA / "rss_guids.xml").read_bytes(), "https://x.example/")
    subs.parser.seconds = 600
    with trio.move_on_after(2) as scope:
        await subs.refresh_due()
    assert scope.cancelled_caught
    assert not subs.parser.alive


async def test_many_due_feeds_are_refreshed_by_a_few_tasks(
    server: FeedServer, subs: Subscriptions, clock: Clock
) -> None:
    for n in range(MAX_PARALLEL * 4):
        subs.store.add(server.url(f"/missing-{n}.xml"), clock.ms)
    living: list[int] = []
    refresh = subs.refresh

    async def counted(sub: Subscription) -> Outcome:
        living.append(trio.lowlevel.current_statistics().tasks_living)
        return await refresh(sub)

    subs.refresh = counted  # type: ignore[method-assign]
    before = trio.lowlevel.current_statistics().tasks_living
    outcomes = await subs.refresh_due()
    assert sorted(o.sub for o in outcomes) == sorted(s.sub for s in subs.store.subscriptions())
    assert len(living) == MAX_PARALLEL * 4
    # The workers (and the HTTP client's own tasks), not a task per feed.
    assert max(living) - before <= 2 * MAX_PARALLEL < len(living)


async def test_following_stops_at_the_limit_before_fetching(
    server: FeedServer, subs: Subscriptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lndesk.store.feedstore, "MAX_FEEDS", 1)
    await subs.follow(server.url("/rss_guids.xml"))
    asked = len(server.requests)
    with pytest.raises(
        UsageError, match="you follow 1 web feeds, the most one data directory can follow"
    ):
        await subs.follow(server.url("/atom_base.xml"))
    assert len(server.requests) == asked
    assert [s.url for s in subs.store.subscriptions()] == [server.url("/rss_guids.xml")]


async def test_one_feeds_error_never_reaches_the_node(
    server: FeedServer, subs: Subscriptions, clock: Clock
) -> None:
    good = subs.store.add(server.url("/rss_guids.xml"), clock.ms)
    subs.store.add("http://127.0.0.1:9/nothing-listens-here", clock.ms)
    subs.store.add(server.url("/missing.xml"), clock.ms)
    outcomes = {o.sub: o for o in await subs.refresh_due()}
    assert outcomes[good.sub].new == 3
    assert sorted(o.status for o in outcomes.values()) == ["failed", "failed", "new"]


async def test_the_poller_waits_on_the_trio_clock_and_wakes_for_refresh_now(
    server: FeedServer, tmp_path: Path, mock_clock: trio.testing.MockClock
) -> None:
    subs = Subscriptions(
        FeedStore(tmp_path),
        clock_ms=lambda: T0 + int(trio.current_time() * 1000),
        random=lambda: 0.0,
    )
    server.routes["/feed"] = conditional((DATA / "rss_guids.xml").read_bytes())
    changed = trio.Event()
    subs.on_change = changed.set
    subs.store.add(server.url("/feed"), T0)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(subs.run)
        await changed.wait()  # the first poll stored the items
        await trio.testing.wait_all_tasks_blocked()
        assert len(server.hits("/feed")) == 1
        mock_clock.jump(3_600)
        await trio.testing.wait_all_tasks_blocked()
        assert len(server.hits("/feed")) == 1  # max-age 7200 s: not yet
        subs.refresh_soon()
        # The server's thread records the request; the bound is real seconds.
        assert await trio.to_thread.run_sync(server.wait_hits, "/feed", 2, 30.0)
        nursery.cancel_scope.cancel()
    await subs.aclose()
    subs.store.close()


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("https://a.example/feed", "https://a.example/feed"),
        ("blog.example/feed.xml", "https://blog.example/feed.xml"),
        ("lnd1qqqq", None),
        ("lndesk://follow/abc", None),
        ("javascript:alert(1)", None),
        ("two words.example", None),
    ],
)
def test_web_addresses_are_told_from_keys(text: str, url: str | None) -> None:
    assert web_address(text) == url


@pytest.mark.parametrize("wbits", [15, -15])
def test_a_deflate_body_read_one_byte_first_inflates_whole(wbits: int) -> None:
    """Raw or zlib-wrapped deflate is told apart by the first two bytes, however the
    network cuts the body: one byte first, then the rest."""
    from lndesk.feeds.fetch import _Inflater

    body = b"<rss>" + b"x" * 500 + b"</rss>"
    packed = deflated(body, wbits)
    inflater = _Inflater("deflate")
    out = b""
    for piece in (packed[:1], packed[1:]):
        inflater.feed(piece)
        while chunk := inflater.take(64):
            out += chunk
    assert out == body
