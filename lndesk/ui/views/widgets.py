"""Small pieces the screens share: a heading, an error label, a read-only list of rows,
two columns side by side, a widget's keyboard actions, the item in a list's current row,
and bringing a window to the front."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QListView,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from lndesk.ui import theme
from lndesk.ui.models.live import ItemRole
from lndesk.ui.views.cards import LinesDelegate

__all__ = [
    "ERROR_STYLE",
    "add_action",
    "bare_column",
    "current_item",
    "error_label",
    "field_label",
    "heading",
    "present",
    "row_list",
    "side_by_side",
]

ERROR_STYLE = theme.ERROR_STYLE

T = TypeVar("T")


def heading(title: str, level: int = 2) -> QLabel:
    """A screen's (level 2) or a part's (level 3) title."""
    label = QLabel(f"<h{level}>{html.escape(title)}</h{level}>")
    label.setTextFormat(Qt.TextFormat.RichText)
    return label


def field_label(text: str, field: QWidget) -> QLabel:
    """The label of ``field``, its mnemonic letter (``&``) underlined. The underline
    splits the text into runs drawn without kerning between them, so the label is
    measured without kerning too: kerned, "To" is measured narrower than it is drawn
    and the field beside it covers its last letter."""
    label = QLabel(text)
    font = label.font()
    font.setKerning(False)
    label.setFont(font)
    label.setBuddy(field)
    return label


def error_label() -> QLabel:
    """A hidden red label for an error, as plain text (an error may quote a peer)."""
    label = QLabel()
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setStyleSheet(ERROR_STYLE)
    label.hide()
    return label


def row_list(model: QAbstractItemModel, *, word_wrap: bool = True) -> QListView:
    """A list of ``model``'s rows to pick one from (not to edit), rows shaded in turn."""
    view = QListView()
    view.setModel(model)
    view.setWordWrap(word_wrap)
    view.setAlternatingRowColors(True)
    view.setSpacing(2)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    return view


def card_list(model: QAbstractItemModel) -> QListView:
    """A list of ``model``'s rows drawn as cards of text lines (title first, details
    dimmed under it), to pick one from: the post lists' look for lists of other things."""
    view = row_list(model)
    view.setAlternatingRowColors(False)  # cards are set apart by their rule, as posts are
    view.setSpacing(0)
    view.setItemDelegate(LinesDelegate(view))
    return view


def bare_column(widget: QWidget) -> QVBoxLayout:
    """``widget``'s layout: a column without margins (a part of a screen, not a screen)."""
    column = QVBoxLayout(widget)
    column.setContentsMargins(0, 0, 0, 0)
    return column


def side_by_side(left: QWidget, right: QWidget, stretch: tuple[int, int]) -> QSplitter:
    """``left`` and ``right`` in a splitter that shares out extra width as ``stretch``
    says; neither can be dragged out of sight."""
    splitter = QSplitter()
    splitter.addWidget(left)
    splitter.addWidget(right)
    splitter.setStretchFactor(0, stretch[0])
    splitter.setStretchFactor(1, stretch[1])
    splitter.setChildrenCollapsible(False)
    return splitter


def add_action(widget: QWidget, text: str, shortcut: str, slot: Callable[[], object]) -> QAction:
    """An action on ``widget``: its key works while the widget has the focus, and a
    context menu can offer it."""
    action = QAction(text, widget)
    action.setShortcut(QKeySequence(shortcut))
    action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
    action.triggered.connect(lambda _=False: slot())
    widget.addAction(action)
    return action


def current_item(view: QAbstractItemView, kind: type[T]) -> T | None:
    """The item (``ItemRole``) in ``view``'s current row, if there is one of ``kind``."""
    index = view.currentIndex()
    item = index.data(ItemRole) if index.isValid() else None
    return item if isinstance(item, kind) else None


def present(window: QWidget) -> None:
    """Show ``window`` in front of the others, ready for the keyboard."""
    window.show()
    window.raise_()
    window.activateWindow()
