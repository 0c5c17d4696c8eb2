"""A peer that stops reading its gossip stream does not slow a topic down for the others
(``DeliveringPubsub.wait_relayed``).

A relay hands a received head to its handler (which stores it) only once the head is
written to the peers it was queued for, or after ``RELAY_WAIT``. A stalled peer's
sender is stuck in a write; the heads after it must not wait for that peer (they
waited ``RELAY_WAIT`` each, which held a topic to 50 heads a second).

Real hosts on 127.0.0.1; every wait is on an event under ``trio.fail_after``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any, cast

import pytest
import trio
from libp2p.abc import INetStream
from libp2p.pubsub.rpc_queue import RpcQueue
from test_gossip import WAIT, Node, connect, gossip_node

from lndesk.content import Post, encode_content
from lndesk.entry import Entry, create_entry
from lndesk.identity import Identity
from lndesk.p2p.config import Limits
from lndesk.p2p.gossip_streams import Relay

pytestmark = pytest.mark.trio

TEXT = 7000
"""Bytes of text per post: each announcement carries a payload of about 7 KB."""
AFTER = 30
"""Heads announced once the relay's writes to the stalled peer are stuck."""


def heads(identity: Identity, text_size: int) -> Iterator[tuple[Entry, bytes]]:
    """``identity``'s posts, linked, one after the other without end."""
    prev = None
    for seq in itertools.count(1):
        payload = encode_content(Post(f"post {seq} " + "x" * text_size))
        entry = create_entry(
            identity,
            seq=seq,
            prev=prev,
            claimed_ms=1_700_000_000_000 + seq,
            type="post",
            payload=payload,
        )
        yield entry, payload
        prev = entry.id


class _Stallable:
    """A gossip stream as its reader sees it: once ``stalled`` is set, reads never
    return (the reader stops reading the peer, as a stuck node would)."""

    def __init__(self, stream: INetStream, stalled: trio.Event) -> None:
        self._stream = stream
        self._stalled = stalled

    async def read(self, n: int | None = None) -> bytes:
        if self._stalled.is_set():
            await trio.sleep_forever()
        return await self._stream.read(n)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def stallable(node: Node) -> trio.Event:
    """An event that, once set, makes ``node`` stop reading the gossip streams its peers
    opened to it (call before connecting)."""
    stalled = trio.Event()
    pubsub = node.gossip.pubsub
    read = pubsub.continuously_read_stream

    async def reading(stream: INetStream) -> None:
        await read(cast(INetStream, _Stallable(stream, stalled)))

    pubsub.continuously_read_stream = reading  # type: ignore[method-assign]
    return stalled


async def test_a_stalled_peer_does_not_hold_up_the_others() -> None:
    async with (
        gossip_node("stall-a", Limits(gossip_payload=TEXT + 200)) as a,
        gossip_node("stall-b") as b,
        gossip_node("stall-c") as c,
        gossip_node("stall-s") as s,
    ):
        stalled = stallable(s)
        await connect(b, a)
        await connect(c, b)
        await connect(s, b)
        for node in (a, b, c, s):
            await node.gossip.follow(a.author)
        with trio.fail_after(WAIT):
            await b.gossip.wait_for_topic_peers(a.author, 3)
            await b.gossip.wait_for_mesh(a.author, c.id)
            await b.gossip.wait_for_mesh(a.author, s.id)
            await a.gossip.wait_for_topic_peers(a.author, 1)
            await c.gossip.wait_for_topic_peers(a.author, 1)
        # Heads go out as fast as A can announce them; B's cap on what one peer may have
        # it forward (FORWARD_RATE a second) is not what is tested here.
        b.gossip.router.max_messages_per_topic_per_second = math.inf
        waited_for: list[set[RpcQueue]] = []  # the queues each relay was waited for
        wait_relayed = b.gossip.pubsub.wait_relayed

        async def spying(relay: Relay, limit: float) -> None:
            waited_for.append({queue for queue, _ in relay.targets})
            await wait_relayed(relay, limit)

        b.gossip.pubsub.wait_relayed = spying  # type: ignore[method-assign]
        stalled.set()
        chain = heads(a.identity, TEXT)

        async def relay_one() -> None:
            entry, payload = next(chain)
            await a.gossip.announce(entry.raw, payload)
            assert (await b.next_head())[1].entry.seq == entry.seq
            assert (await c.next_head())[1].entry.seq == entry.seq

        # Until B's writes to S are stuck: S's receive window is used up, and S reads
        # no more of the stream, so it never grants more.
        to_s = b.gossip.pubsub.peers[s.id].muxed_stream
        while to_s.send_window > 0:  # type: ignore[attr-defined]
            await relay_one()
        s_queue = b.gossip.pubsub.peer_queues[s.id]
        assert s_queue in waited_for[0]  # before it stalled, S was waited for
        del waited_for[:]
        for _ in range(AFTER):
            await relay_one()
        # No later head waits for S (only, at most, for its write to C).
        assert len(waited_for) == AFTER
        assert not any(s_queue in queues for queues in waited_for)
