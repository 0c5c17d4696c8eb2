"""Building the libp2p host: the user's key, TCP, Noise only, yamux, desktop-sized limits.

py-libp2p's defaults suit a server in a data centre, not a laptop. What changes here:

* Security is Noise only. A default host also accepts ``/plaintext/2.0.0``, which would
  let anyone read and alter traffic; a plaintext-only dialler must be refused.
* ``max_connections_per_peer=1``: with the default (3) every ``connect`` waits 250 ms for
  extra connections it never needs.
* py-libp2p's health monitor stays off: it pinged with a new stream per connection
  and interval and closed a connection at the first late answer, which dropped honest
  peers of a busy node. ``lndesk.p2p.liveness`` keeps connections alive instead.
* Connection counts and the AutoConnector's watermarks are a desktop's: it keeps about
  8 connections (the midpoint of the watermarks) instead of dialling towards 200 every
  30 seconds, and prunes above 12.
* One address holds at most ``NodeConfig.inbound_per_ip()`` inbound connections (a
  quarter of ``max_connections``), whatever peer ids it uses, and the pruner closes the
  connections of the address holding the most first (``lndesk.p2p.inbound``): one
  machine cannot fill every slot and have honest peers pruned.
* py-libp2p's 7-line ERROR for every stream that could not be opened (a peer's ``na``
  included) is one DEBUG line (``lndesk.p2p.unsupported``): the callers log their own.
* One task pings each yamux connection (``lndesk.p2p.liveness.LivenessYamux``):
  yamux's own round-trip pings and liveness's used to race on the same state.
* yamux acknowledges received data as go-yamux does, once half the receive window has
  been read, instead of with a window update after every read or every second one (a
  frame back for every gossip message; ``lndesk.p2p.yamux_window``), and writes its
  frames without py-libp2p's per-frame debug formatting and extra checkpoints, each
  data frame small enough to be one Noise message (py-libp2p's full frames were two). A
  connection is closed at the first frame it cannot take (an unknown version or type,
  data over a stream's window, a body that fails to decrypt) instead of read on. A peer
  holds at most 64 streams it opened on a connection (more are reset), a reset
  stream's buffered data is dropped at once, a peer's pings are answered at a bounded
  rate, and a frame not written within 30 s (the peer takes nothing) or cut short
  closes the connection.
* A TCP connection is read ahead, up to 256 KiB a socket read, and Noise's and yamux's
  small reads are served from that (``lndesk.p2p.read_ahead``): py-libp2p made a socket
  read, with a lock and a trip through trio's scheduler, for every length prefix and
  every body.
* The host key is derived from the identity seed, so the peer ID *is* the user's key and
  "who serves Ann's feed" and "is this Ann" need no extra mapping.
* ``dial()`` tries each known address of a peer in turn. py-libp2p's ``connect`` dials
  only the first TCP address it knows (one per transport), so a stale address (a
  laptop that moved to another network) hid the fresh one mDNS or the DHT had just
  found, for as long as the peerstore kept it (two hours after identify); and every
  failure made it refuse the peer for a minute ("negative cache").
* ``serving()`` runs the host with what ``host.run`` leaves out. A port already in use
  is an error: py-libp2p listens with ``SO_REUSEPORT`` (for hole punching), so a second
  node on the same port would *share* it, the kernel handing each incoming connection to
  either node at random, and a port held by another program only logs an error and
  leaves the node listening nowhere. And the listening sockets are closed on the way
  out: py-libp2p's shutdown tries to close them inside an already-cancelled scope, so
  they stayed open (and accepted connections nobody answered) until the process ended.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import socket
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import multiaddr
import trio
from libp2p import create_yamux_muxer_option, new_host
from libp2p.crypto.ed25519 import Ed25519PublicKey, create_new_key_pair
from libp2p.crypto.x25519 import create_new_key_pair as create_x25519_key_pair
from libp2p.network.config import ConnectionConfig, RetryConfig
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo
from libp2p.peer.peerstore import PeerStoreError
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.utils.address_validation import get_available_interfaces

from lndesk.errors import DialError, ListenError
from lndesk.p2p.config import NodeConfig
from lndesk.p2p.dialable import deliberately, gate_background_dials
from lndesk.p2p.inbound import (
    cap_inbound_per_address,
    read_ipv6_addresses,
    release_inbound_cap,
)
from lndesk.p2p.liveness import ping_from_one_task
from lndesk.p2p.read_ahead import read_ahead_on
from lndesk.p2p.unsupported import quiet_stream_open_errors
from lndesk.p2p.yamux_window import (
    acknowledge_as_go_yamux,
    close_broken_connections,
    drop_reset_streams,
    frames_fit_noise,
    write_frames_lean,
)

if TYPE_CHECKING:
    from libp2p.abc import IHost

logger = logging.getLogger(__name__)

DIAL_ADDRESS_SECONDS = 10.0
"""How long one address of a peer may take to connect before the next is tried. The
Noise handshake and yamux set-up need the other node's CPU: a node busy with many
peers joining at once took more than 5 s, and a dial given up halfway wasted what it
had done and was tried again (docs/protocol.md section 19)."""
ADDRESS_TTL = 600
"""Seconds the peerstore keeps addresses a dial was given (identify replaces them)."""
CLOSE_SECONDS = 5.0
"""How long closing connections and listeners may take when a node stops."""
YAMUX_RELEASE_ON_READ = "PY_YAMUX_RELEASE_ON_READ"
"""py-libp2p's switch for a yamux window update after every read (see build_host)."""

