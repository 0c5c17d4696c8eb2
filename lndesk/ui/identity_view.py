"""The Identity screen: my key and share link (with a QR code), my profile, my key backup.

Everything comes from and goes to the desk through the bridge; nothing here waits for
the node. The profile form keeps what the user typed while a save is under way and
until it succeeds, so a refused save (a restored identity that may not publish yet)
loses nothing. Backup words are shown only after the user asked twice, and are removed
from the screen when it is left. File dialogs only pick paths: the work is in
:meth:`IdentityView.save_backup_to` and :meth:`IdentityView.import_backup_from`, which
tests call directly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication, QHideEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from lndesk.app.events import EntriesStored, FeedSynced, LocalChanged, NodeWarning
from lndesk.app.items import IdentityInfo
from lndesk.app.runtime import describe
from lndesk.content import MAX_BIO_CHARS, MAX_NAME_CHARS
from lndesk.content_fields import is_blank_text
from lndesk.errors import LndeskError, OwnLogUnknownError
from lndesk.keytext import short_key
from lndesk.ui import theme
from lndesk.ui.avatar import avatar_from_file
from lndesk.ui.avatar_worker import avatar_decoder, avatar_now
from lndesk.ui.bridge import Bridge
from lndesk.ui.qr import qr_pixmap
from lndesk.ui.restore_panel import RestorePanel
from lndesk.ui.views.pseudonyms import PseudonymsPanel

logger = logging.getLogger(__name__)

ERROR_STYLE = theme.ERROR_STYLE
HEADER_AVATAR = 64
FORM_AVATAR = 48
COPIED_MS = 3000
WAITING_FOR_OWN_LOG = (
    "This identity was restored: publishing, including your profile, starts once you "
    "confirm your latest entry above, so that your log does not split in two. Your "
    "changes are kept here: save again then."
)


def _label(text: str = "", *, selectable: bool = False, wrap: bool = True) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(wrap)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _button(text: str, slot: Callable[[], object]) -> QPushButton:
    button = QPushButton(text)
    button.clicked.connect(slot)
    return button


def _row(*widgets: QWidget) -> QHBoxLayout:
    """Widgets side by side, left-aligned."""
    row = QHBoxLayout()
    for widget in widgets:
        row.addWidget(widget)
    row.addStretch(1)
    return row


def _show(label: QLabel, text: str, *, error: bool = False) -> None:
    label.setStyleSheet(ERROR_STYLE if error else "")
    label.setText(text)
    label.setVisible(bool(text))


def size_text(size: int) -> str:
    return f"{size / 1024:.1f} KB"


def entries(count: int) -> str:
    return f"{count} entry" if count == 1 else f"{count} entries"


def ask_passphrase_again(parent: QWidget) -> str | None:
    text, ok = QInputDialog.getText(
        parent,
        "Show backup words",
        "Type your passphrase to show your backup words:",
        QLineEdit.EchoMode.Password,
    )
    return text if ok else None


class IdentityView(QWidget):
    """The Identity screen. :attr:`info` is the identity as last shown (None until loaded)."""

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.info: IdentityInfo | None = None
        self.ask_passphrase: Callable[[QWidget], str | None] = ask_passphrase_again
        """Asks for the key file's passphrase before the words are shown (None: cancelled)."""
        self.avatar = b""
        """The avatar in the form (saved with the profile)."""
        self.saving = False
        self._edited = False
        self._loading = False
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

        # --- heading ---
        self.avatar_label = QLabel()
        self.name_label = _label("Loading…", wrap=False)
        font = self.name_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.name_label.setFont(font)
        self.short_key_label = _label(selectable=True)
        self.publish_note = _label()
        self.publish_note.hide()
        heading_text = QVBoxLayout()
        for label in (self.name_label, self.short_key_label, self.publish_note):
            heading_text.addWidget(label)
        heading = QHBoxLayout()
        heading.addWidget(self.avatar_label, 0, Qt.AlignmentFlag.AlignTop)
        heading.addLayout(heading_text, 1)

        # --- key, link, QR ---
        self.key_label = _label(selectable=True)
        self.key_label.setFont(mono)
        self.copy_key_button = _button("Copy key", self.copy_key)
        self.copy_key_button.setToolTip("Copy your public key (Ctrl+Shift+C)")
        self.link_label = _label(selectable=True)
        self.link_label.setFont(mono)
        self.copy_link_button = _button("Copy link", self.copy_link)
        self.copied = _label()
        self._copied_timer = bridge.timer(self, lambda: _show(self.copied, ""))
        self.qr_label = QLabel()
        self.qr_label.setToolTip("Scan this code with another device to follow you.")
        key_box = QGroupBox("Your key")
        key_grid = QGridLayout(key_box)
        intro = _label(
            "People follow you with your public key or share link; both are safe to share."
        )
        key_grid.addWidget(intro, 0, 0, 1, 2)
        key_grid.addWidget(self.key_label, 1, 0)
        key_grid.addWidget(self.copy_key_button, 1, 1)
        key_grid.addWidget(self.link_label, 2, 0)
        key_grid.addWidget(self.copy_link_button, 2, 1)
        key_grid.addWidget(self.copied, 3, 0, 1, 2)
        key_grid.addWidget(self.qr_label, 4, 0, 1, 2, Qt.AlignmentFlag.AlignLeft)
        key_grid.setColumnStretch(0, 1)
        QShortcut(
            QKeySequence("Ctrl+Shift+C"),
            self,
            self.copy_key,
            context=Qt.ShortcutContext.WidgetWithChildrenShortcut,
        )

        # --- profile ---
        self.name_edit = QLineEdit()
        self.name_edit.setMaxLength(MAX_NAME_CHARS)
        self.name_edit.setPlaceholderText("The name people see")
        self.bio_edit = QPlainTextEdit()
        self.bio_edit.setPlaceholderText("A few words about you and what you share (optional)")
        self.bio_edit.setMaximumHeight(110)
        self.bio_count = _label()
        self.avatar_preview = QLabel()
        self.avatar_size = _label()
        self.choose_button = _button("Choose image…", self.choose_avatar)
        self.remove_button = _button("Remove avatar", self.remove_avatar)
        avatar_row = _row(
            self.avatar_preview, self.choose_button, self.remove_button, self.avatar_size
        )
        self.save_button = _button("Save profile", self.save_profile)
        self.profile_message = _label(selectable=True)
        self.profile_message.hide()
        profile_box = QGroupBox("Profile")
        profile_form = QFormLayout(profile_box)
        profile_form.addRow("Name", self.name_edit)
        profile_form.addRow("About you", self.bio_edit)
        profile_form.addRow("", self.bio_count)
        profile_form.addRow("Avatar", avatar_row)
        profile_form.addRow(self.profile_message)
        profile_form.addRow(self.save_button)
        self.name_edit.textChanged.connect(self._form_changed)
        self.bio_edit.textChanged.connect(self._form_changed)

        # --- backup ---
        self.sealed_label = _label()
        self.words_button = _button("Show backup words…", self.ask_words)
        self.save_backup_button = _button("Save backup file…", self.save_backup)
        self.import_button = _button("Import backup file…", self.import_backup)
        self.words_panel = self._words_panel(mono)
        self.backup_message = _label(selectable=True)
        self.backup_message.hide()
        self.latest_box = QCheckBox(
            "Nothing was published with this key after the backup file was made "
            "(lets this restored identity publish again at once)"
        )
        self.latest_box.hide()
        buttons = _row(self.words_button, self.save_backup_button, self.import_button)
        backup_box = QGroupBox("Key backup")
        backup_layout = QVBoxLayout(backup_box)
        backup_layout.addWidget(
            _label(
                "Your 24 backup words restore your identity on any computer; keep them on "
                "paper. A backup file holds your key and all your posts; keep it safe too."
            )
        )
        backup_layout.addWidget(self.sealed_label)
        backup_layout.addLayout(buttons)
        backup_layout.addWidget(self.latest_box)
        backup_layout.addWidget(self.words_panel)
        backup_layout.addWidget(self.backup_message)

        content = QWidget()
        column = QVBoxLayout(content)
        column.addLayout(heading)
        self.restore_panel = RestorePanel(bridge)
        self.restore_panel.confirmed.connect(self.refresh)
        self.pseudonyms = PseudonymsPanel(bridge)
        for box in (self.restore_panel, key_box, profile_box, backup_box, self.pseudonyms):
            column.addWidget(box)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        bridge.node_event.connect(self._on_event)
        avatar_decoder().changed.connect(self._show_avatars)
        self._update_form_state()
        self.refresh()

    def _words_panel(self, mono: QFont) -> QFrame:
        panel = QFrame()
        panel.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(panel)
        layout.addWidget(
            _label(
                "Anyone who sees these words can publish as you. Make sure nobody can see "
                "your screen, and do not take a screenshot."
            )
        )
        self.reveal_button = _button("Show the words", self.reveal_words)
        self.hide_words_button = _button("Hide", self.hide_words)
        layout.addLayout(_row(self.reveal_button, self.hide_words_button))
        grid = QGridLayout()
        self.word_labels: list[QLabel] = []
        for i in range(24):
            label = QLabel()
            label.setFont(mono)
            grid.addWidget(label, i % 6, i // 6)
            self.word_labels.append(label)
        layout.addLayout(grid)
        panel.hide()
        return panel

    # --- what the desk says --------------------------------------------------------

    def refresh(self) -> None:
        self.bridge.request(
            lambda desk: desk.account.identity(), done=self.show_info, failed=self._failed
        )
        self.pseudonyms.refresh()

    def _on_event(self, event: object) -> None:
        if isinstance(event, LocalChanged) and event.what == "profile":
            self.refresh()
        elif isinstance(event, LocalChanged) and event.what == "published":
            self.pseudonyms.refresh()  # a question asked as a new pseudonym made one
        elif (
            self.info is not None
            and not self.info.can_publish
            and isinstance(event, NodeWarning | FeedSynced | EntriesStored)
        ):
            self.refresh()  # a restored identity: what peers say changes the banner

    def _failed(self, error: BaseException) -> None:
        logger.info("the identity could not be loaded: %s", describe(error))
        self.name_label.setText("Your identity could not be loaded")
        _show(self.publish_note, describe(error), error=True)

    def show_info(self, info: IdentityInfo) -> None:
        self.info = info
        self.name_label.setText(info.name or "No name yet")
        self.short_key_label.setText(short_key(info.key))
        self._show_avatars()
        _show(self.publish_note, "" if info.can_publish else WAITING_FOR_OWN_LOG)
        self.latest_box.setVisible(not info.can_publish)
        self.restore_panel.show_status(info.restore)
        self.key_label.setText(info.key_text)
        self.link_label.setText(info.link)
        qr = qr_pixmap(info.link)
        self.qr_label.setPixmap(qr)
        self.qr_label.setFixedSize(qr.size())  # never squeezed: a cut QR code cannot be scanned
        self.sealed_label.setText(
            "Your key file on this computer is protected by a passphrase."
            if info.sealed
            else "Your key file on this computer has no passphrase: keep this computer's "
            "account safe."
        )
        if not self._edited and not self.saving:
            self._loading = True
            self.name_edit.setText(info.name)
            self.bio_edit.setPlainText(info.bio)
            self._loading = False
            self._set_avatar(info.avatar)
        self._update_form_state()

    # --- key and link ----------------------------------------------------------------

    def copy_key(self) -> None:
        if self.info is not None:
            QGuiApplication.clipboard().setText(self.info.key_text)
            self._copied("Your public key is copied.")

    def copy_link(self) -> None:
        if self.info is not None:
            QGuiApplication.clipboard().setText(self.info.link)
            self._copied("Your share link is copied.")

    def _copied(self, text: str) -> None:
        _show(self.copied, text)
        self._copied_timer.start(COPIED_MS)

    # --- profile ---------------------------------------------------------------------

    def _form_changed(self) -> None:
        if not self._loading:
            self._edited = True
        self._update_form_state()

    def _update_form_state(self) -> None:
        bio = len(self.bio_edit.toPlainText())
        self.bio_count.setText(f"{bio} / {MAX_BIO_CHARS} characters")
        self.bio_count.setStyleSheet(ERROR_STYLE if bio > MAX_BIO_CHARS else "")
        self.remove_button.setEnabled(bool(self.avatar))
        self.avatar_size.setText(size_text(len(self.avatar)) if self.avatar else "No avatar")
        self.save_button.setEnabled(self.info is not None and not self.saving)
        self.save_button.setText("Saving…" if self.saving else "Save profile")

    def _set_avatar(self, data: bytes) -> None:
        self.avatar = data
        self._show_avatars()
        self._update_form_state()

    def _show_avatars(self) -> None:
        """The heading's and the form's avatars, decoded off the GUI thread like everyone
        else's (the fingerprint until the picture is ready; shown again when it is)."""
        key = self.info.key if self.info is not None else b""
        if self.info is not None:
            self.avatar_label.setPixmap(avatar_now(self.info.avatar, HEADER_AVATAR, key))
        self.avatar_preview.setPixmap(avatar_now(self.avatar, FORM_AVATAR, key))

    def choose_avatar(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Choose an avatar",
            "",
            "PNG or JPEG pictures (*.png *.jpg *.jpeg *.PNG *.JPG *.JPEG);;All files (*)",
        )
        if path:
            self.set_avatar_from(Path(path))

    def set_avatar_from(self, path: Path) -> bool:
        """Make an avatar of the picture at ``path`` (not saved until Save profile)."""
        try:
            data = avatar_from_file(path)
        except LndeskError as exc:
            _show(self.profile_message, exc.describe(), error=True)
            return False
        self._edited = True
        self._set_avatar(data)
        _show(self.profile_message, "")
        return True

    def remove_avatar(self) -> None:
        self._edited = True
        self._set_avatar(b"")

    def save_profile(self) -> None:
        name, bio = self.name_edit.text().strip(), self.bio_edit.toPlainText().strip()
        if is_blank_text(name):
            _show(
                self.profile_message, "Enter a name: people see it next to your posts.", error=True
            )
            return
        if len(bio) > MAX_BIO_CHARS:
            _show(
                self.profile_message,
                f"The text about you is {len(bio)} characters long; shorten it to {MAX_BIO_CHARS}.",
                error=True,
            )
            return
        avatar = self.avatar
        self.saving = True
        _show(self.profile_message, "")
        self._update_form_state()
        self.bridge.request_async(
            lambda desk: desk.account.set_profile(name, bio, avatar),
            done=self._saved,
            failed=self._save_failed,
        )

    def _saved(self, _result: object) -> None:
        self.saving = False
        self._edited = False
        _show(self.profile_message, "Profile saved. Your followers get it with your next sync.")
        self._update_form_state()
        self.refresh()

    def _save_failed(self, error: BaseException) -> None:
        self.saving = False
        text = WAITING_FOR_OWN_LOG if isinstance(error, OwnLogUnknownError) else describe(error)
        _show(self.profile_message, text, error=True)
        self._update_form_state()

    # --- backup ----------------------------------------------------------------------

    def ask_words(self) -> None:
        """Open the warning panel; the words appear only after "Show the words"."""
        self.words_panel.show()
        self.reveal_button.show()

    def reveal_words(self) -> None:
        """Show the words; with a sealed key file, only after its passphrase is typed again."""
        passphrase: str | None = None
        if self.info is not None and self.info.sealed:
            passphrase = self.ask_passphrase(self)
            if passphrase is None:
                return
        self.bridge.request(
            lambda desk: desk.account.backup_words(passphrase),
            done=self._show_words,
            failed=self._backup_failed,
        )

    def _show_words(self, words: str) -> None:
        for i, (label, word) in enumerate(zip(self.word_labels, words.split(), strict=True), 1):
            label.setText(f"{i:2}. {word}")
        self.reveal_button.hide()
        _show(self.backup_message, "")

    def hide_words(self) -> None:
        for label in self.word_labels:
            label.clear()
        self.words_panel.hide()

    def words_shown(self) -> list[str]:
        return [label.text().split()[-1] for label in self.word_labels if label.text()]

    def hideEvent(self, event: QHideEvent) -> None:
        self.hide_words()  # leaving the screen removes the words from it
        super().hideEvent(event)

    def save_backup(self) -> None:
        suggested = f"lndesk-backup-{date.today().isoformat()}.cbor"
        path, _ = QFileDialog.getSaveFileName(self, "Save backup file", suggested)
        if path:
            self.save_backup_to(Path(path))

    def save_backup_to(self, path: Path) -> None:
        _show(self.backup_message, "Saving…")
        self.bridge.request(
            lambda desk: desk.account.export(path),
            done=lambda count: _show(
                self.backup_message,
                f"Saved {entries(count)} to {path}. Keep this file safe: it contains your key.",
            ),
            failed=self._backup_failed,
        )

    def import_backup(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import backup file")
        if path:
            self.import_backup_from(Path(path))

    def import_backup_from(self, path: Path) -> None:
        """Bring back this identity's posts from a backup file (another identity's is refused)."""
        _show(self.backup_message, "Importing…")
        latest = self.latest_box.isVisible() and self.latest_box.isChecked()
        self.bridge.request(
            lambda desk: desk.account.import_backup(path, latest=latest),
            done=self._imported,
            failed=self._backup_failed,
        )

    def _imported(self, count: int) -> None:
        text = (
            f"Imported {entries(count)}." if count else "Everything in that file was already here."
        )
        _show(self.backup_message, text)
        self.refresh()

    def _backup_failed(self, error: BaseException) -> None:
        _show(self.backup_message, describe(error), error=True)
