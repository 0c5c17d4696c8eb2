"""Ask as a pseudonym…: the compose box's question, published under a second identity
(lndesk.app.pseudonyms), with what that hides and what it does not, said before asking.

The passphrase field shows only when the pseudonym's key (or, for a new one, the main
key) is sealed: the desk says so when Ask is pressed.
"""

from __future__ import annotations

from collections.abc import Awaitable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from lndesk.app.desk import Desk
from lndesk.app.pseudonyms import WHAT_IT_DOES_NOT_HIDE, WHAT_IT_HIDES, needs_passphrase
from lndesk.errors import LndeskError
from lndesk.pseudonyms import check_name
from lndesk.ui import theme
from lndesk.ui.bridge import Bridge
from lndesk.ui.format import error_text

TITLE = "Ask as a pseudonym"


class PseudonymAskDialog(QDialog):
    """The name to ask under (made on first use), the passphrase if needed, and Ask."""

    asked = Signal(str, str)
    """The pseudonym's name and its share link, once the question is published."""

    def __init__(
        self,
        bridge: Bridge,
        text: str,
        tags: list[str],
        links: list[str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.bridge = bridge
        self._question = (text, tags, links)
        self.explanation = QLabel(
            f"{WHAT_IT_HIDES}\n\n{WHAT_IT_DOES_NOT_HIDE}\n\nA new name makes a new "
            "pseudonym: its own key and log, and a profile with only that name. You can "
            "reveal it later with a signed statement from your own identity (Identity, "
            "Pseudonyms); until then nothing you publish links the two."
        )
        self.explanation.setWordWrap(True)
        self.name = QLineEdit()
        self.name.setPlaceholderText("curious-fox")
        self.name.setMaxLength(32)
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(theme.ERROR_STYLE)
        self.error.hide()
        form = QFormLayout()
        form.addRow("Pseudonym", self.name)
        form.addRow("Passphrase", self.passphrase)
        self._passphrase_label = form.labelForField(self.passphrase)
        self._show_passphrase(False)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ask_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ask_button.setText("Ask")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.explanation)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def _show_passphrase(self, shown: bool) -> None:
        self.passphrase.setVisible(shown)
        if self._passphrase_label is not None:
            self._passphrase_label.setVisible(shown)

    def submit(self) -> None:
        name = self.name.text().strip()
        try:
            check_name(name)
        except LndeskError as exc:
            self.show_error(exc.describe())
            return
        self.error.hide()
        self.ask_button.setEnabled(False)

        def needed(desk: Desk) -> bool:
            return needs_passphrase(desk.service.data_dir, name)

        self.bridge.request(needed, lambda need: self._publish(name, need), self._failed)

    def _publish(self, name: str, need: bool) -> None:
        if need and not self.passphrase.isVisible():
            self._show_passphrase(True)
            self.passphrase.setFocus()
            self.ask_button.setEnabled(True)
            self.show_error("Your key file is sealed: enter your passphrase to ask.")
            return
        secret = self.passphrase.text() if need else None
        text, tags, links = self._question

        def ask(desk: Desk) -> Awaitable[tuple[int, str]]:
            return desk.posting.ask_as_pseudonym(name, text, tags, links, secret)

        self.bridge.request_async(ask, lambda done: self._asked(name, done[1]), self._failed)

    def _asked(self, name: str, link: str) -> None:
        self.asked.emit(name, link)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.ask_button.setEnabled(True)
        self.show_error(error_text(error))

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()
