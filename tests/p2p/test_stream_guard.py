"""No single message stops a node: malformed input on any protocol a node serves ends
only that stream (docs/protocol.md section 24).

Every case runs against one real node on loopback, from a fresh attacking host each
time; the node must go on running and serve an honest reader afterwards.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from conftest import running_host, wait_disconnected
from libp2p.custom_types import TProtocol
from libp2p.peer.peerinfo import PeerInfo
from libp2p.pubsub.pb import rpc_pb2
from node_helpers import HandlerWatch, TestNode, make_data_dir, running_node

from lndesk.p2p.catchup import CATCHUP_PROTOCOL_ID
from lndesk.p2p.events import NodeStopped, PeerPenalised
from lndesk.p2p.forks import FORKS_PROTOCOL_ID
from lndesk.p2p.host import public_key_of
from lndesk.p2p.profiles import PROFILE_PROTOCOL_ID
from lndesk.p2p.wire import PROTOCOL_ID as SYNC_PROTOCOL_ID

MESHSUB = "/meshsub/1.1.0"


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number: int, wire_type: int, body: bytes = b"") -> bytes:
    """One protobuf field; a length-delimited one (type 2) gets ``body`` with its length."""
    key = varint(number << 3 | wire_type)
    return key + (varint(len(body)) + body if wire_type == 2 else body)


def rpc(body: bytes) -> bytes:
    """A GossipSub frame: the RPC's length as a varint, then its bytes."""
    return varint(len(body)) + body


BOMB = bytes.fromhex("06ffffffffffff")
"""Seven bytes that stopped py-libp2p 0.8.1 hosts: a 6-byte RPC of one bad tag varint."""

