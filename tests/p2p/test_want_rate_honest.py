"""An honest reader is never penalised for the rate of its wants (docs/protocol.md
sections 20.13 and 24).

``want_feeds_per_minute`` (20,000) is four times the most feeds one ``want`` names
(5,000), and a reader names each feed it follows once per round, more than once in a
round that finds something changed (the visit's height vector, then the ``want`` of the
session that follows, each charged as a want), and at every new connection. Real
loopback nodes, at the same ratio: a server allows 4 x 10 feeds a minute, a reader
follows 10 feeds, and its connection breaks and comes back a few times in a minute,
as a flaky link's does.
"""

from __future__ import annotations

from pathlib import Path

from conftest import wait_disconnected
from node_helpers import TestNode, make_data_dir, running_node
from store_helpers import make_chain, make_identity, wire

from lndesk.p2p.config import Limits
from lndesk.p2p.events import PeerPenalised, SyncFinished

FEEDS = 10
RECONNECTS = 5


def rounds_with(reader: TestNode, server: TestNode) -> int:
    return sum(isinstance(e, SyncFinished) and e.peer == server.key for e in reader.log.events)


async def test_a_reader_whose_connection_comes_back_is_not_penalised(tmp_path: Path) -> None:
    authors = [make_identity(n) for n in range(1, FEEDS + 1)]
    limits = Limits(want_feeds_per_minute=4 * FEEDS)
    async with (
        running_node(make_data_dir(tmp_path, "server"), limits=limits) as server,
        running_node(make_data_dir(tmp_path, "reader")) as reader,
    ):
        for author in authors:
            server.service.store.ingest(author.public_key, wire(make_chain(author, 2)))
            await reader.follow(author.public_key)
        for _ in range(RECONNECTS):
            before = rounds_with(reader, server)
            await reader.connect(server)
            await reader.log.wait_for(lambda _e, b=before: rounds_with(reader, server) > b)
            await server.node.host.disconnect(reader.node.host.get_id())
            await wait_disconnected(reader.node.host, server.node.host.get_id())
        penalised = [e for e in server.log.events if isinstance(e, PeerPenalised)]
        assert not penalised
