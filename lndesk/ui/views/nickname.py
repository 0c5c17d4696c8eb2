"""The "Set nickname…" dialog: my own name for someone, shown instead of theirs here.

A nickname is mine, kept on this device only (never published). Cards show it in place
of the name the person chose, with theirs after it, dimmed. An empty nickname gives them
back their own name.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QInputDialog, QLineEdit, QWidget

from lndesk.app.items import AuthorItem, PostItem
from lndesk.keytext import short_key
from lndesk.names import MAX_NICKNAME_CHARS
from lndesk.ui.bridge import Bridge

Failed = Callable[[BaseException], None]


def names_of(item: PostItem | AuthorItem) -> tuple[bytes, str, str]:
    """(key, my nickname for them or "", their own name) for a post's author or a person."""
    if isinstance(item, PostItem):
        key, shown, chosen = item.author, item.shown_name, item.chosen_name
    else:
        key, shown, chosen = item.key, item.name, item.chosen_name
    return (key, shown, chosen) if chosen else (key, "", shown)


def ask_nickname(
    parent: QWidget, bridge: Bridge, item: PostItem | AuthorItem, failed: Failed | None = None
) -> QInputDialog:
    """Open (not modal) the dialog for ``item``'s person; OK saves the nickname."""
    key, current, chosen = names_of(item)
    dialog = QInputDialog(parent)
    dialog.setWindowTitle("Set nickname")
    dialog.setInputMode(QInputDialog.InputMode.TextInput)
    dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
    dialog.setLabelText(
        f"Your name for {chosen} ({short_key(key)}), on this device only.\n"
        "Leave it empty to call them by their own name again."
    )
    dialog.setTextValue(current)
    line = dialog.findChild(QLineEdit)
    if line is not None:
        line.setMaxLength(MAX_NICKNAME_CHARS)

    def save(text: str) -> None:
        name = text.strip() or None
        bridge.request(lambda desk: desk.people.set_nickname(key, name), None, failed)

    dialog.textValueSelected.connect(save)
    dialog.open()
    return dialog
