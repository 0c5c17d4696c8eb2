"""Following: add someone by key or link (or a web feed by its address), see how their
feed is doing and how much of it is unread, mark it read, unfollow, mute, block; the web
feeds followed (:mod:`lndesk.ui.views.web_feeds`); and the people I blocked, to unblock."""

from __future__ import annotations

import time

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QGuiApplication, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lndesk.app.desk import Desk
from lndesk.app.feed_reader import WebFeedRow
from lndesk.app.items import AuthorItem
from lndesk.app.runtime import describe
from lndesk.ui.bridge import Bridge
from lndesk.ui.models.authors import AuthorsModel, BlockedModel, FollowingModel
from lndesk.ui.plain_text import one_line
from lndesk.ui.views.nickname import ask_nickname
from lndesk.ui.views.web_feeds import WebFeedsPanel
from lndesk.ui.views.widgets import ERROR_STYLE, current_item, heading, present
from lndesk.webfeeds import web_address
from lndesk.wording import counted


def block_explanation(name: str) -> str:
    return (
        f"Block {name}? lndesk stops storing and passing on what they publish, and their posts, "
        "replies and mentions no longer show. If you follow them, you also unfollow them "
        "(an unfollow is public; the block itself is not). You can unblock them under "
        "Following → Blocked people."
    )


