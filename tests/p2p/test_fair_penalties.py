"""Only what docs/protocol.md section 24 names is penalised: a stream that is empty,
closed, reset or timed out, on either side of a session, costs the peer nothing."""

from __future__ import annotations

import contextlib
import hashlib
import random
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
from conftest import running_host, wait_disconnected
from libp2p.custom_types import TProtocol
from libp2p.peer.peerinfo import PeerInfo
from node_helpers import HandlerWatch, TestNode, make_data_dir, running_node

from lndesk.app.feeds import StoreFeeds
from lndesk.p2p.catchup import CATCHUP_PROTOCOL_ID, CatchupClient
from lndesk.p2p.config import Limits
from lndesk.p2p.events import PeerPenalised
from lndesk.p2p.forks import FORKS_PROTOCOL_ID
from lndesk.p2p.host import public_key_of
from lndesk.p2p.profiles import PROFILE_PROTOCOL_ID
from lndesk.p2p.sync import SyncClient
from lndesk.p2p.wire import FRAME_HEAD, Want, encode_frame
from lndesk.p2p.wire import PROTOCOL_ID as SYNC_PROTOCOL_ID
from lndesk.store.store import Store

PROTOCOLS = (SYNC_PROTOCOL_ID, CATCHUP_PROTOCOL_ID, FORKS_PROTOCOL_ID, PROFILE_PROTOCOL_ID)
SHORT = Limits(session_timeout=0.5)
"""A session timeout the tests can wait out."""


def penalties(node: TestNode) -> list[PeerPenalised]:
    return [e for e in node.log.events if isinstance(e, PeerPenalised)]


async def close(stream: Any) -> None:
    await stream.close()


async def reset(stream: Any) -> None:
    await stream.reset()


async def close_mid_header(stream: Any) -> None:
    await stream.write(b"\x00\x00")
    await stream.close()


async def reset_mid_frame(stream: Any) -> None:
    await stream.write(encode_frame(Want(()))[:-1])
    await stream.reset()


async def say_nothing(stream: Any) -> None:
    """Keep the stream open and silent past the server's session timeout."""


LEAVINGS: dict[str, Callable[[Any], Awaitable[None]]] = {
    "closed before the first frame": close,
    "reset before the first frame": reset,
    "closed inside the first frame's length": close_mid_header,
    "reset inside the first frame": reset_mid_frame,
    "silent until the session timeout": say_nothing,
}


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("leaving", sorted(LEAVINGS))
async def test_a_reader_that_goes_away_is_not_penalised(
    tmp_path: Path, protocol: str, leaving: str
) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "server"), limits=SHORT) as server,
        running_host() as reader,
    ):
        watch = HandlerWatch(server.node.host)
        target = PeerInfo(server.node.host.get_id(), server.node.host.get_addrs())
        await reader.connect(target)
        stream = await reader.new_stream(target.peer_id, [TProtocol(protocol)])
        await LEAVINGS[leaving](stream)
        await watch.wait_finished(reader.get_id(), protocol)
        assert not penalties(server)
        assert not server.node.is_penalised(reader.get_id())
        assert not watch.escaped


async def server_resets(stream: Any) -> None:
    await stream.reset()


async def server_closes(stream: Any) -> None:
    await stream.close()


async def server_closes_after_the_first_frame(stream: Any) -> None:
    await stream.read(FRAME_HEAD.size)
    await stream.close()


async def server_stalls(stream: Any) -> None:
    await trio.sleep_forever()


SERVERS: dict[str, Callable[[Any], Awaitable[None]]] = {
    "resets at once": server_resets,
    "closes at once": server_closes,
    "closes after the first frame": server_closes_after_the_first_frame,
    "never answers": server_stalls,
}


@pytest.mark.parametrize("behaviour", sorted(SERVERS))
async def test_a_server_that_goes_away_is_not_penalised(tmp_path: Path, behaviour: str) -> None:
    """The protocols a reader starts on connecting (sync, inbox catch-up, fork proofs) meet a
    server that leaves or stalls; the reader's round ends and blames nobody."""
    async with (
        running_node(make_data_dir(tmp_path, "reader"), limits=SHORT) as reader,
        running_host() as server,
    ):
        for protocol in PROTOCOLS:
            server.set_stream_handler(TProtocol(protocol), SERVERS[behaviour])
        await reader.follow(public_key_of(server.get_id()) or b"")
        await reader.node.connect(f"{server.get_addrs()[0]}/p2p/{server.get_id()}")
        with trio.fail_after(20):
            await reader.node.sync_now(timeout=10)
        assert not penalties(reader)
        assert not reader.node.is_penalised(server.get_id())