_dial_locks: weakref.WeakKeyDictionary[IHost, dict[ID, trio.Lock]] = weakref.WeakKeyDictionary()

_ANY = ("0.0.0.0", "::")  # noqa: S104 - wildcard addresses are compared, not bound here


def peer_id_of(public_key: bytes) -> ID:
    """The libp2p peer ID of an lndesk public key (identity multihash of the key)."""
    return ID.from_pubkey(Ed25519PublicKey.from_bytes(public_key))


def public_key_of(peer_id: ID) -> bytes | None:
    """The lndesk public key behind a peer ID, or None if the peer uses another key type."""
    try:
        key = peer_id.extract_public_key()
    except Exception:  # a malformed ID from a peer is simply "not ours"
        return None
    if key is None or key.get_type().name != "Ed25519":
        return None
    raw = key.to_bytes()
    return raw if len(raw) == 32 else None


def listen_addrs(config: NodeConfig) -> list[multiaddr.Multiaddr]:
    family = "ip6" if ":" in config.listen_host else "ip4"
    return [multiaddr.Multiaddr(f"/{family}/{config.listen_host}/tcp/{config.listen_port}")]


@asynccontextmanager
async def serving(host: IHost, config: NodeConfig) -> AsyncIterator[None]:
    """Run ``host`` listening as ``config`` says; ``ListenError`` if it cannot listen."""
    check_port_free(config)
    async with host.run(listen_addrs(config)):
        try:
            check_listening(host, config)
            yield
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(CLOSE_SECONDS):
                await _close_network(host)


async def _close_network(host: IHost) -> None:
    """Close every listener and connection of ``host``, each on its own, all at once.

    py-libp2p's own shutdown runs inside a cancelled scope, so closing a socket there
    is cut short: a stopped node kept accepting connections it never answered, and its
    peers went on believing it connected. Closing the muxer (yamux sends GO_AWAY and
    closes the socket) is what tells a peer at once.
    """
    network = host.get_network()

    async def quietly(close: Callable[[], Awaitable[object]]) -> None:
        try:
            await close()
        except Exception as exc:  # already closed, or the peer went away first
            logger.debug("closing on stop: %s", exc)

    async with trio.open_nursery() as nursery:
        for listener in list(network.listeners.values()):
            nursery.start_soon(quietly, listener.close)
        for conns in list(network.connections.values()):
            for conn in conns:
                nursery.start_soon(quietly, conn.muxed_conn.close)


AddressFilter = Callable[[Sequence[multiaddr.Multiaddr]], list[multiaddr.Multiaddr]]


async def dial(host: IHost, info: PeerInfo, *, only: AddressFilter | None = None) -> None:
    """Connect to ``info.peer_id``: each of ``info.addrs``, then the other addresses the
    peerstore knows, one at a time, until one connects.

    Raises ``DialError`` naming each address and why it failed. Relay (``p2p-circuit``)
    addresses are left to :mod:`lndesk.p2p.relay`. ``only`` keeps the addresses that may
    be dialled, of both kinds (``lndesk.p2p.dialable``).
    """
    peer = info.peer_id
    # One dial per peer at a time: each narrows the peerstore to the address it tries,
    # and a second dial (the peer list and mDNS at start-up) would undo that midway.
    locks = _dial_locks.setdefault(host, {})
    lock = locks.setdefault(peer, trio.Lock())
    try:
        async with lock:
            with deliberately():
                await _dial_addresses(host, info, only)
    finally:
        if not lock.locked() and not lock.statistics().tasks_waiting:
            locks.pop(peer, None)