def ask(parent: QWidget, title: str, text: str) -> bool:
    """A yes/no question whose text is shown as plain text (it names a peer, and a peer's
    name must not become markup)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(text)
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    box.setDefaultButton(QMessageBox.StandardButton.No)
    return box.exec() == QMessageBox.StandardButton.Yes


def confirm_block(parent: QWidget, name: str) -> bool:
    """Ask before blocking: it also unfollows and stops storing and serving their feed."""
    return ask(parent, "Block", block_explanation(name))


class AuthorList(QListView):
    """A list of people to pick one from (whom I follow, whom I blocked)."""

    def __init__(
        self, model: AuthorsModel, parent: QWidget | None = None, *, word_wrap: bool = True
    ) -> None:
        super().__init__(parent)
        self.authors = model
        self.setModel(model)
        self.setAlternatingRowColors(True)
        self.setWordWrap(word_wrap)
        self.setSpacing(2)

    def selected(self) -> AuthorItem | None:
        return current_item(self, AuthorItem)

    def select_key(self, key: bytes) -> None:
        for row, item in enumerate(self.authors.items()):
            if item.key == key:
                self.setCurrentIndex(self.authors.index(row))


class FollowForm(QWidget):
    """A key or share link field with a clear inline error; used inline and in a dialog."""

    followed = Signal(object)
    """The AuthorItem just followed."""
    web_feed_followed = Signal(object)
    """The WebFeedRow just followed."""

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.source = "pasted key"
        self.field = QLineEdit()
        self.field.setPlaceholderText(
            "Paste a public key (lnd1…), a share link (lndesk://feed/…), "
            "or a web feed's or site's address (https://…)"
        )
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.hide()
        self.field.returnPressed.connect(self.submit)
        self.field.textEdited.connect(lambda _t: self.error.hide())
        self.button = QPushButton("Follow")
        self.button.clicked.connect(self.submit)
        self.result = QLabel()
        self.result.setTextFormat(Qt.TextFormat.PlainText)  # it names a peer
        row = QHBoxLayout()
        row.addWidget(self.field, 1)
        row.addWidget(self.button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.error)
        layout.addWidget(self.result)

    def set_text(self, text: str, source: str) -> None:
        self.field.setText(text)
        self.source = source

    def submit(self) -> None:
        text = self.field.text().strip()
        if not text:
            self.show_error(
                "Paste someone's public key or share link, or a web feed's address, first."
            )
            return
        self.button.setEnabled(False)
        if web_address(text) is not None:  # a web feed, or a site that names one
            self.bridge.request_async(
                lambda desk: desk.feed_reader.follow(text), self._web_feed_done, self._failed
            )
            return
        source = self.source
        self.bridge.request_async(
            lambda desk: desk.people.follow(text, source), self._done, self._failed
        )

    def _web_feed_done(self, row: WebFeedRow) -> None:
        self.button.setEnabled(True)
        self.field.clear()
        self.error.hide()
        self.result.setText(
            f"Now following the web feed {one_line(row.title, 80)} "
            f"({counted(row.items, 'item')}). Nothing about it is published."
        )
        self.web_feed_followed.emit(row)

    def _done(self, author: AuthorItem) -> None:
        self.button.setEnabled(True)
        self.field.clear()
        self.source = "pasted key"
        self.error.hide()
        self.result.setText(
            f"Now following {author.name}. Their posts arrive as soon as a peer has them."
        )
        self.followed.emit(author)

    def _failed(self, error: BaseException) -> None:
        self.button.setEnabled(True)
        self.show_error(describe(error))

    def show_error(self, message: str) -> None:
        self.result.clear()
        self.error.setText(message)
        self.error.show()


class FollowDialog(QDialog):
    """Ctrl+L, or an opened ``lndesk:`` link: follow someone."""

    def __init__(
        self,
        bridge: Bridge,
        text: str = "",
        source: str = "pasted key",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Follow someone")
        self.form = FollowForm(bridge, self)
        if text:
            self.form.set_text(text, source)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel("Following is one way: they are not asked and need not follow you back.")
        )
        layout.addWidget(self.form)
        layout.addWidget(buttons)
        self.form.followed.connect(lambda _a: self.accept())
        self.form.web_feed_followed.connect(lambda _r: self.accept())
        self.resize(620, 160)


class FollowingView(QWidget):
    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.model = FollowingModel(bridge, self)
        self.form = FollowForm(bridge, self)
        self.list = AuthorList(self.model)
        self.empty = QLabel(
            "You follow nobody yet. Ask someone for their key or share link and paste it above."
        )
        self.empty.setWordWrap(True)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.mark_read_button = QPushButton("Mark read")
        self.mark_read_button.setToolTip("Count this person's posts so far as read")
        self.unfollow_button = QPushButton("Unfollow")
        self.mute_button = QPushButton("Mute")
        self.block_button = QPushButton("Block…")
        self.copy_button = QPushButton("Copy key")
        self.blocked_button = BlockedButton(bridge)
        self.mark_read_button.clicked.connect(self.mark_read_selected)
        self.unfollow_button.clicked.connect(self.unfollow_selected)
        self.mute_button.clicked.connect(self.toggle_mute_selected)
        self.block_button.clicked.connect(self.block_selected)
        self.copy_button.clicked.connect(self._copy_key)
        self.error = QLabel()
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setWordWrap(True)
        self.error.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.mark_read_button)
        buttons.addWidget(self.unfollow_button)
        buttons.addWidget(self.mute_button)
        buttons.addWidget(self.block_button)
        buttons.addWidget(self.copy_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(heading("Following"), 1)
        top.addWidget(self.blocked_button)
        layout.addLayout(top)
        layout.addWidget(self.form)
        layout.addWidget(self.empty)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        self.web_feeds = WebFeedsPanel(bridge, self)
        layout.addWidget(self.web_feeds, 1)
        self.form.web_feed_followed.connect(lambda row: self.web_feeds.select_sub(row.sub))
        self.model.refreshed.connect(self._update)
        self.list.selectionModel().selectionChanged.connect(lambda *_: self._update())
        self._update()

    def showEvent(self, event: QShowEvent) -> None:
        self.model.refresh()
        super().showEvent(event)

    def selected(self) -> AuthorItem | None:
        return self.list.selected()

    def _update(self) -> None:
        self.empty.setVisible(self.model.rowCount() == 0)
        item = self.selected()
        for button in (
            self.unfollow_button,
            self.mute_button,
            self.block_button,
            self.copy_button,
        ):
            button.setEnabled(item is not None)
        self.mark_read_button.setEnabled(item is not None and item.unread > 0)
        self.mute_button.setText("Unmute" if item is not None and item.muted else "Mute")

    def _context_menu(self, point: QPoint) -> None:
        index = self.list.indexAt(point)
        if not index.isValid():
            return
        self.list.setCurrentIndex(index)
        item = self.selected()
        if item is None:
            return
        menu = self.author_menu(item)
        menu.exec(self.list.viewport().mapToGlobal(point))

    def author_menu(self, item: AuthorItem) -> QMenu:
        """The context menu of a person in the list."""
        menu = QMenu(self)
        read = menu.addAction("Mark read", self.mark_read_selected)
        read.setEnabled(item.unread > 0)
        menu.addSeparator()
        menu.addAction("Unfollow…", self.unfollow_selected)
        menu.addAction("Unmute" if item.muted else "Mute", self.toggle_mute_selected)
        menu.addAction("Block…", self.block_selected)
        menu.addAction("Set nickname…", self.nickname_selected)
        menu.addSeparator()
        menu.addAction("Copy key", self._copy_key)
        return menu

    def select_key(self, key: bytes) -> None:
        self.list.select_key(key)

    def unfollow_selected(self, *, confirm: bool = True) -> None:
        item = self.selected()
        if item is None:
            return
        if confirm and not ask(
            self,
            "Unfollow",
            f"Stop following {item.name}? Their posts already stored stay until you "
            "delete them, but no new ones are fetched.",
        ):
            return
        key = item.key
        self.bridge.request_async(lambda desk: desk.people.unfollow(key), None, self._failed)

    def mark_read_selected(self) -> None:
        """Count the selected person's posts so far as read."""
        item = self.selected()
        if item is None:
            return
        key = item.key

        def mark(desk: Desk) -> None:
            # Up to now, or to their newest post if a skewed clock dated it later.
            newest = desk.people.author(key).last_post_ms or 0
            desk.people.mark_author_read(key, max(int(time.time() * 1000), newest))

        self.bridge.request(mark, None, self._failed)

    def block_selected(self, *, confirm: bool = True) -> None:
        item = self.selected()
        if item is None:
            return
        if confirm and not confirm_block(self, item.name):
            return
        key = item.key
        self.bridge.request_async(lambda desk: desk.people.block(key), None, self._failed)

    def show_blocked(self) -> BlockedDialog:
        return self.blocked_button.show_dialog()

    def toggle_mute_selected(self) -> None:
        item = self.selected()
        if item is None:
            return
        key, on = item.key, not item.muted
        self.bridge.request(lambda desk: desk.people.set_muted(key, on), None, self._failed)

    def nickname_selected(self) -> QInputDialog | None:
        item = self.selected()
        return None if item is None else self.nickname_selected_for(item)

    def nickname_selected_for(self, item: AuthorItem) -> QInputDialog:
        """Open the "Set nickname…" dialog for ``item``."""
        return ask_nickname(self, self.bridge, item, self._failed)

    def _copy_key(self) -> None:
        item = self.selected()
        if item is not None:
            QGuiApplication.clipboard().setText(item.key_text)

    def _failed(self, error: BaseException) -> None:
        self.error.setText(describe(error))
        self.error.show()


