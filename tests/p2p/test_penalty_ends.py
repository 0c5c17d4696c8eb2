"""The end of every penalty is kept in one place, not a task per penalised peer
(docs/protocol.md section 24).

Peer ids cost nothing: a stranger that makes a new one for each connection and sends
something that does not decode gets each of them penalised, for ``penalty_seconds``.
Each penalty held a task asleep until it ended (some 3.5 kB), so the ids of one
attacker held a node's memory for ten minutes after their connections were gone. A
real node on loopback: real throwaway hosts, and ids penalised without a connection.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import trio
import trio.testing
from conftest import make_seed, running_host, wait_disconnected
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo
from node_helpers import make_data_dir, running_node

from lndesk.p2p.events import PeerPenalised, PenaltyEnded
from lndesk.p2p.host import public_key_of

GARBAGE = b"\x00\x00\x00\x04\xff\xff\xff\xff"
"""A sync frame whose body is not CBOR: the sender is penalised."""
IDS = 200


def all_tasks() -> int:
    """The tasks of this trio run."""
    count, stack = 0, [trio.lowlevel.current_root_task()]
    while stack:
        task = stack.pop()
        count += 1
        for nursery in task.child_nurseries:
            stack.extend(nursery.child_tasks)
    return count


def throwaway_id() -> ID:
    return ID.from_pubkey(create_new_key_pair(make_seed()).public_key)


async def test_penalised_ids_hold_no_task_each(tmp_path: Path) -> None:
    async with running_node(make_data_dir(tmp_path, "n")) as node:
        host = node.node.host
        for _ in range(3):  # the attack: a new id per connection
            async with running_host() as evil:
                await evil.connect(PeerInfo(host.get_id(), host.get_addrs()))
                stream = await evil.new_stream(host.get_id(), ["/lndesk/sync/1"])
                with contextlib.suppress(Exception):  # the node may reset at once
                    await stream.write(GARBAGE)
                key = public_key_of(evil.get_id())
                await node.log.wait_for(
                    lambda events, key=key: any(
                        isinstance(e, PeerPenalised) and e.peer == key for e in events
                    )
                )
                await wait_disconnected(host, evil.get_id())
        await trio.testing.wait_all_tasks_blocked()
        before = all_tasks()
        for _ in range(IDS):  # and as many more as it likes
            node.node.penalise(throwaway_id(), "sent a message that does not decode")
        await trio.testing.wait_all_tasks_blocked()
        assert all_tasks() - before < IDS // 10
        assert sum(isinstance(e, PeerPenalised) for e in node.log.events) == IDS + 3


async def test_every_penalty_ends_once_also_one_given_twice(tmp_path: Path) -> None:
    async with running_node(make_data_dir(tmp_path, "n"), penalty_seconds=0.5) as node:
        twice, once = throwaway_id(), throwaway_id()
        node.node.penalise(twice, "first")
        node.node.penalise(once, "once")
        node.node.penalise(twice, "again")
        blacklist = node.node.gossip.pubsub.blacklisted_peers
        assert {twice, once} <= blacklist

        def ended(events: list[object]) -> list[bytes]:
            return [e.peer for e in events if isinstance(e, PenaltyEnded)]

        await node.log.wait_for(lambda events: len(ended(events)) >= 2)
        assert not node.node.is_penalised(twice) and not node.node.is_penalised(once)
        assert not {twice, once} & blacklist
        # the next penalty given ends too, and the one given twice ended once
        node.node.penalise(once, "once more")
        await node.log.wait_for(lambda events: len(ended(events)) >= 3)
        assert sorted(ended(node.log.events)) == sorted(
            [public_key_of(twice), public_key_of(once), public_key_of(once)]
        )
