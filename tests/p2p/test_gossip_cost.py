"""What a relayed head costs on the wire: no peer records, coalesced writes, IDONTWANT
only where it saves something, relayed before it is stored (``lndesk.p2p.pubsub``).

Real hosts on 127.0.0.1; every wait is on an event under ``trio.fail_after``.
"""

from __future__ import annotations

import struct
from typing import Any

import libp2p.pubsub.gossipsub
import libp2p.pubsub.pubsub
import pytest
import trio
from libp2p.network.stream.net_stream import NetStream
from libp2p.peer.id import ID
from libp2p.pubsub.pb import rpc_pb2
from libp2p.stream_muxer.yamux import yamux
from libp2p.stream_muxer.yamux.yamux import Yamux, YamuxStream
from test_gossip import WAIT, Node, connect, gossip_node, make_chain

from lndesk.p2p import gossip_streams
from lndesk.p2p.announce import HeadAnnouncement, encode_announcement
from lndesk.p2p.pubsub import IDONTWANT_THRESHOLD

pytestmark = pytest.mark.trio


async def line(a: Node, b: Node, c: Node) -> None:
    """A - B - C, B and C following A, B's mesh holding both."""
    await connect(b, a)
    await connect(c, b)
    for node in (a, b, c):
        await node.gossip.follow(a.author)
    with trio.fail_after(WAIT):
        await b.gossip.wait_for_topic_peers(a.author, 2)
        await b.gossip.wait_for_mesh(a.author, c.id)
        await a.gossip.wait_for_topic_peers(a.author, 1)
        await c.gossip.wait_for_topic_peers(a.author, 1)


async def test_no_signed_peer_record_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    carried: list[ID] = []  # senders of received RPCs that carried a peer record

    def spy(module: Any) -> None:
        consume = module.maybe_consume_signed_record

        def watching(msg: rpc_pb2.RPC, host: Any, peer_id: ID) -> bool:
            if msg.HasField("senderRecord"):
                carried.append(peer_id)
            return bool(consume(msg, host, peer_id))

        monkeypatch.setattr(module, "maybe_consume_signed_record", watching)

    spy(libp2p.pubsub.pubsub)
    spy(libp2p.pubsub.gossipsub)
    async with gossip_node("rec-a") as a, gossip_node("rec-b") as b, gossip_node("rec-c") as c:
        await line(a, b, c)  # hello, subscriptions, GRAFT
        for entry, payload in make_chain(a.identity, 3):  # publish and relay
            await a.gossip.announce(entry.raw, payload)
            await b.next_head()
            await c.next_head()
    assert carried == []


def spy_frames(monkeypatch: pytest.MonkeyPatch, frames: list[tuple[ID, bytes]]) -> None:
    """Note every yamux frame any connection writes, with the peer it goes to: a gossip
    stream's writes take one way or the other (``lndesk.p2p.gossip_io``), and both end
    in the connection's frame writer."""
    original = Yamux._write_frame

    async def spying(self: Yamux, data: bytes) -> None:
        frames.append((self.peer_id, bytes(data)))
        await original(self, data)

    monkeypatch.setattr(Yamux, "_write_frame", spying)


def data_frames(frames: list[tuple[ID, bytes]], peer: ID, stream_id: int) -> list[bytes]:
    """The payloads of the data frames written to ``peer`` on stream ``stream_id``."""
    out = []
    for to, data in frames:
        _version, kind, _flags, sid, _length = struct.unpack(
            yamux.YAMUX_HEADER_FORMAT, data[: yamux.HEADER_SIZE]
        )
        if to == peer and kind == yamux.TYPE_DATA and sid == stream_id:
            out.append(data[yamux.HEADER_SIZE :])
    return out


async def test_queued_rpcs_go_out_in_one_write(monkeypatch: pytest.MonkeyPatch) -> None:
    frames: list[tuple[ID, bytes]] = []
    async with gossip_node("co-a") as a, gossip_node("co-b") as b:
        await connect(a, b)
        stream_id = a.gossip.pubsub.peers[b.id].muxed_stream.stream_id
        spy_frames(monkeypatch, frames)
        topics = [f"lndesk/test/{i}" for i in range(20)]
        for topic in topics:  # queued without a checkpoint in between
            sub = rpc_pb2.RPC.SubOpts(subscribe=True, topicid=topic)
            a.gossip.router.send_rpc(b.id, rpc_pb2.RPC(subscriptions=[sub]))
        with trio.fail_after(WAIT):
            while not all(a.id in b.gossip.pubsub.peer_topics.get(t, ()) for t in topics):
                await b.gossip.pubsub.subscriptions_changed.wait()
        assert len(data_frames(frames, b.id, stream_id)) == 1


