"""The desk's network screen: peers, this node's addresses, settings and dialling.

A mixin of :class:`lndesk.app.desk.Desk`; like the rest of the desk it runs on the node
thread and returns plain items.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from lndesk.app.datadir import CONFIG_NAME
from lndesk.app.desk_events import AnyEvent, LocalChanged
from lndesk.app.items import NetworkInfo, PeerItem
from lndesk.errors import UsageError

if TYPE_CHECKING:
    from lndesk.app.node import AppNode
    from lndesk.app.service import Service
    from lndesk.store.store import Store


class NetworkMixin:
    """Network features of the desk (see the module docstring)."""

    if TYPE_CHECKING:
        service: Service
        node: AppNode | None
        _emit: Callable[[AnyEvent], None]

        @property
        def store(self) -> Store: ...

        def _name(self, key: bytes, chosen: str | None, hint: str | None = None) -> str: ...

        def _avatar_of(self, key: bytes) -> bytes: ...

    def peers(self) -> list[PeerItem]:
        if self.node is None:
            return []
        items = []
        for status in self.node.node.peers():
            key = status.key or b""
            name = self.store.feed_state(key).name if key else None
            items.append(
                PeerItem(
                    key=key,
                    name=self._name(key, name) if key else status.peer_id[:12],
                    peer_id=status.peer_id,
                    address=status.address,
                    latency_ms=status.latency_ms,
                    syncing=status.syncing,
                    avatar=self._avatar_of(key) if key else b"",
                )
            )
        return items

    def network(self, problem: str | None = None) -> NetworkInfo:
        config = self.service.config
        node = self.node
        return NetworkInfo(
            online=node is not None,
            peer_id=node.node.peer_id if node is not None else "",
            addresses=tuple(node.node.addresses()) if node is not None else (),
            port=config.port,
            bootstrap=tuple(config.bootstrap),
            mdns=config.mdns,
            problem=problem,
            port_note=(node.node.port_note or "") if node is not None else "",
        )

    def save_network(self, port: int, bootstrap: Sequence[str], mdns: bool) -> None:
        """Check and save the network settings (the caller restarts the network)."""
        if not 0 <= port <= 65535:
            raise UsageError(
                f"{port} is not a TCP port", "Use 1024-65535, or 0 to let the system choose."
            )
        cleaned = [a.strip() for a in bootstrap if a.strip()]
        from lndesk.p2p.node import parse_peer_address  # noqa: PLC0415 - loads libp2p

        for address in cleaned:
            parse_peer_address(address)
        config = self.service.config
        config.port, config.bootstrap, config.mdns = port, cleaned, mdns
        config.save(self.service.data_dir / CONFIG_NAME)
        self._emit(LocalChanged("network"))

    async def connect(self, address: str) -> bytes | None:
        if self.node is None:
            raise UsageError("the network is not running", "See the Network screen for why.")
        return await self.node.node.connect(address)
