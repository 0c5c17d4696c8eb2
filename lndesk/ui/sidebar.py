"""The navigation sidebar: a line per screen with its icon, its title and a count badge
(unread posts, requests waiting).

The icons are drawn here with QPainter in the colour of the text beside them, so they
follow the theme and need no image files. A row's text stays its title alone; its
count is in :data:`COUNT_ROLE` and spoken with the title by screen readers.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import (
    QListWidget,
    QListWidgetItem,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from lndesk.ui import theme

logger = logging.getLogger(__name__)

COUNT_ROLE = Qt.ItemDataRole.UserRole + 1
"""A row's count (int, 0 for none), shown as a badge."""
ICON_ROLE = Qt.ItemDataRole.UserRole + 2
"""The name of a row's icon (a key of :data:`ICONS`)."""

ICON = 18
PADDING = 10
ROW_HEIGHT = 34
WIDTH = 210
MAX_SHOWN = 99


def _lines(p: QPainter, r: QRectF) -> None:
    for i in range(3):
        y = r.top() + r.height() * (0.25 + 0.25 * i)
        p.drawLine(QPointF(r.left() + 2, y), QPointF(r.right() - 2, y))


def _bubble(p: QPainter, r: QRectF) -> None:
    body = QRectF(r.left() + 1, r.top() + 2, r.width() - 2, r.height() * 0.62)
    p.drawRoundedRect(body, 3, 3)
    tail = QPainterPath(QPointF(body.left() + 4, body.bottom()))
    tail.lineTo(QPointF(body.left() + 4, r.bottom() - 1))
    tail.lineTo(QPointF(body.left() + 9, body.bottom()))
    p.drawPath(tail)


def _page(p: QPainter, r: QRectF) -> None:
    sheet = QRectF(r.left() + 3, r.top() + 1, r.width() - 6, r.height() - 2)
    p.drawRoundedRect(sheet, 2, 2)
    for i in range(3):
        y = sheet.top() + sheet.height() * (0.3 + 0.2 * i)
        p.drawLine(QPointF(sheet.left() + 3, y), QPointF(sheet.right() - 3, y))


def _person(p: QPainter, r: QRectF) -> None:
    c = r.center()
    p.drawEllipse(QPointF(c.x(), r.top() + r.height() * 0.3), r.width() * 0.18, r.width() * 0.18)
    body = QRectF(r.left() + 2, r.top() + r.height() * 0.58, r.width() - 4, r.height() * 0.8)
    p.drawArc(body, 0, 180 * 16)


def _ribbon(p: QPainter, r: QRectF) -> None:
    left, right = r.left() + r.width() * 0.25, r.right() - r.width() * 0.25
    path = QPainterPath(QPointF(left, r.top() + 1))
    path.lineTo(QPointF(right, r.top() + 1))
    path.lineTo(QPointF(right, r.bottom() - 1))
    path.lineTo(QPointF(r.center().x(), r.bottom() - r.height() * 0.28))
    path.lineTo(QPointF(left, r.bottom() - 1))
    path.closeSubpath()
    p.drawPath(path)


def _lens(p: QPainter, r: QRectF) -> None:
    radius = r.width() * 0.3
    centre = QPointF(r.left() + radius + 2, r.top() + radius + 2)
    p.drawEllipse(centre, radius, radius)
    start = centre + QPointF(radius * 0.72, radius * 0.72)
    p.drawLine(start, QPointF(r.right() - 1.5, r.bottom() - 1.5))


def _books(p: QPainter, r: QRectF) -> None:
    for i in range(3):
        y = r.top() + r.height() * (0.25 + 0.25 * i)
        p.drawEllipse(QPointF(r.left() + 3, y), 1.2, 1.2)
        p.drawLine(QPointF(r.left() + 7, y), QPointF(r.right() - 1, y))


def _key(p: QPainter, r: QRectF) -> None:
    radius = r.width() * 0.22
    centre = QPointF(r.left() + radius + 2, r.center().y())
    p.drawEllipse(centre, radius, radius)
    y = centre.y()
    p.drawLine(QPointF(centre.x() + radius, y), QPointF(r.right() - 1, y))
    for x in (r.right() - 2, r.right() - 5):
        p.drawLine(QPointF(x, y), QPointF(x, y + r.height() * 0.2))


def _network(p: QPainter, r: QRectF) -> None:
    points = [
        QPointF(r.center().x(), r.top() + 3),
        QPointF(r.left() + 3, r.bottom() - 3),
        QPointF(r.right() - 3, r.bottom() - 3),
    ]
    for a in range(3):
        p.drawLine(points[a], points[(a + 1) % 3])
    p.save()
    p.setBrush(p.pen().color())
    for point in points:
        p.drawEllipse(point, 2.4, 2.4)
    p.restore()


