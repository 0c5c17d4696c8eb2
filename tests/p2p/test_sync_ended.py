"""Why a sync session ended early, as the node reports it (``SyncFinished.cause``) and as
people read it (:mod:`lndesk.app.sync_words`): real sessions with a peer that does not
speak sync and with one that sends garbage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio
from conftest import running_host
from node_helpers import make_data_dir, running_node
from test_words import _words_broken

from lndesk.app.sync_words import sync_ended_text
from lndesk.p2p.digest import DIGEST_PROTOCOL
from lndesk.p2p.events import (
    SYNC_CUT_SHORT,
    SYNC_NOT_SAVED,
    SYNC_PEER_BROKE_RULES,
    PeerPenalised,
    SyncFinished,
)
from lndesk.p2p.sync import PIPELINED_PROTOCOL, SYNC_PROTOCOL

KEY = bytes(range(32))


async def _ended_with(tmp_path: Path, plain: Any) -> tuple[SyncFinished, list[Any]]:
    async with running_node(make_data_dir(tmp_path, "n")) as node:
        await node.node.connect(f"{plain.get_addrs()[0]}/p2p/{plain.get_id()}")
        await node.log.wait_for(
            lambda events: any(isinstance(e, SyncFinished) for e in events), timeout=30
        )
        ended = next(e for e in node.log.events if isinstance(e, SyncFinished))
        return ended, list(node.log.events)


async def test_a_peer_that_does_not_speak_sync_cut_the_session_short(tmp_path: Path) -> None:
    async with running_host() as plain:
        ended, events = await _ended_with(tmp_path, plain)
    assert ended.cause == SYNC_CUT_SHORT and ended.error
    text = sync_ended_text(ended, "lnd1abc")
    assert text is not None and "lnd1abc" in text and "stopped before it finished" in text
    assert ended.error not in text  # the technical reason stays in the log
    assert not [e for e in events if isinstance(e, PeerPenalised)]


async def test_a_peer_that_sends_garbage_broke_the_rules_and_its_penalty_says_so(
    tmp_path: Path,
) -> None:
    async def garbage(stream: Any) -> None:
        await stream.write(b"\x00\x00\x00\x04\xff\xff\xff\xff")
        with trio.move_on_after(5):
            await stream.read(1)
        await stream.close()

    async with running_host() as plain:
        for protocol in (DIGEST_PROTOCOL, PIPELINED_PROTOCOL, SYNC_PROTOCOL):
            plain.set_stream_handler(protocol, garbage)
        ended, events = await _ended_with(tmp_path, plain)
    assert ended.cause == SYNC_PEER_BROKE_RULES and ended.error
    assert any(isinstance(e, PeerPenalised) for e in events)
    # The penalty's message (shown just before) says what happened; nothing is added.
    assert sync_ended_text(ended, "lnd1abc") is None


def test_each_cause_reads_plainly() -> None:
    full = "the disk is full: 2 MB free, lndesk needs 64 MB"
    not_saved = sync_ended_text(SyncFinished(KEY, 3, 1, full, SYNC_NOT_SAVED), "lnd1abc")
    assert not_saved is not None
    assert "could not be saved" in not_saved and full in not_saved
    reset = "StreamReset: stream reset by peer"
    cut = sync_ended_text(SyncFinished(KEY, 0, 1, reset, SYNC_CUT_SHORT), "lnd1abc")
    assert cut is not None and "StreamReset" not in cut
    assert sync_ended_text(SyncFinished(KEY, 5, 1, None), "lnd1abc") is None
    for text in (not_saved, cut):
        assert _words_broken(text) == [], text
