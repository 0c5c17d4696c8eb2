"""Which found addresses a node dials, and how often it dials (docs/protocol.md 22.4).

Addresses learned from the DHT come from strangers, and mDNS answers come from anyone on
the LAN. Dialled unfiltered, they turn a node into a port scanner of its own machine
(loopback), of the user's LAN (a printer, a router's admin page) or of anything on the
internet, at the rate peers can make it find addresses. So:

* :func:`dialable` keeps only ``/ip4`` or ``/ip6`` TCP addresses with a port from 1024
  to 65535, never an unspecified, multicast or broadcast address; from the DHT only
  public (globally routable) ones, and loopback only when the node is configured to
  (tests on one machine: ``NodeConfig.dht_loopback``); from mDNS also loopback (another
  node on this machine), link-local addresses and private ones on a network this node
  is on itself (the same /24 for IPv4, the same /64 for IPv6).
* :class:`DialLimiter` allows at most ``per_peer`` dials of one found peer per
  ``per_peer_seconds`` and ``burst`` dials of found peers at once, refilled at ``rate``
  a second.

Addresses a person typed, bootstrap peers and the peer book (addresses this node was
connected on) are not filtered.

py-libp2p also dials by itself: its AutoConnector dials peers of the peerstore, which
Kademlia fills with the addresses other peers report, and Kademlia dials the peers its
queries return. :func:`gate_background_dials` filters every TCP dial that lndesk did not
start :func:`deliberately` (a typed address, a bootstrap peer, the peer book, or a found
peer already filtered by its source): only what the mDNS rule allows passes, loopback
only when ``NodeConfig.dht_loopback`` is set.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import multiaddr
from libp2p.transport.exceptions import OpenConnectionError

logger = logging.getLogger(__name__)

MIN_PORT = 1024
"""Lowest port dialled at a found address: below are well-known services, not nodes."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class FoundAddress:
    ip: IPAddress
    port: int


def parse_tcp(addr: multiaddr.Multiaddr | str) -> FoundAddress | None:
    """The IP and port of ``/ip4|ip6/<ip>/tcp/<port>[/p2p/<id>]``, else None (DNS names,
    other transports, relay circuits, anything longer)."""
    parts = str(addr).split("/")
    if len(parts) < 5 or parts[0] != "" or parts[1] not in ("ip4", "ip6") or parts[3] != "tcp":
        return None
    rest = parts[5:]
    if rest and (len(rest) != 2 or rest[0] != "p2p"):
        return None
    try:
        ip = ipaddress.ip_address(parts[2])
        port = int(parts[4])
    except ValueError:
        return None
    if (parts[1] == "ip4") != isinstance(ip, ipaddress.IPv4Address):
        return None
    return FoundAddress(ip, port)


def local_networks(own: Iterable[multiaddr.Multiaddr | str]) -> list[IPNetwork]:
    """The networks this node is on: a /24 (IPv4) or /64 (IPv6) around each of its own
    non-loopback addresses."""
    out: list[IPNetwork] = []
    for addr in own:
        found = parse_tcp(addr)
        if found is None or found.ip.is_loopback or found.ip.is_unspecified:
            continue
        prefix = 24 if isinstance(found.ip, ipaddress.IPv4Address) else 64
        out.append(ipaddress.ip_network(f"{found.ip}/{prefix}", strict=False))
    return out


def is_dialable(
    addr: multiaddr.Multiaddr | str,
    source: str,
    *,
    lan: Sequence[IPNetwork] = (),
    dht_loopback: bool = False,
) -> bool:
    """Whether a node dials ``addr``, found by ``source`` ("dht" or "mdns"; any other
    source is trusted), under the rules of the module docstring."""
    if source not in ("dht", "mdns"):
        return True
    found = parse_tcp(addr)
    if found is None or not MIN_PORT <= found.port <= 65535:
        return False
    ip = found.ip
    if ip.is_unspecified or ip.is_multicast or ip == ipaddress.IPv4Address("255.255.255.255"):
        return False
    if ip.is_loopback:
        return source == "mdns" or dht_loopback
    if source == "dht":
        return ip.is_global
    if ip.is_link_local:
        return True
    return ip.is_global or any(ip in network for network in lan)


