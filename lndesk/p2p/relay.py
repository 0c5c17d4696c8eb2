"""Reaching nodes behind NAT: circuit relay v2, plus DCUtR hole punching.

Most desktops cannot be dialled: they sit behind a home router or a carrier NAT. A node
with a public address can offer itself as a *relay* (``NodeConfig.relay_hop``); a node
that cannot be dialled *reserves* a slot there (``NodeConfig.relay_client``) and is then
reachable at ``<relay addr>/p2p/<relay>/p2p-circuit/p2p/<its id>``. Anyone who knows that
address can dial it: the relay splices the two streams, and Noise still runs end to end
inside the circuit, so the relay sees only ciphertext and cannot forge entries (they are
signed anyway).

A relay carries other people's traffic on a volunteer's machine, so the hop side is
capped (:data:`HOP_LIMITS`) to what a short sync session needs: the circuit is for
catching up on a few feeds and for coordinating a hole punch, not for bulk transfer.

Once two peers share a relayed connection, DCUtR (``/libp2p/dcutr``) lets them try a
direct one: both exchange the addresses they listen on / are seen at and dial each other
at the same moment, which opens most home NATs. py-libp2p then closes the relayed leg
after a grace period. If the punch fails the relayed connection simply stays in use.

What the tests cover (loopback only): the hop refusing without ``relay_hop``, reserving,
dialling through the circuit and exchanging bytes on an application stream, a refused
reservation, and the DCUtR exchange upgrading a relayed connection to a direct one. On
loopback nothing needs punching (the listen addresses are dialable as they are), so the
tests prove the protocol runs and the upgrade is used, *not* that a real NAT opens:
TCP simultaneous open through real NATs, the port prediction from observed addresses,
and symmetric-NAT failure cannot be exercised without NATs between the peers.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import multiaddr
import trio
from libp2p.host.exceptions import StreamFailure
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo
from libp2p.protocol_muxer.exceptions import MultiselectClientError
from libp2p.relay.circuit_v2.config import RelayConfig, RelayRole
from libp2p.relay.circuit_v2.dcutr import DCUtRProtocol
from libp2p.relay.circuit_v2.pb.circuit_pb2 import HopMessage
from libp2p.relay.circuit_v2.protocol import PROTOCOL_ID as HOP_PROTOCOL_ID
from libp2p.relay.circuit_v2.protocol import CircuitV2Protocol
from libp2p.relay.circuit_v2.protocol_buffer import StatusCode
from libp2p.relay.circuit_v2.resources import RelayLimits
from libp2p.relay.circuit_v2.transport import CircuitV2Transport
from libp2p.relay.circuit_v2.utils import read_delimited_msg, write_delimited_msg
from libp2p.tools.anyio_service import background_trio_service

from lndesk.errors import DialError, NetworkError, RelayRefusedError
from lndesk.p2p.config import NodeConfig
from lndesk.p2p.host import dial, is_loopback
from lndesk.p2p.watch import ConnectionWatcher

if TYPE_CHECKING:
    from libp2p.abc import IHost

logger = logging.getLogger(__name__)

HOP_LIMITS = RelayLimits(
    duration=300,
    data=32 * 1024 * 1024,
    max_circuit_conns=4,
    max_reservations=32,
    reservation_ttl=3600,
)
"""What a relaying node grants (compare go-libp2p: 2 minutes and 128 KiB per circuit).

* ``duration`` 300 s per circuit: a catch-up sync of a few feeds, or a hole punch,
  finishes well inside it; the dialler simply dials again after that.
* ``data`` 32 MiB per circuit (both directions together): about 60,000 entries of
  500 bytes, i.e. dozens of full sync batches, yet a bounded cost for the volunteer.
* ``max_circuit_conns`` 4 concurrent circuits per reserved peer.
* ``max_reservations`` 32 peers at once: a small desktop relay for friends, not a
  public service.
