"""The banners of a restored identity: "your log: latest entry N, seen on K peers", confirmed
by the user before the first publish (see :mod:`lndesk.app.restore`), on the Identity
screen (:class:`RestorePanel`), and a line above every screen that leads there
(:class:`RestoreBanner`).

It shows what the node's search of peers found, lets the user ask again, and asks for a
clear confirmation (a dialog naming the number) before publishing resumes at N+1. The
work is on the desk, through the bridge; :meth:`RestorePanel.confirm` takes ``ask`` so
tests need no modal dialog.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
)

from lndesk.app.desk import Desk
from lndesk.app.events import EntriesStored, FeedSynced, LocalChanged, NodeWarning
from lndesk.app.items import IdentityInfo
from lndesk.app.restore import RestoreStatus
from lndesk.ui import theme
from lndesk.ui.bridge import Bridge
from lndesk.ui.format import error_text

logger = logging.getLogger(__name__)

ERROR_STYLE = theme.ERROR_STYLE


def status_text(status: RestoreStatus) -> str:
    """The banner's explanation, in the app's words."""
    head = status.summary().replace("your log", "Your log", 1) + "."
    if status.forked_at is not None:
        return (
            f"{head} Your log is forked at entry {status.forked_at}: two different entries "
            "were signed there, and it cannot grow any more."
        )
    if not status.surveyed:
        return f"{head} lndesk is still asking your peers how far your log goes."
    if status.held < status.latest:
        return (
            f"{head} Entries {status.held + 1} to {status.latest} have not arrived yet; they "
            "come from the peers that hold them."
        )
    if status.sources == 0:
        return (
            f"{head} No peer has reported your log yet. If you published before, connect to "
            "a peer that follows you or import your latest backup file, then ask again."
        )
    return (
        f"{head} If that is the last post you made, confirm it and you can publish again. "
        "If you posted more from another computer, wait until a peer that has it is online."
    )


def ask_confirmation(parent: QGroupBox, status: RestoreStatus) -> bool:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Confirm your latest entry")
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(
        f"{status.summary().replace('your log', 'Your log', 1)}.\n\n"
        f"Your next post becomes entry {status.latest + 1}. If you published anything after "
        f"entry {status.latest} that these peers have not seen, your log splits in two and "
        "stops growing. Confirm?"
    )
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    box.setDefaultButton(QMessageBox.StandardButton.No)
    return box.exec() == QMessageBox.StandardButton.Yes


class RestorePanel(QGroupBox):
    """Shown while a restored identity may not publish; hidden otherwise."""

    confirmed = Signal()
    """Publishing is allowed now (the identity screen reloads)."""

    def __init__(self, bridge: Bridge) -> None:
        super().__init__("Restored identity")
        self.bridge = bridge
        self.status: RestoreStatus | None = None
        self.busy = False
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.hide()
        self.ask_button = QPushButton("Ask peers again")
        self.ask_button.clicked.connect(self.ask_again)
        self.confirm_button = QPushButton("Confirm…")
        self.confirm_button.clicked.connect(self._confirm_clicked)
        row = QHBoxLayout()
        row.addWidget(self.confirm_button)
        row.addWidget(self.ask_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addLayout(row)
        layout.addWidget(self.message)
        self.hide()

    def show_status(self, status: RestoreStatus | None) -> None:
        self.status = status
        if status is None or status.confirmed:
            self.hide()
            return
        self.text.setText(status_text(status))
        self.confirm_button.setText(f"Confirm: my latest entry is {status.latest}…")
        self.confirm_button.setEnabled(status.ready and not self.busy)
        self.ask_button.setEnabled(not self.busy)
        self.show()

    def ask_again(self) -> None:
        self._run(lambda desk: desk.account.ask_own_log(), self.show_status)

    def _confirm_clicked(self) -> None:
        self.confirm()

    def confirm(self, ask: Callable[[QGroupBox, RestoreStatus], bool] = ask_confirmation) -> None:
        status = self.status
        if status is None or not status.ready or not ask(self, status):
            return
        latest = status.latest

        async def confirm(desk: Desk) -> RestoreStatus:
            return desk.account.confirm_own_log(latest)

        self._run(confirm, self._confirmed)

    def _confirmed(self, status: RestoreStatus) -> None:
        self.show_status(status)
        self.confirmed.emit()

    def _run(
        self,
        function: Callable[[Desk], Awaitable[RestoreStatus]],
        done: Callable[[RestoreStatus], None],
    ) -> None:
        self.busy = True
        self.message.hide()
        self.show_status(self.status)

        def finished(result: RestoreStatus) -> None:
            self.busy = False
            done(result)

        def failed(error: BaseException) -> None:
            self.busy = False
            self.message.setStyleSheet(ERROR_STYLE)
            self.message.setText(error_text(error))
            self.message.show()
            self.show_status(self.status)

        self.bridge.request_async(function, done=finished, failed=failed)


class RestoreBanner(QFrame):
    """Above every screen while a restored identity may not publish: says so, and leads
    to the Identity screen, where the latest entry is confirmed."""

    open_identity = Signal()

    def __init__(self, bridge: Bridge) -> None:
        super().__init__()
        self.bridge = bridge
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.button = QPushButton("Review and confirm…")
        self.button.clicked.connect(self.open_identity.emit)
        row = QHBoxLayout(self)
        row.addWidget(self.text, 1)
        row.addWidget(self.button)
        self.hide()
        self.waiting = False
        """The identity may not publish yet (as last heard)."""
        bridge.node_event.connect(self._on_event)

    def refresh(self) -> None:
        self.bridge.request(lambda desk: desk.account.identity(), done=self.show_info)

    def show_info(self, info: IdentityInfo) -> None:
        status = info.restore
        self.waiting = not info.can_publish
        if info.can_publish or status is None:
            self.hide()
            return
        found = (
            f"Peers report entry {status.latest} as your latest."
            if status.surveyed
            else "lndesk is asking your peers how far your log goes."
        )
        self.text.setText(
            "This identity was restored: publishing waits until you confirm your latest "
            f"entry, so that your log does not split in two. {found}"
        )
        self.show()

    def _on_event(self, event: object) -> None:
        news = isinstance(event, NodeWarning | FeedSynced | EntriesStored)
        if (isinstance(event, LocalChanged) and event.what == "profile") or (self.waiting and news):
            self.refresh()
