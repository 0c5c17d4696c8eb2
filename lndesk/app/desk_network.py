"""The network screen: peers, this node's addresses, the network settings and dialling."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lndesk.app.addresses import check_bootstrap_count, check_peer_address
from lndesk.app.datadir import CONFIG_NAME
from lndesk.app.desk_events import AnyEvent, LocalChanged
from lndesk.app.desk_naming import Naming
from lndesk.app.desk_publish import NodeLink
from lndesk.app.items import NetworkInfo, PeerItem
from lndesk.app.service import Service
from lndesk.errors import UsageError


class Network:
    """What the running node (if any) is connected to, and its settings."""

    def __init__(
        self,
        service: Service,
        link: NodeLink,
        naming: Naming,
        emit: Callable[[AnyEvent], None],
    ) -> None:
        self._service = service
        self._link = link
        self._naming = naming
        self._emit = emit

    def peers(self) -> list[PeerItem]:
        node = self._link.node
        if node is None:
            return []
        items = []
        for status in node.node.peers():
            key = status.key or b""
            items.append(
                PeerItem(
                    key=key,
                    name=self._naming.name_of(key) if key else status.peer_id[:12],
                    peer_id=status.peer_id,
                    address=status.address,
                    latency_ms=status.latency_ms,
                    syncing=status.syncing,
                    avatar=self._naming.avatar_of(key) if key else b"",
                )
            )
        return items

    def info(self, problem: str | None = None) -> NetworkInfo:
        """The node's state and settings; ``problem`` says why it is not running."""
        config = self._service.config
        node = self._link.node
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

    def save(self, port: int, bootstrap: Sequence[str], mdns: bool) -> None:
        """Check and save the network settings (the caller restarts the network)."""
        if not 0 <= port <= 65535:
            raise UsageError(
                f"{port} is not a TCP port", "Use 1024-65535, or 0 to let the system choose."
            )
        cleaned = list(dict.fromkeys(a.strip() for a in bootstrap if a.strip()))
        check_bootstrap_count(
            len(cleaned),
            "Keep the ones you use most: a few always-on peers are enough; they introduce "
            "the rest.",
        )
        for address in cleaned:
            check_peer_address(address)
        config = self._service.config
        config.port, config.bootstrap, config.mdns = port, cleaned, mdns
        config.save(self._service.data_dir / CONFIG_NAME)
        self._emit(LocalChanged("network"))

    async def connect(self, address: str) -> bytes | None:
        node = self._link.node
        if node is None:
            raise UsageError("the network is not running", "See the Network screen for why.")
        return await node.node.connect(address)
