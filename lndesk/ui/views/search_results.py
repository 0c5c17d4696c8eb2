"""The Search screen's results: a list of rich-text cards, each a highlighted snippet.

Enter or a double click opens a result; R, S, B and L (and the context menu) reply to,
share, bookmark or add to a reading list the post a result is, and Shift+N sets a
nickname for its author (someone else's post only).
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize, Signal, SignalInstance
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QAction,
    QContextMenuEvent,
    QPainter,
    QPalette,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QMenu,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from lndesk.app.items import PostItem
from lndesk.ui.models.search import HtmlRole, ItemRole, SearchResultsModel
from lndesk.ui.safe_text import html_document
from lndesk.ui.views.author_line import avatar_of
from lndesk.ui.views.cards import paint_frame, row_width
from lndesk.ui.views.widgets import add_action, current_item

__all__ = ["ResultDelegate", "ResultsView"]

PADDING = 10
"""Space around a result's text (the post cards' margin)."""
FINGERPRINT = 36
"""The side of the author's avatar drawn at the left of each result (the post cards')."""
DOCUMENTS = 500
"""Laid-out results kept (the cache starts again beyond it)."""


class ResultDelegate(QStyledItemDelegate):
    """A result drawn as rich text (the model escapes a peer's words; the highlight is
    the only markup)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._docs: dict[tuple[str, int], QTextDocument] = {}

    def _width(self, option: QStyleOptionViewItem) -> int:
        return max(120, row_width(self, option) - 2 * PADDING - FINGERPRINT - PADDING)

    def _document(self, text: str, width: int, option: QStyleOptionViewItem) -> QTextDocument:
        doc = self._docs.get((text, width))
        if doc is None:
            if len(self._docs) > DOCUMENTS:
                self._docs.clear()
            doc = html_document(text, option.font, width)
            self._docs[(text, width)] = doc
        return doc

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        text = index.data(HtmlRole)
        if not isinstance(text, str):
            return super().sizeHint(option, index)
        width = self._width(option)
        doc = self._document(text, width, option)
        height = max(int(doc.size().height()), FINGERPRINT)
        return QSize(width + 3 * PADDING + FINGERPRINT, height + 2 * PADDING)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        text = index.data(HtmlRole)
        if not isinstance(text, str):
            super().paint(painter, option, index)
            return
        painter.save()
        paint_frame(painter, option)
        doc = self._document(text, self._width(option), option)
        item = index.data(ItemRole)
        left, top = option.rect.left() + PADDING, option.rect.top() + PADDING
        if isinstance(item, PostItem):  # the author's key fingerprint, as on every card
            painter.drawPixmap(left, top, avatar_of(item, FINGERPRINT))
        painter.translate(left + FINGERPRINT + PADDING, top)
        context = QAbstractTextDocumentLayout.PaintContext()
        text_colour = option.palette.color(QPalette.ColorRole.Text)
        context.palette.setColor(QPalette.ColorRole.Text, text_colour)
        doc.documentLayout().draw(painter, context)
        painter.restore()


class ResultsView(QListView):
    """The results list: Enter or a double click opens a result."""

    opened = Signal(object)
    """A result's PostItem to open (its thread, or a reading list)."""
    reply_requested = Signal(object)
    share_requested = Signal(object)
    bookmark_requested = Signal(object)
    add_to_list_requested = Signal(object)
    nickname_requested = Signal(object)
    """Set a nickname for the author of a result (another person's post)."""

    def __init__(self, model: SearchResultsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setItemDelegate(ResultDelegate(self))
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(False)
        self.doubleClicked.connect(self._open_index)
        self._others_only: set[QAction] = set()
        """Actions offered only on another person's post."""
        for text, shortcut, signal, others_only in (
            ("Open", "Return", self.opened, False),
            ("Reply", "R", self.reply_requested, False),
            ("Share with comment", "S", self.share_requested, False),
            ("Bookmark", "B", self.bookmark_requested, False),
            ("Add to reading list…", "L", self.add_to_list_requested, False),
            ("Set nickname…", "Shift+N", self.nickname_requested, True),
        ):
            action = add_action(self, text, shortcut, partial(self._emit_current, signal))
            if others_only:
                self._others_only.add(action)

    def current_item(self) -> PostItem | None:
        return current_item(self, PostItem)

    def _emit_current(self, signal: SignalInstance) -> None:
        item = self.current_item()
        if item is None:
            return
        if signal is self.nickname_requested and item.mine:
            return  # no nickname for oneself
        signal.emit(item)

    def menu_actions(self, item: PostItem) -> list[QAction]:
        """The actions the context menu offers for the result ``item``."""
        return [a for a in self.actions() if not (item.mine and a in self._others_only)]

    def _open_index(self, index: QModelIndex) -> None:
        item = index.data(ItemRole)
        if isinstance(item, PostItem):
            self.opened.emit(item)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        index = self.indexAt(event.pos())
        if not index.isValid():
            return
        item = index.data(ItemRole)
        if not isinstance(item, PostItem):
            return
        self.setCurrentIndex(index)
        menu = QMenu(self)
        for action in self.menu_actions(item):
            menu.addAction(action)
        menu.exec(event.globalPos())
