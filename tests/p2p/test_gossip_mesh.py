"""An always-on node keeps every follower that grafts it in its GossipSub mesh.

A desktop's mesh holds at most 8 peers a topic (``Limits.mesh_high``); a heartbeat prunes
a bigger one back to 4. A follower of a hub has no other peer on the hub's topic, so a
pruned follower grafted again after the minute's back-off, and the hub pruned it again:
with 200 followers its heartbeat never rested. ``NodeConfig.always_on`` raises the mark
to the node's connection cap, so the followers that graft stay.

Real hosts on 127.0.0.1; every wait is on an event under ``trio.fail_after``.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

import pytest
import trio
from test_gossip import WAIT, connect, gossip_node

from lndesk.p2p.config import ALWAYS_ON_MAX_CONNECTIONS, NodeConfig
from lndesk.p2p.gossip import feed_topic
from lndesk.p2p.pubsub import DEGREE

pytestmark = pytest.mark.trio

FOLLOWERS = 9
"""One more than a desktop's mesh holds."""


async def test_an_always_on_hub_keeps_every_follower_that_grafts_it() -> None:
    limits = NodeConfig().always_on().limits
    assert limits.mesh_high == ALWAYS_ON_MAX_CONNECTIONS
    assert NodeConfig().limits.mesh_high == 8 < FOLLOWERS
    async with AsyncExitStack() as stack:
        hub = await stack.enter_async_context(gossip_node("hub", limits))
        await hub.gossip.follow(hub.author)
        followers = [
            await stack.enter_async_context(gossip_node(f"follower {n}")) for n in range(FOLLOWERS)
        ]
        for follower in followers:
            await follower.gossip.follow(hub.author)
            await connect(follower, hub)
        router = hub.gossip.router
        topic = feed_topic(hub.author)
        with trio.fail_after(WAIT):
            for follower in followers:
                await hub.gossip.wait_for_mesh(hub.author, follower.id)  # each grafted it
            await router.wait_heartbeats(router.heartbeats + 2)
        assert router.mesh[topic] == {follower.id for follower in followers}
        assert len(router.mesh[topic]) > DEGREE
