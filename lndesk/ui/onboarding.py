"""The first-run wizard: create an identity, or restore one from backup words or a backup file.

Nothing is written until the user commits on the last step of a path, so cancelling
earlier leaves no key file behind. A new key is generated when the wizard opens and is
written only after the user has typed back three of its backup words.

The wizard holds widgets only; what each path does is in :mod:`lndesk.app.onboard`. That
work seals the key (about half a second of Argon2) and opens the store (the node is not
running yet), so it runs in a worker thread (:class:`_Task`) while the wizard repaints
but takes no input.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from lndesk.app.onboard import (
    OnboardingResult,
    install_from_backup,
    install_from_words,
    install_new,
)
from lndesk.app.runtime import describe
from lndesk.content import MAX_NAME_CHARS
from lndesk.content_fields import is_blank_text
from lndesk.errors import PassphraseError
from lndesk.identity import Identity
from lndesk.keytext import key_to_link
from lndesk.ui import theme

__all__ = ["OnboardingResult", "OnboardingWizard", "run_onboarding"]

logger = logging.getLogger(__name__)

WELCOME, CREATE, WORDS, CONFIRM, RESTORE_WORDS, RESTORE_FILE, DONE = range(7)
CONFIRM_COUNT = 3
ERROR_STYLE = theme.ERROR_STYLE
Done = Callable[[Any, BaseException | None], None]


MINIMUM_SIZE = (600, 460)
"""The wizard's smallest size (pixels): no text of any page is cut off at it."""


def run_onboarding(data_dir: Path, parent: QWidget | None = None) -> OnboardingResult | None:
    """Show the wizard modally; the new identity, or None if the user cancelled first."""
    wizard = OnboardingWizard(data_dir, parent)
    wizard.exec()
    result = wizard.outcome
    wizard.deleteLater()
    return result


def normalize_word(text: str) -> str:
    return "".join(text.split()).lower()


def _error_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(ERROR_STYLE)
    label.setObjectName("error")
    label.hide()
    return label


def _show(label: QLabel, text: str) -> None:
    label.setText(text)
    label.setVisible(bool(text))


