"""A small notification server for tests: implements org.freedesktop.Notifications'
Notify (and GetCapabilities) on the session bus named by DBUS_SESSION_BUS_ADDRESS.

It prints ``ready`` once it owns the name, then one JSON line per Notify call with the
call's D-Bus signature and arguments, and answers with an increasing notification id.
Like the desktops' servers, it refuses a call whose signature is not Notify's.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from PySide6.QtCore import QCoreApplication
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
        print(json.dumps({"signature": message.signature(), "args": args}), flush=True)
        connection.send(message.createReply([self.last_id]))
        return True


def main() -> int:
    app = QCoreApplication(sys.argv[:1])
    bus = QDBusConnection.sessionBus()
    server = Server()
    if not bus.registerVirtualObject(PATH, server) or not bus.registerService(NAME):
        print("could not register", bus.lastError().message(), flush=True)
        return 1
    print("ready", flush=True)
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
