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

A notification carries a "default" action (what a click on it does): the server answers
Notify with the notification's id, and when it is clicked it emits ``ActionInvoked(id,
"default")``, which :attr:`DesktopNotifications.clicked` turns back into what that
notification was about. Only the notification service itself is listened to, and only the
ids it gave this app are honoured.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import re
import shutil
from collections import OrderedDict

from PySide6.QtCore import QObject, QProcess, Signal, Slot
from PySide6.QtDBus import QDBusConnection, QDBusMessage

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
ACTIONS = ("default", "Open")
"""(key, label) of the one action: "default" is what clicking the notification does."""
CLICK_TARGETS = 100
"""Notifications whose click is still honoured (the newest ones)."""
_REPLY_ID = re.compile(r"\((?:uint32 )?(\d+),\)")
"""gdbus's print of Notify's answer, the notification's id: "(uint32 7,)" ("(7,)" from a
server that answers with a signed number)."""


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
        "[" + ", ".join(gvariant_string(part) for part in ACTIONS) + "]",
        "{}",  # no hints
        str(EXPIRE_DEFAULT),
    ]


class DesktopNotifications(QObject):
    """Sends notifications to the session's notification service, if there is one."""

    sent = Signal(str)
    """A notification was accepted by the server (its summary)."""
    failed = Signal(str)
    """A notification could not be sent (why)."""
    clicked = Signal(object)
    """A notification was clicked: the ``target`` it was sent with."""

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
        self._targets: OrderedDict[int, object] = OrderedDict()
        """What each notification sent is about, by the id the server gave it."""
        self._bus: QDBusConnection | None = None
        """The connection the clicks are heard on (made at the first notification)."""

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

    def notify(self, summary: str, body: str, target: object = None) -> bool:
        """Send one notification in the background; False if there is no way to.
        ``target`` (what it is about) is emitted with :attr:`clicked` when it is clicked."""
        if self._gdbus is None:
            logger.debug("no gdbus: notification not shown: %s", summary)
            return False
        self._listen()
        # No parent: the call lives until it ends, whatever happens to this object.
        process = QProcess()
        process.setProgram(self._gdbus)
        process.setArguments(notify_command(summary, body, self._address))
        process.finished.connect(
            lambda code, _status: self._finished(process, code, summary, target)
        )
        process.errorOccurred.connect(lambda _error: self._finished(process, -1, summary, None))
        _RUNNING.add(process)
        process.start()
        return True

    def _finished(self, process: QProcess, code: int, summary: str, target: object) -> None:
        if process not in _RUNNING:
            return  # an error after the end, or the end after an error
        _RUNNING.discard(process)
        why = ""
        if code == 0:
            answer = bytes(process.readAllStandardOutput().data()).decode(errors="replace")
            found = _REPLY_ID.search(answer)
            if found is not None and target is not None:
                with contextlib.suppress(RuntimeError):  # this object was deleted meanwhile
                    self._remember(int(found.group(1)), target)
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

    # --- clicks --------------------------------------------------------------------

    def _remember(self, notification: int, target: object) -> None:
        self._targets[notification] = target
        while len(self._targets) > CLICK_TARGETS:
            self._targets.popitem(last=False)

    def _listen(self) -> None:
        """Hear ActionInvoked signals (once, on the bus notifications go to). From any
        sender: QtDBus's own filter by service name drops signals until it has looked up
        the name's owner, so a click right after the first notification could be lost;
        :meth:`_from_service` checks the sender on each signal instead."""
        if self._bus is not None:
            return
        if self._address is None:
            bus = QDBusConnection.sessionBus()
        else:
            bus = QDBusConnection.connectToBus(self._address, f"lndesk-clicks-{id(self)}")
        self._bus = bus
        if not bus.isConnected() or not bus.connect(
            "",  # any sender (see above)
            PATH,
            SERVICE,
            "ActionInvoked",
            self,
            "2_action(QDBusMessage)",  # type: ignore[call-overload]  # a str works, the stubs say bytes
        ):
            logger.info("clicks on notifications are not heard: %s", bus.lastError().message())

    @Slot(QDBusMessage)
    def _action(self, message: QDBusMessage) -> None:
        """ActionInvoked(id, action) from the notification service: a click on one of
        ours emits :attr:`clicked` with what it was about; anything else is ignored."""
        arguments = message.arguments()
        if len(arguments) != 2 or not isinstance(arguments[0], int):
            return
        notification, action = arguments
        if action != ACTIONS[0] or not self._from_service(message):
            return
        target = self._targets.get(notification)
        if target is not None:
            self.clicked.emit(target)

    def _from_service(self, message: QDBusMessage) -> bool:
        """The signal was sent by the notification service itself (not another program)."""
        bus = self._bus
        interface = bus.interface() if bus is not None else None
        if interface is None:
            return False
        owner = interface.serviceOwner(SERVICE)
        return owner.isValid() and owner.value() == message.service()


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
