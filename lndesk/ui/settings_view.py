"""The Settings screen: notifications, appearance, the tray, and where the data lives.

Every change is saved at once (there is no "Save" button to forget) and announced with
:attr:`SettingsView.changed`, so the window can act on it (e.g. show or hide the tray).
The theme is applied as soon as it is picked.
"""

from __future__ import annotations

import importlib.metadata
import logging
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

import lndesk
from lndesk.ui.settings import CLOSE_TO_TRAY, NOTIFY_POSTS, NOTIFY_REPLIES, THEME, flag
from lndesk.ui.theme import CHOICES, DARK, LIGHT, SYSTEM, apply_theme

logger = logging.getLogger(__name__)

DEFAULTS = {NOTIFY_REPLIES: True, NOTIFY_POSTS: False, CLOSE_TO_TRAY: False}
THEME_LABELS = {SYSTEM: "Same as the system", LIGHT: "Light", DARK: "Dark"}


def app_version() -> str:
    """lndesk's version: the package's own, else the installed distribution's."""
    version = getattr(lndesk, "__version__", None)
    if isinstance(version, str) and version:
        return version
    try:
        return importlib.metadata.version("lndesk")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def theme_choice(settings: QSettings) -> str:
    """The saved theme, "system" when unset or unknown."""
    value = str(settings.value(THEME, SYSTEM))
    return value if value in CHOICES else SYSTEM


class SettingsView(QWidget):
    """Preferences of this data directory (kept in its ``ui.ini``)."""

    changed = Signal(str)
    """The key (lndesk.ui.settings) of a setting that was just changed and saved."""

    def __init__(self, settings: QSettings, data_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.data_dir = data_dir

        self.notify_replies = self._flag_box(
            "Someone replies to me or shares my post", NOTIFY_REPLIES
        )
        self.notify_posts = self._flag_box("Someone I follow posts", NOTIFY_POSTS)
        notify = QGroupBox("Notify me when")
        notify_layout = QVBoxLayout(notify)
        notify_layout.addWidget(self.notify_replies)
        notify_layout.addWidget(self.notify_posts)

        self.theme = QComboBox()
        for choice in CHOICES:
            self.theme.addItem(THEME_LABELS[choice], choice)
        self.theme.setCurrentIndex(CHOICES.index(theme_choice(settings)))
        self.theme.currentIndexChanged.connect(self._theme_picked)
        self.close_to_tray = self._flag_box(
            "Keep running in the tray when the window is closed", CLOSE_TO_TRAY
        )
        self.tray_note = QLabel(
            "No system tray was found on this desktop, so closing the window quits lndesk."
        )
        self.tray_note.setWordWrap(True)
        self.tray_note.setVisible(not QSystemTrayIcon.isSystemTrayAvailable())
        window = QGroupBox("Window")
        window_layout = QFormLayout(window)
        window_layout.addRow("Theme:", self.theme)
        window_layout.addRow(self.close_to_tray)
        window_layout.addRow(self.tray_note)

        self.data_path = QLabel(str(data_dir))
        self.data_path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.data_path.setWordWrap(True)
        self.data_path.setToolTip(
            "Your key, your posts and everything you received. Back up the key (Identity "
            "screen); the rest can be fetched again from peers."
        )
        open_folder = QPushButton("Open folder")
        open_folder.clicked.connect(self._open_data_dir)
        self.version = QLabel(app_version())
        self.version.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        about = QGroupBox("About")
        about_layout = QFormLayout(about)
        about_layout.addRow("Data folder:", self.data_path)
        about_layout.addRow("", open_folder)
        about_layout.addRow("lndesk version:", self.version)

        layout = QVBoxLayout(self)
        layout.addWidget(notify)
        layout.addWidget(window)
        layout.addWidget(about)
        layout.addStretch(1)

    def add_section(self, section: QWidget) -> None:
        """Another group of settings, kept by the desk (e.g. the Atom file), above About."""
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(layout.count() - 2, section)

    def _flag_box(self, text: str, key: str) -> QCheckBox:
        box = QCheckBox(text)
        box.setChecked(flag(self.settings, key, DEFAULTS[key]))
        box.toggled.connect(lambda on: self._save(key, on))
        return box

    def _save(self, key: str, value: object) -> None:
        self.settings.setValue(key, value)
        self.settings.sync()
        logger.debug("setting %s = %r", key, value)
        self.changed.emit(key)

    def _theme_picked(self, _index: int) -> None:
        choice = str(self.theme.currentData())
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, choice)
        self._save(THEME, choice)

    def _open_data_dir(self) -> None:
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.data_dir))):
            logger.info("no file manager opened %s", self.data_dir)
