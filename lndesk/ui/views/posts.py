"""A scrolling list of posts that keeps its place while new posts arrive.

When rows are inserted above what the reader is looking at (a live post at the top, or
older posts filled in by a newest-first sync), the view moves its scroll bar by exactly
the height those rows add, so the post under the reader's eyes stays put; a "new posts"
button then offers the jump to the top. At the very top the new posts simply show.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QPoint, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QContextMenuEvent,
    QDesktopServices,
    QKeySequence,
    QMouseEvent,
    QPaintEvent,
)
from PySide6.QtWidgets import QAbstractItemView, QListView, QMenu, QPushButton, QWidget

from lndesk.app.items import PostItem
from lndesk.ui.models.posts import ItemRole, PostListModel
from lndesk.ui.views.post_delegate import PostDelegate


class PostListView(QListView):
    reply_requested = Signal(object)
    share_requested = Signal(object)
    thread_requested = Signal(object)
    bookmark_requested = Signal(object)
    mute_requested = Signal(object)
    delete_requested = Signal(object)
    link_activated = Signal(str)
    """A web link in a post was clicked (and handed to the browser)."""
    painted = Signal()
    """The rows were drawn (the first one tells the app its window is really up)."""
    seen_top = Signal(object)
    """The newest post has been in view: its claimed time (for read marks)."""

    def __init__(self, model: PostListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.posts = model
        self.setModel(model)
        self.delegate = PostDelegate(self)
        self.setItemDelegate(self.delegate)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(24)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self._anchor: tuple[tuple[bytes, int], int] | None = None
        self._unseen = 0
        self.new_posts = QPushButton("", self)
        self.new_posts.hide()
        self.new_posts.clicked.connect(self.scroll_to_newest)
        model.applying.connect(self._before_refresh)
        model.applied.connect(self._after_refresh)
        self.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.doubleClicked.connect(self._open)
        self._add_actions()

    # --- keeping the place ---------------------------------------------------------

    def _before_refresh(self) -> None:
        """Note the post at the top of the view before a refresh changes rows.

        Once per refresh, not per inserted run: asking for geometry makes the view lay out
        every row, which must not happen once for each of a hundred small inserts.
        """
        self._anchor = None
        if self.verticalScrollBar().value() == 0:
            return  # at the top: show what arrives
        row = self.first_visible_row()
        if row >= 0:
            top = self.posts.index(row)
            self._anchor = (self.posts.item(row).key, self.visualRect(top).top())

    def _after_refresh(self, above: int) -> None:
        anchor, self._anchor = self._anchor, None
        if anchor is None:
            return
        key, old_top = anchor
        row = self.posts.row_of(key)
        if row is None:
            return
        self.executeDelayedItemsLayout()
        new_top = self.visualRect(self.posts.index(row)).top()
        bar = self.verticalScrollBar()
        bar.setValue(bar.value() + new_top - old_top)
        if above > 0:
            self._unseen += above
            self.new_posts.setText(f"↑ {self._unseen} new post{'s' if self._unseen > 1 else ''}")
            self.new_posts.adjustSize()
            self.new_posts.move((self.width() - self.new_posts.width()) // 2, 8)
            self.new_posts.show()

    def scroll_to_newest(self) -> None:
        self.scrollToTop()
        self._unseen = 0
        self.new_posts.hide()

    def _scrolled(self, value: int) -> None:
        self.posts.reading_row = max(0, self.first_visible_row())
        if value == 0:
            self._unseen = 0
            self.new_posts.hide()
            QTimer.singleShot(0, self._report_top)

    def _report_top(self) -> None:
        if self.posts.rowCount() and self.verticalScrollBar().value() == 0 and self.isVisible():
            self.seen_top.emit(self.posts.item(0).claimed_ms)

    def first_visible_row(self) -> int:
        return self.indexAt(QPoint(4, 4)).row()

    # --- acting on posts -----------------------------------------------------------

    def current_item(self) -> PostItem | None:
        index = self.currentIndex()
        item = index.data(ItemRole) if index.isValid() else None
        return item if isinstance(item, PostItem) else None

    def _add_actions(self) -> None:
        for text, shortcut, signal in (
            ("Reply", "R", self.reply_requested),
            ("Share with comment", "S", self.share_requested),
            ("Open thread", "Return", self.thread_requested),
            ("Bookmark", "B", self.bookmark_requested),
            ("Mute author", "M", self.mute_requested),
            ("Delete my post", "Delete", self.delete_requested),
        ):
            action = QAction(text, self)
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            action.triggered.connect(lambda _=False, s=signal: self._emit_current(s))
            self.addAction(action)

    def _emit_current(self, signal: Signal) -> None:
        item = self.current_item()
        if item is not None:
            signal.emit(item)  # type: ignore[attr-defined]

    def _open(self, index: QModelIndex) -> None:
        item = index.data(ItemRole)
        if isinstance(item, PostItem):
            self.thread_requested.emit(item)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        point = event.position().toPoint()
        index = self.indexAt(point)
        item = index.data(ItemRole) if index.isValid() else None
        if isinstance(item, PostItem) and event.button() == Qt.MouseButton.LeftButton:
            action = self.delegate.action_at(item, self.visualRect(index), self.font(), point)
            signal = {
                "reply": self.reply_requested,
                "share": self.share_requested,
                "bookmark": self.bookmark_requested,
                "thread": self.thread_requested,
            }.get(action or "")
            if signal is not None:
                self.setCurrentIndex(index)
                signal.emit(item)
                event.accept()
                return
            link = self.delegate.link_at(item, self.visualRect(index), self.font(), point)
            if link is not None:
                self.link_activated.emit(link)
                QDesktopServices.openUrl(QUrl(link))
                event.accept()
                return
        super().mouseReleaseEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        index = self.indexAt(event.pos())
        if not index.isValid():
            return
        self.setCurrentIndex(index)
        item = self.current_item()
        menu = QMenu(self)
        for action in self.actions():
            if action.text() == "Delete my post" and (item is None or not item.mine):
                continue
            if action.text() == "Mute author" and (item is None or item.mine):
                continue
            menu.addAction(action)
        menu.exec(event.globalPos())

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        self.painted.emit()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Show:
            QTimer.singleShot(0, self._report_top)
        return super().event(event)
