"""The first-run wizard, driven like a user would: fill fields, press Next, Back and Cancel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWizard
from ui_helpers import KEY_WORK_MS

from lndesk.app.datadir import KEY_NAME
from lndesk.app.ownlog import OWN_LOG_CONFIRMED, OWN_LOG_RESTORED, load_own_log
from lndesk.app.service import Service, create_identity
from lndesk.identity import Identity
from lndesk.keyfile import decode_key_file, is_sealed, read_key_file
from lndesk.ui.onboarding import (
    DONE,
    RESTORE_FILE,
    RESTORE_WORDS,
    WORDS,
    ConfirmWordsPage,
    CreatePage,
    OnboardingWizard,
    RestoreFilePage,
    RestoreWordsPage,
    WelcomePage,
    WordsPage,
    run_onboarding,
)

Button = QWizard.WizardButton


def open_wizard(qtbot: Any, data_dir: Path) -> OnboardingWizard:
    wizard = OnboardingWizard(data_dir)
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard


def press(wizard: OnboardingWizard, which: QWizard.WizardButton) -> None:
    button = wizard.button(which)
    assert button.isVisible() and button.isEnabled(), f"{which} is not available"
    button.click()


def choose(wizard: OnboardingWizard, path: str) -> None:
    welcome = wizard.currentPage()
    assert isinstance(welcome, WelcomePage)
    {"words": welcome.restore_words, "file": welcome.restore_file, "new": welcome.new}[
        path
    ].setChecked(True)
    press(wizard, Button.NextButton)


def wait_done(qtbot: Any, wizard: OnboardingWizard) -> None:
    qtbot.waitUntil(
        lambda: wizard.currentId() == DONE or wizard.currentPage().error.isVisible(),
        timeout=KEY_WORK_MS,
    )
    assert wizard.currentId() == DONE, wizard.currentPage().error.text()


def test_create_with_passphrase_and_checked_words(qtbot: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "ann"
    wizard = open_wizard(qtbot, data_dir)
    choose(wizard, "new")
    create = wizard.currentPage()
    assert isinstance(create, CreatePage)
    assert not wizard.button(Button.NextButton).isEnabled()  # a name is required
    create.name.setText("Ann Lee")
    create.passphrase.first.setText("correct horse")
    create.passphrase.second.setText("correct hors")
    assert create.passphrase.error.isVisible()
    assert create.passphrase.error.text() == "The two passphrases differ."
    assert not wizard.button(Button.NextButton).isEnabled()
    create.passphrase.second.setText("correct horse")
    assert create.passphrase.error.isHidden()
    press(wizard, Button.NextButton)

    words_page = wizard.currentPage()
    assert isinstance(words_page, WordsPage)
    words = words_page.words
    assert len(words) == 24
    assert words_page.labels[3].text() == f" 4. {words[3]}"
    press(wizard, Button.NextButton)

    confirm = wizard.currentPage()
    assert isinstance(confirm, ConfirmWordsPage)
    positions = list(confirm.positions)
    assert len(positions) == 3 and all(1 <= n <= 24 for n in positions)
    commit = wizard.button(Button.CommitButton)
    assert not commit.isEnabled()
    first, second, third = confirm.fields
    first.setText("notaword")
    first.editingFinished.emit()
    assert confirm.error.isVisible()
    assert confirm.error.text().startswith(f"Word {positions[0]} does not match")
    assert not commit.isEnabled()

    press(wizard, Button.BackButton)  # look again: same questions afterwards
    assert wizard.currentId() == WORDS
    press(wizard, Button.NextButton)
    assert confirm.positions == positions

    first.setText(f"  {words[positions[0] - 1].upper()} ")
    assert confirm.error.isHidden()
    second.setText(words[positions[1] - 1])
    assert not commit.isEnabled()
    third.setText(words[positions[2] - 1])
    assert commit.isEnabled()
    assert not (data_dir / KEY_NAME).exists()  # nothing is written before the commit
    press(wizard, Button.CommitButton)
    wait_done(qtbot, wizard)
    assert not wizard.button(Button.BackButton).isEnabled()  # the key is written: no way back
    assert not wizard.button(Button.CancelButton).isVisible()
    wizard.reject()  # Escape or closing the window now keeps the new identity
    assert wizard.result() == QWizard.DialogCode.Accepted

    result = wizard.outcome
    assert result is not None
    assert result.name == "Ann Lee" and result.name_saved and result.can_publish
    assert result.passphrase == "correct horse"
    key_file = read_key_file(data_dir / KEY_NAME)
    assert is_sealed(key_file)
    identity = decode_key_file(key_file, "correct horse")
    assert identity.public_key == result.public_key
    assert identity.backup_words().split() == words
    assert load_own_log(data_dir).state == OWN_LOG_CONFIRMED
    with Service(data_dir, identity=identity) as service:
        assert service.own_state().name == "Ann Lee"


def test_cancel_before_confirmation_writes_nothing(qtbot: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "ann"
    wizard = open_wizard(qtbot, data_dir)
    choose(wizard, "new")
    create = wizard.currentPage()
    assert isinstance(create, CreatePage)
    create.name.setText("Ann")
    press(wizard, Button.NextButton)
    press(wizard, Button.NextButton)
    confirm = wizard.currentPage()
    assert isinstance(confirm, ConfirmWordsPage)
    words = wizard.new_identity.backup_words().split()
    for field, number in zip(confirm.fields, confirm.positions, strict=True):
        field.setText(words[number - 1])
    press(wizard, Button.CancelButton)
    assert wizard.result() == QWizard.DialogCode.Rejected
    assert wizard.outcome is None
    assert not data_dir.exists()


def test_run_onboarding_returns_none_when_cancelled(qapp: Any, tmp_path: Path) -> None:
    def cancel() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, OnboardingWizard)
        dialog.reject()

    QTimer.singleShot(0, cancel)
    assert run_onboarding(tmp_path / "ann") is None
    assert not (tmp_path / "ann").exists()


def test_restore_from_words(qtbot: Any, tmp_path: Path) -> None:
    original = Identity.generate()
    data_dir = tmp_path / "ann"
    wizard = open_wizard(qtbot, data_dir)
    choose(wizard, "words")
    assert wizard.currentId() == RESTORE_WORDS
    page = wizard.currentPage()
    assert isinstance(page, RestoreWordsPage)
    commit = wizard.button(Button.CommitButton)
    assert not commit.isEnabled()

    page.words.setPlainText("abandon " * 24)  # right count and words, wrong checksum
    press(wizard, Button.CommitButton)
    qtbot.waitUntil(lambda: not page.busy, timeout=KEY_WORK_MS)
    assert page.error.isVisible()
    assert "checksum" in page.error.text()
    assert "24 words" in page.error.text()  # the hint is shown too
    assert wizard.currentId() == RESTORE_WORDS
    assert not (data_dir / KEY_NAME).exists()

    page.words.setPlainText(original.backup_words().upper().replace(" ", "\n  "))
    page.name.setText("Ann")
    press(wizard, Button.CommitButton)
    wait_done(qtbot, wizard)
    result = wizard.outcome
    assert result is not None
    assert result.public_key == original.public_key
    assert result.passphrase is None and result.name == "Ann"
    assert not result.can_publish and not result.name_saved  # may have published before
    key_file = read_key_file(data_dir / KEY_NAME)
    assert not is_sealed(key_file)
    assert decode_key_file(key_file).public_key == original.public_key
    assert load_own_log(data_dir).state == OWN_LOG_RESTORED


def test_restore_fresh_key_sets_the_name(qtbot: Any, tmp_path: Path) -> None:
    original = Identity.generate()
    data_dir = tmp_path / "ann"
    wizard = open_wizard(qtbot, data_dir)
    choose(wizard, "words")
    page = wizard.currentPage()
    assert isinstance(page, RestoreWordsPage)
    page.words.setPlainText(original.backup_words())
    page.fresh.setChecked(True)
    page.name.setText("Ann")
    press(wizard, Button.CommitButton)
    wait_done(qtbot, wizard)
    result = wizard.outcome
    assert result is not None and result.can_publish and result.name_saved
    with Service(data_dir, identity=original) as service:
        assert service.own_state().name == "Ann"


def test_restore_from_backup_file(qtbot: Any, tmp_path: Path) -> None:
    source = tmp_path / "old"
    identity = create_identity(source, "correct horse")
    backup = tmp_path / "ann.backup"
    with Service(source, identity=identity) as service:
        service.set_profile("Ann")
        service.post("hello")
        assert service.export(backup) == 2

    data_dir = tmp_path / "ann"
    wizard = open_wizard(qtbot, data_dir)
    choose(wizard, "file")
    assert wizard.currentId() == RESTORE_FILE
    page = wizard.currentPage()
    assert isinstance(page, RestoreFilePage)
    assert page.passphrase.isHidden()
    page.path.setText(str(tmp_path / "missing.backup"))
    press(wizard, Button.CommitButton)
    qtbot.waitUntil(page.error.isVisible, timeout=KEY_WORK_MS)
    assert "cannot read" in page.error.text()

    page.path.setText(str(backup))
    press(wizard, Button.CommitButton)  # the key is sealed: ask for its passphrase
    qtbot.waitUntil(page.error.isVisible, timeout=KEY_WORK_MS)
    assert page.error.text() == (
        "This backup's key is protected by a passphrase. Enter it, then Restore."
    )
    assert page.passphrase.isVisible()
    assert not (data_dir / KEY_NAME).exists()

    page.passphrase.setText("wrong horse")
    press(wizard, Button.CommitButton)
    qtbot.waitUntil(lambda: not page.busy, timeout=KEY_WORK_MS)
    assert page.error.text() == "Wrong passphrase. It is case sensitive; try again."
    assert not (data_dir / KEY_NAME).exists()

    page.passphrase.setText("correct horse")
    press(wizard, Button.CommitButton)
    wait_done(qtbot, wizard)
    result = wizard.outcome
    assert result is not None
    assert result.public_key == identity.public_key
    assert result.name == "Ann" and result.name_saved
    assert result.passphrase == "correct horse"
    assert not result.can_publish  # "nothing published since" was not ticked
    assert result.identity is not None
    with Service(data_dir, identity=result.identity) as service:
        assert service.own_state().height == 2
