"""Mark helpful as a pseudonym: the passphrase asked before an answer to a question one
of my pseudonyms asked is marked (or its mark taken back), when the pseudonym's key file
is sealed (lndesk.app.pseudonym_marks).

The mark is signed by the pseudonym and goes in its log, never in mine; the dialog says
so. A wrong passphrase publishes nothing: the dialog stays open and says what to do.
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
from lndesk.entry_refs import PostKey
from lndesk.ui import theme
from lndesk.ui.bridge import Bridge
from lndesk.ui.format import error_text

TITLE = "Mark as your pseudonym"
EMPTY = "Enter your passphrase: it opens the pseudonym's key file."


class PseudonymMarkDialog(QDialog):
    """The passphrase, and Mark helpful (or Take the mark back)."""

    marked = Signal(int)
    """The seq of the entry appended to the pseudonym's log."""

    def __init__(
        self,
        bridge: Bridge,
        answer: PostKey,
        on: bool,
        pseudonym: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.bridge = bridge
        self._answer = answer
        self._on = on
        what = "mark this answer as helpful" if on else "take its mark back"
        self.explanation = QLabel(
            f"You asked this question as your pseudonym {pseudonym}: to {what}, the "
            "pseudonym signs, in its own log, so nothing links it to you. Its key file is "
            "sealed with your passphrase."
        )
        self.explanation.setWordWrap(True)
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(theme.ERROR_STYLE)
        self.error.hide()
        form = QFormLayout()
        form.addRow("Passphrase", self.passphrase)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.mark_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.mark_button.setText("Mark helpful" if on else "Take the mark back")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.explanation)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.passphrase.setFocus()

    def submit(self) -> None:
        secret = self.passphrase.text()
        if not secret:
            self.show_error(EMPTY)
            return
        self.error.hide()
        self.mark_button.setEnabled(False)
        answer, on = self._answer, self._on

        def mark(desk: Desk) -> Awaitable[int]:
            return desk.answers.mark_helpful(answer, on, secret)

        self.bridge.request_async(mark, self._marked, self._failed)

    def _marked(self, seq: int) -> None:
        self.marked.emit(seq)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.mark_button.setEnabled(True)
        self.show_error(error_text(error))

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()