# RPC: 1 subscriptions (SubOpts: 1 subscribe, 2 topicid), 2 publish (Message: 1 from,
# 2 data, 3 seqno, 4 topicIDs, 5 signature, 6 key), 3 control (1 ihave, 2 iwant,
# 3 graft, 4 prune: 1 topicID, 2 peers, 3 backoff), 4 senderRecord.
UNDECODABLE_RPCS: dict[str, bytes] = {
    "truncated tag varint": BOMB,
    "overlong tag varint": rpc(b"\xff" * 10 + b"\x01"),
    "field number zero": rpc(b"\x00\x01"),
    "unmatched end group": rpc(b"\x0c"),
    "unterminated start group": rpc(b"\x0b"),
    "reserved wire type 6": rpc(b"\x0e\x00"),
    "reserved wire type 7": rpc(b"\x0f\x00"),
    "huge declared field length": rpc(b"\x12" + varint(1 << 40)),
    "field length beyond the frame": rpc(b"\x12\x10abc"),
    "truncated varint field": rpc(field(3, 2, field(4, 2, b"\x18\xff\xff"))),
    "garbage inside a subscription": rpc(field(1, 2, b"\x12\x05ab")),
    "publish with a truncated field": rpc(field(2, 2, b"\x12\x7f\x00")),
    "ihave with garbage": rpc(field(3, 2, field(1, 2, b"\x0a\x7f"))),
    "graft with a wrong wire type": rpc(field(3, 2, field(3, 2, b"\x0d"))),
    "prune peer info truncated": rpc(field(3, 2, field(4, 2, field(2, 2, b"\x0a\x20")))),
    "control nested garbage": rpc(field(3, 2, b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01")),
}
"""RPCs whose bytes do not parse as protobuf: the sender is penalised."""

HARMLESS_RPCS: dict[str, bytes] = {
    "empty RPC": rpc(b""),
    "unknown fields": rpc(field(15, 0, b"\x01") + field(99, 2, b"whatever") + field(7, 5, b"abcd")),
    "unknown field in a subscription": rpc(field(1, 2, field(9, 0, b"\x05"))),
    "publish without topics": rpc(field(2, 2, field(2, 2, b"data"))),
    "publish to an unknown topic": rpc(field(2, 2, field(4, 2, b"nobody") + field(2, 2, b"x"))),
    "sender record of garbage": rpc(field(4, 2, b"\x01\x02\x03 not an envelope")),
    "ihave of an unknown topic": rpc(
        field(3, 2, field(1, 2, field(1, 2, b"t") + field(2, 2, b"i")))
    ),
    "prune with a huge backoff": rpc(field(3, 2, field(4, 2, field(3, 0, b"\xff" * 9 + b"\x01")))),
    "graft of an unknown topic": rpc(field(3, 2, field(3, 2, field(1, 2, b"nobody")))),
    # A field with another wire type than its declared one is an unknown field, and
    # proto2 strings are not checked for UTF-8: both parse.
    "wrong wire type: subscriptions as varint": rpc(field(1, 0, b"\x01")),
    "wrong wire type: publish as fixed32": rpc(field(2, 5, b"abcd")),
    "wrong wire type: control as fixed64": rpc(field(3, 1, b"abcdefgh")),
    "subscription with a wrong wire type": rpc(field(1, 2, field(1, 2, b"x"))),
    "subscription topic not UTF-8": rpc(field(1, 2, field(1, 0, b"\x01") + field(2, 2, b"\xff"))),
    "publish topic not UTF-8": rpc(field(2, 2, field(4, 2, b"\xfe\xff"))),
    "ihave topic not UTF-8": rpc(field(3, 2, field(1, 2, field(1, 2, b"\xc3\x28")))),
}
"""Well-formed RPCs (as far as protobuf goes) with odd content: nobody is penalised, and
the node reads on past them (the bomb sent after each one is what gets the penalty)."""

LENGTH_PREFIX_ABUSE: dict[str, bytes] = {
    "length prefix over the RPC size cap": varint(1 << 40) + b"x" * 64,
    "overlong length varint": b"\xff" * 11,
}
"""Broken framing, which py-libp2p itself answers by resetting the stream."""

GARBAGE: dict[str, bytes] = {
    "the bomb": BOMB,
    "random bytes": bytes(range(256)) * 3,
    "huge length prefix": b"\xff\xff\xff\xff" + b"\x00" * 32,
    "truncated frame": b"\x00\x00\x00\x10\xa1",
}
"""Sent on every other protocol the node serves."""

OTHER_PROTOCOLS = (
    SYNC_PROTOCOL_ID,
    CATCHUP_PROTOCOL_ID,
    FORKS_PROTOCOL_ID,
    PROFILE_PROTOCOL_ID,
    "/ipfs/id/1.0.0",
    "/ipfs/id/push/1.0.0",
    "/ipfs/kad/1.0.0",
    "/ipfs/ping/1.0.0",
    "/libp2p/circuit/relay/0.2.0/hop",
    "/libp2p/circuit/relay/0.2.0/stop",
    "/meshsub/1.0.0",
    "/meshsub/1.2.0",
)


class Target(HandlerWatch):
    """The node under attack, the reasons it penalised each attacker for, and which of
    its stream handlers have returned."""

    def __init__(self, node: TestNode) -> None:
        super().__init__(node.node.host)
        self.node = node

    def penalties_of(self, key: bytes | None) -> list[str]:
        return [
            e.reason for e in self.node.log.events if isinstance(e, PeerPenalised) and e.peer == key
        ]

    async def send(self, protocol: str, data: bytes, *, wait: str, close: bool = True) -> list[str]:
        """From a fresh host, send ``data`` on ``protocol``, close (unless not ``close``:
        the stream stays open for more), and wait until the node penalised the sender
        (``wait="penalty"``) or its handler of the stream returned (``"end"``); the
        penalty reasons given to the sender."""
        async with running_host() as evil:
            target = PeerInfo(self.host.get_id(), self.host.get_addrs())
            await evil.connect(target)
            key = public_key_of(evil.get_id())
            stream = await evil.new_stream(target.peer_id, [protocol])
            with contextlib.suppress(Exception):  # the node may reset at once
                await stream.write(data)
                if close:
                    await stream.close_write()
            if wait == "penalty":
                await self.node.log.wait_for(lambda _e: bool(self.penalties_of(key)), timeout=10)
                await wait_disconnected(self.host, evil.get_id())
            else:
                await self.wait_finished(evil.get_id(), protocol)
            return self.penalties_of(key)


@pytest.fixture
async def target(tmp_path: Path) -> Any:
    async with running_node(make_data_dir(tmp_path, "target"), dht=True, relay_hop=True) as node:
        await node.post("still here")
        target = Target(node)
        yield target
        assert not target.escaped
        assert not any(isinstance(e, NodeStopped) for e in node.log.events)
        await serves_an_honest_reader(tmp_path, node)


async def serves_an_honest_reader(tmp_path: Path, node: TestNode) -> None:
    async with running_node(make_data_dir(tmp_path, "reader")) as reader:
        await reader.follow(node)
        await reader.connect(node)
        await reader.wait_height(node, 1)


async def test_the_seven_byte_rpc_ends_only_its_stream(target: Target) -> None:
    reasons = await target.send(MESHSUB, BOMB, wait="penalty")
    assert reasons == [f"gossip: {MESHSUB}: sent a message that does not decode"]


@pytest.mark.parametrize("name", sorted(UNDECODABLE_RPCS))
async def test_an_undecodable_rpc_is_penalised(target: Target, name: str) -> None:
    reasons = await target.send(MESHSUB, UNDECODABLE_RPCS[name], wait="penalty")
    assert len(reasons) == 1
    assert "does not decode" in reasons[0]


async def test_odd_but_wellformed_rpcs_cost_nothing(target: Target) -> None:
    for name, data in HARMLESS_RPCS.items():
        # The node reads past the harmless RPC, to the bomb after it.
        reasons = await target.send(MESHSUB, data + BOMB, wait="penalty")
        assert reasons == [f"gossip: {MESHSUB}: sent a message that does not decode"], name


async def test_broken_rpc_framing_is_reset(target: Target) -> None:
    for name, data in LENGTH_PREFIX_ABUSE.items():
        assert await target.send(MESHSUB, data, wait="end") == [], name


async def test_an_rpc_over_the_size_cap_is_refused_on_its_length(target: Target) -> None:
    """The node ends the stream as soon as the length prefix says too much, without
    waiting for (or buffering) the body; the sender keeps the stream open."""
    pubsub = target.node.node.gossip.pubsub
    over = varint(pubsub.max_inbound_rpc_size + 1) + b"x" * 64
    assert await target.send(MESHSUB, over, wait="end", close=False) == []


@pytest.mark.parametrize("protocol", OTHER_PROTOCOLS)
async def test_garbage_on_any_protocol_ends_only_its_stream(target: Target, protocol: str) -> None:
    for data in GARBAGE.values():
        await target.send(protocol, data, wait="end")
    # lndesk's own protocols refuse a peer that broke them; what a library's handler
    # makes of garbage is its business, as long as the node keeps running.
    if protocol in (SYNC_PROTOCOL_ID, CATCHUP_PROTOCOL_ID, FORKS_PROTOCOL_ID, PROFILE_PROTOCOL_ID):
        reasons = [
            r for e in target.node.log.events if isinstance(e, PeerPenalised) for r in [e.reason]
        ]
        assert reasons


async def test_a_handler_that_lets_an_error_out_ends_only_its_stream(target: Target) -> None:
    """Whatever a protocol handler raises on a peer's input stays on that stream; input
    that does not decode gets the peer penalised, any other failure does not."""

    async def parses_like_pubsub_0_8_1(stream: Any) -> None:
        rpc_pb2.RPC().ParseFromString(await stream.read(1024))

    async def fails(stream: Any) -> None:
        await stream.read(1024)
        raise ValueError("a library bug")

    target.host.set_stream_handler(TProtocol("/test/parses/1"), parses_like_pubsub_0_8_1)
    target.host.set_stream_handler(TProtocol("/test/fails/1"), fails)
    reasons = await target.send("/test/parses/1", BOMB[1:], wait="penalty")
    assert reasons == ["/test/parses/1: sent a message that does not decode"]
    assert await target.send("/test/fails/1", b"anything", wait="end") == []
