"""Session admission: a global cap per protocol and limits per IP address (new peer ids,
sessions at once, feeds asked for), none of them a penalty."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import trio
import trio.testing
from conftest import loopback_config, running_host, wait_disconnected
from libp2p.peer.peerinfo import PeerInfo
from node_helpers import make_data_dir, running_node, sync_stream
from store_helpers import make_chain, make_identity, wire

from lndesk.p2p import wire as frames
from lndesk.p2p.admission import (
    KNOWN_ID_SECONDS,
    UNREAD_ADDRESS,
    Admission,
    BatchTurns,
    address_key,
    turn_address,
)
from lndesk.p2p.config import Limits
from lndesk.p2p.events import PeerPenalised
from lndesk.p2p.sync import SYNC_PROTOCOL

ANN = make_identity(1)
IP, OTHER_IP = "192.0.2.1", "192.0.2.2"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def admission(**limits: Any) -> tuple[Admission, Clock]:
    clock = Clock()
    return Admission(Limits(**limits), clock), clock


# --- the rules, with an injected clock -------------------------------------------------


def test_new_ids_per_address_are_limited_per_window() -> None:
    gate, clock = admission(new_ids_per_ip=2, new_id_seconds=60)
    assert gate.enter("a", IP) is None
    assert gate.enter("b", IP) is None
    assert gate.enter("c", IP) == "too many new peer ids from your address; try again later"
    assert gate.refused["new-id"] == 1
    # Admitted ids come back at any time; other addresses are counted apart.
    assert gate.enter("a", IP) is None
    assert gate.enter("c", OTHER_IP) is None
    clock.now += 59.9
    assert gate.enter("c", IP) is not None
    clock.now += 0.1
    assert gate.enter("c", IP) is None
    assert gate.enter("d", IP) is None
    assert gate.enter("e", IP) is not None


def test_an_admitted_id_is_forgotten_after_an_hour_without_sessions() -> None:
    gate, clock = admission(new_ids_per_ip=1, new_id_seconds=60)
    assert gate.enter("a", IP) is None
    clock.now += 61
    assert gate.enter("b", IP) is None
    clock.now += KNOWN_ID_SECONDS + 1
    assert gate.enter("a", IP) is None  # new again, and the window has room
    assert gate.enter("b", IP) is not None


def test_sessions_per_address_are_limited() -> None:
    gate, _ = admission(sessions_per_ip=2, new_ids_per_ip=100)
    assert gate.enter("a", IP) is None
    assert gate.enter("b", IP) is None
    assert gate.enter("c", IP) == "too many sessions from your address at once"
    assert gate.enter("c", OTHER_IP) is None
    gate.leave(IP)
    assert gate.enter("c", IP) is None
    assert gate.refused["per-ip"] == 1


def test_feeds_asked_for_are_charged_to_the_address() -> None:
    gate, clock = admission(ip_feeds_per_minute=6000)
    assert gate.charge_feeds(IP, 5000)
    assert not gate.charge_feeds(IP, 5000)
    assert gate.charge_feeds(OTHER_IP, 5000)
    clock.now += 40  # refills 4000
    assert gate.charge_feeds(IP, 5000)
    assert not gate.charge_feeds(IP, 1)
    assert gate.refused["work"] == 2


def test_entries_sent_are_charged_to_the_address() -> None:
    gate, clock = admission(ip_entries_per_minute=3000)
    assert gate.charge_entries(IP, 2000)
    assert not gate.charge_entries(IP, 2000)
    assert gate.charge_entries(OTHER_IP, 2000)
    clock.now += 20  # refills 1000
    assert gate.charge_entries(IP, 2000)
    assert gate.refused["entries"] == 1


def test_loopback_addresses_are_exempt_unless_configured() -> None:
    gate, _ = admission(new_ids_per_ip=1, sessions_per_ip=1)
    for peer in "abc":
        assert gate.enter(peer, "127.0.0.1") is None
        assert gate.enter(peer, "::1") is None
    strict, _ = admission(new_ids_per_ip=1, limit_loopback=True)
    assert strict.enter("a", "127.0.0.1") is None
    assert strict.enter("b", "127.0.0.1") is not None


# --- real hosts ---------------------------------------------------------------------


async def test_one_address_holds_at_most_its_share_of_the_batch_turns() -> None:
    turns = BatchTurns(Limits(served_batches=3, turns_per_ip=2))
    release = trio.Event()
    holding: list[str | None] = []

    async def hold(address: str | None) -> None:
        async with turns.hold(address):
            holding.append(address)
            await release.wait()

    async with trio.open_nursery() as nursery:
        for _ in range(3):
            nursery.start_soon(hold, "192.0.2.1")
        await trio.testing.wait_all_tasks_blocked()
        assert holding == ["192.0.2.1"] * 2  # the third waits for one of its address's
        assert turns.held_by("192.0.2.1") == 2
        assert turns.free == 1  # ... not for the server's: one is left for others
        assert turns.waiting == 1
        nursery.start_soon(hold, "192.0.2.2")
        await trio.testing.wait_all_tasks_blocked()
        assert holding[-1] == "192.0.2.2"
        assert turns.free == 0
        release.set()
    assert len(holding) == 4
    assert turns.free == 3
    assert turns.held_by("192.0.2.1") == 0
    assert not turns._held and not turns._waiting  # nothing kept for an idle address


async def test_an_exempt_session_takes_only_a_server_turn() -> None:
    turns = BatchTurns(Limits(served_batches=2, turns_per_ip=1))
    async with turns.hold(None), turns.hold(None):
        assert turns.free == 0
        assert turns.held_by(None) == 2


def test_a_stream_whose_address_cannot_be_read_counts_as_one_address() -> None:
    assert turn_address(object(), Limits()) == UNREAD_ADDRESS
    gate, _ = admission(new_ids_per_ip=100, sessions_per_ip=2)
    assert gate.key(None) == UNREAD_ADDRESS
    assert gate.enter("a", None) is None
    assert gate.enter("b", None) is None
    assert gate.enter("c", None) == "too many sessions from your address at once"
    gate.leave(None)
    assert gate.enter("c", None) is None
    assert gate.charge_feeds(IP, 1)  # another address is counted apart


async def test_a_node_serves_at_most_max_sessions_at_once(tmp_path: Path) -> None:
    limits = Limits(max_sessions=2)
    async with running_node(make_data_dir(tmp_path, "n"), limits=limits) as node:
        node.service.store.ingest(ANN.public_key, wire(make_chain(ANN, 3)))
        sessions = node.node.sync_server.sessions
        async with AsyncExitStack() as stack:
            answers, peers = [], []
            for _ in range(3):
                host = await stack.enter_async_context(running_host())
                peers.append(host.get_id())
                stream = sync_stream(node, host, ANN.public_key)
                answers.append(await stack.enter_async_context(stream))
            assert [type(a) for a in answers] == [frames.Have, frames.Have, frames.Error]
            assert isinstance(answers[2], frames.Error) and answers[2].code == "busy"
            assert "too many sessions" in answers[2].message
            # A refused peer is not counted, not even as a peer with no session (ids
            # cost nothing: each would be kept for the life of the node).
            assert set(sessions._open) == set(peers[:2])
        assert sessions.busy_total == 1
        assert not any(isinstance(e, PeerPenalised) for e in node.log.events)


async def test_new_peer_ids_from_one_address_are_rate_limited(tmp_path: Path) -> None:
    limits = Limits(new_ids_per_ip=2, limit_loopback=True)
    async with running_node(make_data_dir(tmp_path, "n"), limits=limits) as node:
        node.service.store.ingest(ANN.public_key, wire(make_chain(ANN, 3)))
        async with AsyncExitStack() as stack:
            hosts = [await stack.enter_async_context(running_host()) for _ in range(3)]
            answers = []
            for host in hosts:
                async with sync_stream(node, host, ANN.public_key) as answer:
                    answers.append(answer)
            assert [type(a) for a in answers] == [frames.Have, frames.Have, frames.Error]
            assert isinstance(answers[2], frames.Error) and answers[2].code == "busy"
            assert "new peer ids" in answers[2].message
            # The ids admitted before keep getting sessions.
            async with sync_stream(node, hosts[0], ANN.public_key) as again:
                assert isinstance(again, frames.Have)
        assert node.node.admission.refused["new-id"] == 1
        assert not any(isinstance(e, PeerPenalised) for e in node.log.events)


async def test_a_want_over_the_address_budget_is_answered_busy(tmp_path: Path) -> None:
    limits = Limits(ip_feeds_per_minute=1, limit_loopback=True)
    async with running_node(make_data_dir(tmp_path, "n"), limits=limits) as node:
        async with running_host() as host:
            async with sync_stream(node, host, ANN.public_key) as first:
                assert isinstance(first, frames.Have)
            async with sync_stream(node, host, ANN.public_key) as second:
                assert isinstance(second, frames.Error) and second.code == "busy"
                assert "too many feeds" in second.message
        assert node.node.admission.refused["work"] == 1
        assert not any(isinstance(e, PeerPenalised) for e in node.log.events)


async def test_a_node_keeps_accepting_connections_after_many_came_and_went(
    tmp_path: Path,
) -> None:
    """py-libp2p 0.8.1 never gave back an inbound slot: after max_connections minus
    min_connections inbound connections in its life, a node accepted no more."""
    async with running_node(
        make_data_dir(tmp_path, "n"), max_connections=6, low_watermark=2, high_watermark=6
    ) as node:
        node.service.store.ingest(ANN.public_key, wire(make_chain(ANN, 3)))
        for _ in range(6):  # the old cap was 6 - 2 = 4 slots
            async with running_host() as visitor:
                await visitor.connect(PeerInfo(node.node.host.get_id(), node.node.host.get_addrs()))
                visitor_id = visitor.get_id()
            await wait_disconnected(node.node.host, visitor_id)
        async with running_host() as late, sync_stream(node, late, ANN.public_key) as answer:
            assert isinstance(answer, frames.Have)


async def test_relayed_streams_are_read_as_their_relays_address() -> None:
    """A relayed stream's address is its relay's, the connection it runs in: the limits
    per address count it there, as they count its connection and its batch turns."""
    from test_relay import WAIT, info_of, is_relayed, relay_node

    from lndesk.p2p.admission import stream_ip, turn_address

    seen: list[str | None] = []
    turns_by: list[tuple[str | None, str | None]] = []

    async def handler(stream: Any) -> None:
        seen.append(stream_ip(stream))
        turns_by.append(
            (turn_address(stream, Limits()), turn_address(stream, Limits(limit_loopback=True)))
        )
        await stream.write(b"ok")
        await stream.close()

    async with (
        relay_node(loopback_config(relay_hop=True)) as (r_host, _),
        relay_node(loopback_config(relay_client=True), hole_punch=False) as (b_host, b_relay),
        relay_node(loopback_config(), hole_punch=False) as (a_host, a_relay),
    ):
        b_host.set_stream_handler(SYNC_PROTOCOL, handler)
        with trio.fail_after(WAIT):
            (circuit, *_) = await b_relay.reserve(info_of(r_host))
            await a_relay.dial_via(circuit)
            stream = await a_host.new_stream(b_host.get_id(), [SYNC_PROTOCOL])
            await stream.write(b"hi")
            assert await stream.read(2) == b"ok"
        assert is_relayed(stream)
        # and a direct stream is read as its peer's address
        await a_host.connect(PeerInfo(r_host.get_id(), r_host.get_addrs()))
        r_host.set_stream_handler(SYNC_PROTOCOL, handler)
        with trio.fail_after(WAIT):
            direct = await a_host.new_stream(r_host.get_id(), [SYNC_PROTOCOL])
            await direct.write(b"hi")
            assert await direct.read(2) == b"ok"
    assert seen == ["127.0.0.1", "127.0.0.1"]
    # batch turns of a relayed stream are counted by the relay's address (loopback here)
    assert turns_by == [(None, "127.0.0.1"), (None, "127.0.0.1")]


async def test_peers_behind_one_relay_share_its_limits_per_address(tmp_path: Path) -> None:
    """Relayed sessions were exempt from the limits per address: through one relay
    (which an attacker may run, with no limits of its own), a quarter of a node's
    connections, each with its sessions and new peer ids, and unlimited feeds and
    entries. Now the relay's address holds them: with one session per address, a
    second peer relayed while the first is served is answered busy, without penalty."""
    from test_relay import WAIT, info_of, is_relayed, relay_node

    limits = Limits(sessions_per_ip=1, limit_loopback=True)
    async with AsyncExitStack() as stack:
        r_host, _ = await stack.enter_async_context(relay_node(loopback_config(relay_hop=True)))
        node = await stack.enter_async_context(
            running_node(make_data_dir(tmp_path, "n"), relay_client=True, limits=limits)
        )
        node.service.store.ingest(ANN.public_key, wire(make_chain(ANN, 3)))
        with trio.fail_after(WAIT):
            (circuit, *_) = await node.node.relay.reserve(info_of(r_host))
        answers = []
        for _ in range(2):
            host, relay = await stack.enter_async_context(
                relay_node(loopback_config(), hole_punch=False)
            )
            with trio.fail_after(WAIT):
                await relay.dial_via(circuit)
            stream = await host.new_stream(node.node.host.get_id(), [SYNC_PROTOCOL])
            assert is_relayed(stream)
            await stream.write(frames.encode_frame(frames.Want(((ANN.public_key, 0),))))
            with trio.fail_after(WAIT):
                answers.append(await frames.FrameStream(stream, 1 << 20).receive())
        assert isinstance(answers[0], frames.Have)
        assert isinstance(answers[1], frames.Error) and answers[1].code == "busy"
        assert "too many sessions from your address" in answers[1].message
        assert node.node.admission.refused["per-ip"] == 1
        assert not any(isinstance(e, PeerPenalised) for e in node.log.events)


async def test_entries_over_the_address_budget_end_the_session_busy(tmp_path: Path) -> None:
    limits = Limits(ip_entries_per_minute=150, batch_entries=100, limit_loopback=True)
    async with running_node(make_data_dir(tmp_path, "n"), limits=limits) as node:
        node.service.store.ingest(ANN.public_key, wire(make_chain(ANN, 300)))
        async with running_host() as host:
            await host.connect(PeerInfo(node.node.host.get_id(), node.node.host.get_addrs()))
            stream = await host.new_stream(node.node.host.get_id(), [SYNC_PROTOCOL])
            io = frames.FrameStream(stream, 1 << 20)
            await io.send(frames.Want(((ANN.public_key, 0),)))
            with trio.fail_after(20):
                assert isinstance(await io.receive(), frames.Have)
                await io.send(frames.Get(ANN.public_key, 1, 300))
                first = await io.receive()
                assert isinstance(first, frames.Batch) and len(first.items) == 100
                await io.send(frames.Ack(0))
                second = await io.receive()
        assert isinstance(second, frames.Error) and second.code == "busy"
        assert "too many entries" in second.message
        assert node.node.admission.refused["entries"] == 1
        assert not any(isinstance(e, PeerPenalised) for e in node.log.events)


async def test_every_server_protocol_shares_the_address_limits(tmp_path: Path) -> None:
    """New ids are counted across protocols: a fork proof request is a session too."""
    from lndesk.p2p.forks import FORKS_PROTOCOL, Forks, ForksFrames

    limits = Limits(new_ids_per_ip=1, limit_loopback=True)
    async with running_node(make_data_dir(tmp_path, "n"), limits=limits) as node:
        async with running_host() as first, sync_stream(node, first, ANN.public_key) as answer:
            assert isinstance(answer, frames.Have)
        async with running_host() as second:
            await second.connect(PeerInfo(node.node.host.get_id(), node.node.host.get_addrs()))
            stream = await second.new_stream(node.node.host.get_id(), [FORKS_PROTOCOL])
            io = ForksFrames(stream)
            await io.send(Forks((ANN.public_key,)))
            with trio.fail_after(20):
                refused = await io.receive()
        assert isinstance(refused, frames.Error) and refused.code == "busy"
        assert node.node.admission.refused["new-id"] == 1


async def test_peers_over_ipv6_are_held_to_the_limits_per_address(tmp_path: Path) -> None:
    """py-libp2p read no address from an IPv6 socket, so every peer over IPv6 passed
    the limits per address as if its address could not be read."""
    limits = Limits(sessions_per_ip=1, limit_loopback=True)
    async with running_node(make_data_dir(tmp_path, "n"), listen_host="::1", limits=limits) as node:
        node.service.store.ingest(ANN.public_key, wire(make_chain(ANN, 3)))
        async with AsyncExitStack() as stack:
            answers = []
            for _ in range(2):
                host = await stack.enter_async_context(running_host())
                stream = sync_stream(node, host, ANN.public_key)
                answers.append(await stack.enter_async_context(stream))
            assert [type(a) for a in answers] == [frames.Have, frames.Error]
            assert isinstance(answers[1], frames.Error) and answers[1].code == "busy"
            assert "too many sessions from your address" in answers[1].message
        assert node.node.admission.refused["per-ip"] == 1
        # Held by its own address, not as one whose address could not be read.
        assert list(node.node.admission._addresses) == [address_key("::1")]
