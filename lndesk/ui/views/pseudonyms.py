"""My pseudonyms, on the Identity screen: each one's name, key and share link, and
Reveal…, which asks first, saying what a reveal does and that it cannot be undone
(lndesk.app.pseudonyms, docs/protocol.md 10.13).

The passphrase field of the confirmation shows only when the pseudonym's key file is
sealed; a wrong passphrase is said in the dialog, which stays open to try again.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lndesk.app.desk import Desk
from lndesk.app.pseudonyms import listed, needs_passphrase
from lndesk.ui import theme
from lndesk.ui.bridge import Bridge
from lndesk.ui.format import error_text
from lndesk.wording import counted

TITLE = "Pseudonyms"
EMPTY = (
    "No pseudonyms yet. To ask a question without your name on it, write it as a question "
    "and choose Ask as a pseudonym… beside the compose box."
)
FileRole = Qt.ItemDataRole.UserRole + 1


def reveal_explanation(name: str) -> str:
    """What the confirmation says before revealing ``name`` (plain text)."""
    return (
        f"Reveal {name}? This publishes in your own log a statement, signed by you and by "
        f"{name}, that {name} is you. Everyone who reads your posts can then see it: "
        f"{name}'s questions, past and future, show under your name.\n\n"
        "A reveal cannot be undone: deleting it later does not hide the pseudonym again, "
        "and whoever has read it knows."
    )


def row_text(item: dict[str, Any]) -> str:
    """One pseudonym as the list shows it (plain text: its name is its profile's)."""
    if "problem" in item:
        return f"{item['name']}\nits key file cannot be read: {item['problem']}"
    state = "revealed as yours" if item["revealed"] else "not revealed"
    entries = counted(item["entries"], "entry", "entries")
    return f"{item['name']}  ({state}, {entries})\n{item['key']}"


class RevealDialog(QDialog):
    """Asks before revealing a pseudonym, with the passphrase if its key is sealed."""

    revealed = Signal(str)
    """The pseudonym's key file name, once the reveal is published."""

    def __init__(
        self, bridge: Bridge, name: str, file: str, sealed: bool, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Reveal {name}")
        self.bridge = bridge
        self._file = file
        self.explanation = QLabel(reveal_explanation(name))
        self.explanation.setTextFormat(Qt.TextFormat.PlainText)
        self.explanation.setWordWrap(True)
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = QLabel()
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setWordWrap(True)
        self.error.setStyleSheet(theme.ERROR_STYLE)
        self.error.hide()
        form = QFormLayout()
        form.addRow("Your passphrase", self.passphrase)
        label = form.labelForField(self.passphrase)
        self.passphrase.setVisible(sealed)
        if label is not None:
            label.setVisible(sealed)
        self._sealed = sealed
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.reveal_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.reveal_button.setText("Reveal")
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setDefault(True)  # Enter does not reveal
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.explanation)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def submit(self) -> None:
        secret = self.passphrase.text() if self._sealed else None
        if self._sealed and not secret:
            self.show_error("Enter your passphrase: the pseudonym's key file is sealed with it.")
            return
        self.error.hide()
        self.reveal_button.setEnabled(False)
        file = self._file

        def reveal(desk: Desk) -> Awaitable[int]:
            return desk.posting.reveal_pseudonym(file, secret)

        self.bridge.request_async(reveal, self._done, self._failed)

    def _done(self, _seq: int) -> None:
        self.revealed.emit(self._file)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.reveal_button.setEnabled(True)
        self.passphrase.selectAll()
        self.show_error(error_text(error))

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()


class PseudonymsPanel(QGroupBox):
    """The pseudonyms kept in this data directory, with Reveal… for the one selected."""

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(TITLE, parent)
        self.bridge = bridge
        self.rows: list[dict[str, Any]] = []
        self.empty = QLabel(EMPTY)
        self.empty.setWordWrap(True)
        self.list = QListWidget()
        self.list.setMaximumHeight(140)
        self.list.currentRowChanged.connect(lambda _row: self._update())
        self.reveal_button = QPushButton("Reveal…")
        self.reveal_button.setToolTip("Say, as yourself, that the selected pseudonym is you")
        self.reveal_button.clicked.connect(self.reveal_selected)
        self.message = QLabel()
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.message.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(self.empty)
        layout.addWidget(self.list)
        layout.addWidget(self.reveal_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.message)
        self.dialog: RevealDialog | None = None
        self._update()

    def refresh(self) -> None:
        self.bridge.request(lambda desk: listed(desk.service), self.show_rows, self._failed)

    def show_rows(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.list.clear()
        for row in rows:
            item = QListWidgetItem(row_text(row))
            item.setData(FileRole, row.get("file", row["name"]))
            item.setToolTip(row.get("link", ""))
            self.list.addItem(item)
        if rows:
            self.list.setCurrentRow(0)
        self._update()

    def selected(self) -> dict[str, Any] | None:
        row = self.list.currentRow()
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def _update(self) -> None:
        self.empty.setVisible(not self.rows)
        self.list.setVisible(bool(self.rows))
        self.reveal_button.setVisible(bool(self.rows))
        chosen = self.selected()
        self.reveal_button.setEnabled(
            chosen is not None and "problem" not in chosen and not chosen["revealed"]
        )

    def reveal_selected(self) -> None:
        chosen = self.selected()
        if chosen is None or "problem" in chosen or chosen["revealed"]:
            return
        name, file = str(chosen["name"]), str(chosen["file"])
        self.bridge.request(
            lambda desk: needs_passphrase(desk.service.data_dir, file),
            lambda sealed: self._confirm(name, file, sealed),
            self._failed,
        )

    def _confirm(self, name: str, file: str, sealed: bool) -> None:
        self.dialog = RevealDialog(self.bridge, name, file, sealed, self)
        self.dialog.revealed.connect(self._revealed)
        self.dialog.open()

    def _revealed(self, _file: str) -> None:
        self.message.setText("Revealed: readers of your posts can now see that it is you.")
        self.message.show()
        self.refresh()

    def _failed(self, error: BaseException) -> None:
        self.message.setText(error_text(error))
        self.message.show()
