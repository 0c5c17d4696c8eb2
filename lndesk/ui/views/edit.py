"""Editing one of my posts or replies: a new version, published like any entry.

The dialog is the compose dialog filled with the post as it reads now (its text, tags,
link and question mark). Publishing it appends an edit to my log; every list showing
the post then loads it again and shows the new text, marked "edited".
"""

from __future__ import annotations

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from lndesk.app.items import PostItem
from lndesk.ui.bridge import Bridge
from lndesk.ui.views.compose import EDIT, ComposeDialog
from lndesk.ui.views.posts import editable

NOTE = (
    "Readers see the new version, marked “edited”. Anyone who already has the old "
    "version keeps it, so an edit corrects a post; it does not unsay it."
)


class EditDialog(ComposeDialog):
    """Edit my post or reply ``item`` (E, or "Edit…" in a post's menu)."""

    def __init__(self, bridge: Bridge, item: PostItem, parent: QWidget | None = None) -> None:
        if not editable(item):
            raise ValueError("only my own posts and replies can be edited")
        super().__init__(bridge, EDIT, item, parent)
        self.item = item
        self.setWindowTitle("Edit reply" if item.kind == "reply" else "Edit post")
        note = QLabel(NOTE)
        note.setWordWrap(True)
        layout = self.layout()
        if isinstance(layout, QVBoxLayout):
            layout.insertWidget(0, note)
        self.show_preview(item.text)
        self.box.text.moveCursor(QTextCursor.MoveOperation.End)
