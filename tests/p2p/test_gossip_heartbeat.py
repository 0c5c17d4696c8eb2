"""GossipSub's heartbeat slows while it has nothing to do, comes back within a second
when something happens, and scores no peers (``lndesk.p2p.pubsub``).

The router runs its heartbeat loop alone on trio's MockClock: virtual time, no network.
"""

from __future__ import annotations

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


async def heartbeats_in(r: TunedGossipSub, seconds: float) -> int:
    """Heartbeats the router runs over ``seconds`` of virtual time."""
    before = r.heartbeats
    await trio.sleep(seconds)
    return r.heartbeats - before


async def test_idle_heartbeat_waits_until_something_happens(
    mock_clock: trio.testing.MockClock,
) -> None:
    mock_clock.autojump_threshold = 0
    r = router()
    assert r.scorer is None  # peer scoring is off: nothing reads it
    async with trio.open_nursery() as nursery:
        nursery.start_soon(r.heartbeat)
        await trio.sleep(0.5)  # the first heartbeat has run
        assert r.heartbeats == 1

        # Nothing to do: one heartbeat per IDLE_HEARTBEAT_SECONDS, not one a second.
        assert await heartbeats_in(r, 10 * IDLE_HEARTBEAT_SECONDS) == 10

        # Something happened: the next heartbeat comes within a second.
        await trio.sleep(IDLE_HEARTBEAT_SECONDS / 2)
        start = r.heartbeats
        r.wake()
        with trio.fail_after(HEARTBEAT_SECONDS):
            while r.heartbeats == start:
                await trio.sleep(0.01)

        # A message in the cache keeps the heartbeat at once a second until it has aged
        # out of the cache's history, then it slows again.
        r.mcache.put(rpc_pb2.Message(from_id=ID(b"\x01" * 34).to_bytes(), seqno=b"1"))
        r.wake()
        start, history = r.heartbeats, r.mcache.history_size
        with trio.fail_after(history * HEARTBEAT_SECONDS + 0.5):
            while r.mcache.msgs:
                await trio.sleep(0.01)
        assert r.heartbeats - start == history  # one shift per heartbeat, a second apart
        await trio.sleep(2 * HEARTBEAT_SECONDS)
        assert await heartbeats_in(r, 5 * IDLE_HEARTBEAT_SECONDS) == 5
        nursery.cancel_scope.cancel()