async def _dial_addresses(host: IHost, info: PeerInfo, only: AddressFilter | None) -> None:
    peer = info.peer_id
    if peer in host.get_connected_peers():
        return
    store = host.get_peerstore()
    try:
        known = list(store.addrs(peer))
    except PeerStoreError:
        known = []
    candidates = dial_order(info.addrs, known)
    if only is not None:
        candidates = only(candidates)
    if not candidates:
        raise DialError(f"no address to dial for {peer}")
    failures: list[str] = []
    try:
        for addr in candidates:
            # connect() dials what the peerstore holds; let it hold just this address.
            store.clear_addrs(peer)
            _forget_failures(host, peer)
            try:
                with trio.fail_after(DIAL_ADDRESS_SECONDS):
                    await host.connect(PeerInfo(peer, [addr]))
            except trio.TooSlowError:
                failures.append(f"{addr}: timed out")
            except Exception as exc:  # libp2p raises many kinds for an unreachable address
                failures.append(f"{addr}: {_dial_reason(exc)}")
            else:
                return
    finally:
        if peer not in host.get_connected_peers():
            store.add_addrs(peer, candidates, ADDRESS_TTL)  # keep them for the next try
            _forget_failures(host, peer)  # our callers keep their own schedules
    raise DialError(f"could not connect to {peer}: " + "; ".join(failures))


def dial_order(
    given: Sequence[multiaddr.Multiaddr], known: Sequence[multiaddr.Multiaddr]
) -> list[multiaddr.Multiaddr]:
    """Dialable addresses once each, without ``/p2p/<id>``: the ones this dial was given
    first (a person typed it, discovery just found it), then those known from before;
    loopback last within each."""
    seen: dict[str, multiaddr.Multiaddr] = {}
    order: list[multiaddr.Multiaddr] = []
    for group in (given, known):
        fresh: list[multiaddr.Multiaddr] = []
        for addr in group:
            text = str(addr)
            if "/p2p-circuit" in text or "/tcp/" not in text:
                continue
            text = text.split("/p2p/", 1)[0]
            if text not in seen:
                seen[text] = multiaddr.Multiaddr(text)
                fresh.append(seen[text])
        fresh.sort(key=is_loopback)
        order.extend(fresh)
    return order


def _forget_failures(host: IHost, peer: ID) -> None:
    """Clear the swarm's mark on a peer whose addresses all failed: for a minute after
    one, it refuses to dial that peer at all, whatever address the dial brings."""
    unblock = getattr(host.get_network(), "unblock_peer", None)
    if unblock is not None:
        unblock(peer)


def _dial_reason(exc: BaseException) -> str:
    """The innermost cause of a libp2p dial error, which says what actually happened
    ("connection refused" rather than "unable to connect")."""
    while True:
        inner = exc.__cause__
        if inner is None:
            # libp2p's MultiError (one per attempt), trio's group of socket errors
            errors = getattr(exc, "errors", None) or getattr(exc, "exceptions", None)
            inner = errors[-1] if errors else None
        if not isinstance(inner, BaseException):
            break
        exc = inner
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def check_port_free(config: NodeConfig) -> None:
    """Raise ``ListenError`` if something already listens on the node's port.

    The probe socket has ``SO_REUSEADDR`` (connections of a node that just stopped, still
    in TIME_WAIT, do not count) but not ``SO_REUSEPORT``, so any listener on the port,
    ours or another program's, makes its bind fail.
    """
    if config.listen_port == 0:
        return
    family = socket.AF_INET6 if ":" in config.listen_host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((config.listen_host, config.listen_port))
        except OSError as exc:
            raise _listen_error(config, exc) from exc


def _listen_error(config: NodeConfig, exc: OSError | None) -> ListenError:
    where = f"{config.listen_host}:{config.listen_port}"
    if exc is not None and exc.errno == errno.EADDRINUSE:
        return ListenError(f"Port {config.listen_port} is already in use ({where}).")
    reason = exc.strerror if exc is not None and exc.strerror else "see the log for why"
    return ListenError(f"lndesk could not listen on {where}: {reason}.")


