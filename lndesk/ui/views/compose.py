"""Writing: a post, a reply, a share with a comment or a new version of my post.

Publishing never needs the network: the entry is signed into my log at once and goes
out when a peer is reachable; the post's card says which of the two has happened.

A post can be asked as a question. Writing ``@`` and someone's key (``@lnd1…``) mentions
them: the box lists whom the draft mentions, by name, before it is published.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
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

from lndesk.app.desk import Desk
from lndesk.app.desk_webitems import WEB_ITEM
from lndesk.app.items import PostItem
from lndesk.keytext import mentions_in, short_key
from lndesk.ui import theme
from lndesk.ui.bridge import Bridge
from lndesk.ui.format import error_text
from lndesk.ui.plain_text import one_line
from lndesk.ui.safe_text import markdown_document, plain_markdown
from lndesk.ui.views.pseudonym_ask import PseudonymAskDialog

POST, REPLY, SHARE, EDIT = "post", "reply", "share", "edit"
MAX_MENTIONS = 16
"""As many people as one post may mention (the protocol's limit)."""
MENTION_HINT = "Mention someone by writing @ and their key (@lnd1…)."
MENTIONS_DELAY_MS = 300


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
                POST: "Write a note, a link with a comment, a question… (markdown; "
                "@lnd1… mentions someone)",
                REPLY: "Write your reply… (markdown; @lnd1… mentions someone)",
                SHARE: "Add a comment (optional)",
                EDIT: "The new text (markdown)",
            }[mode]
        )
        self.text.setToolTip(MENTION_HINT)
        self.text.setTabChangesFocus(True)
        self.text.setMaximumHeight(64 if compact else 220)
        self.tags = QLineEdit()
        self.tags.setPlaceholderText("tags, e.g. pedagogy statistics")
        self.links = QLineEdit()
        self.links.setPlaceholderText("https://… (optional)")
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(theme.ERROR_STYLE)
        self.error.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.question = QCheckBox("Ask as a question")
        self.question.setToolTip("Marked as a question: readers see a Question badge.")
        can_ask = mode == POST or (mode == EDIT and target is not None and target.kind == POST)
        self.question.setVisible(can_ask)
        self.question.setEnabled(can_ask)
        self.pseudonym = QPushButton("Ask as a pseudonym…")
        self.pseudonym.setToolTip("Publish this question under a second identity, not your name.")
        self.pseudonym.clicked.connect(self.ask_as_pseudonym)
        self.pseudonym.setVisible(False)
        if mode == POST:
            self.question.toggled.connect(self.pseudonym.setVisible)
        self.hint = QLabel(MENTION_HINT)
        self.hint.setWordWrap(True)
        self.hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.mentions = QLabel()
        """Whom the draft mentions, by name (hidden when nobody)."""
        self.mentions.setWordWrap(True)
        self.mentions.setTextFormat(Qt.TextFormat.RichText)
        self.mentions.hide()
        self.mentioned: tuple[bytes, ...] = ()
        self._names: dict[bytes, str] = {}
        self._mention_timer = bridge.timer(self, self.update_mentions)
        if mode != SHARE:
            self.text.textChanged.connect(lambda: self._mention_timer.start(MENTIONS_DELAY_MS))
        self.button = QPushButton(
            {POST: "Publish", REPLY: "Reply", SHARE: "Share", EDIT: "Publish edit"}[mode]
        )
        self.button.setDefault(True)
        self.button.setToolTip("Ctrl+Enter")
        self.button.clicked.connect(self.submit)
        QShortcut(QKeySequence("Ctrl+Return"), self, self.submit)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        if mode == EDIT and target is not None:
            self.text.setPlainText(target.text)
            self.tags.setText(" ".join(target.tags))
            self.links.setText(" ".join(target.links))
            self.question.setChecked(target.question and can_ask)
        elif target is not None:
            summary = one_line(plain_markdown(target.text[:2000]), 280)
            name = one_line(target.shown_name, 64)
            quoted = QLabel(f"<b>{_escape(name)}</b>: {_escape(summary)}")
            quoted.setWordWrap(True)
            quoted.setTextFormat(Qt.TextFormat.RichText)
            layout.addWidget(quoted)
        layout.addWidget(self.text)
        layout.addWidget(self.mentions)
        row = QHBoxLayout()
        if compact:
            # One line under the text: tags, link, question, publish (the timeline's box
            # stays small; the placeholder and tooltip carry the mention hint).
            self.hint.hide()
            row.addWidget(self.tags, 1)
            row.addWidget(self.links, 1)
            if can_ask:
                row.addWidget(self.question)
            row.addWidget(self.pseudonym)
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
            layout.addWidget(self.hint)
        else:
            self.hint.hide()
        if can_ask:
            layout.addWidget(self.question)
        row.addWidget(self.status, 1)
        row.addWidget(self.pseudonym)
        row.addWidget(self.button)
        layout.addWidget(self.error)
        layout.addLayout(row)
        if mode == EDIT:
            self.update_mentions()

    # --- mentions ----------------------------------------------------------------------

    def update_mentions(self) -> None:
        """List whom the draft mentions; names not known yet are asked of the desk."""
        self._mention_timer.stop()
        keys = mentions_in(self.text.toPlainText())
        self.mentioned = keys
        unknown = [k for k in keys if k not in self._names]
        if unknown:

            def names(desk: Desk) -> dict[bytes, str]:
                return {key: desk.people.author(key).name for key in unknown}

            self.bridge.request(names, self._got_names, lambda _e: None)
        self._show_mentions()

    def _got_names(self, names: dict[bytes, str]) -> None:
        self._names.update(names)
        self._show_mentions()

    def _show_mentions(self) -> None:
        keys = self.mentioned
        if not keys:
            self.mentions.clear()
            self.mentions.hide()
            return
        names = ", ".join(f"<b>{_escape(self._names.get(k) or short_key(k))}</b>" for k in keys)
        text = f"Mentions {names}: they see this in their inbox."
        if len(keys) > MAX_MENTIONS:
            error = theme.named_colour("error").name()
            text += (
                f" <span style='color: {error}'>A post can mention at most {MAX_MENTIONS} "
                "people.</span>"
            )
        self.mentions.setText(text)
        self.mentions.show()

    def mentioned_names(self) -> list[str]:
        """The names the box shows for the people the draft mentions (tests, accessibility)."""
        return [self._names.get(k) or short_key(k) for k in self.mentioned]

    # --- publishing ----------------------------------------------------------------------

    def submit(self) -> None:
        text = self.text.toPlainText()
        tags, links = split_words(self.tags.text()), split_words(self.links.text())
        if self.mode != SHARE and not text.strip():
            self.show_error("Write something first.")
            return
        target = self.target
        question = self.question.isEnabled() and self.question.isChecked()
        if (
            self.mode == EDIT
            and target is not None
            and (text, tuple(tags), tuple(links), question)
            == (target.text, target.tags, target.links, target.question)
        ):
            self.show_error("Nothing changed: edit the text, tags or link first.")
            return
        self.error.hide()
        self.button.setEnabled(False)
        self.status.setText("Publishing…")
        if self.mode == POST:

            def action(desk: Desk) -> Awaitable[int]:
                return desk.posting.post(text, tags, links, question=question)
        elif self.mode == EDIT:
            assert target is not None

            def action(desk: Desk) -> Awaitable[int]:
                return desk.posting.edit(target.post_key, text, tags, links, question=question)
        elif target is not None and target.kind == WEB_ITEM:  # an item of a web feed

            def action(desk: Desk) -> Awaitable[int]:
                if self.mode == REPLY:  # a post of mine that links the item
                    return desk.feed_reader.reply(target.seq, text, tags, links)
                return desk.feed_reader.share(target.seq, text)
        elif self.mode == REPLY:
            assert target is not None

            def action(desk: Desk) -> Awaitable[int]:
                return desk.posting.reply(target.post_key, text, tags, links)
        else:
            assert target is not None

            def action(desk: Desk) -> Awaitable[int]:
                return desk.posting.share(target.post_key, text)

        self.bridge.request_async(action, self._done, self._failed)

    def ask_as_pseudonym(self) -> None:
        """Open the pseudonym dialog for the question written here."""
        text = self.text.toPlainText()
        if not text.strip():
            self.show_error("Write your question first.")
            return
        self.error.hide()
        tags, links = split_words(self.tags.text()), split_words(self.links.text())
        dialog = PseudonymAskDialog(self.bridge, text, tags, links, self)
        dialog.asked.connect(self._asked_as)
        dialog.open()

    def _asked_as(self, name: str, link: str) -> None:
        self.text.clear()
        self.tags.clear()
        self.links.clear()
        self.question.setChecked(False)
        self.status.setText(f"Asked as {name}. Readers follow it by its link: {link}")

    def _done(self, seq: int) -> None:
        self.button.setEnabled(True)
        if self.mode != EDIT:
            self.text.clear()
            self.tags.clear()
            self.links.clear()
            self.question.setChecked(False)
        self.status.setText(self.bridge.connectivity.published())
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
        self.setWindowTitle(
            {
                POST: "New post",
                REPLY: "Reply",
                SHARE: "Share with a comment",
                EDIT: "Edit post",
            }[mode]
        )
        self.box = ComposeBox(bridge, mode, target, self)
        self.preview = QTextBrowser()
        self.preview.setOpenExternalLinks(True)
        self.preview.setMaximumHeight(160)
        self._preview_doc = markdown_document("", self.preview.font())
        self.preview.setDocument(self._preview_doc)
        self.box.text.textChanged.connect(lambda: self.show_preview(self.box.text.toPlainText()))
        layout = QVBoxLayout(self)
        layout.addWidget(self.box)
        layout.addWidget(QLabel("Preview"))
        layout.addWidget(self.preview)
        self.box.published.connect(lambda _seq: self.accept())
        self.resize(560, 460)
        self.box.text.setFocus()

    def show_preview(self, markdown: str) -> None:
        """Show ``markdown`` in the preview as a post's card shows it (the same renderer)."""
        self._preview_doc = markdown_document(markdown, self.preview.font())
        self.preview.setDocument(self._preview_doc)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
