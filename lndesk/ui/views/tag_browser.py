"""Browsing by tag, on the Search screen: the tags used by me and the people I follow
(:class:`TagBrowser`), and one tag's posts (:class:`TagPostsPage`)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractScrollArea,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QWidget,
)

from lndesk.ui.bridge import Bridge
from lndesk.ui.models.posts import PostListModel
from lndesk.ui.models.search import TagsModel
from lndesk.ui.views.cards import LinesDelegate
from lndesk.ui.views.posts import PostListView
from lndesk.ui.views.widgets import add_action, bare_column, heading

__all__ = ["TagBrowser", "TagPostsPage"]

TAGS_WIDTH = 170
"""The tag column's least width: its heading on one line and a usual tag whole."""


class TagBrowser(QWidget):
    """The tags to browse by, most used first; a click or Enter chooses one."""

    chosen = Signal(str)
    """The tag whose posts to show."""

    def __init__(self, tags: TagsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tags = tags
        self.list = QListView()
        self.list.setModel(tags)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        # one card per tag, in the post cards' type and colours, roomy enough to click
        self.list.setItemDelegate(LinesDelegate(self.list, bold_first=False, padding=6))
        self.list.clicked.connect(self._choose)
        add_action(
            self.list,
            "Show the tag's posts",
            "Return",
            lambda: self._choose(self.list.currentIndex()),
        )
        self.empty = QLabel("No tags yet: add tags when you write, or follow someone.")
        self.empty.setWordWrap(True)
        title = heading("Browse by tag", 3)
        title.setWordWrap(True)
        self.setMinimumWidth(TAGS_WIDTH)
        column = bare_column(self)
        column.addWidget(title)
        column.addWidget(self.empty)
        self.list.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
        column.addWidget(self.list)
        column.addStretch(1)
        tags.refreshed.connect(self._update)

    def _update(self) -> None:
        empty = self.tags.rowCount() == 0
        self.empty.setVisible(empty)
        self.list.setVisible(not empty)

    def _choose(self, index: QModelIndex) -> None:
        tag = index.data(Qt.ItemDataRole.EditRole)
        if isinstance(tag, str) and tag:
            self.chosen.emit(tag)


class TagPostsPage(QWidget):
    """One tag's posts (by me and the people I follow), with a way back."""

    back = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.back_button = QPushButton("← Back to search")
        self.back_button.clicked.connect(self.back)
        self.heading = QLabel()
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.heading.setFont(font)
        self.empty = QLabel("No posts with this tag yet.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.model: PostListModel | None = None
        self.view: PostListView | None = None
        top = QHBoxLayout()
        top.addWidget(self.back_button)
        top.addWidget(self.heading, 1)
        self._layout = bare_column(self)
        self._layout.addLayout(top)
        self._layout.addWidget(self.empty)

    def show_tag(self, bridge: Bridge, tag: str) -> PostListView:
        """Show ``tag``'s posts in a new list (the list of the tag before goes away)."""
        if self.view is not None:
            self._layout.removeWidget(self.view)
            self.view.hide()  # no more show events (and timers) for a list going away
            self.view.deleteLater()
        if self.model is not None:
            # Not deleteLater: an answer may still be on its way to it. Without a parent
            # it goes away with the last reference (the bridge's pending callback).
            self.model.blockSignals(True)
            self.model.setParent(None)
        self.heading.setText(f"#{tag}")
        model = PostListModel(bridge, f"tag:{tag}", self)
        view = PostListView(model, self)
        self.model, self.view = model, view
        self._layout.addWidget(view, 1)
        model.loaded.connect(self._update_empty)
        model.rowsInserted.connect(self._update_empty)
        model.rowsRemoved.connect(self._update_empty)
        model.failed.connect(self._failed)
        self.empty.setText("Loading…")
        self.empty.show()
        view.hide()
        model.start()
        return view

    def _update_empty(self, *_args: object) -> None:
        if self.model is None or self.view is None:
            return
        empty = self.model.rowCount() == 0
        self.empty.setText("No posts with this tag yet.")
        self.empty.setVisible(empty)
        self.view.setVisible(not empty)

    def _failed(self, message: str) -> None:
        self.empty.setText(message)
        self.empty.show()
