"""One gossip RPC holds up to its size cap of messages, thousands of small ones, and a
peer's reader handles them inline (lndesk.p2p.pubsub): it must let the node's other
tasks run between them, not hold the thread for the whole RPC. Observed on a real
node: each message the attacker's reader hands to ``push_msg`` is stamped with the
number of task steps trio has run so far."""

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
from node_helpers import make_data_dir, running_node
from test_stream_guard import BOMB, MESHSUB, varint

from lndesk.p2p.announce import feed_topic
from lndesk.p2p.events import PeerPenalised
from lndesk.p2p.gossip_streams import PACE
from lndesk.p2p.host import public_key_of

MESSAGES = 8 * PACE


class Steps(trio.abc.Instrument):
    """Counts the task steps trio runs."""

    def __init__(self) -> None:
        self.count = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.count += 1


async def test_a_reader_lets_other_tasks_run_inside_one_big_rpc(tmp_path: Path) -> None:
    async with running_node(make_data_dir(tmp_path, "target")) as node:
        pubsub = node.node.gossip.pubsub
        async with running_host() as evil:
            stamps: list[int] = []
            steps = Steps()
            push = pubsub.push_msg

            async def stamped(forwarder: Any, msg: rpc_pb2.Message) -> None:
                if forwarder == evil.get_id():
                    stamps.append(steps.count)
                await push(forwarder, msg)

            pubsub.push_msg = stamped  # type: ignore[method-assign]
            # Messages on a topic the node reads (its own feed's), signed wrongly: each
            # is checked and dropped, and costs the sender nothing.
            message = rpc_pb2.Message(
                from_id=evil.get_id().to_bytes(),
                data=b"x" * 16,
                seqno=os.urandom(8),
                topicIDs=[feed_topic(node.key)],
                signature=bytes(64),
                key=evil.get_private_key().get_public_key().serialize(),
            )
            body = rpc_pb2.RPC(publish=[message] * MESSAGES).SerializeToString()
            await evil.connect(PeerInfo(node.node.host.get_id(), node.node.host.get_addrs()))
            trio.lowlevel.add_instrument(steps)
            try:
                stream = await evil.new_stream(node.node.host.get_id(), [MESHSUB])
                with contextlib.suppress(Exception):  # the node resets after the bomb
                    await stream.write(varint(len(body)) + body + BOMB)
                key = public_key_of(evil.get_id())

                def penalised(events: list[Any]) -> bool:
                    return any(isinstance(e, PeerPenalised) and e.peer == key for e in events)

                # The bomb after the RPC is read only once all its messages were handled.
                await node.log.wait_for(penalised, timeout=15)
            finally:
                trio.lowlevel.remove_instrument(steps)
        assert len(stamps) == MESSAGES
        assert max(Counter(stamps).values()) <= PACE
