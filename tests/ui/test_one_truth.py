"""Online, offline and "seen by" are told the same way in the status bar, the Network
screen, the cards and the note after publishing; "seen by" comes from the store at start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from store_helpers import make_identity

from lndesk.app.events import HolderProven, NodeStarted, PeerConnected, PeerLost
from lndesk.app.runtime import NodeRuntime
from lndesk.app.service import Service
from lndesk.ui.format import delivery_text
from lndesk.ui.main_window import MainWindow
from lndesk.ui.models.posts import PostListModel


def _everywhere(window: MainWindow) -> tuple[str, str]:
    """(status bar, Network screen) connection words."""
    return window.connection_label.text(), window.network.status.text()


def test_status_bar_network_screen_cards_and_notes_agree(window: MainWindow, qtbot: Any) -> None:
    bridge = window.bridge
    ann, bo = make_identity(31).public_key, make_identity(32).public_key
    bridge.node_event.emit(NodeStarted("12D3KooWself", ("/ip4/127.0.0.1/tcp/1",)))
    no_peers = "Offline: no peers yet (posts are kept and sent later)"
    qtbot.waitUntil(lambda: _everywhere(window) == (no_peers, no_peers))

    bridge.node_event.emit(PeerConnected(ann, "/ip4/127.0.0.1/tcp/2"))
    bridge.node_event.emit(PeerConnected(bo, "/ip4/127.0.0.1/tcp/3"))
    qtbot.waitUntil(lambda: _everywhere(window) == ("Online · 2 peers", "Online · 2 peers"))
    assert "Connected to 2 peers" in window.network.reason.text()

    box = window.timeline.compose
    assert box is not None
    box.text.setPlainText("written while two peers are connected")
    qtbot.mouseClick(box.button, Qt.MouseButton.LeftButton)
    model = window.timeline.model
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    assert box.status.text() == "Published, and announced to 2 peers now connected."
    delegate = window.timeline.view.delegate
    assert delegate.connectivity is bridge.connectivity
    item = model.item(0)
    assert delivery_text(item, delegate.connectivity) == "announced; no peer has fetched it yet"

    bridge.node_event.emit(PeerLost(ann))
    bridge.node_event.emit(PeerLost(bo))
    qtbot.waitUntil(lambda: _everywhere(window) == (no_peers, no_peers))
    assert delivery_text(item, delegate.connectivity) == (
        "published locally, not yet seen by any peer"
    )
    box.text.setPlainText("written with nobody connected")
    qtbot.mouseClick(box.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: model.rowCount() == 2)
    assert box.status.text().startswith("Published locally")


def test_seen_by_is_read_from_the_store_at_start(data_dir: Path, qapp: Any, qtbot: Any) -> None:
    from lndesk.app.desk import Desk
    from lndesk.ui.bridge import Bridge

    holder = make_identity(33).public_key
    with Service(data_dir) as service:
        entry = service.post("held by a peer before the restart")
        desk = Desk(service)
        desk.on_event(HolderProven(holder, service.public_key, entry.seq))
    # A restart: the network is off, no peer has said anything yet.
    runtime = NodeRuntime(data_dir, network=False, control=False)
    runtime.start(wait_network=False)
    bridge = Bridge(runtime)
    try:
        model = PostListModel(bridge, "mine")
        model.start()
        qtbot.waitUntil(lambda: model.rowCount() >= 1)
        item = next(i for i in model.items() if i.seq == entry.seq)
        assert item.seen_by == 1
        assert delivery_text(item, bridge.connectivity) == "seen by 1 peer"
    finally:
        bridge.close()
        runtime.stop()