* ``reservation_ttl`` 1 hour; clients refresh at :data:`REFRESH_AT` of it.
"""

REFRESH_AT = 0.8
"""Fraction of a reservation's lifetime after which the client renews it."""
RETRY_AFTER = 30.0
"""Seconds before a failed renewal is tried again (while the old slot may still hold)."""
MIN_TTL = 60.0
"""Shortest reservation lifetime assumed, whatever the relay's clock says."""
CHECK_EVERY = 30.0
"""Seconds between checks that the connections to our relays are still up."""
PUNCH_ROUNDS = 3
"""Hole-punching rounds one call to :meth:`Relay.hole_punch` runs before it gives up."""
PUNCH_BACKOFF = 0.5
"""Seconds before the second round (twice that before the third)."""
RESERVE_TIMEOUT = 15.0
"""Seconds to connect to a relay and get its answer to a reservation."""
DIAL_TIMEOUT = 20.0
"""Seconds to open a circuit and run Noise and yamux through it."""


@dataclass(slots=True)
class _Slot:
    relay: PeerInfo
    expires: float
    """Unix time at which the relay drops the reservation unless it is renewed."""
    renew_at: float
    """Unix time of the next renewal attempt."""
    addrs: list[multiaddr.Multiaddr]
    renewed: trio.Event
    """Set when the slot is reserved again or dropped (a new event per reservation)."""


def circuit_addr(relay_addr: multiaddr.Multiaddr, relay: ID, target: ID) -> multiaddr.Multiaddr:
    """``<relay_addr>/p2p/<relay>/p2p-circuit/p2p/<target>`` (no duplicate /p2p)."""
    base = str(relay_addr)
    if f"/p2p/{relay}" not in base:
        base += f"/p2p/{relay}"
    return multiaddr.Multiaddr(f"{base}/p2p-circuit/p2p/{target}")


