"""Height-vector digests, ``/lndesk/sync/3`` (docs/protocol.md section 20.15), on real
loopback hosts: a round in which nothing changed is one small exchange, a change on
either side leads to the whole want, and old readers and servers keep working."""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio
from conftest import running_host
from libp2p.peer.peerinfo import PeerInfo
from scripted_stream import RecordingHost, frames_in
from store_helpers import make_chain, make_identity, wire

from lndesk.app.feeds import StoreFeeds
from lndesk.p2p import sync as sync_module
from lndesk.p2p import wire as frames
from lndesk.p2p.config import Limits
from lndesk.p2p.digest import DIGEST_PROTOCOL, ServedVectors, vector_digest
from lndesk.p2p.host import peer_id_of, public_key_of
from lndesk.p2p.sync import PIPELINED_PROTOCOL, SYNC_PROTOCOL, SyncClient, SyncServer
from lndesk.store.store import Store

ANN, BEN, CAT = make_identity(1), make_identity(2), make_identity(3)
A, B, C = ANN.public_key, BEN.public_key, CAT.public_key
LIMITS = Limits(batch_entries=5, request_entries=10, pipeline_window=3)
WAIT = 20


@dataclass
class Server:
    host: Any
    feeds: StoreFeeds
    server: SyncServer
    penalised: dict[str, str]


@asynccontextmanager
async def server_of(
    path: Path, *, digests: bool = True, limits: Limits = LIMITS
) -> AsyncIterator[Server]:
    """A host serving Ann's 1..40 and Ben's 1..20; without ``digests`` it speaks only
    ``/lndesk/sync/1`` and ``/2`` (an old server)."""
    store = Store(path)
    try:
        async with running_host() as host:
            me = public_key_of(host.get_id())
            assert me is not None
            feeds = StoreFeeds(store, me)
            feeds.ingest(A, wire(make_chain(ANN, 40)))
            feeds.ingest(B, wire(make_chain(BEN, 20)))
            penalised: dict[str, str] = {}
            server = SyncServer(
                feeds,
                limits,
                events=lambda _e: None,
                penalise=lambda who, reason: penalised.__setitem__(str(who), reason),
                is_penalised=lambda who: str(who) in penalised,
                key_of=public_key_of,
            )
            host.set_stream_handler(SYNC_PROTOCOL, server.handle)
            host.set_stream_handler(PIPELINED_PROTOCOL, server.handle_pipelined)
            if digests:
                host.set_stream_handler(DIGEST_PROTOCOL, server.handle_digests)
            yield Server(host, feeds, server, penalised)
    finally:
        store.close()


@dataclass
class Reader:
    feeds: StoreFeeds
    client: SyncClient
    recording: RecordingHost
    server: Server
    peer_id: Any
    penalised: list[str]

    async def sync(self, *, remembered: bool = True) -> Any:
        """One round with the server; returns the report (the stream is the last one).

        With ``remembered``, waits until the server remembers the vector the reader
        ended with (it does when it sees the stream closed)."""
        with trio.fail_after(WAIT):
            report = await self.client.sync_with(self.server.host.get_id())
            if remembered:
                vector = vector_digest((key, self.feeds.held(key).height) for key in (A, B, C))
                await self.server.server.vectors.wait_remembered(self.peer_id, vector)
        assert not self.penalised
        return report

    def last(self) -> tuple[list[frames.Message], list[frames.Message], int]:
        """The last session's frames each way and its bytes (both ways)."""
        stream = self.recording.streams[-1]
        sent, received = bytes(stream.sent), bytes(stream.received)
        return frames_in(sent), frames_in(received), len(sent) + len(received)


