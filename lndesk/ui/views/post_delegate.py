"""How one post is drawn in a list: a card with author, time, markdown text and actions.

Markdown is laid out by Qt's own QTextDocument (``setMarkdown``); a laid-out document is
cached per post and width, because a list asks for sizes far more often than posts
change. The action links at the bottom of a card (Reply, Share, Bookmark, Thread) are
painted text; :meth:`PostDelegate.action_at` maps a click back to one of them.
"""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QPointF, QRect, QSize
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QTextDocument
from PySide6.QtWidgets import (
    QAbstractItemView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from lndesk.app.items import PostItem
from lndesk.ui.avatar import avatar_pixmap
from lndesk.ui.format import delivery_text, relative_time
from lndesk.ui.models.posts import ItemRole

MARGIN = 10
AVATAR = 36
GAP = 6
CACHE = 600
"""Laid-out documents kept (the rows on screen, and some either side)."""
HEIGHTS = 50_000
ACTIONS = ("reply", "share", "bookmark", "thread")


def action_label(item: PostItem, action: str) -> str:
    if action == "reply":
        return "Reply" if item.reply_count == 0 else f"Reply ({item.reply_count})"
    if action == "share":
        return "Share"
    if action == "bookmark":
        return "Bookmarked" if item.bookmarked else "Bookmark"
    return "Thread"


def body_markdown(item: PostItem) -> str:
    parts = []
    if item.problem:
        parts.append(f"*{item.problem}*")
    elif item.kind == "share" and not item.text:
        parts.append("*shared:*")
    else:
        parts.append(item.text)
    if item.quoted is not None:
        quoted = item.quoted.text.strip().replace("\n", "\n> ")
        parts.append(f"> **{item.quoted.author_name}**: {quoted}" if quoted else "")
    elif item.kind == "share":
        parts.append("> *the shared post is not stored here yet*")
    if item.links:
        parts.append("  \n".join(f"<{link}>" for link in item.links))
    return "\n\n".join(p for p in parts if p)


def _shape(item: PostItem) -> int:
    """What a post's height depends on (not its counts or marks)."""
    return hash((item.text, item.quoted, item.problem, item.links, bool(item.tags)))


class PostDelegate(QStyledItemDelegate):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._docs: OrderedDict[tuple[bytes, int, int, int], QTextDocument] = OrderedDict()
        self._heights: dict[tuple[bytes, int, int, int], int] = {}
        """Row heights by post, width and content: a list asks for the size of every row
        on each layout, but only a few rows are drawn, so only they need a document."""

    # --- layout ------------------------------------------------------------------

    def _document(self, item: PostItem, width: int, font: QFont) -> QTextDocument:
        key = (item.author, item.seq, width, _shape(item))
        doc = self._docs.get(key)
        if doc is not None:
            self._docs.move_to_end(key)
            return doc
        doc = QTextDocument()
        doc.setDefaultFont(font)
        doc.setDocumentMargin(0)
        doc.setMarkdown(body_markdown(item))
        doc.setTextWidth(max(50, width))
        self._docs[key] = doc
        if len(self._docs) > CACHE:
            self._docs.popitem(last=False)
        return doc

    def _text_width(self, option: QStyleOptionViewItem) -> int:
        # Size hints and painting must agree on the width, and a list view does not always
        # pass the row's rect to sizeHint: use the view's viewport when there is one.
        view = self.parent()
        width = option.rect.width()
        if isinstance(view, QAbstractItemView):
            width = view.viewport().width()
        return int(width) - 2 * MARGIN - AVATAR - GAP

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        item = index.data(ItemRole)
        if not isinstance(item, PostItem):
            return QSize(100, 40)
        width = max(200, self._text_width(option))
        key = (item.author, item.seq, width, _shape(item))
        height = self._heights.get(key)
        if height is None:
            doc = self._document(item, width, option.font)
            line = QFontMetrics(option.font).height()
            height = MARGIN + line + GAP + int(doc.size().height()) + GAP
            height += (line + GAP) if item.tags else 0
            height += line + MARGIN
            height = max(height, AVATAR + 2 * MARGIN)
            if len(self._heights) > HEIGHTS:
                self._heights.clear()
            self._heights[key] = height
        return QSize(width, height)

    def _action_rects(self, item: PostItem, rect: QRect, font: QFont) -> list[tuple[str, QRect]]:
        metrics = QFontMetrics(font)
        x = rect.left() + MARGIN + AVATAR + GAP
        y = rect.bottom() - MARGIN - metrics.height()
        rects = []
        for action in ACTIONS:
            width = metrics.horizontalAdvance(action_label(item, action))
            rects.append((action, QRect(x, y, width, metrics.height())))
            x += width + 18
        return rects

    def link_at(self, item: PostItem, rect: QRect, font: QFont, point: QPoint) -> str | None:
        """The web link under ``point`` in a post's text, if any (http and https only:
        a peer's post must not make the app open files or other programs)."""
        width = max(200, self._text_width_for(rect))
        doc = self._document(item, width, font)
        x = rect.left() + MARGIN + AVATAR + GAP
        y = rect.top() + MARGIN + QFontMetrics(font).height() + GAP
        anchor = doc.documentLayout().anchorAt(QPointF(point.x() - x, point.y() - y))
        if anchor.lower().startswith(("http://", "https://")):
            return anchor
        return None

    def _text_width_for(self, rect: QRect) -> int:
        option = QStyleOptionViewItem()
        option.rect = rect
        return self._text_width(option)

    def action_at(self, item: PostItem, rect: QRect, font: QFont, point: QPoint) -> str | None:
        for action, area in self._action_rects(item, rect, font):
            if area.adjusted(-4, -4, 4, 4).contains(point):
                return action
        return None

    # --- painting ----------------------------------------------------------------

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        item = index.data(ItemRole)
        if not isinstance(item, PostItem):
            super().paint(painter, option, index)
            return
        painter.save()
        rect = option.rect
        palette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        background = palette.color(QPalette.ColorRole.Base)
        if selected:
            background = palette.color(QPalette.ColorRole.AlternateBase)
        painter.fillRect(rect, background)
        painter.setPen(palette.color(QPalette.ColorRole.Mid))
        painter.drawLine(rect.bottomLeft(), rect.bottomRight())
        if item.unread:
            painter.fillRect(QRect(rect.left(), rect.top(), 4, rect.height()), QColor("#2f80ed"))
        if selected:
            painter.fillRect(
                QRect(rect.left(), rect.top(), 4, rect.height()),
                palette.color(QPalette.ColorRole.Highlight),
            )
        self._paint_avatar(painter, item, rect)
        font = QFont(option.font)
        metrics = QFontMetrics(font)
        x = rect.left() + MARGIN + AVATAR + GAP
        y = rect.top() + MARGIN
        bold = QFont(font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        name = item.author_name + ("  (you)" if item.mine else "")
        painter.drawText(x, y + metrics.ascent(), name)
        name_width = QFontMetrics(bold).horizontalAdvance(name)
        painter.setFont(font)
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        kind = {"reply": "  replied", "share": "  shared"}.get(item.kind, "")
        meta = f"  {item.short_key}{kind}  ·  {relative_time(item.claimed_ms)}"
        if item.unread:
            meta += "  ·  new"
        painter.drawText(x + name_width, y + metrics.ascent(), meta)
        y += metrics.height() + GAP
        doc = self._document(item, max(200, self._text_width(option)), font)
        painter.translate(x, y)
        doc.drawContents(painter)
        painter.translate(-x, -y)
        y += int(doc.size().height()) + GAP
        if item.tags:
            painter.setPen(QColor("#2f80ed"))
            painter.drawText(x, y + metrics.ascent(), "  ".join(f"#{t}" for t in item.tags))
        link_colour = palette.color(QPalette.ColorRole.Link)
        for action, area in self._action_rects(item, rect, font):
            painter.setPen(link_colour)
            painter.drawText(area.left(), area.top() + metrics.ascent(), action_label(item, action))
        delivery = delivery_text(item)
        if delivery:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            width = metrics.horizontalAdvance(delivery)
            painter.drawText(
                rect.right() - MARGIN - width, rect.bottom() - MARGIN - metrics.descent(), delivery
            )
        painter.restore()

    def _paint_avatar(self, painter: QPainter, item: PostItem, rect: QRect) -> None:
        area = QRect(rect.left() + MARGIN, rect.top() + MARGIN, AVATAR, AVATAR)
        painter.drawPixmap(
            area, avatar_pixmap(item.avatar, AVATAR, key=item.author, name=item.author_name)
        )