class Relay:
    """Circuit relay v2 for one host: hop service, reservations, circuit dials, DCUtR.

    ``hole_punch`` defaults to ``config.relay_client``: a node that relies on relays is
    the one that profits from upgrading relayed connections to direct ones.
    """

    def __init__(self, host: IHost, config: NodeConfig, *, hole_punch: bool | None = None) -> None:
        self._host = host
        self._config = config
        self._hole_punch = config.relay_client if hole_punch is None else hole_punch
        self._slots: dict[ID, _Slot] = {}
        self._changed = trio.Event()
        # STOP is always on: a relay only forwards circuits to peers that reserved with
        # it, so accepting them costs nothing and keeps dial_via symmetric.
        roles = RelayRole.STOP | (RelayRole.HOP if config.relay_hop else RelayRole(0))
        self._protocol = CircuitV2Protocol(host, limits=HOP_LIMITS, allow_hop=config.relay_hop)
        # The transport is used only to dial circuits; without the CLIENT role it does
        # not try to reserve on every relay it dials through.
        self._transport = CircuitV2Transport(
            host, self._protocol, RelayConfig(roles=roles, limits=HOP_LIMITS)
        )
        self._dcutr: DCUtRProtocol | None = None
        self._running = False

    def _on_disconnected(self, peer: ID, _address: str) -> None:
        """Wake the renewal loop when a connection to a relay closes."""
        if peer in self._slots:
            self._changed.set()

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Serve circuit relay (and DCUtR) until cancelled; renew reservations."""
        watch = ConnectionWatcher(lambda *_: None, self._on_disconnected)
        network = self._host.get_network()
        network.register_notifee(watch)
        try:
            async with background_trio_service(self._protocol):
                if self._hole_punch:
                    self._dcutr = DCUtRProtocol(self._host)
                    async with background_trio_service(self._dcutr):
                        await self._serve(task_status)
                else:
                    await self._serve(task_status)
        finally:
            network.remove_notifee(watch)

    async def _serve(self, task_status: Any) -> None:
        logger.info(
            "relay: hop %s, client %s, hole punching %s",
            "on" if self._config.relay_hop else "off",
            "on" if self._config.relay_client else "off",
            "on" if self._hole_punch else "off",
        )
        self._running = True
        try:
            task_status.started()
            await self._renew_forever()
        finally:
            self._running = False

    async def _renew_forever(self) -> None:
        """Keep every slot alive: renew it before it lapses, and at once if the
        connection to its relay dropped (a relay can only forward circuits to us over
        that connection). An unreachable relay is retried until the slot lapses; a
        relay that refuses, or a lapsed slot, is dropped from :meth:`circuit_addrs`.
        """
        while True:
            self._changed = trio.Event()
            connections = self._host.get_network().connections
            for who, slot in list(self._slots.items()):
                now = time.time()
                if now < slot.renew_at and connections.get(who):
                    continue
                try:
                    await self.reserve(slot.relay)
                except RelayRefusedError as exc:
                    logger.warning("relay: %s no longer holds our slot: %s", who, exc)
                    self.forget(who)
                except NetworkError as exc:
                    if time.time() >= slot.expires:
                        logger.warning("relay: slot on %s lapsed: %s", who, exc)
                        self.forget(who)
                    else:
                        slot.renew_at = time.time() + RETRY_AFTER
            wake = min((s.renew_at for s in self._slots.values()), default=None)
            delay = CHECK_EVERY if wake is None else min(CHECK_EVERY, wake - time.time())
            with trio.move_on_after(max(1.0, delay)):
                await self._changed.wait()

    async def reserve(self, relay: PeerInfo) -> list[multiaddr.Multiaddr]:
        """Reserve a slot on ``relay``; return our circuit addresses through it.

        Raises :class:`DialError` if the relay cannot be reached and
        :class:`RelayRefusedError` if it answers but refuses (no hop service, full).
        """
        if not self._running:
            raise RuntimeError("Relay.run() must be started before reserving")
        if not self._config.relay_client:
            raise RelayRefusedError(
                "This node does not use relays.", hint="Turn on the relay client setting."
            )
        who = relay.peer_id
        try:
            with trio.fail_after(RESERVE_TIMEOUT):
                await dial(self._host, relay)
                try:
                    stream = await self._host.new_stream(who, [HOP_PROTOCOL_ID])
                except StreamFailure as exc:
                    if isinstance(exc.__cause__, MultiselectClientError):
                        raise RelayRefusedError(f"{who} does not relay for others.") from exc
                    raise
                try:
                    await write_delimited_msg(stream, HopMessage(type=HopMessage.RESERVE))
                    answer = await read_delimited_msg(stream, HopMessage)
                finally:
                    await stream.close()
        except NetworkError:
            raise
        except trio.TooSlowError as exc:
            raise DialError(f"Relay {who} did not answer in time.") from exc
        except Exception as exc:
            raise DialError(f"Could not reach relay {who}: {exc}") from exc
        status = StatusCode(answer.status) if answer.HasField("status") else StatusCode.OK
        if status != StatusCode.OK or not answer.HasField("reservation"):
            raise RelayRefusedError(f"Relay {who} refused a slot ({status.name}).")
        addrs = self._circuit_addrs_via(relay, answer.reservation.addrs)
        now = time.time()
        # ``expire`` is the relay's clock; bound it so a skewed clock neither makes us
        # renew in a tight loop nor wait past what the relay really grants.
        ttl = min(max(answer.reservation.expire - now, MIN_TTL), float(HOP_LIMITS.reservation_ttl))
        old = self._slots.get(who)
        self._slots[who] = _Slot(relay, now + ttl, now + ttl * REFRESH_AT, addrs, trio.Event())
        if old is not None:
            old.renewed.set()
        self._changed.set()
        logger.info("relay: reserved on %s for %.0f s", who, ttl)
        return list(addrs)

    def _circuit_addrs_via(self, relay: PeerInfo, reported: Any) -> list[multiaddr.Multiaddr]:
        """Circuit addresses through the relay: ones we dialled first, then what it reports.

        A relay reports all its interface addresses; its loopback ones are useless to
        others unless we reached it over loopback ourselves.
        """
        candidates = list(relay.addrs)
        for raw in reported:
            try:
                candidates.append(multiaddr.Multiaddr(bytes(raw)))
            except Exception:  # noqa: S112 - a malformed address from the relay is skipped
                continue
        loopback_ok = any(is_loopback(a) for a in relay.addrs)
        me = self._host.get_id()
        out: list[multiaddr.Multiaddr] = []
        seen: set[str] = set()
        for addr in candidates:
            if "/p2p-circuit" in str(addr) or (is_loopback(addr) and not loopback_ok):
                continue
            full = circuit_addr(addr, relay.peer_id, me)
            if str(full) not in seen:
                seen.add(str(full))
                out.append(full)
        return out

    def relays(self) -> list[ID]:
        """The relays that hold a slot for this node."""
        return list(self._slots)

    def circuit_addrs(self) -> list[multiaddr.Multiaddr]:
        """Our addresses through every relay that holds a slot for us (to advertise)."""
        return [addr for slot in self._slots.values() for addr in slot.addrs]

    async def wait_renewed(self, relay: ID) -> None:
        """Wait until the slot on ``relay`` has been renewed once more (or dropped)."""
        slot = self._slots.get(relay)
        if slot is None:
            raise KeyError(relay)
        await slot.renewed.wait()

    def forget(self, relay: ID) -> None:
        """Stop renewing the slot on ``relay`` (it lapses at the relay on its own)."""
        slot = self._slots.pop(relay, None)
        if slot is not None:
            slot.renewed.set()
            self._changed.set()

    async def dial_via(self, relay_addr_with_target: multiaddr.Multiaddr) -> None:
        """Connect to the target of a circuit address through its relay.

        Afterwards ``host.new_stream(target, ...)`` uses the relayed connection (or a
        direct one, once hole punching has replaced it). Returns at once if already
        connected to the target by any path. Raises :class:`DialError`.
        """
        try:
            _relay, target = self._transport.parse_circuit_ma(relay_addr_with_target)
        except ValueError as exc:
            raise DialError(f"Not a relay circuit address: {relay_addr_with_target}") from exc
        if self._host.get_network().connections.get(target):
            return
        try:
            with trio.fail_after(DIAL_TIMEOUT):
                await self._transport.dial(relay_addr_with_target)
        except trio.TooSlowError as exc:
            raise DialError(f"Dialling {target} through a relay timed out.") from exc
        except Exception as exc:
            raise DialError(f"Could not reach {target} through the relay: {exc}") from exc
        self._host.get_peerstore().add_addrs(target, [relay_addr_with_target], 3600)
        logger.info("relay: connected to %s through a circuit", target)

    async def hole_punch(self, peer: ID) -> bool:
        """Try now to replace a relayed connection to ``peer`` by a direct one.

        Hole punching also starts on its own for relayed peers (every few seconds); this
        is for callers that want the result. False if disabled or if it failed.
        """
        dcutr = self._dcutr
        if dcutr is None:
            return False
        for attempt in range(PUNCH_ROUNDS):
            if attempt:
                # Both ends punch at once when the automatic punching of each side
                # fires together; their dials then collide (on one machine the second
                # connect of the same address pair fails) and both sessions give up.
                # A later round, started by one side alone, succeeds.
                await trio.sleep(PUNCH_BACKOFF * attempt)
            # The library's per-peer budget is shared with its automatic punching; a
            # caller who asks now gets fresh rounds.
            dcutr._hole_punch_attempts.pop(peer, None)
            if await dcutr.initiate_hole_punch(peer):
                return True
            if await dcutr._have_direct_connection(peer):
                return True  # the peer's own session won the race
        return False