def _gear(p: QPainter, r: QRectF) -> None:
    c = r.center()
    outer, inner = r.width() * 0.42, r.width() * 0.3
    for tooth in range(8):
        angle = tooth * math.pi / 4
        p.drawLine(
            QPointF(c.x() + inner * math.cos(angle), c.y() + inner * math.sin(angle)),
            QPointF(c.x() + outer * math.cos(angle), c.y() + outer * math.sin(angle)),
        )
    p.drawEllipse(c, inner, inner)
    p.drawEllipse(c, r.width() * 0.1, r.width() * 0.1)


ICONS: dict[str, Callable[[QPainter, QRectF], None]] = {
    "timeline": _lines,
    "replies": _bubble,
    "mine": _page,
    "following": _person,
    "bookmarks": _ribbon,
    "search": _lens,
    "lists": _books,
    "identity": _key,
    "network": _network,
    "settings": _gear,
}


def draw_icon(painter: QPainter, name: str, rect: QRectF, colour: QColor) -> None:
    """Draw icon ``name`` in ``rect`` with lines of ``colour``."""
    draw = ICONS.get(name)
    if draw is None:
        return
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(colour, 1.6)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    draw(painter, rect)
    painter.restore()


def badge_text(count: int) -> str:
    return "" if count <= 0 else (str(count) if count <= MAX_SHOWN else f"{MAX_SHOWN}+")


class SidebarDelegate(QStyledItemDelegate):
    """Paints a sidebar row: icon, title, count badge; the current row highlighted."""

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        metrics = QFontMetrics(option.font)
        return QSize(1, max(ROW_HEIGHT, metrics.height() + 14))  # as wide as the list

    def layout(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> tuple[QRectF, QRectF | None, QRect]:
        """Where a row's icon, count badge (None without a count) and title go."""
        rect = QRect(option.rect)
        icon = QRectF(rect.left() + PADDING + 2, rect.center().y() - ICON / 2 + 1, ICON, ICON)
        right = rect.right() - PADDING
        pill = None
        count = badge_text(int(index.data(COUNT_ROLE) or 0))
        if count:
            metrics = QFontMetrics(_bold(option.font))
            width = max(metrics.horizontalAdvance(count) + 12, metrics.height() + 4)
            top = rect.center().y() - metrics.height() / 2 - 1
            pill = QRectF(right - width, top, width, metrics.height() + 2)
            right = int(pill.left()) - 6
        left = int(icon.right()) + PADDING
        return icon, pill, QRect(left, rect.top(), right - left, rect.height())

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        text_colour = palette.color(QPalette.ColorRole.WindowText)
        area = QRectF(QRect(option.rect).adjusted(4, 2, -4, -2))
        if selected or hovered:
            role = QPalette.ColorRole.Highlight if selected else QPalette.ColorRole.AlternateBase
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(palette.color(role))
            painter.drawRoundedRect(area, 6, 6)
        if selected:
            text_colour = palette.color(QPalette.ColorRole.HighlightedText)
        icon, pill, title_rect = self.layout(option, index)
        draw_icon(painter, str(index.data(ICON_ROLE) or ""), icon, text_colour)
        if pill is not None:
            painter.setPen(Qt.PenStyle.NoPen)
            fill = palette.color(QPalette.ColorRole.Base) if selected else None
            painter.setBrush(fill or theme.named_colour("badge"))
            painter.drawRoundedRect(pill, pill.height() / 2, pill.height() / 2)
            painter.setFont(_bold(option.font))
            ink = palette.color(QPalette.ColorRole.Text) if selected else QColor("white")
            painter.setPen(ink)
            count = badge_text(int(index.data(COUNT_ROLE) or 0))
            painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, count)
        painter.setFont(option.font)
        painter.setPen(text_colour)
        metrics = QFontMetrics(option.font)
        title = metrics.elidedText(
            str(index.data() or ""), Qt.TextElideMode.ElideRight, title_rect.width()
        )
        painter.drawText(title_rect, int(Qt.AlignmentFlag.AlignVCenter), title)
        painter.restore()


def _bold(font: QFont) -> QFont:
    bold = QFont(font)
    bold.setBold(True)
    return bold


class Sidebar(QListWidget):
    """The list of screens, each with an icon and a count."""

    def __init__(self, pages: tuple[tuple[str, str], ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setItemDelegate(SidebarDelegate(self))
        self.setFixedWidth(WIDTH)
        self.setMouseTracking(True)
        self.setFrameShape(QListWidget.Shape.NoFrame)
        self.setAutoFillBackground(False)
        self.viewport().setAutoFillBackground(False)
        self.setSpacing(1)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        for title, icon in pages:
            item = QListWidgetItem(title)
            item.setData(ICON_ROLE, icon)
            item.setData(COUNT_ROLE, 0)
            self.addItem(item)

    def set_count(self, row: int, count: int) -> None:
        """Show ``count`` (0: none) on the badge of ``row``."""
        item = self.item(row)
        item.setData(COUNT_ROLE, max(0, count))
        shown = badge_text(count)
        item.setData(
            Qt.ItemDataRole.AccessibleTextRole, item.text() + (f", {shown}" if shown else "")
        )

    def count_of(self, row: int) -> int:
        return int(self.item(row).data(COUNT_ROLE) or 0)
