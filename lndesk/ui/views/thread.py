"""A post and every reply under it (the answers its asker marked helpful first), with a
reply box at the bottom.

Opening a thread asks connected peers for its replies (``desk.threads.fetch_thread``,
on the node thread; the window never waits for it). Replies fetched arrive as stored
entries, which refresh the list; the heading then says what is known in words: "3
answers", "2 more not fetched yet" when a peer reported more than are held here (at
this fetch, or at an earlier one: the device keeps it, ``desk.threads.counts``),
"Looking for more answers…" while peers are asked, "3 answers here; peers not
reachable" offline, and "3 answers here; asking peers for more failed" when every peer
asked failed, so that a count never claims to be the whole thread when nobody answered.
A thread opened offline is fetched as soon as a peer connects.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout, QWidget

from lndesk.app.desk import THREAD
from lndesk.app.desk_threads import ThreadCounts, not_fetched
from lndesk.app.items import PostItem
from lndesk.app.runtime import describe
from lndesk.ui.bridge import Bridge
from lndesk.ui.models.posts import PostListModel
from lndesk.ui.views.compose import REPLY, ComposeBox
from lndesk.ui.views.posts import PostListView
from lndesk.ui.views.pseudonym_mark import PseudonymMarkDialog
from lndesk.wording import counted

logger = logging.getLogger(__name__)

LOOKING, UNREACHABLE, ASKED, FAILED = "looking", "unreachable", "asked", "failed"
"""Where asking peers for the thread stands (see :func:`counts_text`)."""


def counts_text(known: int, not_fetched: int, state: str, *, question: bool) -> str:
    """The thread's reply count in words, saying no more than is known."""
    noun = counted(known, "answer") if question else counted(known, "reply", "replies")
    kind = "answers" if question else "replies"
    more = f" · {not_fetched:,} more not fetched yet" if not_fetched else ""
    if state == LOOKING:
        return f"{noun}{more} · Looking for more {kind}…"
    if state == UNREACHABLE:
        return f"{noun} here{more}; peers not reachable"
    if state == FAILED:
        return f"{noun} here{more}; asking peers for more failed"
    return f"{noun}{more}"


class ThreadDialog(QDialog):
    share_requested = Signal(object)
    fetched = Signal()
    """Peers were asked for the thread's replies (or could not be): the counts are final."""

    def __init__(self, bridge: Bridge, item: PostItem, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Thread — {item.shown_name}")
        self.bridge = bridge
        self.model = PostListModel(bridge, THREAD, self, root=item.thread_root)
        self.view = PostListView(self.model, self)
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.reply_to: PostItem = item
        self.box = ComposeBox(bridge, REPLY, item, self, compact=True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.box)
        self.view.reply_requested.connect(self.set_reply_target)
        self.view.thread_requested.connect(self.set_reply_target)
        self.view.share_requested.connect(self.share_requested)
        self.view.bookmark_requested.connect(self._bookmark)
        self.view.helpful_requested.connect(self._helpful)
        self.model.loaded.connect(self._update_heading)
        bridge.node_event.connect(self._node_event)
        self.root_item = item
        self.question = item.question if item.root is None else False
        """The thread is a question's (its replies are answers); known when its root shows."""
        self.counts: ThreadCounts | None = None
        """What is known of the replies: what peers said at the latest fetch that reached
        one (kept on this device), until this view's fetch answers (None before either)."""
        self.fetch_state = LOOKING
        self.mark_dialog: PseudonymMarkDialog | None = None
        """The passphrase dialog of the latest mark made as a sealed pseudonym."""
        self.set_reply_target(item)
        self.model.start()
        root = self.model.root
        assert root is not None
        self.bridge.request(lambda desk: desk.threads.counts(root), self._known_counts)
        self.fetch()
        self.resize(640, 720)

    def fetch(self) -> None:
        """Ask peers for the thread's replies, unless no peer is connected."""
        root = self.model.root
        assert root is not None
        if not self.bridge.connectivity.online:
            self.fetch_state = UNREACHABLE
            self._update_heading()
            self.fetched.emit()
            return
        self.fetch_state = LOOKING
        self._update_heading()
        self.bridge.request_async(
            lambda desk: desk.threads.fetch_thread(root), self._fetch_done, self._fetch_failed
        )

    def _node_event(self, _event: object) -> None:
        """A thread opened while no peer was connected is fetched once one is (the
        bridge has applied the event to its connectivity before this runs)."""
        if self.fetch_state == UNREACHABLE and self.bridge.connectivity.online:
            self.fetch()

    def _known_counts(self, counts: ThreadCounts) -> None:
        """What an earlier fetch said, until this view's fetch answers."""
        if self.counts is None:
            self.counts = counts
            self._update_heading()

    def _fetch_done(self, counts: ThreadCounts) -> None:
        self.counts = counts
        # Nobody answered (every peer asked failed, or none was left to ask): the count
        # is what is held here, and an earlier fetch's report, not the whole thread.
        self.fetch_state = ASKED if counts.asked else FAILED
        root = self.root_item.thread_root
        key = (root.author, root.seq)
        self.bridge.replies_reported[key] = max(
            counts.reported, self.bridge.replies_reported.get(key, 0)
        )
        self.bridge.threads_counted.emit()
        self._update_heading()
        self.fetched.emit()

    def _fetch_failed(self, error: BaseException) -> None:
        logger.info("fetching a thread failed: %s", describe(error))
        self.fetch_state = FAILED
        self._update_heading()
        self.fetched.emit()

    def set_reply_target(self, item: PostItem) -> None:
        self.reply_to = item
        self.box.target = item
        self.box.text.setPlaceholderText(f"Reply to {item.shown_name}… (markdown)")
        self.box.text.setFocus()

    def _bookmark(self, item: PostItem) -> None:
        key, on = item.post_key, not item.bookmarked
        self.bridge.request(lambda desk: desk.reading.set_bookmark(key, on))

    def _helpful(self, item: PostItem) -> None:
        """Mark an answer to my question as helpful, or take the mark back: an entry in
        my log that every reader of the question sees. For a question I asked as a
        pseudonym the pseudonym signs, in its log: when its key file is sealed, a
        dialog asks for the passphrase first (:attr:`mark_dialog`)."""
        key, on = item.post_key, not item.helpful

        def marked(sealed: str | None) -> None:
            if sealed is None:
                self.bridge.request_async(lambda desk: desk.answers.mark_helpful(key, on))
                return
            self.mark_dialog = PseudonymMarkDialog(self.bridge, key, on, sealed, self)
            self.mark_dialog.open()

        self.bridge.request(lambda desk: desk.answers.sealed_signer(key), marked)

    def _update_heading(self) -> None:
        count = self.model.rowCount()
        items = self.model.items()
        root_stored = (
            bool(items) and items[0].post_key == self.model.root[:2] if self.model.root else False
        )
        if root_stored:
            self.question = items[0].question
        text = f"{count} post{'s' if count != 1 else ''} in this thread"
        if not root_stored:
            text += " (its first post is not stored here yet)"
        known = max(0, count - 1) if root_stored else count
        more = 0
        if self.counts is not None:
            # the stored replies may reach the list after the fetch's answer: the larger
            known = max(known, self.counts.known)
            more = not_fetched(self.counts.reported, known)
        state = counts_text(known, more, self.fetch_state, question=self.question)
        self.heading.setText(f"{text}\n{state}")
