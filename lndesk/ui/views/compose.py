"""Writing: a post, a reply or a share with a comment (markdown, tags, links).

Publishing never needs the network: the entry is signed into my log at once and goes
out when a peer is reachable; the post's card says which of the two has happened.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QTextDocument
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from lndesk.app.items import PostItem
from lndesk.ui.bridge import Bridge
from lndesk.ui.format import error_text

POST, REPLY, SHARE = "post", "reply", "share"


def split_words(text: str) -> list[str]:
    """Tags or links typed with commas and/or spaces between them."""
    return [w for w in re.split(r"[\s,]+", text.strip()) if w]


class ComposeBox(QWidget):
    """The writing area with its tag and link fields; used inline and in the dialog."""

    published = Signal(int)
    """The new entry's sequence number in my log."""

    def __init__(
        self,
        bridge: Bridge,
        mode: str = POST,
        target: PostItem | None = None,
        parent: QWidget | None = None,
        *,
        compact: bool = False,
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.mode = mode
        self.target = target
        self.text = QPlainTextEdit()
        self.text.setPlaceholderText(
            {
                POST: "Write a note, a link with a comment, a question… (markdown)",
                REPLY: "Write your reply… (markdown)",
                SHARE: "Add a comment (optional)",
            }[mode]
        )
        self.text.setTabChangesFocus(True)
        self.text.setMaximumHeight(64 if compact else 220)
        self.tags = QLineEdit()
        self.tags.setPlaceholderText("tags, e.g. pedagogy statistics")
        self.links = QLineEdit()
        self.links.setPlaceholderText("https://… (optional)")
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c0392b")
        self.error.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.button = QPushButton({POST: "Publish", REPLY: "Reply", SHARE: "Share"}[mode])
        self.button.setDefault(True)
        self.button.setToolTip("Ctrl+Enter")
        self.button.clicked.connect(self.submit)
        QShortcut(QKeySequence("Ctrl+Return"), self, self.submit)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        if target is not None:
            plain = QTextDocument()
            plain.setMarkdown(target.text)
            summary = " ".join(plain.toPlainText().split())[:280]
            quoted = QLabel(f"<b>{_escape(target.author_name)}</b>: {_escape(summary)}")
            quoted.setWordWrap(True)
            quoted.setTextFormat(Qt.TextFormat.RichText)
            layout.addWidget(quoted)
        layout.addWidget(self.text)
        row = QHBoxLayout()
        if compact:
            # One line under the text: tags, link, publish (the timeline's box stays small).
            row.addWidget(self.tags, 1)
            row.addWidget(self.links, 1)
            row.addWidget(self.button)
            layout.addLayout(row)
            layout.addWidget(self.error)
            layout.addWidget(self.status)
            return
        if mode != SHARE:
            form = QFormLayout()
            form.addRow("Tags", self.tags)
            form.addRow("Link", self.links)
            layout.addLayout(form)
        row.addWidget(self.status, 1)
        row.addWidget(self.button)
        layout.addWidget(self.error)
        layout.addLayout(row)

    def submit(self) -> None:
        text = self.text.toPlainText()
        tags, links = split_words(self.tags.text()), split_words(self.links.text())
        if self.mode != SHARE and not text.strip():
            self.show_error("Write something first.")
            return
        self.error.hide()
        self.button.setEnabled(False)
        self.status.setText("Publishing…")
        target = self.target
        if self.mode == POST:

            def action(desk: Any) -> Any:
                return desk.post(text, tags, links)
        elif self.mode == REPLY:
            assert target is not None

            def action(desk: Any) -> Any:
                return desk.reply(target.key, text, tags, links)
        else:
            assert target is not None

            def action(desk: Any) -> Any:
                return desk.share(target.key, text)

        self.bridge.request(action, self._done, self._failed)

    def _done(self, seq: int) -> None:
        self.button.setEnabled(True)
        self.text.clear()
        self.tags.clear()
        self.links.clear()
        self.status.setText("Published locally; it goes out to peers as soon as one is reachable.")
        self.published.emit(seq)

    def _failed(self, error: BaseException) -> None:
        self.button.setEnabled(True)
        self.status.clear()
        self.show_error(error_text(error))

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()


class ComposeDialog(QDialog):
    """New post (Ctrl+N), reply or share, with a markdown preview."""

    def __init__(
        self,
        bridge: Bridge,
        mode: str = POST,
        target: PostItem | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle({POST: "New post", REPLY: "Reply", SHARE: "Share with a comment"}[mode])
        self.box = ComposeBox(bridge, mode, target, self)
        self.preview = QTextBrowser()
        self.preview.setOpenExternalLinks(True)
        self.preview.setMaximumHeight(160)
        self.box.text.textChanged.connect(
            lambda: self.preview.setMarkdown(self.box.text.toPlainText())
        )
        layout = QVBoxLayout(self)
        layout.addWidget(self.box)
        layout.addWidget(QLabel("Preview"))
        layout.addWidget(self.preview)
        self.box.published.connect(lambda _seq: self.accept())
        self.resize(560, 460)
        self.box.text.setFocus()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