def dialable(
    addrs: Iterable[multiaddr.Multiaddr],
    source: str,
    *,
    lan: Sequence[IPNetwork] = (),
    dht_loopback: bool = False,
) -> list[multiaddr.Multiaddr]:
    """The addresses of ``addrs`` a node dials (see :func:`is_dialable`)."""
    kept = [a for a in addrs if is_dialable(a, source, lan=lan, dht_loopback=dht_loopback)]
    return kept


class DialLimiter:
    """Dials of found peers: per peer, and for all of them together (a token bucket)."""

    def __init__(
        self,
        *,
        per_peer: int = 1,
        per_peer_seconds: float = 30.0,
        burst: int = 16,
        rate: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_peer = per_peer
        self.per_peer_seconds = per_peer_seconds
        self.burst = burst
        self.rate = rate
        self._clock = clock
        self._tokens = float(burst)
        self._filled = clock()
        self._peers: dict[str, list[float]] = {}

    def allow(self, peer: object) -> bool:
        """Whether ``peer`` may be dialled now; if so, the dial is counted."""
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._filled) * self.rate)
        self._filled = now
        key = str(peer)
        recent = [t for t in self._peers.get(key, []) if now - t < self.per_peer_seconds]
        if len(recent) >= self.per_peer or self._tokens < 1.0:
            self._peers[key] = recent
            return False
        self._tokens -= 1.0
        recent.append(now)
        self._peers[key] = recent
        if len(self._peers) > 4096:  # forget peers whose window has passed
            self._peers = {
                k: v for k, v in self._peers.items() if v and now - v[-1] < self.per_peer_seconds
            }
        return True


_DELIBERATE: ContextVar[bool] = ContextVar("lndesk_deliberate_dial", default=False)
_GATED = "_lndesk_gated"


@contextmanager
def deliberately() -> Iterator[None]:
    """Dials made inside (in this task and the tasks it starts) are lndesk's own choice."""
    token = _DELIBERATE.set(True)
    try:
        yield
    finally:
        _DELIBERATE.reset(token)


def is_background_dialable(
    addr: multiaddr.Multiaddr | str, lan: Sequence[IPNetwork], *, dht_loopback: bool
) -> bool:
    """Whether py-libp2p may dial ``addr`` on its own (see the module docstring)."""
    found = parse_tcp(addr)
    if found is not None and found.ip.is_loopback and not dht_loopback:
        return False
    return is_dialable(addr, "mdns", lan=lan)


def gate_background_dials(host: Any, *, dht_loopback: bool) -> None:
    """Filter the TCP dials of ``host`` that lndesk did not start :func:`deliberately`."""
    manager = getattr(host.get_network(), "transport_manager", None)
    for transport in list(getattr(manager, "_transports", ())):
        if "tcp" not in type(transport).__name__.lower():
            continue
        for name in ("dial", "dial_with_source"):
            inner = getattr(transport, name, None)
            if inner is None or getattr(inner, _GATED, False):
                continue
            setattr(transport, name, _gated(host, inner, dht_loopback=dht_loopback))


def _gated(host: Any, inner: Callable[..., Any], *, dht_loopback: bool) -> Callable[..., Any]:
    async def gated(addr: multiaddr.Multiaddr, *args: Any, **kwargs: Any) -> Any:
        if not _DELIBERATE.get():
            lan = local_networks(host.get_addrs())
            if not is_background_dialable(addr, lan, dht_loopback=dht_loopback):
                logger.debug("not dialling %s: learned from the network, not allowed", addr)
                raise OpenConnectionError(f"{addr} is not an address this node dials")
        return await inner(addr, *args, **kwargs)

    setattr(gated, _GATED, True)
    return gated