class BlockedDialog(QDialog):
    """The people I blocked, each of whom can be unblocked."""

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Blocked people")
        self.bridge = bridge
        self.model = BlockedModel(bridge, self)
        self.list = AuthorList(self.model, word_wrap=False)
        self.empty = QLabel("You have not blocked anyone.")
        self.error = QLabel()
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setWordWrap(True)
        self.error.hide()
        self.unblock_button = QPushButton("Unblock")
        self.unblock_button.clicked.connect(self.unblock_selected)
        explanation = QLabel(
            "lndesk neither stores nor passes on the posts of people you blocked, and shows "
            "nothing of theirs. Unblocking does not follow them again."
        )
        explanation.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.addButton(self.unblock_button, QDialogButtonBox.ButtonRole.ActionRole)
        layout = QVBoxLayout(self)
        layout.addWidget(explanation)
        layout.addWidget(self.empty)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.model.refreshed.connect(self._update)
        self.list.selectionModel().selectionChanged.connect(lambda *_: self._update())
        self._update()
        self.resize(520, 380)

    def showEvent(self, event: QShowEvent) -> None:
        self.model.refresh()
        super().showEvent(event)

    def selected(self) -> AuthorItem | None:
        return self.list.selected()

    def select_key(self, key: bytes) -> None:
        self.list.select_key(key)

    def _update(self) -> None:
        self.empty.setVisible(self.model.rowCount() == 0)
        self.unblock_button.setEnabled(self.selected() is not None)

    def unblock_selected(self) -> None:
        item = self.selected()
        if item is None:
            return
        key = item.key
        self.bridge.request(lambda desk: desk.people.unblock(key), None, self._failed)

    def _failed(self, error: BaseException) -> None:
        self.error.setText(describe(error))
        self.error.show()


class BlockedButton(QPushButton):
    """The "Blocked people…" button: it opens the dialog of the people I blocked (the
    same one each time, refreshed and in front; it belongs to the screen the button is on)."""

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__("Blocked people…", parent)
        self.bridge = bridge
        self.dialog: BlockedDialog | None = None
        self.clicked.connect(self.show_dialog)

    def show_dialog(self) -> BlockedDialog:
        if self.dialog is None:
            self.dialog = BlockedDialog(self.bridge, self.parentWidget())
        self.dialog.model.refresh()
        present(self.dialog)
        return self.dialog
