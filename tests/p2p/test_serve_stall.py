"""A reader that stops reading never holds the server's shared batch turns for long.

A server writes each batch while it holds one of its ``Limits.served_batches`` turns
(what bounds serving's memory), and every write has ``Limits.send_timeout``: a reader
that takes nothing of a frame within it has its session ended, without a penalty, and
the turn goes to the next session. Real loopback hosts, a server with one turn:

* a reader whose stream stops taking data (its yamux window stays full) is ended by the
  deadline, not by the muxer's own window timeout, and an honest reader waiting for the
  turn is served;
* a reader whose whole connection stops taking data (behind a proxy that stops reading)
  would block the write forever: the deadline ends it, gives the turn and the session
  back, and an honest reader is served after it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio
from conftest import running_host
from libp2p.peer.peerinfo import PeerInfo
from multiaddr import Multiaddr
from stall_proxy import stall_proxy
from store_helpers import check_feed, make_chain, make_identity, wire
from test_sync import Side, connect, follow, side

from lndesk.p2p import wire as frames
from lndesk.p2p.config import Limits
from lndesk.p2p.sync import SYNC_PROTOCOL

ANN = make_identity(11)
BIG = "x" * 8000
"""Posts of about 8 KB: a batch of about a MiB is some 125 of them, far over the 256 KiB
a yamux stream may have unread."""


def kernel_send_buffer() -> int:
    """The most a TCP socket's send buffer grows to on this system (Linux: the maximum
    of ``tcp_wmem``; 4 MiB, its usual value, where it cannot be read)."""
    try:
        return int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, IndexError, ValueError):
        return 4 << 20


STALL_ENTRIES = (2 * kernel_send_buffer() + (2 << 20)) // len(BIG) + 1
"""What a stalled connection is sent: more than the server's socket and the proxy's
take, so that the server's write blocks."""
ONE_TURN = Limits(served_batches=1, send_timeout=1.0, window=STALL_ENTRIES // 100 + 1)
"""One turn for every session, a short deadline on each write, and (on ``/1``) room for
every batch of ``STALL_ENTRIES`` unacknowledged."""


def ann_chain(n: int) -> list[tuple[bytes, bytes | None]]:
    return wire(make_chain(ANN, n, text=BIG))


def observe_sessions(server: Side, of: Any) -> trio.Event:
    """An event set when a sync session served to ``of`` (a peer ID) has ended."""
    assert server.server is not None
    handle = server.server.handle
    ended = trio.Event()

    async def observed(stream: Any) -> None:
        try:
            await handle(stream)
        finally:
            if stream.muxed_conn.peer_id == of:
                ended.set()

    server.host.set_stream_handler(SYNC_PROTOCOL, observed)
    return ended


def observe_reads(server: Side) -> trio.Event:
    """An event set when the server first reads a batch from its store (in its turn)."""
    read_run: Callable[..., Any] = server.feeds.read_run
    first = trio.Event()

    def observed(*args: Any) -> Any:
        first.set()
        return read_run(*args)

    server.feeds.read_run = observed  # type: ignore[method-assign]
    return first


async def ask_and_stop_reading(
    host: Any, server: Side, last: int, *, window: int = 0, opened: Callable[[], None] | None = None
) -> None:
    """Open a sync session from ``host``, ask for ``ANN``'s entries 1 to ``last`` and
    read nothing; ``window`` more bytes of yamux window are granted first, and
    ``opened`` is called once the stream is open."""
    stream = await host.new_stream(server.host.get_id(), [SYNC_PROTOCOL])
    if opened is not None:
        opened()
    if window:
        await stream.muxed_stream.send_window_update(window)
    want = frames.encode_frame(frames.Want(((ANN.public_key, 0),)))
    await stream.write(want + frames.encode_frame(frames.Get(ANN.public_key, 1, last)))


async def sync_honestly(server: Side, reader: Side, entries: int) -> None:
    assert reader.client is not None
    follow(reader, ANN.public_key)
    await connect(server, reader)
    with trio.fail_after(30):
        report = await reader.client.sync_with(server.host.get_id())
    assert report.stored == entries
    assert len(check_feed(reader.store, ANN.public_key)) == entries


async def test_a_reader_with_a_full_window_loses_its_turn_to_an_honest_one(
    tmp_path: Path,
) -> None:
    async with (
        side(tmp_path / "server", ONE_TURN) as server,
        side(tmp_path / "honest", ONE_TURN) as honest,
        running_host() as staller,
    ):
        server.store.ingest(ANN.public_key, ann_chain(300))
        assert server.server is not None
        sessions = server.server.sessions
        stalled_ended = observe_sessions(server, staller.get_id())
        first_read = observe_reads(server)
        await staller.connect(PeerInfo(server.host.get_id(), server.host.get_addrs()))
        await ask_and_stop_reading(staller, server, 300)
        with trio.fail_after(30):
            await first_read.wait()  # the staller holds the only turn
        await sync_honestly(server, honest, 300)
        with trio.fail_after(30):
            await stalled_ended.wait()
        assert sessions.stalled_total == 1  # the deadline ended it, not the muxer
        assert sessions.turns.free == 1
        assert not server.penalised


async def test_a_connection_that_takes_nothing_gives_the_turn_and_session_back(
    tmp_path: Path,
) -> None:
    async with (
        side(tmp_path / "server", ONE_TURN) as server,
        side(tmp_path / "honest", ONE_TURN) as honest,
        running_host() as staller,
    ):
        server.store.ingest(ANN.public_key, ann_chain(STALL_ENTRIES))
        assert server.server is not None
        sessions = server.server.sessions
        stalled_ended = observe_sessions(server, staller.get_id())
        port = Multiaddr(str(server.host.get_addrs()[0])).value_for_protocol("tcp")
        async with stall_proxy(int(port)) as proxy:
            address = Multiaddr(f"/ip4/127.0.0.1/tcp/{proxy.port}")
            await staller.connect(PeerInfo(server.host.get_id(), [address]))
            # 64 MiB more window: the server writes until its socket takes no more.
            await ask_and_stop_reading(
                staller, server, STALL_ENTRIES, window=1 << 26, opened=proxy.stall
            )
            with trio.fail_after(30):
                await stalled_ended.wait()
            assert sessions.stalled_total == 1
            assert sessions.turns.free == 1
            assert sessions.open_total == 0
            assert not server.penalised
            await sync_honestly(server, honest, STALL_ENTRIES)
