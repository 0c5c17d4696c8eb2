"""Following: add someone by key or link, see how their feed is doing, unfollow, mute."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lndesk.app.items import AuthorItem
from lndesk.app.runtime import describe
from lndesk.ui.bridge import Bridge
from lndesk.ui.models.authors import FollowingModel, ItemRole


class FollowForm(QWidget):
    """A key or share link field with a clear inline error; used inline and in a dialog."""

    followed = Signal(object)
    """The AuthorItem just followed."""

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.source = "pasted key"
        self.field = QLineEdit()
        self.field.setPlaceholderText(
            "Paste a public key (lnd1…) or a share link (lndesk://feed/…)"
        )
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c0392b")
        self.error.hide()
        self.field.returnPressed.connect(self.submit)
        self.field.textEdited.connect(lambda _t: self.error.hide())
        self.button = QPushButton("Follow")
        self.button.clicked.connect(self.submit)
        self.result = QLabel()
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
            self.show_error("Paste someone's public key or share link first.")
            return
        self.button.setEnabled(False)
        source = self.source
        self.bridge.request(lambda desk: desk.follow(text, source), self._done, self._failed)

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
        self.resize(620, 160)


class FollowingView(QWidget):
    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.model = FollowingModel(bridge, self)
        self.form = FollowForm(bridge, self)
        self.list = QListView()
        self.list.setModel(self.model)
        self.list.setAlternatingRowColors(True)
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        self.empty = QLabel(
            "You follow nobody yet. Ask someone for their key or share link and paste it above."
        )
        self.empty.setWordWrap(True)
        self.unfollow_button = QPushButton("Unfollow")
        self.mute_button = QPushButton("Mute")
        self.copy_button = QPushButton("Copy key")
        self.unfollow_button.clicked.connect(self.unfollow_selected)
        self.mute_button.clicked.connect(self.toggle_mute_selected)
        self.copy_button.clicked.connect(self._copy_key)
        self.error = QLabel()
        self.error.setStyleSheet("color: #c0392b")
        self.error.setWordWrap(True)
        self.error.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.unfollow_button)
        buttons.addWidget(self.mute_button)
        buttons.addWidget(self.copy_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        title = QLabel("<h2>Following</h2>")
        title.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(title)
        layout.addWidget(self.form)
        layout.addWidget(self.empty)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        self.model.refreshed.connect(self._update)
        self.list.selectionModel().selectionChanged.connect(lambda *_: self._update())
        self._update()

    def showEvent(self, event: QShowEvent) -> None:
        self.model.refresh()
        super().showEvent(event)

    def selected(self) -> AuthorItem | None:
        index = self.list.currentIndex()
        item = index.data(ItemRole) if index.isValid() else None
        return item if isinstance(item, AuthorItem) else None

    def _update(self) -> None:
        self.empty.setVisible(self.model.rowCount() == 0)
        item = self.selected()
        for button in (self.unfollow_button, self.mute_button, self.copy_button):
            button.setEnabled(item is not None)
        self.mute_button.setText("Unmute" if item is not None and item.muted else "Mute")

    def select_key(self, key: bytes) -> None:
        for row, item in enumerate(self.model.items()):
            if item.key == key:
                self.list.setCurrentIndex(self.model.index(row))

    def unfollow_selected(self, *, confirm: bool = True) -> None:
        item = self.selected()
        if item is None:
            return
        if confirm and (
            QMessageBox.question(
                self,
                "Unfollow",
                f"Stop following {item.name}? Their posts already stored stay until you "
                "delete them, but no new ones are fetched.",
            )
            != QMessageBox.StandardButton.Yes
        ):
            return
        key = item.key
        self.bridge.request(lambda desk: desk.unfollow(key), None, self._failed)

    def toggle_mute_selected(self) -> None:
        item = self.selected()
        if item is None:
            return
        key, on = item.key, not item.muted
        self.bridge.request(lambda desk: desk.set_muted(key, on), None, self._failed)

    def _copy_key(self) -> None:
        item = self.selected()
        if item is not None:
            QGuiApplication.clipboard().setText(item.key_text)

    def _failed(self, error: BaseException) -> None:
        self.error.setText(describe(error))
        self.error.show()
