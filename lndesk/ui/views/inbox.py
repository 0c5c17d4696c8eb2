"""The inbox: replies, shares and mentions addressed to me, and requests from strangers.

"Replies & mentions" holds what people within two follow hops of me (or people I
accepted) addressed to me. Everything else addressed to me waits in "Requests": each
request can be accepted (that person's replies and mentions show with the rest from then
on) or its author blocked (asked first: a block also unfollows them and stops storing and
serving their feed). The Requests tab shows how many wait, kept up to date by events.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from lndesk.app.events import EntriesStored, LocalChanged
from lndesk.app.items import PostItem
from lndesk.ui.bridge import Bridge
from lndesk.ui.format import error_text
from lndesk.ui.models.posts import PostListModel
from lndesk.ui.views.following import BlockedButton, BlockedDialog, confirm_block
from lndesk.ui.views.posts import PostListPanel, PostListView
from lndesk.ui.views.widgets import heading

REPLIES, REQUESTS = "replies", "requests"
REPLIES_TAB, REQUESTS_TAB = 0, 1
COUNT_DELAY_MS = 400
COUNT_CAP = 1000
"""The desk counts requests up to this many."""


def requests_title(count: int) -> str:
    if count <= 0:
        return "Requests"
    return f"Requests ({count})" if count < COUNT_CAP else f"Requests ({COUNT_CAP - 1}+)"


class InboxPage(QWidget):
    """Replies & mentions, and Requests, in two tabs (the window's "Mentions & replies")."""

    requests_counted = Signal(int)
    """How many requests wait (after each count)."""
    message = Signal(str)
    """Something to tell the user in passing (the window shows it in its status bar)."""

    def __init__(
        self, bridge: Bridge, title: str = "Mentions & replies", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.model = PostListModel(bridge, REPLIES, self)
        self.view = PostListView(self.model, self)
        self.requests_model = PostListModel(bridge, REQUESTS, self)
        self.requests_view = PostListView(self.requests_model, self, requests=True)
        self.replies_tab = PostListPanel(
            self.view,
            "No replies or mentions yet. Replies to your posts and posts that mention you show "
            "here; share your key or link (Identity) so that people can follow you.",
        )
        self.requests_tab = PostListPanel(
            self.requests_view,
            "No requests. Replies and mentions from people you do not know (nobody you "
            "follow follows them) wait here until you accept or block them.",
        )
        self.tabs = QTabWidget()
        self.tabs.addTab(self.replies_tab, "Replies && mentions")
        self.tabs.addTab(self.requests_tab, requests_title(0))
        self.tabs.setTabToolTip(
            REQUESTS_TAB, "From people outside your network: accept or block them"
        )
        self.tabs.currentChanged.connect(lambda _i: self._start())
        self.count = 0
        self.notice = QLabel()
        self.notice.setTextFormat(Qt.TextFormat.PlainText)  # it names peers
        self.notice.setWordWrap(True)
        self.notice.hide()
        self.blocked_button = BlockedButton(bridge)
        top = QHBoxLayout()
        top.addWidget(heading(title), 1)
        top.addWidget(self.blocked_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.notice)
        layout.addWidget(self.tabs, 1)
        self.requests_view.accept_requested.connect(self.accept)
        self.requests_view.block_requested.connect(self.block)
        for model in (self.model, self.requests_model):
            model.failed.connect(self._say)
        self._count_timer = bridge.timer(self, self.refresh_count)
        bridge.node_event.connect(self._on_event)
        self.refresh_count()

    # --- loading ---------------------------------------------------------------------

    def start(self) -> None:
        """Load both lists (once; afterwards they follow the node by themselves)."""
        self.model.start()
        self.requests_model.start()

    def _start(self) -> None:
        if self.isVisible():
            self.start()

    def showEvent(self, event: QShowEvent) -> None:
        self.start()
        self.refresh_count()
        super().showEvent(event)

    # --- the requests count ----------------------------------------------------------

    def _on_event(self, event: object) -> None:
        if isinstance(event, EntriesStored) or (
            isinstance(event, LocalChanged)
            and event.what in ("accepted", "blocked", "following", "muted", "published")
        ):
            self._count_timer.start(COUNT_DELAY_MS)

    def refresh_count(self) -> None:
        self.bridge.request(
            lambda desk: desk.inbox.requests_count(), self._set_count, self._no_count
        )

    def _set_count(self, count: int) -> None:
        self.count = count
        self.tabs.setTabText(REQUESTS_TAB, requests_title(count))
        self.requests_counted.emit(count)

    def _no_count(self, error: BaseException) -> None:
        self.tabs.setTabText(REQUESTS_TAB, "Requests")

    # --- accepting and blocking -----------------------------------------------------

    def accept(self, item: PostItem) -> None:
        """Show ``item``'s author's replies and mentions with the rest from now on."""
        if item.mine:
            return
        key, name = item.author, item.shown_name
        self.bridge.request(
            lambda desk: desk.inbox.accept(key, True),
            lambda _r: self._say(
                f"Accepted {name}: their replies and mentions now show under Replies & mentions."
            ),
            lambda e: self._say(error_text(e)),
        )

    def block(self, item: PostItem, *, confirm: bool = True) -> None:
        """Block ``item``'s author (after asking, unless ``confirm`` is False)."""
        if item.mine:
            return
        if confirm and not confirm_block(self, item.shown_name):
            return
        key, name = item.author, item.shown_name
        self.bridge.request_async(
            lambda desk: desk.people.block(key),
            lambda _r: self._say(f"Blocked {name}. Unblock them under Blocked people."),
            lambda e: self._say(error_text(e)),
        )

    def show_blocked(self) -> BlockedDialog:
        return self.blocked_button.show_dialog()

    def _say(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.show()
        self.message.emit(text)
