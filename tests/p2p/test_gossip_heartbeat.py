"""GossipSub's heartbeat slows while it has nothing to do, comes back within a second
when something happens, and scores no peers (``lndesk.p2p.pubsub``).

The router runs its heartbeat loop alone on trio's MockClock: virtual time, no network.
"""

from __future__ import annotations

import itertools

import pytest
import trio
import trio.testing
from libp2p.peer.id import ID
from libp2p.pubsub.pb import rpc_pb2

from lndesk.p2p.pubsub import HEARTBEAT_SECONDS, IDLE_HEARTBEAT_SECONDS, TunedGossipSub

pytestmark = pytest.mark.trio


def router() -> TunedGossipSub:
    return TunedGossipSub(
        protocols=[],
        degree=4,
        degree_low=2,
        degree_high=8,
        heartbeat_interval=HEARTBEAT_SECONDS,
        heartbeat_initial_delay=0,
        adaptive_gossip_enabled=False,
        eclipse_protection_enabled=False,
    )


async def gaps(r: TunedGossipSub, count: int) -> list[float]:
    """Virtual seconds between now (a heartbeat just ran) and each of the next ``count``
    heartbeats, and between those."""
    times = [trio.current_time()]
    for _ in range(count):
        with trio.fail_after(2 * IDLE_HEARTBEAT_SECONDS):  # virtual seconds
            await r.wait_heartbeats(r.heartbeats + 1)
        times.append(trio.current_time())
    return [later - earlier for earlier, later in itertools.pairwise(times)]


async def test_idle_heartbeat_waits_until_something_happens(
    autojump_clock: trio.testing.MockClock,
) -> None:
    r = router()
    assert r.scorer is None  # peer scoring is off: nothing reads it
    async with trio.open_nursery() as nursery:
        start = trio.current_time()
        nursery.start_soon(r.heartbeat)
        with trio.fail_after(1):  # virtual seconds
            await r.wait_heartbeats(1)
        assert trio.current_time() == start  # the first heartbeat, at once

        # Nothing to do: one heartbeat per IDLE_HEARTBEAT_SECONDS, not one a second.
        assert await gaps(r, 10) == pytest.approx([IDLE_HEARTBEAT_SECONDS] * 10)

        # Something happened halfway to the next: that heartbeat comes at once (its
        # second after the last has passed). The clock is moved on by hand.
        autojump_clock.jump(IDLE_HEARTBEAT_SECONDS / 2)
        r.wake()
        assert await gaps(r, 1) == [0]

        # A message in the cache keeps the heartbeat at once a second until it has aged
        # out of the cache's history, then it slows again.
        r.mcache.put(rpc_pb2.Message(from_id=ID(b"\x01" * 34).to_bytes(), seqno=b"1"))
        r.wake()
        history = r.mcache.history_size
        assert await gaps(r, history) == pytest.approx([HEARTBEAT_SECONDS] * history)
        assert not r.mcache.msgs  # one shift per heartbeat
        assert await gaps(r, 5) == pytest.approx([IDLE_HEARTBEAT_SECONDS] * 5)
        nursery.cancel_scope.cancel()
