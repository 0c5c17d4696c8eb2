"""What the delegates that draw a row as a card share: the width a row has, and the card's
frame (its background, the rule under it and the mark on its left edge)."""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
)

EDGE = 4
"""The width of the mark on a card's left edge."""


def row_width(delegate: QStyledItemDelegate, option: QStyleOptionViewItem) -> int:
    """The width of a row of the view ``delegate`` draws for.

    Size hints and painting must agree on it, and a list view does not always pass the
    row's rect to sizeHint: the view's viewport says it when there is one."""
    view = delegate.parent()
    width = option.rect.width()
    if isinstance(view, QAbstractItemView):
        width = view.viewport().width()
    return int(width)


def paint_frame(
    painter: QPainter, option: QStyleOptionViewItem, mark: QColor | None = None
) -> None:
    """A card's background (the alternate one while selected), the rule under it, and on
    its left edge ``mark`` (if any) under the highlight of a selected card."""
    rect = option.rect
    palette = option.palette
    selected = bool(option.state & QStyle.StateFlag.State_Selected)
    background = palette.color(
        QPalette.ColorRole.AlternateBase if selected else QPalette.ColorRole.Base
    )
    painter.fillRect(rect, background)
    painter.setPen(palette.color(QPalette.ColorRole.Mid))
    painter.drawLine(rect.bottomLeft(), rect.bottomRight())
    edge = QRect(rect.left(), rect.top(), EDGE, rect.height())
    if mark is not None:
        painter.fillRect(edge, mark)
    if selected:
        painter.fillRect(edge, palette.color(QPalette.ColorRole.Highlight))