async def test_idontwant_only_for_big_messages() -> None:
    async with gossip_node("idw-a") as a, gossip_node("idw-b") as b, gossip_node("idw-c") as c:
        await line(a, b, c)
        chain = make_chain(a.identity, 2, text_size=2 * IDONTWANT_THRESHOLD)
        small = make_chain(a.identity, 1)[0]
        dont = c.gossip.router.dont_send_message_ids

        await a.gossip.announce(small[0].raw, small[1])
        await c.next_head()
        # B relayed a small head to C without an IDONTWANT (sent before the message).
        assert not dont.get(b.id)

        big_entry, big_payload = chain[0]
        data = encode_announcement(big_entry.raw, big_payload)
        assert len(data) > IDONTWANT_THRESHOLD
        await a.gossip.announce(big_entry.raw, big_payload)
        await c.next_head()
        assert dont.get(b.id)


async def test_a_head_is_relayed_before_it_is_handled(monkeypatch: pytest.MonkeyPatch) -> None:
    """B's handler (which stores the head, waiting for the disk) starts only once B has
    written the head on to C."""
    frames: list[tuple[ID, bytes]] = []  # every frame written, with its peer
    unrelayed: list[int] = []  # seqs whose handler started before B wrote them to C

    async with gossip_node("rel-a") as a, gossip_node("rel-c") as c:
        async with gossip_node("rel-b") as b:
            handler = b.gossip._on_head

            async def on_head(peer: ID, head: HeadAnnouncement) -> None:
                if not any(to == c.id and head.entry.raw in data for to, data in frames):
                    unrelayed.append(head.entry.seq)
                await handler(peer, head)

            spy_frames(monkeypatch, frames)
            b.gossip._on_head = on_head
            await line(a, b, c)
            for entry, payload in make_chain(a.identity, 12):
                await a.gossip.announce(entry.raw, payload)
                await c.next_head()
                await b.next_head()
    assert unrelayed == []


async def test_gossip_received_sends_fewer_window_updates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    updates: list[int] = []
    original = YamuxStream.send_window_update

    gossip_stream: list[int] = []  # the id of A's gossip stream to B (the same on B)

    async def counting(self: YamuxStream, increment: int, skip_lock: bool = False) -> None:
        if self.conn.peer_id == a.id and self.stream_id in gossip_stream:  # B's side
            updates.append(increment)
        await original(self, increment, skip_lock)

    a: Node
    async with gossip_node("win-a") as a, gossip_node("win-b") as b:
        await connect(b, a)
        for node in (a, b):
            await node.gossip.follow(a.author)
        with trio.fail_after(WAIT):
            await a.gossip.wait_for_topic_peers(a.author, 1)
            await b.gossip.wait_for_topic_peers(a.author, 1)
        gossip_stream.append(a.gossip.pubsub.peers[b.id].muxed_stream.stream_id)
        monkeypatch.setattr(YamuxStream, "send_window_update", counting)
        for entry, payload in make_chain(a.identity, 20):
            await a.gossip.announce(entry.raw, payload)
            await b.next_head()
    # Twenty small messages are far below half the receive window: acknowledged as
    # go-yamux does (lndesk.p2p.yamux_window), none of them gets a window update.
    # py-libp2p alone sent about three per message, and one per two with release on
    # read off ("partial slack").
    assert updates == []


async def test_a_received_rpc_takes_one_read_of_the_stream(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """B reads A's gossip stream in chunks and cuts the RPCs from them; py-libp2p alone
    reads each RPC's length prefix a byte at a time and then its body (three reads)."""
    reads: list[int] = []
    original = gossip_streams.read_quickly

    async def counting(stream: NetStream, n: int) -> bytes:
        data = await original(stream, n)
        if stream.muxed_conn.peer_id == a.id and "meshsub" in str(stream.get_protocol()):
            reads.append(len(data))
        return data

    a: Node
    async with gossip_node("ra-a") as a, gossip_node("ra-b") as b:
        await connect(b, a)
        for node in (a, b):
            await node.gossip.follow(a.author)
        with trio.fail_after(WAIT):
            await a.gossip.wait_for_topic_peers(a.author, 1)
            await b.gossip.wait_for_topic_peers(a.author, 1)
        monkeypatch.setattr(gossip_streams, "read_quickly", counting)
        heads = 10
        for entry, payload in make_chain(a.identity, heads):
            await a.gossip.announce(entry.raw, payload)
            assert (await b.next_head())[1].entry.seq == entry.seq
    # One read per RPC at most (a heartbeat's control message may add one).
    assert 0 < len(reads) <= heads + 2


async def test_only_received_messages_have_their_signature_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A signs its own heads (StrictSign peers need it) but does not verify them again;
    B and C verify every head they receive."""
    checked: list[bytes] = []  # from_id of every message whose signature was checked
    original = libp2p.pubsub.pubsub.signature_validator

    def counting(msg: rpc_pb2.Message) -> bool:
        checked.append(bytes(msg.from_id))
        return bool(original(msg))

    monkeypatch.setattr(libp2p.pubsub.pubsub, "signature_validator", counting)
    async with gossip_node("sig-a") as a, gossip_node("sig-b") as b, gossip_node("sig-c") as c:
        await line(a, b, c)
        heads = 3
        for entry, payload in make_chain(a.identity, heads):
            await a.gossip.announce(entry.raw, payload)
            await b.next_head()
            await c.next_head()
    assert checked == [a.id.to_bytes()] * (2 * heads)
