"""Web feeds parsed in a child process under a wall-time limit (lndesk.feeds.worker): the
same result as parsing here, a hostile document stopped and reported, the node's trio
thread free while a parse runs, and a cancelled parse never waited for."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import trio

from lndesk.errors import FeedError
from lndesk.feeds.parse import parse_feed
from lndesk.feeds.worker import ParseWorker
from tests.feed_server import DATA

BASE = "https://example.org/"
DEEP = (DATA / "deep_nesting.xml").read_bytes()


@pytest.fixture
async def worker() -> AsyncIterator[ParseWorker]:
    made = ParseWorker()
    yield made
    made.close()


async def test_a_feed_parsed_in_the_child_is_the_one_parsed_here(worker: ParseWorker) -> None:
    for name in ("rss_guids.xml", "atom_base.xml", "podcast.xml", "hostile.xml"):
        body = (DATA / name).read_bytes()
        assert await worker.parse(body, BASE + name) == parse_feed(body, BASE + name)
    json_body = (DATA / "feed.json").read_bytes()
    here = parse_feed(json_body, BASE + "feed.json", "application/feed+json")
    assert await worker.parse(json_body, BASE + "feed.json", "application/feed+json") == here
    assert worker.started == 1
    with pytest.raises(FeedError) as refused:
        await worker.parse((DATA / "malformed.xml").read_bytes(), BASE + "malformed.xml")
    assert "is not a web feed" in refused.value.message
    assert "Check the address" in refused.value.hint
    assert worker.alive and worker.started == 1


async def test_a_hostile_feed_is_stopped_at_the_limit_and_the_next_parse_works(
    worker: ParseWorker,
) -> None:
    ok = (DATA / "rss_guids.xml").read_bytes()
    await worker.parse(ok, BASE + "rss_guids.xml")  # the child is up: the limit is the parse's
    worker.seconds = 0.05
    with pytest.raises(FeedError) as stopped:
        await worker.parse(DEEP, BASE + "deep.xml")
    assert stopped.value.message.startswith(
        "reading the web feed at https://example.org/deep.xml took longer than 0.05 seconds"
    )
    assert "lndesk feeds remove NUMBER" in stopped.value.hint
    assert not worker.alive
    worker.seconds = 60
    assert (await worker.parse(ok, BASE + "rss_guids.xml")).items
    assert worker.started == 2


async def test_the_trio_thread_keeps_running_while_a_feed_is_parsed(worker: ParseWorker) -> None:
    started = time.process_time()
    parse_feed(DEEP, BASE + "deep.xml")
    cost_here = time.process_time() - started
    await worker.parse(b'{"version": "https://jsonfeed.org/version/1.1"}', BASE)  # warm
    ticks = 0
    finished = False

    async def tick() -> None:
        nonlocal ticks
        while not finished:
            ticks += 1
            await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(tick)
        others_before = time.process_time() - time.thread_time()
        parsed = await worker.parse(DEEP, BASE + "deep.xml")
        others = time.process_time() - time.thread_time() - others_before
        finished = True
    assert parsed.title == "Deep nesting"
    assert ticks > 100
    # The parse's CPU is spent in the child: this process's other threads (where a
    # trio.to_thread parse would run, holding the GIL) took a small part of it.
    assert others < cost_here / 4, (others, cost_here)


async def test_a_cancelled_parse_kills_the_child_rather_than_waiting(worker: ParseWorker) -> None:
    worker.seconds = 600
    with trio.move_on_after(0.3) as scope:
        await worker.parse(DEEP * 8, BASE + "deep.xml")
    assert scope.cancelled_caught
    assert not worker.alive
