"""Light and dark appearance: "system" follows the desktop, "light"/"dark" force one.

Both are drawn with Qt's Fusion style and a palette of our own, so the app looks the
same on every desktop and a forced choice works even where the platform theme ignores
dark mode. "system" asks Qt for the desktop's colour scheme and follows it when it
changes (light when the desktop does not say).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

logger = logging.getLogger(__name__)

SYSTEM, LIGHT, DARK = "system", "light", "dark"
CHOICES = (SYSTEM, LIGHT, DARK)
_CHOICE_PROPERTY = "lndeskTheme"
_WATCHING_PROPERTY = "lndeskThemeWatching"

Role, Group = QPalette.ColorRole, QPalette.ColorGroup

_COLOURS = {
    LIGHT: {
        Role.Window: "#f3f4f6",
        Role.WindowText: "#1b1f24",
        Role.Base: "#ffffff",
        Role.AlternateBase: "#eef0f3",
        Role.ToolTipBase: "#ffffff",
        Role.ToolTipText: "#1b1f24",
        Role.PlaceholderText: "#5f6672",
        Role.Text: "#1b1f24",
        Role.Button: "#e9ebef",
        Role.ButtonText: "#1b1f24",
        Role.BrightText: "#b3261e",
        Role.Highlight: "#2f6fdb",
        Role.HighlightedText: "#ffffff",
        Role.Link: "#0b57d0",
        Role.LinkVisited: "#6a3ab2",
    },
    DARK: {
        Role.Window: "#202225",
        Role.WindowText: "#e6e7e9",
        Role.Base: "#17181a",
        Role.AlternateBase: "#25272b",
        Role.ToolTipBase: "#2b2d31",
        Role.ToolTipText: "#e6e7e9",
        Role.PlaceholderText: "#9ba0a8",
        Role.Text: "#e6e7e9",
        Role.Button: "#2b2d31",
        Role.ButtonText: "#e6e7e9",
        Role.BrightText: "#ff8a80",
        Role.Highlight: "#2f66c8",
        Role.HighlightedText: "#ffffff",
        Role.Link: "#7cb4ff",
        Role.LinkVisited: "#c29bff",
    },
}
_DISABLED = {LIGHT: "#9aa0a8", DARK: "#6b7079"}

# Colours for text the palette has no role for, each readable (WCAG contrast of at
# least 4.5:1) on the scheme's Window, Base, AlternateBase and Button colours.
# "badge" is a fill under white text.
_NAMED = {
    LIGHT: {
        "link": "#0b57d0",
        "error": "#b3261e",
        "note": "#5b616b",
        "accent": "#1a5fc8",
        "mark": "#8a4500",
        "badge": "#7b3a9a",
    },
    DARK: {
        "link": "#8ab4ff",
        "error": "#ff8a80",
        "note": "#a4a9b2",
        "accent": "#6ea8ff",
        "mark": "#f0a24a",
        "badge": "#8e44ad",
    },
}
NAMED_COLOURS = tuple(_NAMED[LIGHT])

# Style sheets for labels that name palette roles, so they follow a theme change.
ERROR_STYLE = "color: palette(bright-text);"
NOTE_STYLE = "color: palette(placeholder-text);"


def palette(scheme: str) -> QPalette:
    """The palette for "light" or "dark"."""
    result = QPalette()
    for role, colour in _COLOURS[scheme].items():
        result.setColor(role, QColor(colour))
    disabled = QColor(_DISABLED[scheme])
    for role in (Role.WindowText, Role.Text, Role.ButtonText, Role.PlaceholderText):
        result.setColor(Group.Disabled, role, disabled)
    result.setColor(Group.Disabled, Role.Highlight, QColor(_COLOURS[scheme][Role.Button]))
    result.setColor(Group.Disabled, Role.HighlightedText, disabled)
    return result


def named_colour(name: str, scheme: str | None = None) -> QColor:
    """One of NAMED_COLOURS for `scheme`, or for the scheme applied now."""
    if scheme is None:
        app = QApplication.instance()
        scheme = current_scheme(app) if isinstance(app, QApplication) else LIGHT
    return QColor(_NAMED[scheme][name])


def resolve(choice: str, system: Qt.ColorScheme) -> str:
    """ "light" or "dark" for a setting and the desktop's current scheme."""
    if choice in (LIGHT, DARK):
        return choice
    return DARK if system == Qt.ColorScheme.Dark else LIGHT


def current_scheme(app: QApplication) -> str:
    """The scheme applied now ("light" or "dark")."""
    choice = str(app.property(_CHOICE_PROPERTY) or SYSTEM)
    return resolve(choice, QGuiApplication.styleHints().colorScheme())


def apply_theme(app: QApplication, choice: str) -> None:
    """Apply a theme choice ("system", "light" or "dark"; anything else means "system")."""
    if choice not in CHOICES:
        logger.info("unknown theme %r, following the system", choice)
        choice = SYSTEM
    app.setProperty(_CHOICE_PROPERTY, choice)
    if not app.property(_WATCHING_PROPERTY):
        app.setProperty(_WATCHING_PROPERTY, True)
        QGuiApplication.styleHints().colorSchemeChanged.connect(lambda _scheme: _follow_system(app))
    _paint(app)


def _follow_system(app: QApplication) -> None:
    if app.property(_CHOICE_PROPERTY) == SYSTEM:
        _paint(app)


def _paint(app: QApplication) -> None:
    style = app.style()
    if style is None or style.name().lower() != "fusion":
        app.setStyle("Fusion")
    app.setPalette(palette(current_scheme(app)))
    for widget in app.allWidgets():
        sheet = widget.styleSheet()
        if "palette(" in sheet:
            # Qt resolves palette roles in a style sheet once, when it is set.
            widget.setStyleSheet("")
            widget.setStyleSheet(sheet)
