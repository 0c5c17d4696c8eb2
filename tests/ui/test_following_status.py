"""The following list model, the status bar's tracker, a peer's malformed posts, geometry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QRect
from store_helpers import make_chain, make_entry, make_identity, wire

from lndesk.app.desk import NetworkUnavailable
from lndesk.app.events import (
    SYNC_CUT_SHORT,
    SYNC_PEER_BROKE_RULES,
    EntriesStored,
    NodeStarted,
    PeerConnected,
    PeerLost,
    PeerPenalised,
    SyncFinished,
    SyncProgress,
)
from lndesk.canonical import encode
from lndesk.keytext import key_to_text
from lndesk.ui.main_window import MainWindow
from lndesk.ui.models.authors import FollowingModel, ItemRole
from lndesk.ui.models.posts import PostListModel
from lndesk.ui.status import StatusTracker


def test_following_model_rows_and_model_tester(
    bridge: Any, call: Any, qtbot: Any, qtmodeltester: Any
) -> None:
    bo, cy = make_identity(21), make_identity(22)
    chain = make_chain(bo, 4)
    call(lambda desk: desk.service.store.ingest(bo.public_key, wire(chain)))
    call(lambda desk: desk.people.follow(key_to_text(bo.public_key)))
    call(lambda desk: desk.people.follow(key_to_text(cy.public_key), "lndesk: link"))
    model = FollowingModel(bridge)
    with qtbot.waitSignal(model.refreshed):
        model.refresh()
    assert model.rowCount() == 2
    by_key = {model.item(row).key: model.item(row) for row in range(2)}
    assert by_key[bo.public_key].height == 4 and by_key[bo.public_key].last_post_ms is not None
    assert by_key[cy.public_key].height == 0 and by_key[cy.public_key].source == "lndesk: link"
    row = next(r for r in range(2) if model.item(r).key == bo.public_key)
    assert "4 entries held" in model.data(model.index(row))
    assert model.data(model.index(row), ItemRole).key == bo.public_key
    qtmodeltester.check(model)
    # unfollowing removes the row in place (no reset)
    removed: list[int] = []
    model.rowsRemoved.connect(lambda _p, first, _last: removed.append(first))
    call(lambda desk: desk.people.unfollow(cy.public_key))
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    assert model.item(0).key == bo.public_key and len(removed) == 1
    qtmodeltester.check(model)


def test_a_peers_malformed_post_is_shown_as_unreadable_not_a_crash(
    bridge: Any, call: Any, qtbot: Any
) -> None:
    bo = make_identity(23)
    good, _ = make_entry(bo, 1, None, text="fine")
    bad_payload = encode({"not-text": 1})  # valid CBOR, not a valid post
    bad, _ = make_entry(bo, 2, good.id, payload=bad_payload)
    items = [(good.raw, make_entry(bo, 1, None, text="fine")[1]), (bad.raw, bad_payload)]

    def store(desk: Any) -> None:
        desk.service.store.ingest(bo.public_key, items)
        desk._emit(EntriesStored(bo.public_key, 2, 2, 2, "sync", None))

    call(lambda desk: desk.people.follow(key_to_text(bo.public_key)))
    model = PostListModel(bridge, "timeline")
    model.start()
    call(store)
    qtbot.waitUntil(lambda: model.rowCount() == 2)
    unreadable = next(i for i in model.items() if i.seq == 2)
    assert unreadable.problem is not None and "could not be read" in unreadable.problem
    assert model.data(model.index(model.row_of(unreadable.post_key) or 0)) == unreadable.problem


def test_status_tracker_follows_the_node(bridge: Any, qtbot: Any) -> None:
    status = StatusTracker(bridge)
    qtbot.waitUntil(lambda: "Starting" in status.connection_text())
    peer = make_identity(24).public_key
    status.on_event(NodeStarted("12D3Koo", ("/ip4/127.0.0.1/tcp/1",)))
    assert status.connection_text().startswith("Offline: no peers yet")
    status.on_event(PeerConnected(peer, "/ip4/127.0.0.1/tcp/2"))
    assert status.online and status.connection_text() == "Online · 1 peer"
    status.on_event(SyncProgress(peer, peer, 1200, 5000))
    assert status.sync_text() == "Syncing: 1,200 of 5,000 entries here"
    messages: list[str] = []
    status.message.connect(messages.append)
    status.on_event(SyncFinished(peer, 10, 1, "StreamReset: closed", SYNC_CUT_SHORT))
    assert status.sync_text() == "" and "stopped before it finished" in messages[-1]
    assert "StreamReset" not in messages[-1]
    status.on_event(PeerPenalised(peer, "forged signature", 600))
    assert "fails lndesk's checks" in messages[-1] and "10 min" in messages[-1]
    # The session that broke the rules ends after its penalty: that message stays.
    status.on_event(SyncFinished(peer, 0, 1, "peer broke the sync protocol", SYNC_PEER_BROKE_RULES))
    assert "fails lndesk's checks" in messages[-1]
    status.on_event(PeerLost(peer))
    assert not status.online
    status.on_event(NetworkUnavailable("port 4747 is already in use"))
    assert status.connection_text() == "Offline (network off)"
    assert "4747" in messages[-1]


def test_window_geometry_is_remembered(bridge: Any, data_dir: Path, qtbot: Any) -> None:
    first = MainWindow(bridge, data_dir)
    qtbot.addWidget(first)
    first.show()
    first.setGeometry(QRect(40, 50, 800, 580))
    qtbot.waitUntil(lambda: first.width() == 800)
    size = (first.width(), first.height())  # the layout may not allow 580 px of height
    first.close()
    second = MainWindow(bridge, data_dir)
    qtbot.addWidget(second)
    assert (second.width(), second.height()) == size != (1100, 760)


def test_a_fork_learned_from_a_peer_shows_on_the_authors_row(
    bridge: Any, call: Any, qtbot: Any
) -> None:
    from lndesk.store.forks import record_fork

    bo = make_identity(23)
    chain = make_chain(bo, 4)
    other = make_chain(bo, 1, start_seq=3, prev=chain[1][0].id, text="other branch")
    call(lambda desk: desk.service.store.ingest(bo.public_key, wire(chain[:2])))
    call(lambda desk: desk.people.follow(key_to_text(bo.public_key)))
    model = FollowingModel(bridge)
    with qtbot.waitSignal(model.refreshed):
        model.refresh()
    assert "forked" not in model.data(model.index(0))
    # What the fork proof protocol keeps: two entries at 3, neither of them stored here.
    seq = call(
        lambda desk: record_fork(
            desk.service.store, bo.public_key, chain[2][0].raw, other[0][0].raw
        )
    )
    assert seq == 3
    with qtbot.waitSignal(model.refreshed):
        model.refresh()
    assert model.item(0).forked_at == 3
    assert "signed two different entries at entry 3 (nothing newer accepted)" in model.data(
        model.index(0)
    )
