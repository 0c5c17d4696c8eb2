"""A peer that does not speak inbox catch-up is noted in one quiet line and not asked
again every round; py-libp2p's 7-line ERROR for a failed stream open is one DEBUG line."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import trio
from conftest import running_host
from libp2p.custom_types import TProtocol
from libp2p.host.exceptions import StreamFailure
from libp2p.peer.peerinfo import PeerInfo
from libp2p.protocol_muxer.exceptions import MultiselectClientError
from node_helpers import make_data_dir, running_node

from lndesk.p2p.catchup import CATCHUP_PROTOCOL_ID
from lndesk.p2p.events import PeerPenalised
from lndesk.p2p.unsupported import MAX_NOTED, Unsupported, is_not_supported


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_peer_that_said_na_is_skipped_until_the_retry_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    unsupported = Unsupported("/x/1", retry_seconds=100, clock=clock)
    assert not unsupported.skips("peer")
    with caplog.at_level(logging.INFO, logger="lndesk.p2p.unsupported"):
        unsupported.note("peer")
        unsupported.note("peer")  # a second na within the window is not logged again
    assert len(caplog.records) == 1
    assert caplog.records[0].getMessage().count("\n") == 0
    clock.now = 99.9
    assert unsupported.skips("peer")
    assert not unsupported.skips("other")
    clock.now = 100.0
    assert not unsupported.skips("peer")


def test_peers_that_said_na_are_remembered_within_a_bound() -> None:
    """Fresh peer IDs that each say ``na`` once and are never seen again: those whose
    time is up are forgotten first, then the oldest; the newest are still skipped."""
    clock = Clock()
    unsupported = Unsupported("/x/1", retry_seconds=100, clock=clock)
    for n in range(MAX_NOTED):
        unsupported.note(f"old {n}")
    clock.now = 150.0
    unsupported.note("again")
    assert len(unsupported) == 1 and unsupported.skips("again")
    for n in range(2 * MAX_NOTED):
        unsupported.note(f"new {n}")
    assert len(unsupported) == MAX_NOTED
    assert unsupported.skips(f"new {2 * MAX_NOTED - 1}")
    assert not unsupported.skips("new 0")


async def test_na_is_recognised_and_other_failures_are_not() -> None:
    async with running_host() as asker, running_host() as other:
        await asker.connect(PeerInfo(other.get_id(), other.get_addrs()))
        with pytest.raises(Exception) as na:
            await asker.new_stream(other.get_id(), [TProtocol(CATCHUP_PROTOCOL_ID)])
        assert is_not_supported(na.value)
    try:
        try:
            raise MultiselectClientError("protocol read failed: reset, protocol=/x/1")
        except MultiselectClientError as cause:
            raise StreamFailure("failed to open a stream") from cause
    except StreamFailure as failed:
        assert not is_not_supported(failed)
    assert not is_not_supported(ValueError("protocols not supported"))


async def test_a_peer_without_inbox_catch_up_is_asked_once_and_logged_quietly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running_node(make_data_dir(tmp_path, "n")) as node, running_host() as plain:
        client = node.node.inbox_delivery._catchup
        asked = 0
        ask = client.ask

        async def counted(*args: Any, **kwargs: Any) -> Any:
            nonlocal asked
            asked += 1
            return await ask(*args, **kwargs)

        client.ask = counted  # type: ignore[method-assign]
        await node.node.connect(f"{plain.get_addrs()[0]}/p2p/{plain.get_id()}")
        for _ in range(3):  # the connection, then two anti-entropy rounds
            with trio.fail_after(20):
                await node.node.sync_now(timeout=10)
        noted = [r for r in caplog.records if "does not speak" in r.getMessage()]
        assert len(noted) == 1
        assert asked == 1
        assert CATCHUP_PROTOCOL_ID in noted[0].getMessage()
        assert node.node.inbox_delivery.catchup_unsupported.skips(plain.get_id())
        assert not [r for r in caplog.records if r.name == "libp2p.host.basic_host"]
        assert not [
            r
            for r in caplog.records
            if r.levelno >= logging.WARNING and "inbox" in r.getMessage().lower()
        ]
        assert not [e for e in node.log.events if isinstance(e, PeerPenalised)]
