"""Finding lndesk nodes on the local network with mDNS (zeroconf).

Two laptops on the same Wi-Fi should find each other with no server and no typing.
This module advertises our addresses and browses for other nodes, using the pieces of
py-libp2p's mDNS support (``PeerBroadcaster`` builds the spec's ``dnsaddr=`` TXT
records, ``PeerListener`` parses them) but not its ``MDNSDiscovery`` front:

* ``MDNSDiscovery`` reports peers through a process-wide singleton
  (``peerDiscovery``), which cannot tell two nodes in one process apart, writes the
  peerstore from zeroconf's thread and never connects to anyone by itself.
* zeroconf calls its listeners on its own thread. Everything found here is handed to
  trio with ``TrioToken.run_sync_soon``, so the callback runs on trio's thread, like
  every other piece of the node.
* The service type is ``_p2p-lndesk._udp.local.`` (the spec's private-network form)
  rather than ``_p2p._udp.local.``: a desktop app should not dial every IPFS daemon on
  the LAN and try to sync feeds with it.

Starting and stopping zeroconf (binding sockets, probing, sending goodbye packets)
blocks for up to a few seconds, so those steps run in a worker thread.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING

import trio
from libp2p.discovery.mdns.broadcaster import PeerBroadcaster
from libp2p.discovery.mdns.listener import PeerListener
from libp2p.peer.peerinfo import PeerInfo
from zeroconf import Zeroconf

from lndesk.p2p.host import is_loopback

if TYPE_CHECKING:
    from libp2p.abc import IHost
    from trio_typing import TaskStatus

logger = logging.getLogger(__name__)

SERVICE_TYPE = "_p2p-lndesk._udp.local."
ADDRESS_TTL = 120
"""Seconds a peer's mDNS-announced addresses stay in the peerstore."""


class _Listener(PeerListener):
    """``PeerListener`` that passes found peers to a callback instead of a singleton.

    Runs on zeroconf's thread: it only parses and forwards, it touches no libp2p state.
    """

    def __init__(self, zc: Zeroconf, service_name: str, found: Callable[[PeerInfo], None]) -> None:
        self._found = found  # set before the browsers (started by super) can call us
        super().__init__(
            peerstore=None,  # type: ignore[arg-type]  # never used: we override every writer
            zeroconf=zc,
            service_type=SERVICE_TYPE,
            service_name=service_name,
            ttl=ADDRESS_TTL,
        )

    def add_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        if name == self.service_name or type_ != SERVICE_TYPE:
            return
        info = self._get_service_info_with_retry(zc, type_, name)
        if info is None:
            return
        peer = self._extract_peer_info(info)
        if peer is not None:
            self._found(peer)

    def update_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.add_service(zc, type_, name)

    def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        return None


def advertised_addrs(host: IHost) -> list[str]:
    """Our TCP addresses worth announcing on the LAN, without the ``/p2p/`` suffix.

    Loopback addresses are left out when there is anything else: another machine
    that dials 127.0.0.1 reaches itself.
    """
    addrs = []
    for addr in host.get_addrs():
        text = str(addr).split("/p2p/", 1)[0]
        if PeerBroadcaster.is_suitable_for_mdns(text):
            addrs.append(text)
    outside = [a for a in addrs if not is_loopback(a)]
    return outside or addrs


def _tcp_port(addrs: list[str]) -> int:
    for addr in addrs:
        parts = addr.split("/")
        if "tcp" in parts and parts.index("tcp") + 1 < len(parts):
            return int(parts[parts.index("tcp") + 1])
    return 0


class Mdns:
    """Advertise this host and report other lndesk nodes found on the LAN."""

    def __init__(self, host: IHost, on_found: Callable[[PeerInfo], None]) -> None:
        self._host = host
        self._on_found = on_found
        self.service_name = f"{secrets.token_hex(16)}.{SERVICE_TYPE}"
        self.zeroconf: Zeroconf | None = None
        self.registered = trio.Event()

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Browse and advertise until cancelled; always unregisters and closes zeroconf."""
        token = trio.lowlevel.current_trio_token()
        own_id = self._host.get_id()

        def deliver(peer: PeerInfo) -> None:  # trio thread
            if peer.peer_id == own_id:
                return
            try:
                self._on_found(peer)
            except Exception:
                logger.exception("mDNS peer callback failed")

        def found(peer: PeerInfo) -> None:  # zeroconf thread
            with contextlib.suppress(trio.RunFinishedError):
                token.run_sync_soon(deliver, peer)

        addrs = advertised_addrs(self._host)
        zc = await trio.to_thread.run_sync(Zeroconf)
        self.zeroconf = zc
        listener: _Listener | None = None
        broadcaster = PeerBroadcaster(
            zeroconf=zc,
            service_type=SERVICE_TYPE,
            service_name=self.service_name,
            peer_id=str(own_id),
            port=_tcp_port(addrs),
            listen_addrs=addrs,
        )
        try:
            listener = _Listener(zc, self.service_name, found)
            logger.info("mDNS: browsing %s, advertising %s", SERVICE_TYPE, addrs)
            task_status.started()
            # Probing takes a couple of seconds; browsing is already running meanwhile.
            await trio.to_thread.run_sync(broadcaster.register)
            self.registered.set()
            await trio.sleep_forever()
        finally:
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(self._close, zc, broadcaster, listener)
            self.zeroconf = None

    @staticmethod
    def _close(zc: Zeroconf, broadcaster: PeerBroadcaster, listener: _Listener | None) -> None:
        try:
            broadcaster.unregister()
            if listener is not None:
                listener.stop()
        finally:
            zc.close()
        logger.debug("mDNS stopped")
