"""One app instance per data directory: a second launch hands over to the first.

The first instance listens on a local socket named after the data directory; a second
launch connects, passes its argument (an ``lndesk:`` link, or nothing to just bring the
window forward) and exits. The store's lock would refuse a second instance anyway; this
turns that refusal into what the user meant.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_MS = 1000
ACTIVATE = "activate"


def server_name(data_dir: Path) -> str:
    digest = hashlib.sha256(str(data_dir.expanduser().resolve()).encode()).hexdigest()
    return f"lndesk-{digest[:24]}"


class SingleInstance(QObject):
    message = Signal(str)
    """What a second launch passed on: ACTIVATE or an ``lndesk:`` link."""

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = server_name(data_dir)
        self.server: QLocalServer | None = None
        self._clients: list[QLocalSocket] = []

    def forward(self, text: str) -> bool:
        """If another instance has this data directory, give it ``text``; True if so."""
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(CONNECT_TIMEOUT_MS):
            return False
        socket.write((text or ACTIVATE).encode() + b"\n")
        socket.waitForBytesWritten(CONNECT_TIMEOUT_MS)
        socket.disconnectFromServer()
        return True

    def listen(self) -> bool:
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            # A socket left by an instance that crashed: nobody answered forward(), so
            # it is stale and can go.
            QLocalServer.removeServer(self.name)
            if not server.listen(self.name):
                logger.warning("cannot listen for other launches: %s", server.errorString())
                return False
        server.newConnection.connect(self._accept)
        self.server = server
        return True

    def _accept(self) -> None:
        assert self.server is not None
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            self._clients.append(socket)
            socket.readyRead.connect(self._read_all)
            socket.disconnected.connect(self._read_all)

    def _read_all(self) -> None:
        for socket in list(self._clients):
            while socket.canReadLine():
                text = bytes(socket.readLine().data()).decode(errors="replace").strip()
                if text:
                    self.message.emit(text[:4096])
            if socket.state() == QLocalSocket.LocalSocketState.UnconnectedState:
                self._clients.remove(socket)
                socket.close()

    def close(self) -> None:
        """Stop listening. Objects are released with this one (never deleted by hand:
        that raced with Qt's own teardown of the server's sockets)."""
        for socket in self._clients:
            socket.abort()
        if self.server is not None:
            self.server.close()