@asynccontextmanager
async def reader_of(
    path: Path,
    server: Server,
    *,
    digests: bool = True,
    limits: Limits = LIMITS,
    wanted: tuple[bytes, ...] = (A, B, C),
) -> AsyncIterator[Reader]:
    store = Store(path)
    try:
        async with running_host() as host:
            me = public_key_of(host.get_id())
            assert me is not None
            feeds = StoreFeeds(store, me)
            feeds.wanted_feeds = lambda: list(wanted)  # type: ignore[method-assign]
            recording = RecordingHost(host)
            penalised: list[str] = []
            client = SyncClient(
                recording,
                feeds,
                limits,
                events=lambda _e: None,
                penalise=lambda _who, reason: penalised.append(reason),
                key_of=public_key_of,
                newest_first=True,
                digests=digests,
            )
            server_id = server.host.get_id()
            await host.connect(PeerInfo(server_id, server.host.get_addrs()))
            yield Reader(feeds, client, recording, server, host.get_id(), penalised)
    finally:
        store.close()


async def test_a_round_in_which_nothing_changed_is_one_small_exchange(tmp_path: Path) -> None:
    async with server_of(tmp_path / "s") as server, reader_of(tmp_path / "r", server) as reader:
        first = await reader.sync()
        assert (first.stored, first.unchanged) == (60, 0)
        sent, _received, full_bytes = reader.last()
        assert isinstance(sent[0], frames.Want)  # nothing remembered yet: no digest
        again = await reader.sync()
        assert (again.stored, again.unchanged) == (0, 1)
        assert reader.recording.streams[-1].get_protocol() == DIGEST_PROTOCOL
        sent, received, size = reader.last()
        assert sent == [frames.Digest(vector_digest([(A, 40), (B, 20), (C, 0)]))]
        assert received == [frames.Same()]
        assert size == (4 + 51) + (4 + 8)  # the digest frame, the same frame
        assert size < full_bytes / 100
        assert not server.penalised


