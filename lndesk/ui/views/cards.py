"""What the delegates that draw a row as a card share: the width a row has, the card's
frame (its background, the rule under it and the mark on its left edge), and a card of
text lines (:class:`LinesDelegate`)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
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


PADDING = 10
"""Space around a card's text (the post cards' margin)."""
LINE_GAP = 2


class LinesDelegate(QStyledItemDelegate):
    """A row drawn as a card of text lines (its DisplayRole, one line each): the first
    line in the text colour (bold if ``bold_first``), the lines ``dim`` picks in the
    dimmed text colour, each cut with "…" at the card's edge (the tooltip has it whole).
    The Reading lists screen and the tags on the Search screen share it with the post
    cards' frame and spacing."""

    def __init__(
        self,
        parent: QAbstractItemView,
        *,
        bold_first: bool = True,
        dim: Callable[[int, int], bool] = lambda line, _count: line > 0,
        padding: int = PADDING,
    ) -> None:
        super().__init__(parent)
        self.bold_first = bold_first
        self.dim = dim
        """(line number, number of lines) -> whether that line is dimmed."""
        self.padding = padding

    def _lines(self, index: QModelIndex | QPersistentModelIndex) -> list[str]:
        text = index.data(Qt.ItemDataRole.DisplayRole)
        return str(text).splitlines() if text else []

    def _font(self, option: QStyleOptionViewItem, line: int) -> QFont:
        font = QFont(option.font)
        font.setBold(self.bold_first and line == 0)
        return font

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        lines = self._lines(index) or [""]
        height = sum(QFontMetrics(self._font(option, n)).height() for n in range(len(lines)))
        height += LINE_GAP * (len(lines) - 1) + 2 * self.padding
        return QSize(row_width(self, option), height)

    def line_rects(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> list[tuple[str, QFont, QRect]]:
        """Each line as drawn: its text (cut to fit), font and rect."""
        rect = option.rect
        width = rect.width() - 2 * self.padding - EDGE
        y = rect.top() + self.padding
        shown = []
        for n, line in enumerate(self._lines(index)):
            font = self._font(option, n)
            metrics = QFontMetrics(font)
            text = metrics.elidedText(line, Qt.TextElideMode.ElideRight, max(0, width))
            area = QRect(rect.left() + self.padding + EDGE, y, width, metrics.height())
            shown.append((text, font, area))
            y += metrics.height() + LINE_GAP
        return shown

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        painter.save()
        paint_frame(painter, option)
        lines = self.line_rects(option, index)
        for n, (text, font, area) in enumerate(lines):
            role = (
                QPalette.ColorRole.PlaceholderText
                if self.dim(n, len(lines))
                else QPalette.ColorRole.Text
            )
            painter.setFont(font)
            painter.setPen(option.palette.color(role))
            flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
            painter.drawText(area, int(flags), text)
        painter.restore()
