"""A node answers a peer's yamux pings at a bounded rate (docs/protocol.md section 19),
on real loopback hosts.

A ping is a 12-byte frame, and thousands fit in one Noise message, which costs its
sender one encryption; py-libp2p answered each with a frame of its own: a Noise message
encrypted and a socket write for every 12 bytes received, the cost of a whole data
frame. The answers past a burst are dropped (the connection is kept, nothing is
penalised); an honest peer pings a connection once in tens of seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio
import trio.testing
from libp2p.stream_muxer.yamux import yamux
from test_read_ahead import raw_stream_of, round_trip
from test_yamux_errors import WAIT, frame, three_hosts

from lndesk.p2p.yamux_window import PING_BURST, PINGS_PER_SECOND, PingBudget

FLOOD = 2000


def pings(count: int, first: int = 1) -> bytes:
    """``count`` ping frames (yamux frames with ``SYN``), back to back."""
    return b"".join(
        frame(yamux.TYPE_PING, yamux.FLAG_SYN, 0, n) for n in range(first, first + count)
    )


async def writes_for(victim: Any, attacker: Any, conn: Any, data: bytes) -> int:
    """Socket writes the victim made while taking ``data`` (frames in one Noise message
    each of at most 65,519 bytes) and answering a round trip after it."""
    (inbound,) = victim.get_network().get_connections(attacker.get_id())
    writes = raw_stream_of(inbound.muxed_conn)
    before = writes.socket_writes
    for start in range(0, len(data), 65_508):
        await conn.secured_conn.write(data[start : start + 65_508])
    with trio.fail_after(WAIT):  # read in order: every ping was taken before its end
        assert await round_trip(attacker, victim.get_id(), b"after") == b"after"
    await trio.testing.wait_all_tasks_blocked()
    return int(writes.socket_writes - before)


async def baseline(victim: Any, attacker: Any, conn: Any) -> int:
    return await writes_for(victim, attacker, conn, b"")


async def test_a_flood_of_pings_is_answered_up_to_a_burst() -> None:
    async with three_hosts() as (victim, attacker, other, conn):
        quiet = await baseline(victim, attacker, conn)
        flooded = await writes_for(victim, attacker, conn, pings(FLOOD))
        assert flooded <= quiet + PING_BURST
        assert attacker.get_id() in victim.get_connected_peers()  # kept, not closed
        with trio.fail_after(WAIT):
            assert await round_trip(other, victim.get_id(), b"unaffected") == b"unaffected"


async def test_a_bursts_worth_of_pings_is_all_answered() -> None:
    async with three_hosts() as (victim, attacker, _, conn):
        quiet = await baseline(victim, attacker, conn)
        answered = await writes_for(victim, attacker, conn, pings(PING_BURST))
        assert answered >= quiet + PING_BURST


def test_the_budget_refills_at_a_ping_a_second_up_to_the_burst() -> None:
    budget = PingBudget(now=100.0)
    assert all(budget.take(100.0) for _ in range(PING_BURST))
    assert not budget.take(100.0)
    assert not budget.take(100.0 + 0.9 / PINGS_PER_SECOND)
    assert budget.take(100.0 + 1 / PINGS_PER_SECOND)
    assert not budget.take(100.0 + 1 / PINGS_PER_SECOND)
    later = 1000.0  # an hour of quiet refills no more than the burst
    assert all(budget.take(later) for _ in range(PING_BURST))
    assert not budget.take(later)
    honest = PingBudget(now=0.0)  # one ping every 20 s, for ever
    assert all(honest.take(20.0 * n) for n in range(1, 100))


def test_the_protocol_states_the_ping_rate() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    section = text[text.index("## 19. Network transport") : text.index("## 20. ")]
    assert f"{PING_BURST} pings at once and {PINGS_PER_SECOND} a second" in section
