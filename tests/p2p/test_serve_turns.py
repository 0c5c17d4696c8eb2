"""Readers that stop reading on one address cannot hold all of a server's batch turns.

A server writes each batch in one of its ``Limits.served_batches`` turns, and a reader
that stops reading keeps its turn until ``send_timeout``. The sessions of one address
hold at most ``Limits.turns_per_ip`` turns (docs/protocol.md section 20.8): real
loopback hosts, a server with two turns, one for each address and a deadline far longer
than the test waits. Two sessions come from ``127.0.0.2``, each over a connection that
stops taking data (two peers, as one machine makes ids that cost nothing); the first
blocks in its write holding a turn, the second waits for its address's turn (not the
server's), and an honest reader on ``127.0.0.1`` is served at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio
from conftest import running_host
from libp2p.peer.peerinfo import PeerInfo
from multiaddr import Multiaddr
from stall_proxy import stall_proxy
from store_helpers import make_identity
from test_serve_stall import STALL_ENTRIES, ann_chain, observe_reads, sync_honestly
from test_sync import side

from lndesk.p2p import wire as frames
from lndesk.p2p.admission import BatchTurns
from lndesk.p2p.config import Limits
from lndesk.p2p.sync import SYNC_PROTOCOL

ANN = make_identity(11)
TWO_TURNS = Limits(
    served_batches=2,
    turns_per_ip=1,
    send_timeout=600.0,
    limit_loopback=True,
    window=STALL_ENTRIES // 100 + 1,
)
"""Two turns, one per address, and writes that wait far longer than the test does."""
HOSTILE = "127.0.0.2"


def observe_turns(turns: BatchTurns, address: str, asks: int) -> trio.Event:
    """An event set once sessions from ``address`` asked for a turn ``asks`` times."""
    hold = turns.hold
    asked = trio.Event()
    count = 0

    @asynccontextmanager
    async def observed(of: str | None) -> AsyncIterator[None]:
        nonlocal count
        if of == address:
            count += 1
            if count >= asks:
                asked.set()
        async with hold(of):
            yield

    turns.hold = observed  # type: ignore[method-assign]
    return asked


async def ask(stream: Any, *, window: int = 0) -> None:
    """Ask for all of ``ANN``'s entries on ``stream`` and read nothing."""
    if window:
        await stream.muxed_stream.send_window_update(window)
    want = frames.encode_frame(frames.Want(((ANN.public_key, 0),)))
    get = frames.encode_frame(frames.Get(ANN.public_key, 1, STALL_ENTRIES))
    await stream.write(want + get)


async def test_stalled_readers_on_one_address_leave_a_turn_for_another(
    tmp_path: Path,
) -> None:
    async with (
        side(tmp_path / "server", TWO_TURNS) as server,
        side(tmp_path / "honest", TWO_TURNS) as honest,
        running_host() as staller,
        running_host() as other_staller,
    ):
        server.store.ingest(ANN.public_key, ann_chain(STALL_ENTRIES))
        assert server.server is not None
        sessions = server.server.sessions
        first_read = observe_reads(server)
        both_asked = observe_turns(sessions.turns, HOSTILE, 2)
        port = Multiaddr(str(server.host.get_addrs()[0])).value_for_protocol("tcp")
        async with stall_proxy(int(port), source=HOSTILE) as proxy:
            address = Multiaddr(f"/ip4/127.0.0.1/tcp/{proxy.port}")
            streams = []
            for host in (staller, other_staller):
                await host.connect(PeerInfo(server.host.get_id(), [address]))
                streams.append(await host.new_stream(server.host.get_id(), [SYNC_PROTOCOL]))
            proxy.stall()
            # 64 MiB more window: the first write blocks in the server's socket.
            await ask(streams[0], window=1 << 26)
            with trio.fail_after(30):
                await first_read.wait()
            await ask(streams[1])
            with trio.fail_after(30):
                await both_asked.wait()
            await sync_honestly(server, honest, STALL_ENTRIES)
            assert sessions.turns.held_by(HOSTILE) == 1
            assert sessions.stalled_total == 0  # still within their deadline
            assert not server.penalised
