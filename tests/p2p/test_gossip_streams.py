"""A connected peer always gets a gossip stream, even when the first attempt to open it
failed in a way py-libp2p does not retry (``lndesk.p2p.pubsub``)."""

from __future__ import annotations

import pytest
import trio
from libp2p.peer.id import ID
from test_gossip import WAIT, gossip_node
from test_gossip import connect as connect_gossip

from lndesk.p2p.pubsub import DeliveringPubsub

pytestmark = pytest.mark.trio


async def test_a_failed_stream_open_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    failed: list[ID] = []
    original = DeliveringPubsub._handle_new_peer

    async def first_fails(self: DeliveringPubsub, peer_id: ID) -> None:
        if not failed:
            failed.append(peer_id)
            # What a protocol negotiation that timed out raises: not retried by py-libp2p.
            raise trio.TooSlowError
        await original(self, peer_id)

    monkeypatch.setattr(DeliveringPubsub, "_handle_new_peer", first_fails)
    async with gossip_node("retry-a") as a, gossip_node("retry-b") as b:
        with trio.fail_after(WAIT):
            await connect_gossip(a, b)  # both sides register the other's stream
        assert len(failed) == 1
        assert b.id in a.gossip.pubsub.peers and a.id in b.gossip.pubsub.peers
