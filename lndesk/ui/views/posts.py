"""A scrolling list of posts that keeps its place while new posts arrive.

When rows are inserted above what the reader is looking at (a live post at the top, or
older posts filled in by a newest-first sync), the view moves its scroll bar by exactly
the height those rows add, so the post under the reader's eyes stays put; a "new posts"
button then offers the jump to the top. At the very top the new posts simply show.

Actions on a post are signals (the window decides what Reply or Edit opens); following a
shared post's author is done here, through the model, because the rows offering it change.
A context menu lists only the actions that apply to the post and that something handles.

:class:`PostListPanel` is such a list as a screen shows it: in its place, while it has no
posts, a message says why.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtCore import (
    QEvent,
    QMetaMethod,
    QModelIndex,
    QPoint,
    Qt,
    QTimer,
    QUrl,
    Signal,
    SignalInstance,
)
from PySide6.QtGui import QAction, QContextMenuEvent, QDesktopServices, QMouseEvent, QPaintEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QInputDialog,
    QLabel,
    QListView,
    QMenu,
    QPushButton,
    QToolTip,
    QWidget,
)

from lndesk.app.connectivity import CONNECTIVITY_EVENTS
from lndesk.app.desk_webitems import WEB_ITEM
from lndesk.app.items import PostItem
from lndesk.entry_refs import PostKey
from lndesk.ui.models.live import ItemRole
from lndesk.ui.models.posts import MentionNamesRole, PostListModel, follow_offer
from lndesk.ui.plain_text import plain_tooltip
from lndesk.ui.views.nickname import ask_nickname
from lndesk.ui.views.post_delegate import PostDelegate, cut
from lndesk.ui.views.widgets import add_action, bare_column, current_item

EDITABLE = ("post", "reply")


Applies = Callable[[PostItem | None], bool]


def editable(item: PostItem | None) -> bool:
    """Whether ``item`` is a post or reply of mine that can be edited."""
    return item is not None and item.mine and item.kind in EDITABLE and item.problem is None


def _any(item: PostItem | None) -> bool:
    return item is not None


def _mine(item: PostItem | None) -> bool:
    return item is not None and item.mine


def _other(item: PostItem | None) -> bool:
    return item is not None and not item.mine


def _web_item(item: PostItem | None) -> bool:
    return item is not None and item.kind == WEB_ITEM


def _offers_follow(item: PostItem | None) -> bool:
    return item is not None and follow_offer(item) is not None


class PostListView(QListView):
    reply_requested = Signal(object)
    share_requested = Signal(object)
    thread_requested = Signal(object)
    bookmark_requested = Signal(object)
    helpful_requested = Signal(object)
    """In a thread I started: mark a reply as helpful, or take the mark back."""
    mute_requested = Signal(object)
    delete_requested = Signal(object)
    edit_requested = Signal(object)
    """Edit my post or reply (E)."""
    add_to_list_requested = Signal(object)
    tags_requested = Signal(object)
    """Tag an item of a web feed (its tags stay on this device)."""
    """Add the post to one of my reading lists (L)."""
    accept_requested = Signal(object)
    """In Requests: show this author's replies and mentions with the rest."""
    block_requested = Signal(object)
    """In Requests: block this author (the receiver asks for confirmation)."""
    follow_requested = Signal(object)
    """Follow the author of the post a share quotes (the view does it through its model)."""
    nickname_requested = Signal(object)
    """Give the author a nickname (the view asks for it and saves it through its model)."""
    link_activated = Signal(str)
    """A web link in a post was clicked (and handed to the browser)."""
    link_hovered = Signal(str)
    """The pointer is on a link in a post: where it goes ("" once it leaves it)."""
    painted = Signal()
    """The rows were drawn (the first one tells the app its window is really up)."""
    seen_top = Signal(object)
    """The newest post has been in view: its claimed time (for read marks)."""

    def __init__(
        self, model: PostListModel, parent: QWidget | None = None, *, requests: bool = False
    ) -> None:
        super().__init__(parent)
        self.posts = model
        self.requests = requests
        self.setModel(model)
        self.delegate = PostDelegate(self, requests=requests)
        self.delegate.connectivity = model.bridge.connectivity
        model.bridge.node_event.connect(self._connectivity_event)
        self.delegate.replies_reported = model.bridge.replies_reported
        model.bridge.threads_counted.connect(self.viewport().update)
        self.setItemDelegate(self.delegate)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(24)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self._anchor: tuple[PostKey, int] | None = None
        self._unseen = 0
        self.new_posts = QPushButton("", self)
        self.new_posts.hide()
        self.new_posts.clicked.connect(self.scroll_to_newest)
        model.applying.connect(self._before_refresh)
        model.applied.connect(self._after_refresh)
        self.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.doubleClicked.connect(self._open)
        self._hovered = ""
        self.setMouseTracking(True)
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
            self._anchor = (self.posts.item(row).post_key, self.visualRect(top).top())

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

    def _connectivity_event(self, event: object) -> None:
        """Cards of my posts say whether peers are connected: redraw them when that changes."""
        if isinstance(event, CONNECTIVITY_EVENTS):
            self.viewport().update()

    def _scrolled(self, value: int) -> None:
        self.posts.reading_row = max(0, self.first_visible_row())
        if value == 0:
            self._unseen = 0
            self.new_posts.hide()
            # A zero delay is no time: it runs once Qt has finished this event (layout
            # settled), so it stays a QTimer rather than an injected timer.
            QTimer.singleShot(0, self, self._report_top)

    def _report_top(self) -> None:
        if self.posts.rowCount() and self.verticalScrollBar().value() == 0 and self.isVisible():
            self.seen_top.emit(self.posts.item(0).claimed_ms)

    def first_visible_row(self) -> int:
        return self.indexAt(QPoint(4, 4)).row()

    # --- acting on posts -----------------------------------------------------------

    def current_item(self) -> PostItem | None:
        return current_item(self, PostItem)

    def _add_actions(self) -> None:
        self.follow_requested.connect(self.posts.follow_quoted)
        self.nickname_requested.connect(self.ask_nickname)
        self._applies: dict[QAction, Applies] = {}
        self._signals: dict[QAction, SignalInstance] = {}
        rows: list[tuple[str, str, SignalInstance, Applies]] = [
            ("Reply", "R", self.reply_requested, _any),
            ("Share with comment", "S", self.share_requested, _any),
            ("Open thread", "Return", self.thread_requested, _any),
            ("Bookmark", "B", self.bookmark_requested, _any),
            ("Edit…", "E", self.edit_requested, editable),
            ("Follow the shared post's author", "F", self.follow_requested, _offers_follow),
            ("Add to reading list…", "L", self.add_to_list_requested, _any),
            ("Tags…", "T", self.tags_requested, _web_item),
            ("Mute author", "M", self.mute_requested, _other),
            ("Set nickname…", "Shift+N", self.nickname_requested, _other),
            ("Delete my post", "Delete", self.delete_requested, _mine),
        ]
        if self.requests:
            rows += [
                ("Accept author", "A", self.accept_requested, _other),
                ("Block author…", "Ctrl+Shift+B", self.block_requested, _other),
            ]
        for text, shortcut, signal, applies in rows:
            action = add_action(self, text, shortcut, partial(self._emit_current, signal, applies))
            self._applies[action] = applies
            self._signals[action] = signal

    def ask_nickname(self, item: PostItem) -> QInputDialog | None:
        """Open the "Set nickname…" dialog for ``item``'s author."""
        bridge = self.posts.bridge
        return None if bridge is None else ask_nickname(self, bridge, item)

    def handled(self, signal: SignalInstance) -> bool:
        """Whether anything acts on ``signal`` (an action nobody handles is not offered)."""
        return self.isSignalConnected(QMetaMethod.fromSignal(signal))

    def menu_actions(self, item: PostItem | None) -> list[QAction]:
        """The actions a context menu offers for ``item``."""
        shown = []
        for action in self.actions():
            applies = self._applies.get(action)
            signal = self._signals.get(action)
            if applies is None or signal is None or not applies(item):
                continue
            if not self.handled(signal):
                continue
            shown.append(action)
        return shown

    def _emit_current(self, signal: SignalInstance, applies: Applies = _any) -> None:
        item = self.current_item()
        if item is not None and applies(item):
            signal.emit(item)

    def _open(self, index: QModelIndex) -> None:
        item = index.data(ItemRole)
        if isinstance(item, PostItem):
            self.thread_requested.emit(item)

    def link_under(self, point: QPoint) -> str | None:
        """The address of the link in a post's text at ``point`` (None: no link)."""
        index = self.indexAt(point)
        item = index.data(ItemRole) if index.isValid() else None
        if not isinstance(item, PostItem):
            return None
        names = index.data(MentionNamesRole)
        return self.delegate.link_at(
            item,
            self.visualRect(index),
            self.font(),
            point,
            names if isinstance(names, dict) else None,
        )

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        point = event.position().toPoint()
        link = self.link_under(point) or ""
        if link != self._hovered:
            self._hovered = link
            self.link_hovered.emit(link)
            if link:
                self.viewport().setCursor(Qt.CursorShape.PointingHandCursor)
                QToolTip.showText(event.globalPosition().toPoint(), plain_tooltip(link), self)
            else:
                self.viewport().unsetCursor()
                QToolTip.hideText()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        point = event.position().toPoint()
        index = self.indexAt(point)
        item = index.data(ItemRole) if index.isValid() else None
        if isinstance(item, PostItem) and event.button() == Qt.MouseButton.LeftButton:
            names = index.data(MentionNamesRole)
            named = names if isinstance(names, dict) else None
            rect = self.visualRect(index)
            action = self.delegate.action_at(item, rect, self.font(), point, named)
            if action == "more":
                self.delegate.toggle(item)
                self.delegate.sizeHintChanged.emit(index)
                event.accept()
                return
            signal = {
                "reply": self.reply_requested,
                "share": self.share_requested,
                "bookmark": self.bookmark_requested,
                "helpful": self.helpful_requested,
                "thread": self.thread_requested,
                "follow": self.follow_requested,
                "accept": self.accept_requested,
                "block": self.block_requested,
            }.get(action or "")
            if signal is not None:
                self.setCurrentIndex(index)
                signal.emit(item)
                event.accept()
                return
            link = self.delegate.link_at(item, rect, self.font(), point, named)
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
        offer = follow_offer(item) if item is not None else None
        for action in self.menu_actions(item):
            if action.text() == "Follow the shared post's author" and offer is not None:
                # The same action, named after the person: "Follow Bo".
                # "&" in a name would make the next letter a keyboard accelerator
                named = menu.addAction(f"Follow {cut(offer[1]).replace('&', '&&')}")
                named.setShortcut(action.shortcut())
                named.triggered.connect(action.trigger)
                continue
            menu.addAction(action)
        menu.exec(event.globalPos())

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        self.painted.emit()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Show:
            QTimer.singleShot(0, self, self._report_top)  # after the show: no time involved
        return super().event(event)


class PostListPanel(QWidget):
    """A post list, and in its place the message ``empty`` while it has no posts."""

    def __init__(self, view: PostListView, empty: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.model = view.posts
        self.empty = QLabel(empty)
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = bare_column(self)
        layout.addWidget(self.empty)
        layout.addWidget(view, 1)
        self.model.loaded.connect(self._update_empty)
        self.model.rowsInserted.connect(self._update_empty)
        self.model.rowsRemoved.connect(self._update_empty)
        self._update_empty()

    def _update_empty(self, *_args: object) -> None:
        empty = self.model.rowCount() == 0
        self.empty.setVisible(empty)
        self.view.setVisible(not empty)
