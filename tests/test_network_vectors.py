"""The network vectors of docs/protocol.md (tests/vectors/network.json), byte for byte.

Sync frames and head announcements are rebuilt from their described fields with the
implementation's encoders and with the independent reference CBOR encoder, and must give
exactly the stored bytes; decoding them must give the same fields back. The example
session is replayed against the real sync server and the real sync client, each talking
to a scripted stream, and each must send exactly the frames of its side. Every negative
vector must raise exactly the named error class.
"""

from __future__ import annotations

import hashlib
import importlib.util
import struct
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cbor_reference import ref_encode
from libp2p.kad_dht.kad_dht import _encode_key
from libp2p.pubsub.pb import rpc_pb2
from vector_decoders import rejection
from vector_reading import VECTOR_DIR, b, from_desc, hx, input_of, load, params

from lndesk import errors
from lndesk.entry import decode_entry
from lndesk.identity import Identity, blake2b_256
from lndesk.p2p import wire
from lndesk.p2p.announce import (
    MAX_ANNOUNCEMENT_SIZE,
    author_of_topic,
    decode_announcement,
    encode_announcement,
    feed_topic,
    split_announcement,
)
from lndesk.p2p.config import Limits, NodeConfig
from lndesk.p2p.dht import feed_dht_key
from lndesk.p2p.digest import DIGEST_PROTOCOL, vector_bytes, vector_digest
from lndesk.p2p.gossip import message_id
from lndesk.p2p.host import peer_id_of, public_key_of
from lndesk.p2p.ports import Held
from lndesk.p2p.sync import PIPELINED_PROTOCOL, SYNC_PROTOCOL, SyncClient, SyncServer
from lndesk.p2p.wire import (
    Ack,
    Batch,
    Done,
    Error,
    FeedHave,
    FrameStream,
    Get,
    Have,
    Message,
    StreamGone,
    Want,
    decode_frame_body,
    encode_frame,
)
from lndesk.store.ingest import decode_batch, plan_batch

NETWORK = load("network.json")


def message_from(desc: dict[str, Any]) -> Message:
    """A described sync message as the implementation's message object."""
    doc = from_desc(desc)
    kind = doc["t"]
    if kind == "want":
        return Want(tuple((key, height) for key, height in doc["feeds"]))
    if kind == "have":
        return Have(tuple(FeedHave(k, height, top) for k, height, top in doc["feeds"]))
    if kind == "get":
        return Get(doc["feed"], doc["first"], doc["last"])
    if kind == "batch":
        return Batch(doc["feed"], tuple((e, p) for e, p in doc["items"]))
    if kind == "ack":
        return Ack(doc["height"])
    if kind == "done":
        return Done()
    if kind == "digest":
        return wire.Digest(doc["vector"])
    if kind == "same":
        return wire.Same()
    if kind == "differs":
        return wire.Differs()
    assert kind == "error"
    return Error(doc["code"], doc["message"])


class ScriptedStream:
    """A stream that yields ``incoming`` to its reader and records what is written."""

    def __init__(self, incoming: bytes) -> None:
        self.incoming = incoming
        self.written = bytearray()
        self.closed = False
        self.was_reset = False
        self.muxed_conn = SimpleNamespace(peer_id="peer")
        self.protocol = SYNC_PROTOCOL

    def get_protocol(self) -> str:
        """The version the scripted server chose."""
        return self.protocol

    async def read(self, n: int = 65536) -> bytes:
        chunk, self.incoming = self.incoming[:n], self.incoming[n:]
        return chunk

    async def write(self, data: bytes) -> None:
        self.written += data

    async def close(self) -> None:
        self.closed = True

    async def reset(self) -> None:
        self.was_reset = True


async def read_frames(data: bytes, max_frame: int | None = None) -> list[Message]:
    frames = FrameStream(ScriptedStream(data), max_frame or Limits().max_frame)
    out = []
    while (message := await frames.receive()) is not None:
        out.append(message)
    return out


# --- the file as a whole ------------------------------------------------------------


