"""The Settings screen, the theme, and the tray icon (offscreen: no system tray)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

import lndesk
from lndesk.ui.settings import CLOSE_TO_TRAY, NOTIFY_POSTS, NOTIFY_REPLIES, THEME, ui_settings
from lndesk.ui.settings_view import SettingsView, app_version
from lndesk.ui.theme import apply_theme, current_scheme, palette, resolve
from lndesk.ui.tray import Tray, badge_icon, badge_text


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return ui_settings(tmp_path)


@pytest.fixture
def view(settings: QSettings, tmp_path: Path, qtbot: Any) -> Iterator[SettingsView]:
    widget = SettingsView(settings, tmp_path)
    qtbot.addWidget(widget)
    yield widget
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, "system")


def window_lightness() -> int:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    return app.palette().color(QPalette.ColorRole.Window).lightness()


# --- settings ------------------------------------------------------------------------


def test_defaults(view: SettingsView, tmp_path: Path) -> None:
    assert view.notify_replies.isChecked()
    assert not view.notify_posts.isChecked()
    assert not view.close_to_tray.isChecked()
    assert view.theme.currentData() == "system"
    assert view.data_path.text() == str(tmp_path)
    assert view.data_path.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
    assert view.version.text() == lndesk.__version__ == app_version()
    # Offscreen there is no tray: the screen says what closing the window does instead.
    assert view.tray_note.isVisibleTo(view) == (not QSystemTrayIcon.isSystemTrayAvailable())


@pytest.mark.parametrize(
    ("box", "key", "saved"),
    [
        ("notify_replies", NOTIFY_REPLIES, False),
        ("notify_posts", NOTIFY_POSTS, True),
        ("close_to_tray", CLOSE_TO_TRAY, True),
    ],
)
def test_flags_are_saved_and_announced(
    view: SettingsView, tmp_path: Path, qtbot: Any, box: str, key: str, saved: bool
) -> None:
    with qtbot.waitSignal(view.changed) as blocker:
        getattr(view, box).click()
    assert blocker.args == [key]
    reread = ui_settings(tmp_path)
    from lndesk.ui.settings import flag

    assert flag(reread, key, not saved) is saved
    # A new screen on the same file shows the saved value.
    again = SettingsView(reread, tmp_path)
    qtbot.addWidget(again)
    assert getattr(again, box).isChecked() is saved


def test_theme_applies_at_once(view: SettingsView, tmp_path: Path, qtbot: Any) -> None:
    with qtbot.waitSignal(view.changed) as blocker:
        view.theme.setCurrentIndex(view.theme.findData("dark"))
    assert blocker.args == [THEME]
    assert window_lightness() < 80
    assert ui_settings(tmp_path).value(THEME) == "dark"
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    assert current_scheme(app) == "dark"
    assert app.style().name().lower() == "fusion"

    view.theme.setCurrentIndex(view.theme.findData("light"))
    assert window_lightness() > 200
    assert ui_settings(tmp_path).value(THEME) == "light"


def test_saved_theme_is_shown(settings: QSettings, tmp_path: Path, qtbot: Any) -> None:
    settings.setValue(THEME, "dark")
    widget = SettingsView(settings, tmp_path)
    qtbot.addWidget(widget)
    assert widget.theme.currentData() == "dark"
    settings.setValue(THEME, "no such theme")
    other = SettingsView(settings, tmp_path)
    qtbot.addWidget(other)
    assert other.theme.currentData() == "system"


def test_system_theme_follows_the_desktop() -> None:
    assert resolve("system", Qt.ColorScheme.Dark) == "dark"
    assert resolve("system", Qt.ColorScheme.Light) == "light"
    assert resolve("system", Qt.ColorScheme.Unknown) == "light"
    assert resolve("light", Qt.ColorScheme.Dark) == "light"
    assert resolve("dark", Qt.ColorScheme.Light) == "dark"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_palettes_are_readable(scheme: str) -> None:
    colours = palette(scheme)
    group, role = QPalette.ColorGroup, QPalette.ColorRole

    def contrast(a: QPalette.ColorRole, b: QPalette.ColorRole, g: Any = group.Active) -> int:
        return abs(colours.color(g, a).lightness() - colours.color(g, b).lightness())

    assert contrast(role.Text, role.Base) > 150
    assert contrast(role.Link, role.Base) > 60
    assert contrast(role.HighlightedText, role.Highlight) > 60
    # Disabled text is visibly dimmer than enabled text, but still there.
    assert 20 < contrast(role.Text, role.Base, group.Disabled) < contrast(role.Text, role.Base)


# --- tray ----------------------------------------------------------------------------


def test_badge_text() -> None:
    assert badge_text(0) == ""
    assert badge_text(-3) == ""
    assert badge_text(1) == "1"
    assert badge_text(99) == "99"
    assert badge_text(100) == "99+"


def test_badge_is_painted(qapp: Any) -> None:
    def image(count: int) -> Any:
        return badge_icon(count).pixmap(64, 64).toImage()

    plain, five, many = image(0), image(5), image(120)
    assert plain != five
    assert five != many
    assert image(5) == five  # the same count paints the same pixels
    # The badge sits in the top right corner; the bottom left is the plain icon.
    assert plain.pixelColor(60, 8) != five.pixelColor(60, 8)
    assert plain.pixelColor(8, 56) == five.pixelColor(8, 56)


def test_tray_without_a_system_tray(qtbot: Any) -> None:
    tray = Tray()
    assert tray.available() == QSystemTrayIcon.isSystemTrayAvailable()
    tray.show()
    tray.set_unread(7)
    assert tray.unread == 7
    tray.notify("Bo replied to you", "Nice one")
    assert tray.last_notification == ("Bo replied to you", "Nice one")
    tray.set_unread(0)
    tray.hide()


@pytest.mark.parametrize(
    ("action", "signal"),
    [
        ("open_action", "open_requested"),
        ("compose_action", "compose_requested"),
        ("quit_action", "quit_requested"),
    ],
)
def test_tray_menu(qtbot: Any, action: str, signal: str) -> None:
    tray = Tray()
    assert [a.text() for a in tray.menu.actions() if a.text()] == [
        "Open lndesk",
        "New post",
        "Quit",
    ]
    emitted: list[bool] = []
    getattr(tray, signal).connect(lambda: emitted.append(True))
    getattr(tray, action).trigger()  # emits before it returns: nothing to wait for
    assert emitted == [True]


def test_clicking_the_icon_opens_the_window(qtbot: Any) -> None:
    tray = Tray()
    opened: list[bool] = []
    tray.open_requested.connect(lambda: opened.append(True))
    tray._activated(QSystemTrayIcon.ActivationReason.Trigger)
    assert opened == [True]
    with qtbot.assertNotEmitted(tray.open_requested):
        tray._activated(QSystemTrayIcon.ActivationReason.Context)
