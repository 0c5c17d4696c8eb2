"""Notifications through the desktop's notification service, for desktops without a tray.

GNOME without an AppIndicator extension has no system tray, so Qt's tray messages show
nothing there; its notification service (``org.freedesktop.Notifications`` on the
session bus, the Desktop Notifications Specification) does. QtDBus finds the service;
the call itself goes through ``gdbus`` (GLib's D-Bus tool, present wherever GNOME is),
because PySide6 cannot marshal Notify's ``replaces_id`` as the ``uint32`` the
specification requires, and servers refuse a call with another signature.

Summary and body are plain text escaped for markup (the caller escapes them: a server
may interpret ``<b>`` or ``<a href>`` in the body), and the call runs in the background:
the GUI never waits for the notification server.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import shutil

from PySide6.QtCore import QObject, QProcess, Signal
from PySide6.QtDBus import QDBusConnection

logger = logging.getLogger(__name__)

SERVICE = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
APP_NAME = "lndesk"
APP_ICON = "lndesk"
"""The icon's name in the desktop's icon theme (installed with the .desktop file)."""
_CONNECTIONS = itertools.count(1)
_RUNNING: set[QProcess] = set()
"""Calls under way (kept here until they end)."""
EXPIRE_DEFAULT = -1
"""Let the server decide how long a notification stays."""


def gvariant_string(text: str) -> str:
    """``text`` as a GVariant text-format string literal (what ``gdbus call`` parses)."""
    return json.dumps(text, ensure_ascii=False)


def notify_command(summary: str, body: str, address: str | None = None) -> list[str]:
    """The ``gdbus`` arguments of one Notify call on the session bus, or on the bus at
    ``address`` (``gdbus`` itself not included)."""
    return [
        "call",
        *(["--address", address] if address else ["--session"]),
        "--dest",
        SERVICE,
        "--object-path",
        PATH,
        "--method",
        f"{SERVICE}.Notify",
        "--",  # the arguments follow (-1 is not an option)
        gvariant_string(APP_NAME),
        "0",  # replaces_id: a new notification
        gvariant_string(APP_ICON),
        gvariant_string(summary),
        gvariant_string(body),
        "[]",  # no actions
        "{}",  # no hints
        str(EXPIRE_DEFAULT),
    ]


class DesktopNotifications(QObject):
    """Sends notifications to the session's notification service, if there is one."""

    sent = Signal(str)
    """A notification was accepted by the server (its summary)."""
    failed = Signal(str)
    """A notification could not be sent (why)."""

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        address: str | None = None,
        gdbus: str | None = None,
    ) -> None:
        """``address``: a D-Bus address to use instead of the session bus."""
        super().__init__(parent)
        self._address = address
        self._gdbus = gdbus if gdbus is not None else shutil.which("gdbus")

    def available(self) -> bool:
        """A notification service is on the session bus (running or startable) and
        ``gdbus`` is there to call it."""
        if self._gdbus is None:
            return False
        if self._address is None:
            return _service_on(QDBusConnection.sessionBus())
        name = f"lndesk-notify-{next(_CONNECTIONS)}"
        try:
            return _service_on(QDBusConnection.connectToBus(self._address, name))
        finally:
            QDBusConnection.disconnectFromBus(name)

    def notify(self, summary: str, body: str) -> bool:
        """Send one notification in the background; False if there is no way to."""
        if self._gdbus is None:
            logger.debug("no gdbus: notification not shown: %s", summary)
            return False
        # No parent: the call lives until it ends, whatever happens to this object.
        process = QProcess()
        process.setProgram(self._gdbus)
        process.setArguments(notify_command(summary, body, self._address))
        process.finished.connect(lambda code, _status: self._finished(process, code, summary))
        process.errorOccurred.connect(lambda _error: self._finished(process, -1, summary))
        _RUNNING.add(process)
        process.start()
        return True

    def _finished(self, process: QProcess, code: int, summary: str) -> None:
        if process not in _RUNNING:
            return  # an error after the end, or the end after an error
        _RUNNING.discard(process)
        why = ""
        if code != 0:
            why = bytes(process.readAllStandardError().data()).decode(errors="replace").strip()
            why = why or process.errorString()
            logger.info("the desktop did not take a notification: %s", why)
        process.deleteLater()
        with contextlib.suppress(RuntimeError):  # this object was deleted meanwhile
            if code == 0:
                self.sent.emit(summary)
            else:
                self.failed.emit(why)


def _service_on(bus: QDBusConnection) -> bool:
    if not bus.isConnected():
        return False
    interface = bus.interface()
    if interface is None:
        return False
    registered = interface.isServiceRegistered(SERVICE)
    if registered.isValid() and registered.value():
        return True
    activatable = interface.call("ListActivatableNames")
    names = activatable.arguments()[0] if activatable.arguments() else []
    return isinstance(names, list) and SERVICE in names
