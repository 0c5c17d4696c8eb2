"""What serving holds in memory is bounded by ``Limits.served_batches``, not by readers.

Two readers sync one feed from one server at once over real loopback hosts; the server
may have one batch in hand at a time. Every batch is read from the store while the turn
is held, both readers get everything, and neither waits for the other to finish.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio
from store_helpers import check_feed, make_chain, make_identity, wire
from test_sync import connect, follow, side

from lndesk.p2p.config import Limits

ANN = make_identity(7)
ONE_AT_A_TIME = Limits(batch_entries=100, request_entries=500, served_batches=1)


async def test_readers_share_the_servers_batch_turns(tmp_path: Path) -> None:
    chain = make_chain(ANN, 1000)
    async with (
        side(tmp_path / "server", ONE_AT_A_TIME) as server,
        side(tmp_path / "b", ONE_AT_A_TIME) as b,
        side(tmp_path / "c", ONE_AT_A_TIME) as c,
    ):
        server.store.ingest(ANN.public_key, wire(chain))
        assert server.server is not None
        turns = server.server.sessions.turns
        free_turns: list[int] = []
        readers_at: list[str] = []
        read_run = server.feeds.read_run

        def observed(*args: Any) -> Any:
            free_turns.append(turns.free)
            return read_run(*args)

        server.feeds.read_run = observed  # type: ignore[method-assign]
        reports = {}
        for reader in (b, c):
            follow(reader, ANN.public_key)
            await connect(server, reader)

        async def sync(name: str, reader: Any) -> None:
            reports[name] = await reader.client.sync_with(server.host.get_id())
            readers_at.append(name)

        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(sync, "b", b)
                nursery.start_soon(sync, "c", c)
        assert reports["b"].stored == reports["c"].stored == 1000
        for reader in (b, c):
            assert len(check_feed(reader.store, ANN.public_key)) == 1000
        assert len(free_turns) >= 20  # ten batches each
        assert set(free_turns) == {0}  # every batch read while holding the only turn
        assert turns.free == 1  # every turn given back
