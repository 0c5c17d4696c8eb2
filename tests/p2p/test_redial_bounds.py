"""What dialling lost peers again holds is bounded (``lndesk.p2p.redial``): one task
waits for every lost peer, a few dials run at once, and the lost peers waiting and the
peers remembered as dialled are capped, the oldest forgotten. On trio's mock clock with
an injected dial."""

from __future__ import annotations

import trio
import trio.testing

from lndesk.errors import DialError
from lndesk.p2p.redial import (
    DIALS_AT_ONCE,
    MAX_DIALLED,
    MAX_PENDING,
    REDIAL_MAX,
    DialledPeers,
    Redials,
)

LOST = 100


def task_count() -> int:
    """Tasks running now in this trio run."""
    count = 0
    tasks = [trio.lowlevel.current_root_task()]
    while tasks:
        task = tasks.pop()
        assert task is not None
        count += 1
        for nursery in task.child_nurseries:
            tasks.extend(nursery.child_tasks)
    return count


async def test_lost_peers_wait_in_one_task_and_a_few_are_dialled_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    release = trio.Event()
    full = trio.Event()
    dialling: list[int] = []
    room = [False]

    async def dial(peer: int) -> None:
        dialling.append(peer)
        if len(dialling) == DIALS_AT_ONCE:
            full.set()
        await release.wait()
        raise DialError(f"could not connect to {peer}")

    redials = Redials(
        dial,
        wanted=lambda _peer: True,
        connected=lambda _peer: False,
        room=lambda: room[0],
        jitter=lambda: 0.5,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(redials.run)
        await trio.testing.wait_all_tasks_blocked()
        before = task_count()
        for peer in range(LOST):
            redials.lost(peer)
        await trio.testing.wait_all_tasks_blocked()
        assert len(redials.pending()) == LOST
        assert task_count() == before  # none more while they wait

        room[0] = True
        with trio.fail_after(10 * REDIAL_MAX):  # virtual seconds
            await full.wait()
        await trio.testing.wait_all_tasks_blocked()
        autojump_clock.jump(10 * REDIAL_MAX)  # every other peer is long due
        await trio.testing.wait_all_tasks_blocked()
        assert len(dialling) == DIALS_AT_ONCE
        assert task_count() == before + DIALS_AT_ONCE

        redials.back(dialling[0])  # its dial is cancelled, its task ends
        await trio.testing.wait_all_tasks_blocked()
        assert len(dialling) == DIALS_AT_ONCE + 1
        assert task_count() == before + DIALS_AT_ONCE
        nursery.cancel_scope.cancel()


async def test_the_lost_peers_waiting_are_capped_the_longest_waiting_forgotten(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def dial(peer: int) -> None:
        raise DialError(f"could not connect to {peer}")

    redials = Redials(
        dial, wanted=lambda _peer: True, connected=lambda _peer: False, room=lambda: False
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(redials.run)
        for peer in range(MAX_PENDING + 1):
            redials.lost(peer)
        assert redials.pending() == set(range(1, MAX_PENDING + 1))
        nursery.cancel_scope.cancel()


def test_the_peers_remembered_as_dialled_are_capped_the_least_recent_forgotten() -> None:
    dialled = DialledPeers()
    for peer in range(MAX_DIALLED):
        dialled.add(peer)
    dialled.add(0)  # dialled again: the most recent now
    dialled.add(MAX_DIALLED)
    assert len(dialled) == MAX_DIALLED
    assert 0 in dialled and MAX_DIALLED in dialled
    assert 1 not in dialled