# --- many readers at once, on a loaded machine ------------------------------------------


@asynccontextmanager
async def busy_cpu() -> AsyncIterator[None]:
    """A thread that hashes as fast as it can: the trio thread gets the GIL less often,
    so stream opens and frames are late, as on a loaded laptop."""
    stop = threading.Event()

    def burn() -> None:
        data = b"x" * 4096
        while not stop.is_set():
            for _ in range(200):
                data = hashlib.blake2b(data).digest() * 64

    thread = threading.Thread(target=burn, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


class Reader:
    """An honest reader: a host, a store, and the node's own sync and catch-up clients."""

    def __init__(self, host: Any, store: Store) -> None:
        self.host = host
        self.penalised: dict[str, str] = {}
        me = public_key_of(host.get_id())
        assert me is not None
        self.feeds = StoreFeeds(store, me)

        def penalise(peer: Any, reason: str) -> None:
            self.penalised[str(peer)] = reason

        self.sync = SyncClient(
            host,
            self.feeds,
            Limits(),
            events=lambda _e: None,
            penalise=penalise,
            key_of=public_key_of,
            newest_first=True,
        )
        self.catchup = CatchupClient(host, Limits(), penalise=penalise)


async def read_once(reader: Reader, server: Any, feed: bytes, patience: float) -> None:
    """Connect, then sync ``feed`` and ask for the reader's inbox at once, giving up
    (cancelling, which resets the streams) after ``patience`` seconds, as a node does when
    opening a stream takes too long; with no patience at all, resetting its streams as
    soon as they are open. Failures end a session as they do in a node:
    quietly (a peer that misbehaved is in ``reader.penalised``)."""

    async def quietly(session: Awaitable[object]) -> None:
        with contextlib.suppress(Exception):
            await session

    with trio.move_on_after(30), contextlib.suppress(Exception):
        await reader.host.connect(PeerInfo(server.get_id(), server.get_addrs()))
    if not patience:  # it gave up just as its streams opened: reset before the first frame
        for protocol in PROTOCOLS:
            with contextlib.suppress(Exception):
                stream = await reader.host.new_stream(server.get_id(), [TProtocol(protocol)])
                await stream.reset()
        return
    with trio.move_on_after(patience):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(quietly, reader.sync.sync_with(server.get_id(), [feed]))
            nursery.start_soon(
                quietly, reader.catchup.ask(server.get_id(), reader.feeds.own_key(), 0)
            )


async def test_fifty_readers_at_once_under_load_refuse_nobody(tmp_path: Path) -> None:
    readers = 50
    rng = random.Random(7)
    async with running_node(make_data_dir(tmp_path, "server")) as server:
        for i in range(3):
            await server.post(f"post {i}")
        host = server.node.host
        stores = [Store(tmp_path / f"r{i}") for i in range(readers)]
        try:
            async with busy_cpu(), trio.open_nursery() as hosts:
                started: list[Reader] = []

                async def run_reader(store: Store, task_status: Any) -> None:
                    async with running_host() as reader_host:
                        reader = Reader(reader_host, store)
                        started.append(reader)
                        task_status.started()
                        await trio.sleep_forever()

                with trio.fail_after(40):
                    for store in stores:
                        await hosts.start(run_reader, store)
                    # Half give up early (a stream open that timed out), half finish.
                    async with trio.open_nursery() as storm:
                        for reader in started:
                            patience = rng.choice((0.0, rng.uniform(0, 1.5), 30.0))
                            storm.start_soon(read_once, reader, host, server.key, patience)
                hosts.cancel_scope.cancel()
        finally:
            for store in stores:
                store.close()
        # Which patient readers got through depends on the load: the server keeps at
        # most max_connections and prunes back to its high watermark, cutting sessions
        # (not a penalty). That it still serves is checked by a reader arriving after.
        assert not penalties(server)
        assert not [r.penalised for r in started if r.penalised]
        for reader in started:  # the storm is over: its connections are gone
            await wait_disconnected(server.node.host, reader.host.get_id())
        async with running_node(make_data_dir(tmp_path, "late")) as late:
            await late.follow(server)
            await late.connect(server)
            await late.wait_height(server, 3)
