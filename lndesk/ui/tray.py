"""The system tray icon: unread count on the icon, a small menu, and notifications.

Desktops without a tray (and offscreen tests) get a :class:`Tray` that does nothing
visible: its menu still works and :meth:`Tray.notify` records the notification in
:attr:`Tray.last_notification` instead of showing it.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from lndesk.ui.desktop_notify import DesktopNotifications
from lndesk.ui.icons import app_icon
from lndesk.ui.plain_text import notify_text, notify_title

logger = logging.getLogger(__name__)

BADGE_SIZES = (16, 22, 24, 32, 48, 64)
BADGE_COLOUR = "#d93025"
NOTIFY_MS = 8000


def badge_text(count: int) -> str:
    """What the badge says: "" for nothing unread, "99+" above 99."""
    if count <= 0:
        return ""
    return "99+" if count > 99 else str(count)


def badge_icon(count: int) -> QIcon:
    """The app icon with ``count`` painted on a red badge (the plain icon at 0)."""
    base = app_icon()
    text = badge_text(count)
    if not text:
        return base
    icon = QIcon()
    for size in BADGE_SIZES:
        pixmap = base.pixmap(size, size)
        if pixmap.isNull():
            pixmap = QPixmap(size, size)
            pixmap.fill(Qt.GlobalColor.transparent)
        # Paint in device-independent pixels, whatever the screen's scale.
        side = pixmap.width() / pixmap.devicePixelRatio()
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        height = side * 0.56
        width = max(height, height * (0.45 + 0.3 * len(text)))
        badge = QRectF(side - width, 0, width, height)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(BADGE_COLOUR))
        painter.drawRoundedRect(badge, height / 2, height / 2)
        font = QFont()
        font.setBold(True)
        font.setPixelSize(max(6, round(height * (0.78 if len(text) == 1 else 0.62))))
        painter.setFont(font)
        painter.setPen(QColor("white"))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
        painter.end()
        icon.addPixmap(pixmap)
    return icon


class Tray(QObject):
    """lndesk in the system tray (when the desktop has one)."""

    open_requested = Signal()
    notification_clicked = Signal(object)
    """A notification was clicked (the tray's message, or the desktop's): the ``target``
    it was shown with (what it is about), for the window to open."""
    compose_requested = Signal()
    quit_requested = Signal()

    def __init__(
        self, parent: QObject | None = None, desktop: DesktopNotifications | None = None
    ) -> None:
        """``desktop`` shows notifications where there is no tray (default: the session's
        notification service)."""
        super().__init__(parent)
        self.unread = 0
        self.last_notification: tuple[str, str] | None = None
        """(title, text) of the last :meth:`notify`, shown or not."""
        self.last_target: object = None
        """What the last notification is about (the tray shows one message at a time)."""
        self.menu = QMenu()
        self.open_action = self.menu.addAction("Open lndesk")
        self.open_action.triggered.connect(self.open_requested)
        self.compose_action = self.menu.addAction("New post")
        self.compose_action.triggered.connect(self.compose_requested)
        self.menu.addSeparator()
        self.quit_action = self.menu.addAction("Quit")
        self.quit_action.triggered.connect(self.quit_requested)
        self.icon: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.icon = QSystemTrayIcon(badge_icon(0), self)
            self.icon.setContextMenu(self.menu)
            self.icon.activated.connect(self._activated)
            self.icon.messageClicked.connect(self._message_clicked)
            self.icon.setToolTip("lndesk")
        else:
            logger.info("no system tray on this desktop")
        self.desktop: DesktopNotifications | None = None
        if self.icon is None or not self.icon.supportsMessages():
            # GNOME without an AppIndicator extension: its notification service instead.
            self.desktop = desktop if desktop is not None else DesktopNotifications(self)
            self.desktop.clicked.connect(self.notification_clicked)

    def available(self) -> bool:
        """A tray icon can be shown (if not, closing the window should quit)."""
        return self.icon is not None

    def show(self) -> None:
        if self.icon is not None:
            self.icon.show()

    def hide(self) -> None:
        if self.icon is not None:
            self.icon.hide()

    def set_unread(self, count: int) -> None:
        """Show ``count`` unread posts on the icon (nothing at 0)."""
        count = max(0, count)
        if count == self.unread:
            return
        self.unread = count
        if self.icon is not None:
            self.icon.setIcon(badge_icon(count))
            self.icon.setToolTip(f"lndesk: {count} unread" if count else "lndesk")

    def notify(self, title: str, text: str, target: object = None) -> None:
        """A desktop notification; clicking it opens the window on ``target`` (what it is
        about; None: just the window). Its title and text are escaped plain text (they
        quote peers, and notification servers may read markup)."""
        title, text = notify_title(title), notify_text(text)
        self.last_notification = (title, text)
        self.last_target = target
        if self.desktop is not None:
            self.desktop.notify(title, text, target)
            return
        if self.icon is None or not self.icon.supportsMessages():
            logger.debug("notification not shown (no tray): %s", title)
            return
        self.icon.showMessage(title, text, app_icon(), NOTIFY_MS)

    def _message_clicked(self) -> None:
        if self.last_target is None:
            self.open_requested.emit()
        else:
            self.notification_clicked.emit(self.last_target)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.open_requested.emit()