def check_listening(host: IHost, config: NodeConfig) -> None:
    """Raise ``ListenError`` if the started host has no listener (py-libp2p only logs it)."""
    if not host.get_network().listeners:
        raise _listen_error(config, None)


def expand_wildcards(addrs: Sequence[multiaddr.Multiaddr]) -> list[multiaddr.Multiaddr]:
    """Replace 0.0.0.0 listen addresses by this machine's interface addresses.

    A wildcard is useless to hand to a friend; the concrete addresses are what peers
    (and mDNS, and identify) need to see.
    """
    out: list[multiaddr.Multiaddr] = []
    for addr in addrs:
        text = str(addr)
        parts = text.split("/")
        if len(parts) >= 5 and parts[1] == "ip4" and parts[2] in _ANY and parts[3] == "tcp":
            port = int(parts[4])
            rest = "/".join(parts[5:])
            for candidate in get_available_interfaces(port):
                ctext = str(candidate)
                if not ctext.startswith("/ip4/"):
                    continue
                out.append(multiaddr.Multiaddr(ctext + ("/" + rest if rest else "")))
        else:
            out.append(addr)
    seen: set[str] = set()
    unique = []
    for addr in out:
        if str(addr) not in seen:
            seen.add(str(addr))
            unique.append(addr)
    return sorted(unique, key=_addr_rank)


def is_loopback(addr: multiaddr.Multiaddr | str) -> bool:
    """Whether a multiaddr (or its text) starts with a loopback IP address."""
    try:
        return ipaddress.ip_address(str(addr).split("/")[2]).is_loopback
    except (ValueError, IndexError):
        return False


def _addr_rank(addr: multiaddr.Multiaddr) -> tuple[int, str]:
    """Public addresses first, then private LAN, then loopback: the order to show a user."""
    parts = str(addr).split("/")
    try:
        ip = ipaddress.ip_address(parts[2])
    except (ValueError, IndexError):
        return (3, str(addr))
    if ip.is_loopback:
        return (2, str(addr))
    if ip.is_private:
        return (1, str(addr))
    return (0, str(addr))


def connection_config(config: NodeConfig) -> ConnectionConfig:
    low = max(1, config.low_watermark)
    return ConnectionConfig(
        max_connections=config.max_connections,
        min_connections=min(4, low),
        low_watermark=low,
        high_watermark=max(low, config.high_watermark),
        max_connections_per_peer=1,
        dial_timeout=10.0,
        # Liveness is lndesk.p2p.liveness's (yamux pings from one task per connection).
        enable_health_monitoring=False,
    )


def build_host(seed: bytes, config: NodeConfig) -> IHost:
    """A libp2p host whose peer ID is the Ed25519 key of ``seed``."""
    # yamux window updates as go-yamux sends them: once half the receive window has
    # been read. py-libp2p's default also sends one after every read ("release on
    # read"), a frame back per gossip message received.
    os.environ.setdefault(YAMUX_RELEASE_ON_READ, "0")
    acknowledge_as_go_yamux()  # nor one for most small reads (lndesk.p2p.yamux_window)
    write_frames_lean()
    frames_fit_noise()  # a data frame is one Noise message, not two
    close_broken_connections()  # at the first frame it cannot take; streams capped
    drop_reset_streams()  # a reset stream's data is never read
    key_pair = create_new_key_pair(seed)
    noise = NoiseTransport(
        libp2p_keypair=key_pair, noise_privkey=create_x25519_key_pair().private_key
    )

    def advertise(candidates: list[multiaddr.Multiaddr]) -> list[multiaddr.Multiaddr]:
        return expand_wildcards(candidates)

    host = new_host(
        key_pair=key_pair,
        sec_opt={NOISE_PROTOCOL_ID: noise},
        muxer_opt=create_yamux_muxer_option(),
        connection_config=connection_config(config),
        addrs_factory=advertise,
    )
    # One quick retry per address (the default is three, backing off): dial() moves on
    # to the next address, and its callers (bootstrap, discovery, the resync timer)
    # keep their own schedules.
    network: Any = host.get_network()
    network.retry_config = RetryConfig(max_retries=1, initial_delay=0.1)
    quiet_stream_open_errors()
    gate_background_dials(host, dht_loopback=config.dht_loopback)
    release_inbound_cap(host)
    cap_inbound_per_address(
        host, config.inbound_per_ip(), limit_loopback=config.limits.limit_loopback
    )
    read_ipv6_addresses()
    read_ahead_on(host)
    ping_from_one_task(host)
    return host
