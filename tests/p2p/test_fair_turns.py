"""A turn freed goes to the waiting address that holds the fewest turns.

Readers that stop reading keep each turn they write in for up to ``send_timeout``, and
hostile addresses can keep sessions waiting for the next turn as soon as one is freed:
if turns went to the longest waiting session, an honest reader from a new address
would wait behind every one of them, round after round. A freed turn goes instead to
the waiting session of the address holding the fewest turns, the longest waiting first
among equals (docs/protocol.md section 20.8).

Real loopback hosts, a server with two turns and writes that wait far longer than the
test: ``127.0.0.2`` and ``127.0.0.3`` each hold one turn with a connection that stopped
taking data, and ``127.0.0.3`` has a second session waiting for a turn before an honest
reader on ``127.0.0.1`` asks for one. When ``127.0.0.2``'s connection breaks, its turn
goes to the honest reader, which holds none, not to ``127.0.0.3``, which holds one, and
the honest reader keeps it from batch to batch while only ``127.0.0.3`` waits. The
order itself, what a session asking again at once keeps, and what a cancelled session
gives back, are checked on :class:`BatchTurns` alone first.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from conftest import running_host
from libp2p.peer.peerinfo import PeerInfo
from multiaddr import Multiaddr
from stall_proxy import StallProxy, stall_proxy
from store_helpers import check_feed, make_chain, make_identity, wire
from test_serve_stall import STALL_ENTRIES, ann_chain
from test_serve_turns import ask
from test_sync import Side, connect, follow, side

from lndesk.p2p.admission import BatchTurns
from lndesk.p2p.config import Limits
from lndesk.p2p.sync import SYNC_PROTOCOL

ANN = make_identity(11)
"""The feed the stalled readers ask for (test_serve_turns' ``ask``)."""
SMALL = make_identity(12)
"""The feed the honest reader asks for."""
TWO_TURNS = Limits(
    served_batches=2,
    turns_per_ip=2,
    send_timeout=600.0,
    limit_loopback=True,
    batch_entries=100,
    window=STALL_ENTRIES // 100 + 1,
)
"""Two turns, both of which one address may hold, and writes that wait far longer than
the test does."""
HONEST_ENTRIES = 250
"""What the honest reader asks for: three batches, each written in a turn."""
FIRST, SECOND, HONEST = "127.0.0.2", "127.0.0.3", "127.0.0.1"
A, B, C = "192.0.2.1", "192.0.2.2", "192.0.2.3"


class Holders:
    """Sessions holding turns of ``turns`` until told to give them back; ``order``
    lists the sessions (by name) in the order they got a turn."""

    def __init__(self, turns: BatchTurns, nursery: trio.Nursery) -> None:
        self.turns = turns
        self.nursery = nursery
        self.order: list[str] = []
        self.done: dict[str, trio.Event] = {}
        self.scopes: dict[str, trio.CancelScope] = {}

    async def _hold(self, name: str, address: str | None) -> None:
        with self.scopes[name]:
            async with self.turns.hold(address):
                self.order.append(name)
                await self.done[name].wait()

    async def start(self, name: str, address: str | None) -> None:
        """Start session ``name`` of ``address``; returns once it holds or waits."""
        self.done[name] = trio.Event()
        self.scopes[name] = trio.CancelScope()
        self.nursery.start_soon(self._hold, name, address)
        await trio.testing.wait_all_tasks_blocked()

    async def end(self, name: str) -> None:
        self.done[name].set()
        await trio.testing.wait_all_tasks_blocked()


async def test_a_freed_turn_goes_to_the_fewest_holding_then_the_longest_waiting() -> None:
    turns = BatchTurns(Limits(served_batches=2, turns_per_ip=2))
    async with trio.open_nursery() as nursery:
        sessions = Holders(turns, nursery)
        await sessions.start("a1", "192.0.2.1")
        await sessions.start("b1", "192.0.2.2")
        await sessions.start("b2", "192.0.2.2")  # waits first ...
        await sessions.start("c1", "192.0.2.3")  # ... but its address holds one turn
        await sessions.start("a2", "192.0.2.1")
        assert sessions.order == ["a1", "b1"]
        assert (turns.free, turns.waiting) == (0, 3)
        await sessions.end("a1")
        assert sessions.order[-1] == "c1"  # none held: before b2, whose address holds one
        await sessions.end("b1")
        assert sessions.order[-1] == "b2"  # a and b hold none: b2 has waited longest
        await sessions.end("c1")
        assert sessions.order[-1] == "a2"
        for name in ("b2", "a2"):
            await sessions.end(name)
    assert (turns.free, turns.waiting) == (2, 0)
    assert not turns._held and not turns._waiting


async def test_a_freed_turn_skips_an_address_at_its_cap() -> None:
    turns = BatchTurns(Limits(served_batches=2, turns_per_ip=1))
    async with trio.open_nursery() as nursery:
        sessions = Holders(turns, nursery)
        await sessions.start("a1", "192.0.2.1")
        await sessions.start("b1", "192.0.2.2")
        await sessions.start("a2", "192.0.2.1")
        await sessions.end("b1")
        assert sessions.order == ["a1", "b1"]  # a2 waits for its address's turn
        assert (turns.free, turns.waiting) == (1, 1)
        await sessions.end("a1")
        assert sessions.order[-1] == "a2"
        await sessions.end("a2")
    assert (turns.free, turns.waiting) == (2, 0)


async def test_a_cancelled_session_leaves_nothing_behind() -> None:
    turns = BatchTurns(Limits(served_batches=1, turns_per_ip=1))
    async with trio.open_nursery() as nursery:
        sessions = Holders(turns, nursery)
        await sessions.start("a1", "192.0.2.1")
        await sessions.start("b1", "192.0.2.2")
        await sessions.start("c1", "192.0.2.3")
        sessions.scopes["b1"].cancel()  # gives up waiting
        await trio.testing.wait_all_tasks_blocked()
        assert turns.waiting == 1
        sessions.scopes["a1"].cancel()  # ends while holding its turn
        await trio.testing.wait_all_tasks_blocked()
        assert sessions.order == ["a1", "c1"]
        assert turns.held_by("192.0.2.1") == turns.held_by("192.0.2.2") == 0
        await sessions.end("c1")
    assert (turns.free, turns.waiting) == (1, 0)
    assert not turns._held and not turns._waiting


async def test_a_session_cancelled_as_it_was_handed_a_turn_passes_it_on() -> None:
    turns = BatchTurns(Limits(served_batches=1, turns_per_ip=1))
    async with trio.open_nursery() as nursery:
        sessions = Holders(turns, nursery)
        async with turns.hold(A):
            await sessions.start("b1", B)
            await sessions.start("c1", C)
            sessions.scopes["b1"].cancel()  # b1 is woken to be cancelled, and then ...
        # ... is handed the turn before it runs: it gives it on as it ends.
        await trio.testing.wait_all_tasks_blocked()
        assert sessions.order == ["c1"]
        assert turns.held_by(B) == 0
        await sessions.end("c1")
    assert (turns.free, turns.waiting) == (1, 0)
    assert not turns._held and not turns._waiting


async def test_a_session_asking_again_at_once_keeps_its_turn() -> None:
    turns = BatchTurns(Limits(served_batches=2, turns_per_ip=2))
    async with trio.open_nursery() as nursery:
        sessions = Holders(turns, nursery)
        async with turns.hold(A):
            await sessions.start("b1", B)
            await sessions.start("b2", B)  # waits; its address holds one turn
        # A holds none now, fewer than B: its turn is kept while this task runs on ...
        assert (turns.held_by(A), turns.waiting) == (0, 1)
        async with turns.hold(A):  # ... and it writes its next batch
            assert sessions.order == ["b1"]
        await trio.testing.wait_all_tasks_blocked()  # this task lets others run
        assert sessions.order == ["b1", "b2"]
        await sessions.start("c1", C)  # waits, and its address holds none
        await sessions.end("b1")
        assert sessions.order[-1] == "c1"  # B holds no fewer than C: c1 gets it at once
        for name in ("b2", "c1"):
            await sessions.end(name)
    assert (turns.free, turns.waiting) == (2, 0)
    assert not turns._kept


@pytest.mark.parametrize("seed", range(40))
async def test_no_mix_of_sessions_ending_every_way_leaves_a_turn_or_a_waiter(
    seed: int, autojump_clock: trio.testing.MockClock
) -> None:
    """Sessions of a few addresses (and exempt ones) ask for turn after turn, some at
    once, some after others ran; some fail while holding one, some are cancelled while
    they hold or wait, some as they are handed one. No address ever holds more than its
    cap, and once all have ended every turn is free, no session waits and no address
    holds one."""
    rng = random.Random(seed)
    limits = Limits(served_batches=rng.randint(1, 4), turns_per_ip=rng.randint(1, 3))
    turns = BatchTurns(limits)
    addresses = [A, B, C, None]
    cap = min(limits.turns_per_ip, limits.served_batches)

    async def pause() -> None:
        for _ in range(rng.randint(0, 3)):
            await trio.lowlevel.checkpoint()

    async def session(address: str | None, scope: trio.CancelScope) -> None:
        with scope:
            for _ in range(rng.randint(1, 12)):
                try:
                    async with turns.hold(address):
                        if address is not None:
                            assert turns.held_by(address) <= cap
                        assert 0 <= turns.free <= turns.total
                        await pause()
                        if rng.random() < 0.1:
                            raise ValueError("the session failed")
                except ValueError:
                    return
                if rng.random() < 0.5:
                    await pause()

    # A session left waiting for good would wait for ever: the clock jumps to the end.
    with trio.fail_after(3600):
        async with trio.open_nursery() as nursery:
            scopes = [trio.CancelScope() for _ in range(rng.randint(2, 24))]
            for scope in scopes:
                nursery.start_soon(session, rng.choice(addresses), scope)
            for _ in range(rng.randint(0, 40)):
                await trio.lowlevel.checkpoint()
                if rng.random() < 0.2:
                    rng.choice(scopes).cancel()
    assert (turns.free, turns.waiting) == (turns.total, 0)
    assert not any(turns.held_by(address) for address in addresses)


async def test_exempt_sessions_wait_as_one_address_without_a_cap() -> None:
    turns = BatchTurns(Limits(served_batches=2, turns_per_ip=1))
    async with trio.open_nursery() as nursery:
        sessions = Holders(turns, nursery)
        await sessions.start("x1", None)
        await sessions.start("x2", None)  # no cap for them
        await sessions.start("x3", None)
        await sessions.start("a1", "192.0.2.1")
        assert sessions.order == ["x1", "x2"]
        await sessions.end("x1")
        assert sessions.order[-1] == "a1"  # holds none; the exempt ones hold one
        for name in ("x2", "x3", "a1"):
            await sessions.end(name)
    assert sessions.order == ["x1", "x2", "a1", "x3"]


class TurnWatch:
    """Who asks for and holds the turns of ``turns``, by address; :meth:`until` waits
    for a state of them (woken by every change, never by time)."""

    def __init__(self, turns: BatchTurns) -> None:
        self.asking: Counter[str | None] = Counter()
        self.holding: Counter[str | None] = Counter()
        self._changed = trio.Event()
        hold = turns.hold

        @asynccontextmanager
        async def observed(address: str | None) -> AsyncIterator[None]:
            self._change(self.asking, address, 1)
            try:
                async with hold(address):
                    self._change(self.asking, address, -1)
                    self._change(self.holding, address, 1)
                    try:
                        yield
                    finally:
                        self._change(self.holding, address, -1)
            except BaseException:
                if self.asking[address] and not self.holding[address]:
                    self._change(self.asking, address, -1)
                raise

        turns.hold = observed  # type: ignore[method-assign]

    def _change(self, counts: Counter[str | None], address: str | None, by: int) -> None:
        counts[address] += by
        self._changed.set()
        self._changed = trio.Event()

    async def until(self, state: Callable[[], bool]) -> None:
        while not state():
            await self._changed.wait()


async def stall_from(
    stack: AsyncExitStack, server: Side, address: str, readers: int
) -> tuple[StallProxy, list[Any]]:
    """``readers`` hosts connected to ``server`` from ``address`` over connections that
    have stopped taking data, each with a sync stream open."""
    port = Multiaddr(str(server.host.get_addrs()[0])).value_for_protocol("tcp")
    proxy = await stack.enter_async_context(stall_proxy(int(port), source=address))
    through = Multiaddr(f"/ip4/127.0.0.1/tcp/{proxy.port}")
    streams = []
    for _ in range(readers):
        host = await stack.enter_async_context(running_host())
        await host.connect(PeerInfo(server.host.get_id(), [through]))
        streams.append(await host.new_stream(server.host.get_id(), [SYNC_PROTOCOL]))
    proxy.stall()
    return proxy, streams


async def test_a_freed_turn_goes_to_the_address_holding_the_fewest(tmp_path: Path) -> None:
    async with (
        side(tmp_path / "server", TWO_TURNS) as server,
        side(tmp_path / "honest", TWO_TURNS) as honest,
        AsyncExitStack() as stack,
    ):
        server.store.ingest(ANN.public_key, ann_chain(STALL_ENTRIES))
        server.store.ingest(SMALL.public_key, wire(make_chain(SMALL, HONEST_ENTRIES)))
        assert server.server is not None
        turns = server.server.sessions.turns
        watch = TurnWatch(turns)
        first, (first_stream,) = await stall_from(stack, server, FIRST, 1)
        _, second_streams = await stall_from(stack, server, SECOND, 2)
        # 64 MiB more window: each write blocks in the server's socket, holding its turn.
        await ask(first_stream, window=1 << 26)
        await ask(second_streams[0], window=1 << 26)
        with trio.fail_after(30):
            await watch.until(lambda: watch.holding[FIRST] == watch.holding[SECOND] == 1)
        await ask(second_streams[1], window=1 << 26)
        with trio.fail_after(30):
            await watch.until(lambda: watch.asking[SECOND] == 1)

        follow(honest, SMALL.public_key)
        await connect(server, honest)
        assert honest.client is not None
        client = honest.client
        synced: list[int] = []

        async def sync() -> None:
            synced.append((await client.sync_with(server.host.get_id())).stored)

        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(sync)
                await watch.until(lambda: watch.asking[HONEST] == 1)
                first.drop()  # 127.0.0.2's write fails: its turn is freed
        assert synced == [HONEST_ENTRIES]
        assert len(check_feed(honest.store, SMALL.public_key)) == HONEST_ENTRIES
        # The turn the honest reader gave back went to 127.0.0.3's waiting session.
        assert turns.held_by(SECOND) == 2
        assert (turns.free, turns.waiting) == (0, 0)
        assert not server.penalised
