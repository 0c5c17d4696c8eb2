"""The Network screen and its models, against a real node thread with the network off."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPersistentModelIndex, Qt
from PySide6.QtWidgets import QApplication

from lndesk.app.datadir import DEFAULT_PORT, Config
from lndesk.app.events import NetworkUnavailable, PeerConnected
from lndesk.app.items import PeerItem
from lndesk.identity import Identity
from lndesk.ui.models.peers import POLL_MS, AddressesModel, ItemRole, PeersModel, latency_text
from lndesk.ui.network_view import NetworkView, address_problem


def peer(number: int, latency: float | None = 12.4, syncing: bool = False) -> PeerItem:
    return PeerItem(
        key=bytes([number]) * 32,
        name=f"peer {number}",
        peer_id=f"12D3KooWPeer{number:02d}abcdefghijklmnopqrstuvwxyz",
        address=f"/ip4/192.0.2.{number}/tcp/4747",
        latency_ms=latency,
        syncing=syncing,
    )


def peer_address(port: int = 4747) -> str:
    from lndesk.p2p.host import peer_id_of

    return f"/ip4/192.0.2.7/tcp/{port}/p2p/{peer_id_of(Identity.generate().public_key)}"


class Restarts:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


@pytest.fixture
def restarts() -> Restarts:
    return Restarts()


@pytest.fixture
def view(bridge: Any, restarts: Restarts, qtbot: Any) -> NetworkView:
    widget = NetworkView(bridge, restarts)
    qtbot.addWidget(widget)
    qtbot.waitUntil(lambda: widget.info is not None)
    return widget


# --- models ----------------------------------------------------------------------------


def test_peers_model_passes_the_model_tester(qapp: Any, qtmodeltester: Any) -> None:
    model = PeersModel(None)
    model._apply([peer(1), peer(2, latency=None, syncing=True), peer(3)])
    qtmodeltester.check(model)
    assert model.rowCount() == 3
    assert model.data(model.index(0)) == "peer 1 · 12D3KooWPeer…uvwxyz · 12 ms"
    assert model.data(model.index(1)).endswith(f"· {latency_text(None)} · syncing")
    assert latency_text(None) != ""
    assert model.data(model.index(2), ItemRole) == peer(3)
    tip = model.data(model.index(0), Qt.ItemDataRole.ToolTipRole)
    assert peer(1).peer_id in tip and peer(1).address in tip


def test_addresses_model_passes_the_model_tester(qtmodeltester: Any) -> None:
    model = AddressesModel(None)
    model._apply(["/ip4/127.0.0.1/tcp/4747/p2p/12D3KooWx", "/ip4/192.0.2.1/tcp/4747/p2p/12D3KooWx"])
    qtmodeltester.check(model)
    assert model.data(model.index(1)) == "/ip4/192.0.2.1/tcp/4747/p2p/12D3KooWx"
    assert model.data(model.index(0), ItemRole) == "/ip4/127.0.0.1/tcp/4747/p2p/12D3KooWx"


def test_refresh_applies_the_difference(qtbot: Any) -> None:
    model = PeersModel(None)
    model._apply([peer(1), peer(2), peer(3)])
    kept = QPersistentModelIndex(model.index(1))  # peer 2, as a selection would hold it
    events: list[str] = []
    model.modelReset.connect(lambda: events.append("reset"))
    model.rowsRemoved.connect(lambda _p, first, last: events.append(f"removed {first}-{last}"))
    model.rowsInserted.connect(lambda _p, first, last: events.append(f"inserted {first}-{last}"))
    model.dataChanged.connect(lambda top, _bottom: events.append(f"changed {top.row()}"))

    model._apply([peer(2), peer(3, latency=80.0), peer(4)])

    assert events == ["removed 0-0", "changed 1", "inserted 2-2"]
    assert kept.isValid() and kept.row() == 0
    assert model.data(model.index(0), ItemRole) == peer(2)
    assert [p.peer_id for p in model.rows()] == [peer(n).peer_id for n in (2, 3, 4)]
    assert "80 ms" in model.data(model.index(1))
    events.clear()
    model._apply([peer(2), peer(3, latency=80.0), peer(4)])
    assert events == []  # nothing changed, nothing announced


def test_models_refresh_through_the_bridge(bridge: Any, qtbot: Any, qtmodeltester: Any) -> None:
    peers, addresses = PeersModel(bridge), AddressesModel(bridge)
    peers._apply([peer(1)])
    addresses._apply(["/ip4/127.0.0.1/tcp/1/p2p/x"])
    with qtbot.waitSignals([peers.refreshed, addresses.refreshed]):
        peers.refresh()
        addresses.refresh()
    assert peers.rowCount() == 0  # the network is off: no peers, no addresses
    assert addresses.rowCount() == 0
    qtmodeltester.check(peers)
    # A node event makes them ask again.
    peers._apply([peer(1)])
    with qtbot.waitSignal(peers.refreshed):
        bridge.node_event.emit(PeerConnected(bytes(32), "/ip4/192.0.2.1/tcp/1"))
    assert peers.rowCount() == 0


# --- the screen --------------------------------------------------------------------------


def test_offline_screen(view: NetworkView) -> None:
    assert view.info is not None and not view.info.online
    assert view.status.text() == "Starting network…"
    assert "not running" in view.reason.text()
    assert not view.connect_button.isEnabled()
    assert not view.copy_peer_id.isEnabled()
    assert not view.copy_address.isEnabled()
    assert view.no_peers.isVisibleTo(view)
    assert view.port.value() == DEFAULT_PORT
    assert view.mdns.isChecked()
    assert view.bootstrap_addresses() == []


def test_peer_list(view: NetworkView) -> None:
    view.peers._apply([peer(1)])
    assert not view.no_peers.isVisibleTo(view)
    assert view.peer_list.model().rowCount() == 1
    view.peers._apply([])
    assert view.no_peers.isVisibleTo(view)


def test_why_the_network_is_down(view: NetworkView, bridge: Any, qtbot: Any) -> None:
    message = "port 4747 is already in use by another program"
    bridge.node_event.emit(NetworkUnavailable(message))
    qtbot.waitUntil(lambda: message in view.reason.text())
    assert view.status.text() == "Offline (network off)"
    assert "Apply" in view.reason.text()


def test_polls_peers_only_while_shown(view: NetworkView, qtbot: Any) -> None:
    assert not view.peers.polling
    view.show()
    qtbot.waitExposed(view)
    assert view.peers.polling
    view.hide()
    assert not view.peers.polling


def test_the_peer_poll_runs_on_the_injected_clock(
    view: NetworkView, clock: Any, qtbot: Any
) -> None:
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: not view.peers._busy)  # the refresh on showing is done
    clock.advance(POLL_MS / 1000 - 0.01)
    assert not view.peers._busy  # not due yet
    with qtbot.waitSignal(view.peers.refreshed, timeout=1000):
        clock.advance(0.01)
    with qtbot.waitSignal(view.peers.refreshed, timeout=1000):
        clock.advance(POLL_MS / 1000)  # and again, every interval
    view.hide()
    clock.advance(POLL_MS / 1000)
    assert not view.peers._busy


def test_connect_errors_are_shown_inline(view: NetworkView, qtbot: Any) -> None:
    view.connect_edit.setText("192.0.2.7:4747")
    qtbot.keyClick(view.connect_edit, Qt.Key.Key_Return)
    assert "192.0.2.7:4747" in view.connect_message.text()
    assert view.connect_message.isVisibleTo(view)

    view.connect_edit.setText(peer_address())
    qtbot.keyClick(view.connect_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "Could not connect" in view.connect_message.text())
    assert "not running" in view.connect_message.text()


def test_bad_address_is_refused_on_add(view: NetworkView) -> None:
    view.bootstrap_edit.setText("bootstrap.example.org")
    view.add_button.click()
    assert view.bootstrap_addresses() == []
    assert "bootstrap.example.org" in view.settings_message.text()
    assert view.settings_message.isVisibleTo(view)


def test_invalid_bootstrap_is_not_saved(
    view: NetworkView, data_dir: Path, restarts: Restarts, qtbot: Any
) -> None:
    bad = "/ip4/192.0.2.7/tcp/4747/p2p/not-a-peer-id"
    assert address_problem(bad) is None  # only the desk's full check catches it
    view.bootstrap.addItem(bad)
    view.apply_button.click()
    qtbot.waitUntil(lambda: "Not saved" in view.settings_message.text(), timeout=20_000)
    assert bad in view.settings_message.text()
    assert view.apply_button.isEnabled()
    assert restarts.count == 0
    assert Config.load(data_dir / "config.json").bootstrap == []


def test_valid_settings_are_saved_and_the_network_restarted(
    view: NetworkView, data_dir: Path, restarts: Restarts, qtbot: Any
) -> None:
    address = peer_address()
    view.bootstrap_edit.setText(f"  {address} ")
    view.add_button.click()
    view.bootstrap_edit.setText(address)
    view.add_button.click()  # a second time: not added twice
    assert view.bootstrap_addresses() == [address]
    view.port.setValue(0)
    assert view.port.text() == "any free port"
    view.mdns.setChecked(False)
    view.apply_button.click()
    qtbot.waitUntil(lambda: restarts.count == 1, timeout=20_000)
    config = Config.load(data_dir / "config.json")
    assert (config.port, config.bootstrap, config.mdns) == (0, [address], False)
    assert "Saved" in view.settings_message.text()

    view.bootstrap.setCurrentRow(0)
    view.remove_button.click()
    assert view.bootstrap_addresses() == []


def test_restart_failure_is_shown(bridge: Any, qtbot: Any) -> None:
    def restart() -> None:
        raise RuntimeError("the node thread has stopped")

    widget = NetworkView(bridge, restart)
    qtbot.addWidget(widget)
    qtbot.waitUntil(lambda: widget.info is not None)
    widget.apply_button.click()
    qtbot.waitUntil(lambda: "could not restart" in widget.settings_message.text())
    assert "the node thread has stopped" in widget.settings_message.text()


def test_copy_addresses(view: NetworkView) -> None:
    view.addresses._apply(["/ip4/127.0.0.1/tcp/1/p2p/a", "/ip4/192.0.2.1/tcp/1/p2p/a"])
    clipboard = QApplication.clipboard()
    view.copy_address.click()
    assert clipboard.text() == "/ip4/127.0.0.1/tcp/1/p2p/a\n/ip4/192.0.2.1/tcp/1/p2p/a"
    view.address_list.setCurrentIndex(view.addresses.index(1))
    view.copy_address.click()
    assert clipboard.text() == "/ip4/192.0.2.1/tcp/1/p2p/a"
