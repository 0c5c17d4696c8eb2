"""A lost peer is dialled again with backoff: the author a follower reads from comes back.

Whole nodes on loopback for who is dialled again (the follower redials the author that
dropped it; the author does not chase a follower; a penalised peer stays away), and the
schedule itself on trio's mock clock with an injected dial.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trio.testing
from node_helpers import make_data_dir, running_node

from lndesk.errors import DialError
from lndesk.p2p.events import PeerConnected, PeerLost
from lndesk.p2p.redial import REDIAL_FIRST, REDIAL_GIVE_UP, REDIAL_MAX, Redials, redial_delay


def connections_from(events: list[object], key: bytes) -> int:
    return sum(isinstance(e, PeerConnected) and e.peer == key for e in events)


def lost(events: list[object], key: bytes) -> bool:
    return any(isinstance(e, PeerLost) and e.peer == key for e in events)


async def test_a_follower_dropped_by_its_author_dials_it_again(tmp_path: Path) -> None:
    # py-libp2p's AutoConnector dials no loopback address (as on a real network, where
    # it dials none of a public node's), so only a redial brings the author back.
    async with (
        running_node(make_data_dir(tmp_path, "author"), dht_loopback=False) as author,
        running_node(make_data_dir(tmp_path, "reader"), dht_loopback=False) as reader,
    ):
        await reader.follow(author)
        await reader.connect(author)
        await author.log.wait_for(lambda ev: connections_from(ev, reader.key) == 1)
        # The author (a busy hub, a restart) drops the connection; it never dials back.
        await author.node.host.disconnect(reader.node.host.get_id())
        await author.log.wait_for(lambda ev: lost(ev, reader.key))
        assert reader.node.host.get_id() not in author.node.peering.redials.pending()
        await author.log.wait_for(lambda ev: connections_from(ev, reader.key) == 2, timeout=30)
        await reader.log.wait_for(lambda ev: connections_from(ev, author.key) == 2)
        assert reader.node.peering.redials.pending() == set()
        assert reader.node.peering.redials.attempts >= 1


async def test_a_peer_that_only_dialled_this_node_is_not_chased(tmp_path: Path) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "hub")) as hub,
        running_node(make_data_dir(tmp_path, "visitor")) as visitor,
    ):
        await visitor.connect(hub)
        await hub.log.wait_for(lambda ev: connections_from(ev, visitor.key) == 1)
        visitor.node.peering.dialled.clear()  # the visitor neither follows nor keeps the hub
        await visitor.node.host.disconnect(hub.node.host.get_id())
        await hub.log.wait_for(lambda ev: lost(ev, visitor.key))
        await visitor.log.wait_for(lambda ev: lost(ev, hub.key))
        assert hub.node.peering.redials.pending() == set()
        assert visitor.node.peering.redials.pending() == set()


async def test_a_penalised_peer_is_not_dialled_again(tmp_path: Path) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "author")) as author,
        running_node(make_data_dir(tmp_path, "reader")) as reader,
    ):
        await reader.follow(author)
        await reader.connect(author)
        await reader.log.wait_for(lambda ev: connections_from(ev, author.key) == 1)
        reader.node.penalise(author.node.host.get_id(), "sent bad data")
        await reader.log.wait_for(lambda ev: lost(ev, author.key))
        assert reader.node.peering.redials.pending() == set()


def test_the_backoff_doubles_to_five_minutes_with_jitter() -> None:
    assert [redial_delay(n, 0.5) for n in range(4)] == [1.0, 2.0, 4.0, 8.0]
    assert redial_delay(20, 0.5) == REDIAL_MAX
    assert redial_delay(1000, 0.5) == REDIAL_MAX
    assert redial_delay(0, 0.0) == 0.5 and redial_delay(3, 0.999) == pytest.approx(11.992)


async def test_redials_follow_the_backoff_until_connected_or_an_hour_passed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    dials: dict[str, list[float]] = {"flaky": [], "gone": []}
    connected: set[str] = set()
    room = [True]

    async def dial(peer: str) -> None:
        dials[peer].append(trio.current_time())
        if peer == "flaky" and len(dials[peer]) == 4:
            connected.add(peer)
            return
        raise DialError(f"could not connect to {peer}")

    redials = Redials(
        dial,
        wanted=lambda peer: peer != "stranger",
        connected=lambda peer: peer in connected,
        room=lambda: room[0],
        jitter=lambda: 0.5,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(redials.run)
        start = trio.current_time()
        redials.lost("flaky")
        redials.lost("gone")
        redials.lost("gone")  # one schedule per peer
        redials.lost("stranger")
        assert redials.pending() == {"flaky", "gone"}
        with trio.fail_after(REDIAL_GIVE_UP + REDIAL_MAX):  # virtual seconds
            await redials.wait_settled()  # the one that came back, the one given up
        assert [t - start for t in dials["flaky"]] == [1.0, 3.0, 7.0, 15.0]
        gaps = [b - a for a, b in zip(dials["gone"], dials["gone"][1:], strict=False)]
        assert gaps[:4] == [2.0, 4.0, 8.0, 16.0] and max(gaps) == REDIAL_MAX
        assert dials["gone"][-1] - start < REDIAL_GIVE_UP <= trio.current_time() - start
        count_gone = len(dials["gone"])

        # Back by the peer's own dial: no more dials (the clock is moved on by hand past
        # when the first would be due; nothing is left to wait for).
        redials.lost("gone")
        redials.back("gone")
        assert redials.pending() == set()
        await trio.testing.wait_all_tasks_blocked()
        autojump_clock.jump(2 * REDIAL_FIRST)
        await trio.testing.wait_all_tasks_blocked()
        assert len(dials["gone"]) == count_gone

        # Full: wait, do not dial, for as long as it would have dialled.
        room[0] = False
        redials.lost("flaky")
        connected.discard("flaky")
        assert redials.pending() == {"flaky"}
        count = {peer: len(times) for peer, times in dials.items()}
        lost_at = trio.current_time()
        with trio.fail_after(REDIAL_GIVE_UP + REDIAL_MAX):
            await redials.wait_settled()
        assert trio.current_time() - lost_at >= REDIAL_GIVE_UP
        assert {peer: len(times) for peer, times in dials.items()} == count
        nursery.cancel_scope.cancel()
