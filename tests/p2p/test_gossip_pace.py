"""One gossip RPC holds up to its size cap of messages or subscriptions, thousands of
small ones, and a peer's reader handles them inline (lndesk.p2p.pubsub): it must let
the node's other tasks run between them, not hold the thread for the whole RPC (each
new subscription starts tasks of py-libp2p's that must run too: 10,000 of them in one
RPC, with none let run, held a node for minutes). Observed on a real node: each item
the attacker's reader handles is stamped with the number of task steps trio has run
so far."""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from pathlib import Path
from typing import Any

import trio
from conftest import running_host
from libp2p.peer.peerinfo import PeerInfo
from libp2p.pubsub.pb import rpc_pb2
from node_helpers import TestNode, make_data_dir, running_node
from test_stream_guard import BOMB, MESHSUB, varint

from lndesk.p2p.announce import feed_topic
from lndesk.p2p.events import PeerPenalised
from lndesk.p2p.gossip_streams import PACE
from lndesk.p2p.host import public_key_of

ITEMS = 8 * PACE


class Steps(trio.abc.Instrument):
    """Counts the task steps trio runs."""

    def __init__(self) -> None:
        self.count = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.count += 1


async def stamps_of(node: TestNode, make_rpc: Any, method: str) -> list[int]:
    """Send ``make_rpc(evil host)`` from a fresh host, then a bomb; the step count at
    each call of the node's Pubsub ``method`` for that host, until the bomb is read."""
    pubsub = node.node.gossip.pubsub
    async with running_host() as evil:
        stamps: list[int] = []
        steps = Steps()
        handle = getattr(pubsub, method)

        def stamped(peer: Any, item: Any) -> Any:
            if peer == evil.get_id():
                stamps.append(steps.count)
            return handle(peer, item)

        setattr(pubsub, method, stamped)
        body = make_rpc(evil).SerializeToString()
        await evil.connect(PeerInfo(node.node.host.get_id(), node.node.host.get_addrs()))
        trio.lowlevel.add_instrument(steps)
        try:
            stream = await evil.new_stream(node.node.host.get_id(), [MESHSUB])
            with contextlib.suppress(Exception):  # the node resets after the bomb
                await stream.write(varint(len(body)) + body + BOMB)
            key = public_key_of(evil.get_id())

            def penalised(events: list[Any]) -> bool:
                return any(isinstance(e, PeerPenalised) and e.peer == key for e in events)

            # The bomb after the RPC is read only once all its items were handled.
            await node.log.wait_for(penalised, timeout=15)
        finally:
            trio.lowlevel.remove_instrument(steps)
            setattr(pubsub, method, handle)
    return stamps


async def test_a_reader_lets_other_tasks_run_inside_one_big_rpc(tmp_path: Path) -> None:
    async with running_node(make_data_dir(tmp_path, "target")) as node:

        def messages(evil: Any) -> rpc_pb2.RPC:
            # On a topic the node reads (its own feed's), signed wrongly: each is
            # checked and dropped, and costs the sender nothing.
            message = rpc_pb2.Message(
                from_id=evil.get_id().to_bytes(),
                data=b"x" * 16,
                seqno=os.urandom(8),
                topicIDs=[feed_topic(node.key)],
                signature=bytes(64),
                key=evil.get_private_key().get_public_key().serialize(),
            )
            return rpc_pb2.RPC(publish=[message] * ITEMS)

        def subscriptions(_evil: Any) -> rpc_pb2.RPC:
            subs = [
                rpc_pb2.RPC.SubOpts(subscribe=True, topicid=f"lndesk/feed/{n:064x}")
                for n in range(ITEMS)
            ]
            return rpc_pb2.RPC(subscriptions=subs)

        for make_rpc, method in ((messages, "push_msg"), (subscriptions, "handle_subscription")):
            stamps = await stamps_of(node, make_rpc, method)
            assert len(stamps) == ITEMS, method
            assert max(Counter(stamps).values()) <= PACE, method
