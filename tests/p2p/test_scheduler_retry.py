"""A sync session that failed for a passing reason is asked again soon, with backoff.

The scheduler runs on trio's mock clock with a client that fails a given number of
times (the stream could not be opened: the server was busy) before it answers; the
retries come 2, 4, 8 ... seconds apart, stop once a session succeeds, after
``RETRIES`` failures, or when the peer disconnected, and never follow a penalty.
"""

from __future__ import annotations

import itertools
from typing import Any

import trio
import trio.testing

from lndesk.p2p.scheduler import RETRIES, SyncScheduler
from lndesk.p2p.sessions import PeerMisbehaved
from lndesk.p2p.sync import SessionReport


class Client:
    """Fails ``fail[peer]`` sessions with ``peer``, then answers; notes when each began."""

    def __init__(self, fail: dict[str, int], error: Exception) -> None:
        self.fail = dict(fail)
        self.error = error
        self.began: dict[str, list[float]] = {peer: [] for peer in fail}

    async def sync_with(self, peer: str, feeds: Any = None) -> SessionReport:
        self.began[peer].append(trio.current_time())
        if self.fail[peer] > 0:
            self.fail[peer] -= 1
            raise self.error
        return SessionReport(stored=1, feeds=1)


async def run(client: Client, peers: list[str], *, forget: str | None = None) -> None:
    async def reannounce(_feed: bytes) -> None:
        return None

    scheduler = SyncScheduler(
        client,  # type: ignore[arg-type]
        emit=lambda _event: None,
        reannounce=reannounce,
        key_of=lambda _peer: None,
        jitter=lambda: 0.5,
    )
    async with trio.open_nursery() as nursery:
        scheduler.attach(nursery)
        for peer in peers:
            scheduler.request(peer)
        if forget is not None:
            await scheduler.wait_idle(1)  # the first sessions failed; retries wait
            scheduler.forget(forget)
        with trio.fail_after(600):  # virtual seconds
            await scheduler.wait_settled()
        nursery.cancel_scope.cancel()


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


async def test_a_failed_session_is_retried_with_backoff_until_it_succeeds(
    autojump_clock: trio.testing.MockClock,
) -> None:
    client = Client({"busy": 3, "gone": 100, "fine": 0}, OSError("failed to open a stream"))
    await run(client, ["busy", "gone", "fine"])
    assert gaps(client.began["busy"]) == [2.0, 4.0, 8.0]  # then it answered: no more
    assert gaps(client.began["gone"]) == [2.0, 4.0, 8.0, 16.0, 32.0]
    assert len(client.began["gone"]) == RETRIES + 1  # the anti-entropy round takes over
    assert len(client.began["fine"]) == 1


async def test_no_retry_for_a_penalised_or_disconnected_peer(
    autojump_clock: trio.testing.MockClock,
) -> None:
    client = Client({"liar": 5}, PeerMisbehaved("sent a forged entry"))
    await run(client, ["liar"])
    assert len(client.began["liar"]) == 1

    client = Client({"left": 5}, OSError("the connection closed"))
    await run(client, ["left"], forget="left")
    assert len(client.began["left"]) == 1