async def test_heights_grown_during_a_session_leave_the_vector_the_server_remembers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cat's entries reach the reader from elsewhere while its session runs (after its
    want): the vector it keeps for that server is the want's, raised by its acks, as the
    server remembers it; not its heights at the end, which the server never heard of."""
    exchange_want = sync_module.exchange_want

    async def cat_arrives_meanwhile(*args: Any) -> Any:
        offers = await exchange_want(*args)
        reader.feeds.ingest(C, wire(make_chain(CAT, 5)))
        return offers

    monkeypatch.setattr(sync_module, "exchange_want", cat_arrives_meanwhile)
    async with server_of(tmp_path / "s") as server, reader_of(tmp_path / "r", server) as reader:
        with trio.fail_after(WAIT):
            await reader.client.sync_with(server.host.get_id())
        assert reader.feeds.held(C).height == 5
        left = vector_digest([(A, 40), (B, 20), (C, 0)])
        assert reader.client.visit_vector(server.host.get_id(), [A, B, C]) == left
        with trio.fail_after(WAIT):
            await server.server.vectors.wait_remembered(reader.peer_id, left)
        assert not reader.penalised


async def test_a_server_holding_more_answers_differs_and_the_want_follows(tmp_path: Path) -> None:
    async with server_of(tmp_path / "s") as server, reader_of(tmp_path / "r", server) as reader:
        await reader.sync()
        # The reader's vector is unchanged, but the server now holds more of Ann's log.
        server.feeds.ingest(A, wire(make_chain(ANN, 45)[40:]))
        again = await reader.sync()
        assert (again.stored, again.unchanged) == (5, 0)
        sent, received, _size = reader.last()
        assert isinstance(sent[0], frames.Digest) and isinstance(sent[1], frames.Want)
        assert isinstance(received[0], frames.Differs) and isinstance(received[1], frames.Have)
        assert reader.feeds.held(A).height == 45
        third = await reader.sync()
        assert third.unchanged == 1
        assert not server.penalised


async def test_a_server_that_starts_holding_a_wanted_feed_answers_differs(tmp_path: Path) -> None:
    async with server_of(tmp_path / "s") as server, reader_of(tmp_path / "r", server) as reader:
        await reader.sync()
        server.feeds.ingest(C, wire(make_chain(CAT, 3)))
        again = await reader.sync()
        assert (again.stored, again.unchanged) == (3, 0)
        assert reader.feeds.held(C).height == 3


async def test_a_reader_whose_vector_changed_sends_the_want_at_once(tmp_path: Path) -> None:
    async with server_of(tmp_path / "s") as server, reader_of(tmp_path / "r", server) as reader:
        await reader.sync()
        # The reader got Cat's first entries from elsewhere: its digest is not one the
        # server was left with, so it skips the digest and its round trip.
        reader.feeds.ingest(C, wire(make_chain(CAT, 2)))
        again = await reader.sync()
        assert again.unchanged == 0
        sent, _received, _size = reader.last()
        assert isinstance(sent[0], frames.Want)
        assert (await reader.sync()).unchanged == 1


async def test_a_server_that_forgot_the_vector_answers_differs(tmp_path: Path) -> None:
    async with server_of(tmp_path / "s") as server, reader_of(tmp_path / "r", server) as reader:
        await reader.sync()
        server.server.vectors = ServedVectors(budget=0)  # remembers nothing, as if restarted
        again = await reader.sync(remembered=False)
        sent, received, _size = reader.last()
        assert isinstance(sent[0], frames.Digest) and received[0] == frames.Differs()
        assert (again.stored, again.unchanged) == (0, 0)
        server.server.vectors = ServedVectors()
        await reader.sync()
        assert (await reader.sync()).unchanged == 1


async def test_an_old_server_is_read_on_sync_2(tmp_path: Path) -> None:
    async with (
        server_of(tmp_path / "s", digests=False) as server,
        reader_of(tmp_path / "r", server) as reader,
    ):
        assert (await reader.sync(remembered=False)).stored == 60
        again = await reader.sync(remembered=False)
        assert reader.recording.streams[-1].get_protocol() == PIPELINED_PROTOCOL
        assert (again.stored, again.unchanged) == (0, 0)
        sent, _received, _size = reader.last()
        assert isinstance(sent[0], frames.Want)
        assert not server.penalised


async def test_an_old_reader_is_served_on_sync_2(tmp_path: Path) -> None:
    async with (
        server_of(tmp_path / "s") as server,
        reader_of(tmp_path / "r", server, digests=False) as reader,
    ):
        assert (await reader.sync(remembered=False)).stored == 60
        again = await reader.sync(remembered=False)
        assert reader.recording.streams[-1].get_protocol() == PIPELINED_PROTOCOL
        assert (again.stored, again.unchanged) == (0, 0)
        assert not server.penalised


def test_served_vectors_are_bounded_per_reader_and_in_bytes() -> None:
    vectors = ServedVectors(per_peer=2, budget=1000)
    one = vectors.remember("p", [(A, 1)])
    vectors.remember("p", [(A, 2)])
    three = vectors.remember("p", [(A, 3)])
    assert vectors.recall("p", one) is None  # the reader's oldest went first
    assert vectors.recall("p", three) == [(A, 3)]
    assert vectors.recall("q", three) is None  # a digest is only good from its reader
    big = vectors.remember("q", [(A, 1), (B, 1), (C, 1)])
    assert vectors.bytes <= 1000
    assert vectors.recall("p", three) is None  # the least recently used reader went
    assert vectors.recall("q", big) == sorted([(A, 1), (B, 1), (C, 1)])


@pytest.mark.parametrize(("vectors", "feeds"), [(1, 0), (8, 1)])
def test_served_vectors_stay_within_their_budget_in_memory(vectors: int, feeds: int) -> None:
    """Many peer IDs, each ending sessions with empty or one-feed wants, cost no more
    memory than the budget says: a vector's and a reader's bookkeeping count too."""
    budget = 1024 * 1024
    peers = [os.urandom(38) for _ in range(12_000)]
    tracemalloc.start()
    try:
        served = ServedVectors(budget=budget)
        for peer in peers:
            for height in range(vectors):
                served.remember(peer, [(A, height)] * feeds)
        used, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert served.bytes <= budget
    assert used <= budget * 1.25


async def test_an_empty_want_on_sync_3_counts_against_the_budget(tmp_path: Path) -> None:
    async with server_of(tmp_path / "s") as server, running_host() as host:
        await host.connect(PeerInfo(server.host.get_id(), server.host.get_addrs()))
        with trio.fail_after(WAIT):
            stream = await host.new_stream(server.host.get_id(), [DIGEST_PROTOCOL])
            await stream.write(frames.encode_frame(frames.Want(())))
            await stream.close()
            await server.server.vectors.wait_remembered(host.get_id(), vector_digest([]))
        assert server.server.vectors.bytes > 0
        assert not server.penalised


async def test_a_want_after_differs_is_charged_only_beyond_its_digest(tmp_path: Path) -> None:
    """A reader of more feeds than one want names, each of whose sessions ends in
    differs, is charged each feed once a round, as on /2 (it was charged twice, and a
    reader of over half the rate in feeds was penalised for an honest round)."""
    people = [make_identity(10 + n) for n in range(12)]
    keys = tuple(person.public_key for person in people)
    limits = Limits(batch_entries=5, request_entries=10, want_feeds=5, want_feeds_per_minute=30)
    async with (
        server_of(tmp_path / "s", limits=limits) as server,
        reader_of(tmp_path / "r", server, limits=limits, wanted=keys) as reader,
    ):
        for person in people:
            server.feeds.ingest(person.public_key, wire(make_chain(person, 3)))
        with trio.fail_after(WAIT):
            assert (await reader.client.sync_with(server.host.get_id())).stored == 36
            for start in range(0, len(keys), 5):
                vector = vector_digest((key, 3) for key in keys[start : start + 5])
                await server.server.vectors.wait_remembered(reader.peer_id, vector)
        for person in people:
            server.feeds.ingest(person.public_key, wire(make_chain(person, 4)))
        with trio.fail_after(WAIT):
            again = await reader.client.sync_with(server.host.get_id())
        assert (again.stored, again.unchanged) == (12, 0)
        assert isinstance(reader.last()[0][0], frames.Digest)
        assert not server.penalised
        assert not reader.penalised


async def test_only_an_author_that_sent_its_own_head_counts_as_holding_it(tmp_path: Path) -> None:
    """An author's vector falls behind its own feed as it publishes; a head it sent this
    server itself shows it holds its feed up to there (section 20.15). A head forwarded
    by anyone else proves nothing of what the author holds, nor of other feeds."""
    store = Store(tmp_path / "server")
    try:
        feeds = StoreFeeds(store, C)
        feeds.ingest(A, wire(make_chain(ANN, 40)))
        feeds.ingest(B, wire(make_chain(BEN, 20)))
        server = SyncServer(
            feeds,
            LIMITS,
            events=lambda _e: None,
            penalise=lambda _who, _reason: None,
            is_penalised=lambda _who: False,
            key_of=public_key_of,
        )
        ann, ben = peer_id_of(A), peer_id_of(B)
        behind = server.vectors.remember(ann, [(A, 30), (B, 20)])

        async def same(digest: bytes) -> bool:
            look = await server.look_at_vector(ann, None, digest, forks=False)
            assert look is not None
            return look.same

        assert not await same(behind)
        server.heard_head(ben, A, 40)  # Ben forwarded Ann's head
        assert server.vectors.sent_own(ben) == 0 and not await same(behind)
        server.heard_head(ann, A, 39)
        assert not await same(behind)
        server.heard_head(ann, A, 40)
        server.heard_head(ann, A, 35)  # an older head lowers nothing
        assert await same(behind)
        assert not await same(server.vectors.remember(ann, [(A, 40), (B, 10)]))
    finally:
        store.close()
