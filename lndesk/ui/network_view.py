"""The Network screen: am I online (and if not, why), who am I connected to, and the
network settings (port, LAN discovery, bootstrap peers).

Everything it shows comes from the desk through the bridge; settings are checked and
saved by the desk (:meth:`~lndesk.app.desk_network.Network.save`), then the network is
restarted with them. Errors are shown next to what caused them, never in a dialog.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from lndesk.app.events import (
    AddressesChanged,
    LocalChanged,
    NetworkUnavailable,
    NodeStarted,
    NodeStopped,
)
from lndesk.app.items import NetworkInfo
from lndesk.app.runtime import describe
from lndesk.ui import theme
from lndesk.ui.bridge import Bridge
from lndesk.ui.models.peers import AddressesModel, PeersModel
from lndesk.ui.status import StatusTracker

logger = logging.getLogger(__name__)

EXAMPLE_ADDRESS = "/ip4/192.0.2.7/tcp/4747/p2p/12D3KooW…"


def address_problem(text: str) -> str | None:
    """A quick check of a peer address typed by hand (the desk checks it fully on Apply)."""
    if not text.startswith("/"):
        return f"“{text}” is not a peer address: it must start with /, like {EXAMPLE_ADDRESS}"
    _, _, peer = text.rpartition("/p2p/")
    if "/p2p/" not in text or not peer or "/" in peer:
        return f"“{text}” does not end in /p2p/<peer id>, like {EXAMPLE_ADDRESS}"
    return None


def _error_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setStyleSheet(theme.ERROR_STYLE)
    label.hide()
    return label


class NetworkView(QWidget):
    """The Network screen. ``restart_network`` restarts the node's network part (after
    the settings were saved), e.g. :meth:`~lndesk.app.runtime.NodeRuntime.restart_network`."""

    online_changed = Signal(bool)
    """The network went up (True) or down (False)."""

    def __init__(
        self,
        bridge: Bridge,
        restart_network: Callable[[], None],
        parent: QWidget | None = None,
        status: StatusTracker | None = None,
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.tracker = status if status is not None else StatusTracker(bridge, self)
        """Whether we are online: the app's one account, shared with the status bar."""
        self._restart_network = restart_network
        self.info: NetworkInfo | None = None
        self.problem: str | None = None
        self._form_loaded = False
        self.peers = PeersModel(bridge, self)
        self.addresses = AddressesModel(bridge, self)

        # --- status ---
        self.status = QLabel("Checking the network…")
        font = self.status.font()
        font.setBold(True)
        self.status.setFont(font)
        self.reason = QLabel()
        self.reason.setWordWrap(True)
        self.reason.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.peer_id = QLabel()
        self.peer_id.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copy_peer_id = QPushButton("Copy")
        self.copy_peer_id.clicked.connect(
            lambda: self._copy(self.info.peer_id if self.info else "")
        )
        self.address_list = QListView()
        self.address_list.setModel(self.addresses)
        self.address_list.setMaximumHeight(90)
        self.copy_address = QPushButton("Copy address")
        self.copy_address.setToolTip(
            "Copy the selected address (or all of them) to give to a friend."
        )
        self.copy_address.clicked.connect(self._copy_addresses)
        id_row = QHBoxLayout()
        id_row.addWidget(self.peer_id, 1)
        id_row.addWidget(self.copy_peer_id)
        address_row = QHBoxLayout()
        address_row.addWidget(self.address_list, 1)
        address_row.addWidget(self.copy_address, 0, Qt.AlignmentFlag.AlignTop)
        status_box = QGroupBox("Status")
        status_form = QFormLayout(status_box)
        status_form.addRow(self.status)
        status_form.addRow(self.reason)
        status_form.addRow("Your peer ID:", id_row)
        status_form.addRow("Your addresses:", address_row)

        # --- peers ---
        self.peer_list = QListView()
        self.peer_list.setModel(self.peers)
        self.peer_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.no_peers = QLabel(
            "No peers connected. Peers on your local network are found by themselves; "
            "for others, paste their address below or add a bootstrap peer."
        )
        self.no_peers.setWordWrap(True)
        self.connect_edit = QLineEdit()
        self.connect_edit.setPlaceholderText(EXAMPLE_ADDRESS)
        self.connect_edit.returnPressed.connect(self._connect)
        self.connect_button = QPushButton("Connect")
        self.connect_button.clicked.connect(self._connect)
        self.connect_message = _error_label()
        connect_row = QHBoxLayout()
        connect_row.addWidget(QLabel("Connect to address:"))
        connect_row.addWidget(self.connect_edit, 1)
        connect_row.addWidget(self.connect_button)
        peers_box = QGroupBox("Connected peers")
        peers_layout = QVBoxLayout(peers_box)
        peers_layout.addWidget(self.peer_list, 1)
        peers_layout.addWidget(self.no_peers)
        peers_layout.addLayout(connect_row)
        peers_layout.addWidget(self.connect_message)
        for signal in (self.peers.rowsInserted, self.peers.rowsRemoved, self.peers.modelReset):
            signal.connect(self._peers_changed)
        for signal in (self.addresses.rowsInserted, self.addresses.rowsRemoved):
            signal.connect(self._addresses_changed)
        self._addresses_changed()

        # --- settings ---
        self.port = QSpinBox()
        self.port.setRange(0, 65535)
        self.port.setSpecialValueText("any free port")
        self.port.setToolTip("The TCP port others connect to; 0 lets the system pick one.")
        self.mdns = QCheckBox("Find lndesk nodes on the local network (mDNS)")
        self.bootstrap = QListWidget()
        self.bootstrap.setMaximumHeight(110)
        self.bootstrap.setToolTip("Nodes dialled at start, e.g. a friend's always-on lndesk node.")
        self.bootstrap_edit = QLineEdit()
        self.bootstrap_edit.setPlaceholderText(EXAMPLE_ADDRESS)
        self.bootstrap_edit.returnPressed.connect(self._add_bootstrap)
        self.add_button = QPushButton("Add")
        self.add_button.clicked.connect(self._add_bootstrap)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self._remove_bootstrap)
        add_row = QHBoxLayout()
        add_row.addWidget(self.bootstrap_edit, 1)
        add_row.addWidget(self.add_button)
        add_row.addWidget(self.remove_button)
        self.apply_button = QPushButton("Apply and restart the network")
        self.apply_button.clicked.connect(self.apply)
        self.settings_message = _error_label()
        settings_box = QGroupBox("Settings")
        settings_form = QFormLayout(settings_box)
        settings_form.addRow("Listening port:", self.port)
        self.port_note = QLabel()
        self.port_note.setWordWrap(True)
        self.port_note.hide()
        settings_form.addRow("", self.port_note)
        settings_form.addRow(self.mdns)
        settings_form.addRow("Bootstrap peers:", self.bootstrap)
        settings_form.addRow("", add_row)
        settings_form.addRow(self.settings_message)
        settings_form.addRow(self.apply_button)

        layout = QVBoxLayout(self)
        layout.addWidget(status_box)
        layout.addWidget(peers_box, 1)
        layout.addWidget(settings_box)

        bridge.node_event.connect(self._on_event)
        self.tracker.changed.connect(self._show_link)
        self.refresh()

    # --- state from the desk -------------------------------------------------------

    def refresh(self) -> None:
        """Ask the desk for the network's state, addresses and peers."""
        problem = self.problem
        self.bridge.request(lambda desk: desk.network.info(problem), done=self._show_info)
        self.addresses.refresh()
        self.peers.refresh()

    def _on_event(self, event: object) -> None:
        if isinstance(event, NetworkUnavailable):
            self.problem = event.message
            self.refresh()
        elif isinstance(event, NodeStarted):
            self.problem = None
            self.refresh()
        elif isinstance(event, NodeStopped | AddressesChanged) or (
            isinstance(event, LocalChanged) and event.what == "network"
        ):
            self.refresh()

    def _show_info(self, info: NetworkInfo) -> None:
        was_online = self.info.online if self.info is not None else None
        self.info = info
        self._show_link()
        self.peer_id.setText(info.peer_id or "(known once the network runs)")
        self.copy_peer_id.setEnabled(bool(info.peer_id))
        self.connect_button.setEnabled(info.online)
        self.port_note.setText(info.port_note)
        self.port_note.setVisible(bool(info.port_note))
        if not self._form_loaded:
            self._load_form(info)
        if was_online != info.online:
            self.online_changed.emit(info.online)

    def _show_link(self) -> None:
        state = self.tracker.state
        self.status.setText(state.headline())
        self.reason.setText(state.explanation())

    def _load_form(self, info: NetworkInfo) -> None:
        self._form_loaded = True
        self.port.setValue(info.port)
        self.mdns.setChecked(info.mdns)
        self.bootstrap.clear()
        self.bootstrap.addItems(list(info.bootstrap))

    def _addresses_changed(self) -> None:
        self.copy_address.setEnabled(self.addresses.rowCount() > 0)

    def _peers_changed(self) -> None:
        self.no_peers.setVisible(self.peers.rowCount() == 0)

    # --- actions ---------------------------------------------------------------------

    def _copy(self, text: str) -> None:
        clipboard = QGuiApplication.clipboard()
        if text and clipboard is not None:
            clipboard.setText(text)

    def _copy_addresses(self) -> None:
        selected = self.address_list.currentIndex()
        if selected.isValid():
            self._copy(str(self.addresses.rows()[selected.row()]))
        else:
            self._copy("\n".join(str(a) for a in self.addresses.rows()))

    def _connect(self) -> None:
        address = self.connect_edit.text().strip()
        if not address:
            return
        problem = address_problem(address)
        if problem is not None:
            self._say(self.connect_message, problem, error=True)
            return
        self.connect_button.setEnabled(False)
        self._say(self.connect_message, f"Connecting to {address}…")
        self.bridge.request_async(
            lambda desk: desk.network.connect(address),
            done=lambda _key: self._connected(address),
            failed=self._connect_failed,
        )

    def _connected(self, address: str) -> None:
        self.connect_button.setEnabled(self.info is not None and self.info.online)
        self.connect_edit.clear()
        self._say(self.connect_message, f"Connected to {address}.")
        self.peers.refresh()

    def _connect_failed(self, error: BaseException) -> None:
        self.connect_button.setEnabled(self.info is not None and self.info.online)
        self._say(self.connect_message, f"Could not connect: {describe(error)}", error=True)

    def bootstrap_addresses(self) -> list[str]:
        return [self.bootstrap.item(row).text() for row in range(self.bootstrap.count())]

    def _add_bootstrap(self) -> None:
        address = self.bootstrap_edit.text().strip()
        if not address:
            return
        problem = address_problem(address)
        if problem is not None:
            self._say(self.settings_message, problem, error=True)
            return
        if address not in self.bootstrap_addresses():
            self.bootstrap.addItem(address)
        self.bootstrap_edit.clear()
        self.settings_message.hide()

    def _remove_bootstrap(self) -> None:
        for item in self.bootstrap.selectedItems():
            self.bootstrap.takeItem(self.bootstrap.row(item))

    def apply(self) -> None:
        """Check and save the settings on the form, then restart the network with them."""
        port, mdns, bootstrap = self.port.value(), self.mdns.isChecked(), self.bootstrap_addresses()
        self.apply_button.setEnabled(False)
        self._say(self.settings_message, "Saving…")
        self.bridge.request(
            lambda desk: desk.network.save(port, bootstrap, mdns),
            done=lambda _none: self._saved(),
            failed=self._save_failed,
        )

    def _saved(self) -> None:
        self.apply_button.setEnabled(True)
        self.problem = None
        try:
            self._restart_network()
        except Exception as exc:
            logger.info("could not restart the network: %s", describe(exc))
            self._say(
                self.settings_message,
                f"Saved, but the network could not restart: {describe(exc)}",
                error=True,
            )
            return
        self._say(self.settings_message, "Saved. The network restarts with the new settings.")
        self.refresh()

    def _save_failed(self, error: BaseException) -> None:
        self.apply_button.setEnabled(True)
        self._say(self.settings_message, f"Not saved: {describe(error)}", error=True)

    def _say(self, label: QLabel, text: str, *, error: bool = False) -> None:
        label.setStyleSheet(theme.ERROR_STYLE if error else "")
        label.setText(text)
        label.setProperty("error", error)
        label.show()

    # --- visibility --------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.peers.set_polling(True)
        self.refresh()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self.peers.set_polling(False)
