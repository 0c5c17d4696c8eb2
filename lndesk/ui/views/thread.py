"""A post and every reply under it (the answers its asker marked helpful first), with a
reply box at the bottom."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout, QWidget

from lndesk.app.desk import THREAD
from lndesk.app.items import PostItem
from lndesk.ui.bridge import Bridge
from lndesk.ui.models.posts import PostListModel
from lndesk.ui.views.compose import REPLY, ComposeBox
from lndesk.ui.views.posts import PostListView


class ThreadDialog(QDialog):
    share_requested = Signal(object)

    def __init__(self, bridge: Bridge, item: PostItem, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Thread — {item.author_name}")
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
        self.set_reply_target(item)
        self.model.start()
        self.resize(640, 720)

    def set_reply_target(self, item: PostItem) -> None:
        self.reply_to = item
        self.box.target = item
        self.box.text.setPlaceholderText(f"Reply to {item.author_name}… (markdown)")
        self.box.text.setFocus()

    def _bookmark(self, item: PostItem) -> None:
        key, on = item.post_key, not item.bookmarked
        self.bridge.request(lambda desk: desk.reading.set_bookmark(key, on))

    def _helpful(self, item: PostItem) -> None:
        """Mark an answer to my question as helpful, or take the mark back: an entry in
        my log that every reader of the question sees."""
        key, on = item.post_key, not item.helpful
        self.bridge.request_async(lambda desk: desk.answers.mark_helpful(key, on))

    def _update_heading(self) -> None:
        count = self.model.rowCount()
        items = self.model.items()
        root_stored = (
            bool(items) and items[0].post_key == self.model.root[:2] if self.model.root else False
        )
        text = f"{count} post{'s' if count != 1 else ''} in this thread"
        if not root_stored:
            text += " (its first post is not stored here yet)"
        self.heading.setText(text)