def test_generator_rewrites_identical_network_file(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("vector_generator", VECTOR_DIR / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.OUT = tmp_path
    module.write("network.json", module.documents()["network.json"])
    expected = (VECTOR_DIR / "network.json").read_bytes()
    assert (tmp_path / "network.json").read_bytes() == expected


def test_limits_are_the_defaults() -> None:
    limits, config = Limits(), NodeConfig()
    stated = NETWORK["limits"]
    assert NETWORK["sync_protocol"] == wire.PROTOCOL_ID == str(SYNC_PROTOCOL) == "/lndesk/sync/1"
    for name in (
        "max_frame",
        "batch_entries",
        "batch_bytes",
        "request_entries",
        "want_feeds",
        "window",
        "streams_per_peer",
        "session_timeout",
        "gossip_payload",
    ):
        assert stated[name] == getattr(limits, name), name
    assert stated["max_announcement"] == MAX_ANNOUNCEMENT_SIZE
    assert stated["penalty_seconds"] == config.penalty_seconds


# --- identities, topics and DHT keys ---------------------------------------------------


@pytest.mark.parametrize("vector", params(NETWORK["identities"]))
def test_identity(vector: dict[str, Any]) -> None:
    key = hx(vector["public_key"])
    assert Identity(hx(vector["seed"])).public_key == key
    peer = peer_id_of(key)
    assert peer.to_base58() == vector["peer_id"]
    assert peer.to_bytes() == hx(vector["peer_id_bytes"])
    # identity multihash (00, length 36) of the libp2p PublicKey protobuf (Ed25519 = 1)
    assert peer.to_bytes() == b"\x00\x24\x08\x01\x12\x20" + key
    assert public_key_of(peer) == key

    assert feed_topic(key) == vector["topic"] == "lndesk/feed/1/" + key.hex()
    assert author_of_topic(vector["topic"]) == key

    dht_key = hx(vector["dht_key"])
    assert feed_dht_key(key) == dht_key
    assert dht_key[:2] == b"\x12\x20"
    assert dht_key[2:] == hashlib.sha256(b"lndesk/feed/1" + key).digest()
    # The DHT is handed the hex form, which it turns back into exactly these bytes.
    assert _encode_key(dht_key.hex()) == dht_key


@pytest.mark.parametrize("vector", params(NETWORK["not_topics"]))
def test_not_a_feed_topic(vector: dict[str, Any]) -> None:
    assert author_of_topic(vector["topic"]) is None


# --- sync frames ----------------------------------------------------------------------


@pytest.mark.parametrize("vector", params(NETWORK["frames"]))
def test_frame(vector: dict[str, Any]) -> None:
    data = hx(vector["frame"])
    (length,) = struct.unpack(">I", data[:4])
    body = data[4:]
    assert length == len(body)
    message = message_from(vector["message"])
    assert encode_frame(message) == data
    assert ref_encode(from_desc(vector["message"])) == body
    assert decode_frame_body(body) == message


async def test_frames_read_from_one_stream() -> None:
    frames = [hx(v["frame"]) for v in NETWORK["frames"]]
    expected = [message_from(v["message"]) for v in NETWORK["frames"]]
    assert await read_frames(b"".join(frames)) == expected


@pytest.mark.parametrize(
    "vector", params([v for v in NETWORK["frames"] if from_desc(v["message"])["t"] == "batch"])
)
def test_batch_frame_authenticates(vector: dict[str, Any]) -> None:
    message = decode_frame_body(hx(vector["frame"])[4:])
    assert isinstance(message, Batch)
    entries = decode_batch(message.feed, message.items)
    plan = plan_batch(entries, [p for _, p in message.items], {}, lambda _seq: None)
    assert len(plan.new) == len(message.items)


# --- the example session -------------------------------------------------------------------

SESSION = NETWORK["session"]


class MemoryFeed:
    """One feed's entries in memory, as a sync server or client sees storage."""

    def __init__(self, key: bytes, held: dict[int, tuple[bytes, bytes | None]]) -> None:
        self.key = key
        self.entries = dict(held)

    def own_key(self) -> bytes:
        return self.key

    def held(self, key: bytes) -> Held:
        if key != self.key or not self.entries:
            return Held(0, 0)
        height = 0
        while height + 1 in self.entries:
            height += 1
        return Held(height, max(self.entries))

    def held_feeds(self) -> list[bytes]:
        return [self.key] if self.entries else []

    def wanted_feeds(self) -> list[bytes]:
        return [self.key]

    def wants(self, key: bytes) -> bool:
        return key == self.key

    def stored_seqs(self, key: bytes, first: int, last: int) -> set[int]:
        if key != self.key:
            return set()
        return {seq for seq in self.entries if first <= seq <= last}

    def serves(self, key: bytes) -> bool:
        return key == self.key

    def payload_holes(self, key: bytes, first: int, last: int, limit: int) -> list[int]:
        if key != self.key:
            return []
        held = sorted(s for s, (_, p) in self.entries.items() if p is None and first <= s <= last)
        return held[:limit]

    def read_run(
        self, key: bytes, first: int, last: int, max_entries: int, max_bytes: int
    ) -> list[tuple[int, bytes, bytes | None]]:
        run: list[tuple[int, bytes, bytes | None]] = []
        size = 0
        seq = first
        while key == self.key and seq <= last and seq in self.entries and len(run) < max_entries:
            entry, payload = self.entries[seq]
            size += len(entry) + len(payload or b"")
            if run and size > max_bytes:
                break
            run.append((seq, entry, payload))
            seq += 1
        return run

    def ingest(self, key: bytes, items: Any) -> Any:
        entries = decode_batch(key, items)
        first, last = entries[0].seq, entries[-1].seq
        stored = {
            seq: (blake2b_256(self.entries[seq][0]), 0)
            for seq in range(first - 1, last + 2)
            if seq in self.entries
        }
        plan = plan_batch(
            entries,
            [p for _, p in items],
            stored,
            lambda seq: decode_entry(self.entries[seq][0]).prev,
        )
        assert plan.fork_proof is None
        for entry, payload in plan.new:
            self.entries[entry.seq] = (entry.raw, payload)
        return SimpleNamespace(stored=len(plan.new), fork_at=None, filled=0)


def session_limits() -> Limits:
    return Limits(**SESSION["limits"])


def side(sender: str) -> bytes:
    return b"".join(hx(s["frame"]) for s in SESSION["steps"] if s["sender"] == sender)


def held_items() -> dict[int, tuple[bytes, bytes | None]]:
    out = {}
    for item in SESSION["held"]:
        entry = hx(item["entry"])
        out[decode_entry(entry).seq] = (entry, b(item["payload"]))
    return out


def test_session_steps() -> None:
    for step in SESSION["steps"]:
        message = message_from(step["message"])
        assert encode_frame(message) == hx(step["frame"])
        assert decode_frame_body(hx(step["frame"])[4:]) == message
        is_reader = isinstance(message, (Want, Get, Ack))
        assert step["sender"] == ("reader" if is_reader else "server")


async def test_session_server_sends_exactly_its_frames() -> None:
    feed = MemoryFeed(hx(SESSION["feed"]), held_items())
    penalised: list[str] = []
    server = SyncServer(
        feed,
        session_limits(),
        events=lambda _event: None,
        penalise=lambda _peer, reason: penalised.append(reason),
        is_penalised=lambda _peer: False,
        key_of=lambda _peer: None,
    )
    stream = ScriptedStream(side("reader"))
    await server.handle(stream)
    assert penalised == []
    assert not stream.was_reset
    assert bytes(stream.written) == side("server")


async def test_session_client_sends_exactly_its_frames() -> None:
    key = hx(SESSION["feed"])
    feed = MemoryFeed(key, {})
    stream = ScriptedStream(side("server"))
    opened: list[Any] = []

    async def new_stream(peer: Any, protocols: list[str]) -> ScriptedStream:
        opened.append((peer, protocols))
        return stream

    penalised: list[str] = []
    client = SyncClient(
        SimpleNamespace(new_stream=new_stream),
        feed,
        session_limits(),
        events=lambda _event: None,
        penalise=lambda _peer, reason: penalised.append(reason),
        key_of=lambda _peer: None,
        newest_first=False,
    )
    report = await client.sync_with("peer", [key])
    assert opened == [("peer", [DIGEST_PROTOCOL, PIPELINED_PROTOCOL, SYNC_PROTOCOL])]
    assert penalised == []
    assert stream.closed and not stream.was_reset
    assert bytes(stream.written) == side("reader")
    assert report.stored == len(SESSION["held"])
    assert feed.entries == held_items()


# --- head announcements -------------------------------------------------------------------


@pytest.mark.parametrize("vector", params(NETWORK["announcements"]))
def test_announcement(vector: dict[str, Any]) -> None:
    entry, payload, data = hx(vector["entry"]), b(vector["payload"]), hx(vector["message"])
    author = hx(vector["author"])
    assert encode_announcement(entry, payload) == data
    doc: dict[str, Any] = {"author": author, "entry": entry}
    if payload is not None:
        doc["payload"] = payload
    assert ref_encode(doc) == data
    assert len(data) <= MAX_ANNOUNCEMENT_SIZE

    head = decode_announcement(data, topic=vector["topic"])
    assert head.author == author
    assert head.entry.raw == entry
    assert head.payload == payload
    assert feed_topic(author) == vector["topic"]
    assert split_announcement(data) == (entry, author, payload)

    msg_id = hx(vector["message_id"])
    assert msg_id == blake2b_256(entry) == head.entry.id
    assert message_id(rpc_pb2.Message(data=data, topicIDs=[vector["topic"]])) == msg_id


@pytest.mark.parametrize("vector", params(NETWORK["message_ids"]))
def test_message_id_of_other_data(vector: dict[str, Any]) -> None:
    data, msg_id = hx(vector["data"]), hx(vector["message_id"])
    assert len(msg_id) == 33
    assert msg_id == b"\x00" + blake2b_256(data[: MAX_ANNOUNCEMENT_SIZE + 1])
    assert message_id(rpc_pb2.Message(data=data)) == msg_id


# --- negative vectors ------------------------------------------------------------------------

NEGATIVE = NETWORK["negative"]


DECODERS = {"frame", "batch", "announcement"}


def error_class(name: str) -> type[Exception]:
    return StreamGone if name == "StreamGone" else getattr(errors, name)


def test_negative_vectors_cover_every_decoder() -> None:
    assert {v["decoder"] for v in NEGATIVE} == set(DECODERS)
    names = [(v["decoder"], v["name"]) for v in NEGATIVE]
    assert len(names) == len(set(names))
    counts: dict[str, int] = {}
    for vector in NEGATIVE:
        counts[vector["decoder"]] = counts.get(vector["decoder"], 0) + 1
    assert counts == NETWORK["counts"]


@pytest.mark.parametrize(
    "vector", [pytest.param(v, id=f"{v['decoder']}: {v['name']}") for v in NEGATIVE]
)
async def test_negative_vector(vector: dict[str, Any]) -> None:
    """Rejected with the class the vector names, for the reason it gives (the input is
    canonical except for the one fault its name gives)."""
    expected = error_class(vector["error"])
    assert issubclass(expected, errors.LndeskError)
    assert type(input_of(vector)) is bytes
    raised = await rejection(vector)
    assert type(raised) is expected, raised
    assert str(raised) == vector["reason"]


# --- the pipelined example session (section 20.14) ------------------------------------------

PIPELINED = NETWORK["pipelined_session"]


def pipelined_side(sender: str) -> bytes:
    return b"".join(hx(s["frame"]) for s in PIPELINED["steps"] if s["sender"] == sender)


def test_pipelined_session_steps() -> None:
    assert PIPELINED["sync_protocol"] == PIPELINED_PROTOCOL
    assert PIPELINED["held"] == SESSION["held"]
    for step in PIPELINED["steps"]:
        message = message_from(step["message"])
        assert encode_frame(message) == hx(step["frame"])
        assert decode_frame_body(hx(step["frame"])[4:]) == message


async def test_pipelined_session_server_sends_exactly_its_frames() -> None:
    feed = MemoryFeed(hx(PIPELINED["feed"]), held_items())
    penalised: list[str] = []
    server = SyncServer(
        feed,
        Limits(**PIPELINED["limits"]),
        events=lambda _event: None,
        penalise=lambda _peer, reason: penalised.append(reason),
        is_penalised=lambda _peer: False,
        key_of=lambda _peer: None,
    )
    stream = ScriptedStream(pipelined_side("reader"))
    await server.handle_pipelined(stream)
    assert penalised == []
    assert not stream.was_reset
    assert bytes(stream.written) == pipelined_side("server")


async def test_pipelined_session_client_sends_exactly_its_frames() -> None:
    key = hx(PIPELINED["feed"])
    feed = MemoryFeed(key, {})
    stream = ScriptedStream(pipelined_side("server"))
    stream.protocol = PIPELINED_PROTOCOL

    async def new_stream(_peer: Any, _protocols: list[str]) -> ScriptedStream:
        return stream

    penalised: list[str] = []
    client = SyncClient(
        SimpleNamespace(new_stream=new_stream),
        feed,
        Limits(**PIPELINED["limits"]),
        events=lambda _event: None,
        penalise=lambda _peer, reason: penalised.append(reason),
        key_of=lambda _peer: None,
        newest_first=False,
    )
    report = await client.sync_with("peer", [key])
    assert penalised == []
    assert stream.closed and not stream.was_reset
    assert bytes(stream.written) == pipelined_side("reader")
    assert report.stored == len(PIPELINED["held"])
    assert feed.entries == held_items()


# --- height-vector digests (section 20.15) ------------------------------------------------


@pytest.mark.parametrize("vector", params(NETWORK["height_digests"]))
def test_height_digest(vector: dict[str, Any]) -> None:
    pairs = [(hx(key), height) for key, height in vector["heights"]]
    assert vector_bytes(pairs) == hx(vector["records"])
    assert vector_digest(pairs) == hx(vector["digest"])
    assert blake2b_256(hx(vector["records"])) != hx(vector["digest"])  # personalised


DIGESTED = NETWORK["digest_session"]


def digested_side(sender: str) -> bytes:
    return b"".join(hx(s["frame"]) for s in DIGESTED["steps"] if s["sender"] == sender)


async def test_digest_session_server_sends_exactly_its_frames() -> None:
    assert DIGESTED["sync_protocol"] == DIGEST_PROTOCOL
    key = hx(DIGESTED["feed"])
    server = SyncServer(
        MemoryFeed(key, held_items()),
        Limits(),
        events=lambda _event: None,
        penalise=lambda _peer, reason: pytest.fail(reason),
        is_penalised=lambda _peer: False,
        key_of=lambda _peer: None,
    )
    server.vectors.remember("peer", [(key, len(held_items()))])
    stream = ScriptedStream(digested_side("reader"))
    await server.handle_digests(stream)
    assert not stream.was_reset
    assert bytes(stream.written) == digested_side("server")


async def test_digest_session_client_sends_exactly_its_frames() -> None:
    key = hx(DIGESTED["feed"])
    # The example's reader holds every payload: one holding a hole sends want, not a
    # digest (section 20.15). The session's held entries lack payload 4, which no frame
    # of this round carries, so any bytes stand in for it.
    feed = MemoryFeed(
        key, {seq: (e, b"\xa0" if p is None else p) for seq, (e, p) in held_items().items()}
    )
    stream = ScriptedStream(digested_side("server"))
    stream.protocol = DIGEST_PROTOCOL

    async def new_stream(_peer: Any, _protocols: list[str]) -> ScriptedStream:
        return stream

    client = SyncClient(
        SimpleNamespace(new_stream=new_stream),
        feed,
        Limits(),
        events=lambda _event: None,
        penalise=lambda _peer, reason: pytest.fail(reason),
        key_of=lambda _peer: None,
        newest_first=False,
    )
    client.sent_vectors.remember("peer", vector_digest([(key, len(held_items()))]))
    report = await client.sync_with("peer", [key])
    assert stream.closed and not stream.was_reset
    assert bytes(stream.written) == digested_side("reader")
    assert (report.unchanged, report.stored) == (1, 0)
