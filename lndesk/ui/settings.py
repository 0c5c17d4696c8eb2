"""The desktop app's own preferences, kept per data directory (``ui.ini`` in it).

Per data directory, so two identities on one machine keep their own window layout and
notification choices, and tests never touch the user's real preferences.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

UI_SETTINGS_NAME = "ui.ini"

NOTIFY_REPLIES = "notify/replies"
"""Show a system notification when someone replies to me (default on)."""
NOTIFY_POSTS = "notify/posts"
"""Show a system notification when someone I follow posts (default off)."""
THEME = "appearance/theme"
""""system" (follow the OS), "light" or "dark"."""
GEOMETRY = "window/geometry"
WINDOW_STATE = "window/state"
CLOSE_TO_TRAY = "window/close_to_tray"


def ui_settings(data_dir: Path) -> QSettings:
    return QSettings(str(data_dir / UI_SETTINGS_NAME), QSettings.Format.IniFormat)


def flag(settings: QSettings, name: str, default: bool) -> bool:
    value = settings.value(name, default)
    if isinstance(value, str):
        return value.lower() in ("true", "1", "yes")
    return bool(value)
