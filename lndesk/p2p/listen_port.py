"""The default port taken by another program (or another lndesk): use a free one, say which.

Two identities on one machine, or any program already on 4747, would otherwise keep the
second node offline. A node whose configuration allows it (``port_fallback``, set for the
default port) listens on a port the system picks and reports it with a
:class:`~lndesk.p2p.events.NodeWarning`; a port the user chose is used or refused
(:func:`lndesk.p2p.host.check_port_free`).
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import socket

from libp2p.abc import IHost

from lndesk.p2p.config import NodeConfig

logger = logging.getLogger(__name__)


def port_in_use(host: str, port: int) -> bool:
    """Whether something listens on ``host:port`` (a bind probe, as check_port_free)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def settle_port(config: NodeConfig) -> tuple[NodeConfig, int | None]:
    """The configuration to listen with, and the port that was taken (None if none was)."""
    if not config.port_fallback or config.listen_port == 0:
        return config, None
    if not port_in_use(config.listen_host, config.listen_port):
        return config, None
    logger.info("port %d is in use; listening on any free port", config.listen_port)
    return dataclasses.replace(config, listen_port=0), config.listen_port


def listening_port(host: IHost) -> int | None:
    """The TCP port the started ``host`` listens on."""
    for addr in host.get_addrs():
        try:
            return int(addr.value_for_protocol("tcp"))
        except Exception:  # noqa: S112 - an address without TCP (a relayed one): next
            continue
    return None


def fallback_message(taken: int, port: int | None) -> str:
    where = f"port {port}" if port is not None else "another port"
    return (
        f"Port {taken} is in use by another program (or another lndesk), so lndesk "
        f"listens on {where} this time."
    )
