"""A small notification server for tests: implements org.freedesktop.Notifications'
Notify (and GetCapabilities) on the session bus named by DBUS_SESSION_BUS_ADDRESS.

It prints ``ready`` once it owns the name, then one JSON line per Notify call with the
call's D-Bus signature, arguments and the id it answers with (an increasing number).
Like the desktops' servers, it refuses a call whose signature is not Notify's.

A line ``click ID ACTION`` on its standard input makes it emit ``ActionInvoked(ID,
ACTION)``, as a server does when someone clicks a notification ("default") or one of its
action buttons. (The desktops' servers send the id as a uint32; PySide6 marshals a Python
int as int32, which a receiver reading the message's arguments takes alike.)
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from PySide6.QtCore import QCoreApplication, QSocketNotifier
from PySide6.QtDBus import QDBusArgument, QDBusConnection, QDBusMessage, QDBusVirtualObject

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
NOTIFY_SIGNATURE = "susssasa{sv}i"
INTROSPECTION = f"""<interface name="{NAME}">
  <method name="Notify">
    <arg type="s" direction="in"/><arg type="u" direction="in"/><arg type="s" direction="in"/>
    <arg type="s" direction="in"/><arg type="s" direction="in"/><arg type="as" direction="in"/>
    <arg type="a{{sv}}" direction="in"/><arg type="i" direction="in"/>
    <arg type="u" direction="out"/>
  </method>
  <method name="GetCapabilities"><arg type="as" direction="out"/></method>
</interface>
"""


def plain(value: Any) -> Any:
    if isinstance(value, QDBusArgument):
        return f"<{value.currentSignature()}>"
    return value


class Server(QDBusVirtualObject):
    def __init__(self) -> None:
        super().__init__()
        self.last_id = 0

    def introspect(self, _path: str) -> str:
        return INTROSPECTION

    def handleMessage(self, message: QDBusMessage, connection: QDBusConnection) -> bool:
        if message.interface() not in (NAME, ""):
            return False
        if message.member() == "GetCapabilities":
            connection.send(message.createReply([["body"]]))
            return True
        if message.member() != "Notify":
            return False
        if message.signature() != NOTIFY_SIGNATURE:
            connection.send(
                message.createErrorReply(
                    "org.freedesktop.DBus.Error.InvalidArgs",
                    f"Notify takes ({NOTIFY_SIGNATURE}), not ({message.signature()})",
                )
            )
            return True
        self.last_id += 1
        args = [plain(a) for a in message.arguments()]
        said = {"signature": message.signature(), "args": args, "id": self.last_id}
        print(json.dumps(said), flush=True)
        connection.send(message.createReply(self.last_id))
        return True


def main() -> int:
    app = QCoreApplication(sys.argv[:1])
    bus = QDBusConnection.sessionBus()
    server = Server()
    if not bus.registerVirtualObject(PATH, server) or not bus.registerService(NAME):
        print("could not register", bus.lastError().message(), flush=True)
        return 1

    pending = bytearray()

    def command() -> None:
        # os.read, not sys.stdin: a buffered readline would take several lines at once
        # and leave them in its buffer, where no further notifier event comes for them
        data = os.read(sys.stdin.fileno(), 4096)
        if not data:
            notifier.setEnabled(False)
            return
        pending.extend(data)
        while b"\n" in pending:
            line, _, rest = bytes(pending).partition(b"\n")
            pending[:] = rest
            word, notification, action = line.decode().split()
            if word == "click":
                signal = QDBusMessage.createSignal(PATH, NAME, "ActionInvoked")
                signal.setArguments([int(notification), action])
                bus.send(signal)

    notifier = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(command)
    print("ready", flush=True)
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