def _note(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label


def _name_field(placeholder: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setMaxLength(MAX_NAME_CHARS)
    edit.setPlaceholderText(placeholder)
    return edit


class _Task(QObject):
    """Runs one slow function (sealing a key, opening the store) in a worker thread and
    hands its result back on the GUI thread."""

    _finished = Signal(object, object)

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.busy = False
        self._done: Done | None = None
        self._finished.connect(self._deliver)

    def run(self, work: Callable[[], Any], done: Done) -> None:
        self.busy, self._done = True, done
        threading.Thread(target=self._work, args=(work,), name="lndesk-onboarding").start()

    def _work(self, work: Callable[[], Any]) -> None:
        try:
            result, error = work(), None
        except Exception as exc:
            result, error = None, exc
        try:
            self._finished.emit(result, error)
        except RuntimeError:  # the wizard is gone (the application is quitting)
            logger.debug("onboarding work finished after its window closed")

    @Slot(object, object)
    def _deliver(self, result: Any, error: Any) -> None:
        self.busy = False
        done, self._done = self._done, None
        if done is not None:
            done(result, error)


class _NewPassphrase(QWidget):
    """An optional passphrase typed twice; the mismatch is shown as the user types."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.first, self.second = QLineEdit(), QLineEdit()
        for edit, hint in ((self.first, "Passphrase"), (self.second, "Repeat passphrase")):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setPlaceholderText(hint)
            edit.textChanged.connect(self._changed)
        self.error = _error_label()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(
            _note(
                "Optional. A passphrase protects your key file on this computer: whoever "
                "copies the file also needs the passphrase. Nobody can recover it if you "
                "forget it, but your backup words still restore your identity."
            )
        )
        for widget in (self.first, self.second, self.error):
            layout.addWidget(widget)

    def _changed(self) -> None:
        mismatch = bool(self.second.text()) and self.first.text() != self.second.text()
        _show(self.error, "The two passphrases differ." if mismatch else "")
        self.changed.emit()

    def is_acceptable(self) -> bool:
        return self.first.text() == self.second.text()

    def value(self) -> str | None:
        return self.first.text() or None


class _Page(QWizardPage):
    """A page with an inline error line, routing to ``next_id``, and, for the page that
    writes the identity (``commit``: the button's text), work in the worker thread."""

    def __init__(self, title: str, subtitle: str, next_id: int, commit: str = "") -> None:
        super().__init__()
        self.setTitle(title)
        self.next_id = next_id
        if commit:
            self.setCommitPage(True)
            self.setButtonText(QWizard.WizardButton.CommitButton, commit)
        self.layout_ = QVBoxLayout(self)
        # Not the wizard's subtitle: its header has a fixed height, and what says the
        # most (that anyone with the words can publish as you) was cut off there.
        self.intro = _note(subtitle)
        self.intro.setVisible(bool(subtitle))
        self.layout_.addWidget(self.intro)
        self.error = _error_label()
        self.status = QLabel()
        self.busy = False

    def owner(self) -> OnboardingWizard:
        wizard = self.wizard()
        assert isinstance(wizard, OnboardingWizard)
        return wizard

    def finish_layout(self) -> None:
        self.layout_.addStretch(1)
        self.layout_.addWidget(self.status)
        self.layout_.addWidget(self.error)

    def nextId(self) -> int:
        return self.next_id

    def ready(self) -> bool:
        """Whether the page's fields allow going on."""
        return True

    def isComplete(self) -> bool:
        return not self.busy and self.ready()

    def commit(self, status: str, work: Callable[[], OnboardingResult]) -> bool:
        """Run ``work`` in the worker thread; on success record its result and move on."""
        wizard = self.owner()
        if wizard.outcome is not None:
            return True
        if self.busy:
            return False
        self.busy = True
        _show(self.error, "")
        self.status.setText(status)
        wizard.setEnabled(False)  # no Back, Cancel or edits while the key is written
        self.completeChanged.emit()
        wizard.task.run(work, self._committed)
        return False

    def _committed(self, result: Any, error: BaseException | None) -> None:
        self.busy = False
        self.status.setText("")
        wizard = self.owner()
        wizard.setEnabled(True)
        if error is not None:
            logger.info("onboarding step failed: %s", type(error).__name__)
            _show(self.error, self.explain(error))
        else:
            wizard.outcome = result
        self.completeChanged.emit()
        if error is None:
            wizard.next()

    def explain(self, error: BaseException) -> str:
        return describe(error)


class WelcomePage(_Page):
    def __init__(self) -> None:
        super().__init__(
            "Welcome to lndesk",
            "Your identity is a key kept on this computer. Everything you publish is signed "
            "with it, so your followers know it is you. There is no account and no server.",
            CREATE,
        )
        self.new = QRadioButton("Create a new identity")
        self.restore_words = QRadioButton("Restore from backup words")
        self.restore_file = QRadioButton("Restore from a backup file")
        self.new.setChecked(True)
        group = QButtonGroup(self)
        for button, note in (
            (self.new, "Start here if you are new to lndesk."),
            (self.restore_words, "You have the 24 words you wrote down."),
            (self.restore_file, "You saved a backup file from lndesk (key and posts)."),
        ):
            group.addButton(button)
            self.layout_.addWidget(button)
            hint = _note(note)
            hint.setIndent(24)
            self.layout_.addWidget(hint)
        self.finish_layout()

    def nextId(self) -> int:
        if self.restore_words.isChecked():
            return RESTORE_WORDS
        return RESTORE_FILE if self.restore_file.isChecked() else CREATE


class CreatePage(_Page):
    def __init__(self) -> None:
        super().__init__("Create your identity", "Choose the name people will see.", WORDS)
        form = QFormLayout()
        self.name = _name_field("Required; you can change it later")
        self.name.textChanged.connect(self.completeChanged)
        form.addRow("Display name", self.name)
        self.layout_.addLayout(form)
        self.passphrase = _NewPassphrase()
        self.passphrase.changed.connect(self.completeChanged)
        self.layout_.addWidget(self.passphrase)
        self.finish_layout()

    def ready(self) -> bool:
        return not is_blank_text(self.name.text()) and self.passphrase.is_acceptable()


class WordsPage(_Page):
    """The 24 backup words, numbered.

    There is deliberately no Copy button, and the words cannot be selected: the
    clipboard is readable by every program and is often kept in a history or synced to
    other devices, while words written on paper stay offline.
    """

    def __init__(self) -> None:
        super().__init__(
            "Write down your backup words",
            "These 24 words are your identity. Write them on paper, in order, and keep them "
            "somewhere safe. They restore your identity on any computer, and anyone who has "
            "them can publish as you.",
            CONFIRM,
        )
        grid = QGridLayout()
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.labels: list[QLabel] = []
        for i in range(24):
            label = QLabel()
            label.setFont(mono)
            grid.addWidget(label, i % 6, i // 6)
            self.labels.append(label)
        self.layout_.addLayout(grid)
        self.layout_.addWidget(_note("Next, you will type three of them to check your copy."))
        self.words: list[str] = []
        self.finish_layout()

    def initializePage(self) -> None:
        self.words = self.owner().new_identity.backup_words().split()
        for i, (label, word) in enumerate(zip(self.labels, self.words, strict=True), 1):
            label.setText(f"{i:2}. {word}")


class ConfirmWordsPage(_Page):
    """Three words asked back by number; the key is written once all three match.

    A wrong word is reported when the user leaves its field (not while typing it).
    """

    def __init__(self) -> None:
        super().__init__(
            "Check your backup words", "Type these words from your list.", DONE, "Create identity"
        )
        self.form = QFormLayout()
        self.layout_.addLayout(self.form)
        self.positions: list[int] = []
        """The 1-based numbers of the words asked for."""
        self.fields: list[QLineEdit] = []
        self._words: list[str] = []
        self.finish_layout()

    def initializePage(self) -> None:
        words = self.owner().new_identity.backup_words().split()
        if words == self._words:
            return  # back from a look at the words: same questions, answers kept
        self._words = words
        while self.form.rowCount():
            self.form.removeRow(0)
        self.positions = sorted(random.SystemRandom().sample(range(1, 25), CONFIRM_COUNT))
        self.fields = []
        for number in self.positions:
            edit = QLineEdit()
            edit.textChanged.connect(self._changed)
            edit.editingFinished.connect(self._check)
            self.form.addRow(f"Word {number}", edit)
            self.fields.append(edit)
        _show(self.error, "")

    def _wrong(self, typed_only: bool) -> list[int]:
        return [
            number
            for number, edit in zip(self.positions, self.fields, strict=True)
            if normalize_word(edit.text()) != self._words[number - 1]
            and (edit.text().strip() or not typed_only)
        ]

    def _changed(self) -> None:
        if self.error.isVisible() and not self._wrong(typed_only=True):
            _show(self.error, "")
        self.completeChanged.emit()

    def _check(self) -> None:
        wrong = self._wrong(typed_only=True)
        if wrong:
            which = " and ".join(str(n) for n in wrong)
            verb = "does" if len(wrong) == 1 else "do"
            plural = "s" if len(wrong) > 1 else ""
            _show(
                self.error,
                f"Word{plural} {which} {verb} not match. Press Back to look at your words.",
            )

    def ready(self) -> bool:
        return bool(self.fields) and not self._wrong(typed_only=False)

    def validatePage(self) -> bool:
        wizard = self.owner()
        identity, data_dir = wizard.new_identity, wizard.data_dir
        create = wizard.page(CREATE)
        assert isinstance(create, CreatePage)
        name, passphrase = create.name.text().strip(), create.passphrase.value()
        return self.commit(
            "Creating your identity…", lambda: install_new(data_dir, identity, passphrase, name)
        )


class RestoreWordsPage(_Page):
    def __init__(self) -> None:
        super().__init__(
            "Restore from backup words", "Type your 24 words, in order.", DONE, "Restore"
        )
        self.words = QPlainTextEdit()
        self.words.setPlaceholderText("word1 word2 word3 …")
        self.words.setTabChangesFocus(True)
        self.words.textChanged.connect(self.completeChanged)
        self.layout_.addWidget(self.words)
        self.fresh = QCheckBox("This key has never published anything")
        self.layout_.addWidget(self.fresh)
        self.layout_.addWidget(
            _note(
                "Tick this only for a key you created and never used. Otherwise lndesk first "
                "looks for your earlier posts on other computers, and you can publish once it "
                "has found them, so that old and new posts do not conflict."
            )
        )
        form = QFormLayout()
        self.name = _name_field("Optional")
        form.addRow("Display name", self.name)
        self.layout_.addLayout(form)
        self.passphrase = _NewPassphrase()
        self.passphrase.changed.connect(self.completeChanged)
        self.layout_.addWidget(self.passphrase)
        self.finish_layout()

    def ready(self) -> bool:
        return bool(self.words.toPlainText().strip()) and self.passphrase.is_acceptable()

    def validatePage(self) -> bool:
        words, fresh, data_dir = (
            self.words.toPlainText(),
            self.fresh.isChecked(),
            self.owner().data_dir,
        )
        name, passphrase = self.name.text().strip(), self.passphrase.value()
        return self.commit(
            "Restoring your identity…",
            lambda: install_from_words(data_dir, words, passphrase, fresh=fresh, name=name),
        )


class RestoreFilePage(_Page):
    def __init__(self) -> None:
        super().__init__(
            "Restore from a backup file",
            "Choose a backup file saved by lndesk. It holds your key and your posts.",
            DONE,
            "Restore",
        )
        row = QHBoxLayout()
        self.path = QLineEdit()
        self.path.setPlaceholderText("Backup file")
        self.path.textChanged.connect(self.completeChanged)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.path)
        row.addWidget(browse)
        self.layout_.addLayout(row)
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setPlaceholderText("Passphrase of this backup's key")
        self.passphrase.hide()  # shown when the backup's key turns out to be sealed
        self.layout_.addWidget(self.passphrase)
        self.latest = QCheckBox("I have not published anything since I saved this file")
        self.layout_.addWidget(self.latest)
        self.layout_.addWidget(
            _note(
                "If you are not sure, leave it unticked: you can read and follow at once, and "
                "publish as soon as lndesk finds your newest posts on another computer."
            )
        )
        self.finish_layout()

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a backup file")
        if path:
            self.path.setText(path)

    def ready(self) -> bool:
        return bool(self.path.text().strip())

    def validatePage(self) -> bool:
        path, data_dir = Path(self.path.text().strip()).expanduser(), self.owner().data_dir
        passphrase, latest = self.passphrase.text() or None, self.latest.isChecked()
        return self.commit(
            "Restoring your identity…",
            lambda: install_from_backup(data_dir, path, passphrase, latest=latest),
        )

    def explain(self, error: BaseException) -> str:
        if isinstance(error, PassphraseError):
            if self.passphrase.isHidden() or not self.passphrase.text():
                self.passphrase.show()
                self.passphrase.setFocus()
                return "This backup's key is protected by a passphrase. Enter it, then Restore."
            return "Wrong passphrase. It is case sensitive; try again."
        return super().explain(error)


class DonePage(_Page):
    def __init__(self) -> None:
        super().__init__("You are ready", "", -1)
        self.summary = _note("")
        self.link = QLabel()
        self.link.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.link.setWordWrap(True)
        self.link.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.layout_.addWidget(self.summary)
        self.layout_.addWidget(self.link)
        self.finish_layout()

    def initializePage(self) -> None:
        wizard = self.owner()
        wizard.setOption(QWizard.WizardOption.NoCancelButton, True)  # nothing left to cancel
        result = wizard.outcome
        if result is None:
            return
        self.link.setText(key_to_link(result.public_key, result.name))
        self.summary.setText(
            "Your identity is saved on this computer. Share this link so people can follow you:"
            if result.can_publish
            else "Your identity is restored, and reading and following work now. lndesk asks "
            "your peers how far your log goes; publishing starts once you confirm your latest "
            "entry under Identity, so that your log does not split in two. Your link:"
        )


class OnboardingWizard(QWizard):
    """The first-run wizard; :attr:`outcome` is set once an identity has been written."""

    def __init__(self, data_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self.outcome: OnboardingResult | None = None
        self.task = _Task(self)
        self._new_identity: Identity | None = None
        self.setWindowTitle("Set up lndesk")
        self.setMinimumSize(*MINIMUM_SIZE)  # every page's text fits from this size up
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        pages = (WelcomePage, CreatePage, WordsPage, ConfirmWordsPage, RestoreWordsPage)
        for page_id, page in enumerate((*pages, RestoreFilePage, DonePage)):
            self.setPage(page_id, page())
        self.setStartId(WELCOME)

    @property
    def new_identity(self) -> Identity:
        """The key offered on the create path; generated once, written only on commit."""
        if self._new_identity is None:
            self._new_identity = Identity.generate()
        return self._new_identity

    def reject(self) -> None:
        """Cancel, unless work is running or the identity is already written."""
        if self.task.busy:
            return
        if self.outcome is not None:
            self.accept()
            return
        super().reject()
