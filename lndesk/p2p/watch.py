"""Connection notifications from the swarm, as plain callbacks.

libp2p calls a notifee for every connection and stream; this one forwards connects and
disconnects (peer ID and remote address) and ignores the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from libp2p.abc import INotifee

logger = logging.getLogger(__name__)

ConnectionCallback = Callable[[Any, str], None]


def remote_address(conn: Any) -> str:
    try:
        addrs = conn.get_transport_addresses()
    except Exception:  # not every connection type can tell
        return ""
    return str(addrs[0]) if addrs else ""


class ConnectionWatcher(INotifee):
    def __init__(self, on_connected: ConnectionCallback, on_disconnected: ConnectionCallback):
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected

    async def connected(self, network: Any, conn: Any) -> None:
        self._on_connected(conn.muxed_conn.peer_id, remote_address(conn))

    async def disconnected(self, network: Any, conn: Any) -> None:
        self._on_disconnected(conn.muxed_conn.peer_id, remote_address(conn))

    async def opened_stream(self, network: Any, stream: Any) -> None:
        return None

    async def closed_stream(self, network: Any, stream: Any) -> None:
        return None

    async def listen(self, network: Any, multiaddr: Any) -> None:
        return None

    async def listen_close(self, network: Any, multiaddr: Any) -> None:
        return None


def watch_connections(
    host: Any, on_connected: ConnectionCallback, on_disconnected: ConnectionCallback
) -> ConnectionWatcher:
    watcher = ConnectionWatcher(on_connected, on_disconnected)
    host.get_network().register_notifee(watcher)
    return watcher
