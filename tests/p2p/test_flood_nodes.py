"""Whole nodes under decoding floods: a hostile frame is refused before it is decoded,
its sender is penalised, and honest readers are still served."""

from __future__ import annotations

import contextlib
from pathlib import Path

import trio
from conftest import running_host
from libp2p.peer.peerinfo import PeerInfo
from node_helpers import TestNode, make_data_dir, running_node
from store_helpers import make_chain, make_identity, wire

from lndesk.p2p import wire as frames
from lndesk.p2p.events import Event, PeerPenalised
from lndesk.p2p.host import public_key_of
from lndesk.p2p.sync import SYNC_PROTOCOL
from tests.cbor_reference import head

ANN = make_identity(1)
MIB = 1024 * 1024


def flood_want(claimed: int, size: int) -> bytes:
    body = b"\xa2\x61t\x64want\x65feeds" + head(4, claimed) + b"\x80" * size
    return frames.FRAME_HEAD.pack(len(body)) + body


async def send_flood(node: TestNode, frame: bytes) -> str:
    """From a fresh host, send ``frame`` on a sync stream to ``node``; return the reason
    it penalised the sender for (a penalised peer is disconnected at once, so the
    write itself may fail: what counts is what the node did)."""
    async with running_host() as evil:
        await evil.connect(PeerInfo(node.node.host.get_id(), node.node.host.get_addrs()))
        stream = await evil.new_stream(node.node.host.get_id(), [SYNC_PROTOCOL])
        with contextlib.suppress(Exception):
            await stream.write(frame)
        key = public_key_of(evil.get_id())

        def penalties(events: list[Event]) -> list[PeerPenalised]:
            return [e for e in events if isinstance(e, PeerPenalised) and e.peer == key]

        await node.log.wait_for(lambda events: bool(penalties(events)))
        (penalty,) = penalties(node.log.events)
        return penalty.reason


async def test_a_two_mebibyte_want_is_refused_and_honest_readers_are_served(
    tmp_path: Path,
) -> None:
    async with running_node(make_data_dir(tmp_path, "n")) as node:
        node.service.store.ingest(ANN.public_key, wire(make_chain(ANN, 10)))

        reason = await send_flood(node, flood_want(2**31 - 1, 2 * MIB))
        assert "a sync frame of 2097171 bytes is over the 262144 cap" in reason

        # Within the byte cap, the scan refuses it before anything is decoded.
        reason = await send_flood(node, flood_want(200_000, 200_000))
        assert "sync want frame is not valid CBOR: CBOR holds more than 15045 items" in reason

        async with running_node(make_data_dir(tmp_path, "cy")) as cy:
            await cy.follow(ANN.public_key)
            await cy.connect(node)
            await cy.wait_height(ANN.public_key, 10)
        assert not any(isinstance(e, PeerPenalised) and e.peer == cy.key for e in node.log.events)


async def test_the_server_answers_a_flood_with_bad_request(tmp_path: Path) -> None:
    """The spec's answer to a frame over its caps: ``bad-request``, and a penalty."""
    from test_sync import SMALL, connect, side

    async with side(tmp_path / "a", SMALL) as a, side(tmp_path / "b", SMALL) as b:
        await connect(a, b)
        stream = await b.host.new_stream(a.host.get_id(), [SYNC_PROTOCOL])
        await stream.write(flood_want(200_000, 200_000))
        with trio.fail_after(20):
            answer = await frames.FrameStream(stream, MIB).receive()
        assert isinstance(answer, frames.Error)
        assert answer.code == "bad-request"
        assert "more than 15045 items" in answer.message
        assert "15045 items" in a.penalised[str(b.host.get_id())]
