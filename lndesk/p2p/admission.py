"""Who gets a server session, counted by network address rather than by peer id.

Peer ids are free: anyone can make a thousand, so a penalty or a cap per id alone does
not stop one machine. What a node serves is therefore also bounded by the IP address
the connection comes from (docs/protocol.md section 24.1):

* **New ids per address.** At most ``new_ids_per_ip`` peer ids not seen before from one
  address get sessions in any ``new_id_seconds``; an id that got one is remembered (for
  ``KNOWN_ID_SECONDS``) and admitted from then on. Others are answered ``busy``.
* **Sessions per address.** At most ``sessions_per_ip`` sessions at once from one
  address, whatever ids it uses, and at most ``sessions_per_site`` from the /48 an
  IPv6 address is in (:data:`SITE_IPV6_BITS`), all its /64s together.
* **Work per address.** Valid but expensive requests are charged to the address, each
  kind to a bucket that refills continuously: the feeds ``want`` frames name (each a
  store lookup; ``ip_feeds_per_minute``) and the entries sent in batches (read from the
  log and sent; ``ip_entries_per_minute``). A session over one is ended with ``busy``.

An address is counted as its key (:func:`address_key`): an IPv4 address, or the /64 an
IPv6 address is in (one subscriber is given at least a /64, and may use any address of
it); an IPv4 address written as IPv6 (``::ffff:a.b.c.d``, as a dual-stack listener
reads IPv4 peers) is that IPv4 address, and so is an address of the IPv6 networks an
IPv4 address has of its own (6to4 gives each one a /48, 65,536 /64s; Teredo and NAT64
write it in their low bits). A link-local IPv6 address is counted as itself and its
zone: all of them are in ``fe80::/64``. (Inbound connections count IPv6 by its /48,
``lndesk.p2p.inbound``.)

None of these is a penalty: an honest peer refused here tries again later. Loopback
addresses are exempt unless ``limit_loopback`` (tests and benchmarks turn it on).
Streams whose address cannot be read are counted together as one address,
:data:`UNREAD_ADDRESS`: exempt, any number of them would pass every limit here, and
no honest peer of a TCP listener comes without one. A relayed stream counts against its
relay's address, which every peer it relays shares: a relay bounds the data and time
of what it relays only if it chooses to, and one an attacker runs would otherwise
carry a quarter of a node's connections (what the cap per address lets through one
address), each with its sessions, new peer ids, feeds and entries, free of every
limit here.

* **Batch turns per address.** Of the ``served_batches`` turns a server writes batches
  in (:class:`BatchTurns`), the sessions of one address (here an IPv6 address counts
  by its /48) hold at most ``turns_per_ip`` at once; its other sessions wait for one
  of its own turns, not for the server's. A reader that stops reading keeps a turn
  for up to ``send_timeout``, so without this a few such readers on one or two
  addresses would hold every turn, again and again.
  A turn freed while sessions wait goes to the address holding the fewest turns, the
  longest waiting session among equals: readers that keep their turns long, from
  however many addresses, and the sessions they keep waiting never make a reader from
  an address holding none wait past the next turn freed (unless another address
  holding none waited first), and a session that asks for its next turn at once keeps
  the one it gave back while only addresses holding more wait.
  Relayed sessions count against their relay's address (a relay cannot hand all the
  turns to the peers it relays), and those whose address cannot be read share one
  count; loopback is exempt unless ``limit_loopback``. Waiting is not a refusal.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections import Counter, OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import trio

from lndesk.p2p.config import Limits

logger = logging.getLogger(__name__)

KNOWN_ID_SECONDS = 3600.0
"""How long an admitted peer id stays admitted from its address without a new session."""
MAX_ADDRESSES = 4096
"""Addresses remembered at most (the least recently seen are forgotten first)."""
MAX_IDS_PER_ADDRESS = 256
"""Admitted ids remembered per address at most (the oldest are forgotten first)."""


class ServerBusy(Exception):
    """Raised by a session that must end with ``busy`` (a valid request over a budget)."""


def charge_want(admission: Admission | None, stream: Any, feeds: int) -> None:
    """Charge a ``want`` of ``feeds`` feeds to the address of ``stream``; ServerBusy if
    the address is over its budget."""
    if admission is not None and not admission.charge_feeds(stream_ip(stream), feeds):
        raise ServerBusy("too many feeds asked for from your address; try again later")


def charge_served(admission: Admission | None, stream: Any, entries: int) -> None:
    """Charge ``entries`` about to be sent on ``stream`` to its address; ServerBusy if
    the address is over its budget."""
    if admission is not None and not admission.charge_entries(stream_ip(stream), entries):
        raise ServerBusy("too many entries sent to your address; try again later")


IPV6_GROUP_BITS = 64
"""IPv6 addresses are counted by the network of this many leading bits."""
SITE_IPV6_BITS = 48
"""... and, for ``sessions_per_site`` and the batch turns, by the /48 they are in: a
site's allocation, which a tunnel broker hands to anyone who asks. Counted by /64
alone, one holder of a /48 had 65,536 addresses, enough to take every session of a
server and, with four /64s holding ``turns_per_ip`` each, every batch turn."""


def _parse(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``ip`` as an address (an IPv4-mapped IPv6 address as its IPv4 one, a zone
    dropped); None if it is not one."""
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")
"""The well-known prefix NAT64 writes IPv4 addresses in (RFC 6052)."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address whose own IPv6 network ``address`` is in: 6to4 (``2002::/16``,
    a /48 for each IPv4 address), Teredo (``2001::/32``, the client's) or NAT64."""
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_key(ip: str, ipv6_bits: int = IPV6_GROUP_BITS) -> str:
    """What the limits per address count ``ip`` by: an IPv4 address itself (also one
    written as IPv6, ``::ffff:a.b.c.d``, or held in an IPv6 network of its own: 6to4,
    Teredo, NAT64), an IPv6 address by its network of ``ipv6_bits`` (the /64
    ``2001:db8::/64``; the connection cap counts by the /48), a link-local IPv6 address
    by itself and its zone (``fe80::1%eth0``); anything else as it is written. (Only
    the key: such an IPv6 address is never loopback.)

    Link-local addresses are not grouped: every machine on every link has one in
    ``fe80::/64``, so grouped, all the peers a node reaches directly over IPv6 on its
    local networks would share one count (as LAN peers over IPv4 do not), and peers on
    two links one. Only a peer on the link itself can use one, and such a peer can as
    well take several IPv4 addresses of it."""
    address = _parse(ip)
    if address is None:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.is_link_local:
            zone = ip.split("%", 1)[1] if "%" in ip else ""
            return f"{address}%{zone}" if zone else str(address)
        address = _embedded_ipv4(address) or address
    if isinstance(address, ipaddress.IPv4Address):
        return str(address)
    network = ipaddress.IPv6Network((address, ipv6_bits), strict=False)
    return str(network)


def stream_ip(stream: Any) -> str | None:
    """The IP address a libp2p stream's connection comes from, if it can be read: for a
    relayed connection, its relay's (the connection to the relay is the one read, else
    the relay's part of the circuit address), which every peer it relays shares."""
    try:
        remote = stream.get_remote_address()
        if remote:
            return str(remote[0])
        for a in stream.muxed_conn.get_transport_addresses():
            if "/p2p-circuit" in str(a):
                return _relay_ip(str(a).split("/p2p-circuit")[0])
    except Exception:  # not every stream type can tell
        return None
    return None


UNREAD_ADDRESS = "unknown"
"""What the batch turns of a stream whose address cannot be read are counted by."""


def turn_address(stream: Any, limits: Limits) -> str | None:
    """What the batch turns of ``stream`` are counted by: the IP address its connection
    comes from (for a relayed one, the relay's: the connection to it is the one read),
    else the relay's part of a relayed connection's address, else
    :data:`UNREAD_ADDRESS`; None when its address is exempt (loopback, unless
    ``limit_loopback``)."""
    address = stream_ip(stream)
    if address is None:
        return UNREAD_ADDRESS
    return address_key(address, SITE_IPV6_BITS) if _is_limited(address, limits) else None


def _relay_ip(relay: str) -> str | None:
    """The IP address of a relay's multiaddr (``/ip4/192.0.2.1/tcp/4001/p2p/...``), else
    the multiaddr itself; None if empty."""
    parts = relay.split("/")
    if len(parts) > 2 and parts[1] in ("ip4", "ip6"):
        return parts[2]
    return relay or None


def _is_limited(ip: str, limits: Limits) -> bool:
    if limits.limit_loopback:
        return True
    address = _parse(ip)
    return address is None or not address.is_loopback


_NOT_KEPT = object()


class _Waiter:
    """A session waiting for a batch turn."""

    __slots__ = ("address", "granted", "order", "turn")

    def __init__(self, address: str | None, order: int) -> None:
        self.address = address
        self.order = order
        """When it began to wait (in the order sessions began)."""
        self.granted = False
        """A turn was handed to it (it holds the turn from then on)."""
        self.turn = trio.Event()


class BatchTurns:
    """The turns a server reads, encodes and writes batches in: ``served_batches`` in
    all, at most ``turns_per_ip`` of them held by the sessions of one address, and a
    turn freed while sessions wait goes to the address holding the fewest turns (the
    session waiting longest among equals), so that no number of sessions and addresses
    that keep their turns long push a reader from another address back further than
    the next turn freed (docs/protocol.md section 20.8). Sessions exempt from the cap
    per address (key None) are counted together as one more address.

    A session holds a turn for one batch, and asks again for the next. A turn it gives
    back while only sessions of addresses holding more turns than its own wait is kept
    for it until it next lets other tasks run: if it asks again before (its next batch
    is ready and its reader has room for it), it goes on writing, rather than losing
    the turn to a session it would have come before had it been waiting."""

    def __init__(self, limits: Limits) -> None:
        self.total = limits.served_batches
        self.free = self.total
        """Turns no session holds."""
        self._per_address = max(1, min(limits.turns_per_ip, limits.served_batches))
        self._held: Counter[str | None] = Counter()
        """Turns the sessions of each address hold now (None: exempt ones)."""
        self._waiting: dict[str | None, deque[_Waiter]] = {}
        """The sessions of each address waiting for a turn, the longest waiting first."""
        self._began = 0
        self._kept: dict[trio.lowlevel.Task, str | None] = {}
        """Free turns kept for the session (task) that gave each back, until it next lets
        other tasks run; -> its address."""

    @property
    def waiting(self) -> int:
        """Sessions waiting for a turn now."""
        return sum(len(queue) for queue in self._waiting.values())

    def held_by(self, address: str | None) -> int:
        """Turns the sessions of ``address`` hold now."""
        return self._held[address]

    def _may_take(self, address: str | None) -> bool:
        return address is None or self._held[address] < self._per_address

    def _next(self) -> _Waiter | None:
        """The session the next free turn goes to: of the addresses with room under
        their cap, the one holding the fewest; among equals, the longest waiting."""
        best: _Waiter | None = None
        best_rank = (0, 0)
        for address, queue in self._waiting.items():
            if not self._may_take(address):
                continue
            rank = (self._held[address], queue[0].order)
            if best is None or rank < best_rank:
                best, best_rank = queue[0], rank
        return best

    def _comes_before(self, address: str | None, waiter: _Waiter | None) -> bool:
        """Whether a session of ``address`` asking now comes before ``waiter``: its
        address holds fewer turns (among equals, the one waiting already comes first)."""
        return waiter is None or self._held[address] < self._held[waiter.address]

    def _hand_out(self) -> None:
        while self.free > len(self._kept):
            waiter = self._next()
            if waiter is None:
                return
            queue = self._waiting[waiter.address]
            queue.popleft()
            if not queue:
                del self._waiting[waiter.address]
            self.free -= 1
            self._held[waiter.address] += 1
            waiter.granted = True
            waiter.turn.set()

    def _give_back(self, address: str | None) -> None:
        self._held[address] -= 1
        if not self._held[address]:
            del self._held[address]
        self.free += 1
        task = trio.lowlevel.current_task()
        if self._waiting and task not in self._kept and self._comes_before(address, self._next()):
            self._kept[task] = address
            trio.lowlevel.current_trio_token().run_sync_soon(self._release_kept, task)
        self._hand_out()

    def _release_kept(self, task: trio.lowlevel.Task) -> None:
        """``task`` has let other tasks run: the turn kept for it goes to who waits."""
        if self._kept.pop(task, _NOT_KEPT) is not _NOT_KEPT:
            self._hand_out()

    async def _take(self, address: str | None) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()
        task = trio.lowlevel.current_task()
        kept = self._kept.get(task, _NOT_KEPT) == address and self._may_take(address)
        if kept or (
            self.free > len(self._kept)
            and self._may_take(address)
            and self._comes_before(address, self._next())
        ):
            if kept:
                del self._kept[task]
            self.free -= 1
            self._held[address] += 1
            await trio.lowlevel.cancel_shielded_checkpoint()
            return
        self._began += 1
        waiter = _Waiter(address, self._began)
        self._waiting.setdefault(address, deque()).append(waiter)
        try:
            await waiter.turn.wait()
        except BaseException:
            if waiter.granted:  # handed a turn as it was cancelled: pass it on
                self._give_back(address)
            else:
                queue = self._waiting[address]
                queue.remove(waiter)
                if not queue:
                    del self._waiting[address]
            raise

    @asynccontextmanager
    async def hold(self, address: str | None) -> AsyncIterator[None]:
        """Hold one turn for a session from ``address`` (None: exempt from the cap per
        address), waiting as the class docstring says."""
        await self._take(address)
        try:
            yield
        finally:
            self._give_back(address)


class _Bucket:
    """Units of work an address may ask for, refilling continuously up to a minute's."""

    __slots__ = ("per_minute", "refilled", "tokens")

    def __init__(self, per_minute: int, now: float) -> None:
        self.per_minute = float(per_minute)
        self.tokens = self.per_minute
        self.refilled = now

    def take(self, units: int, now: float) -> bool:
        self.tokens = min(
            self.per_minute, self.tokens + (now - self.refilled) * self.per_minute / 60.0
        )
        self.refilled = now
        if units > self.tokens:
            return False
        self.tokens -= units
        return True


class _Address:
    __slots__ = ("entries", "feeds", "ids", "new_ids")

    def __init__(self, now: float, limits: Limits) -> None:
        self.ids: OrderedDict[str, float] = OrderedDict()
        """Admitted ids -> when they last got a session."""
        self.new_ids: deque[float] = deque()
        """When each id admitted within the last window was first seen."""
        self.feeds = _Bucket(limits.ip_feeds_per_minute, now)
        self.entries = _Bucket(limits.ip_entries_per_minute, now)


class Admission:
    """The address-based limits of one node's servers (all protocols share them)."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._addresses: OrderedDict[str, _Address] = OrderedDict()
        self._open: Counter[str] = Counter()
        self._open_sites: Counter[str] = Counter()
        """Sessions open from each IPv6 /48 (only those whose key is not the /48's)."""
        self.refused = Counter[str]()
        """How many sessions each rule refused: "new-id", "per-ip", "per-site", "work"."""

    def key(self, ip: str | None) -> str | None:
        """What ``ip`` is counted by (:func:`address_key`; an address that cannot be
        read, None, by :data:`UNREAD_ADDRESS`); None when it is exempt."""
        if ip is None:
            return UNREAD_ADDRESS
        return address_key(ip) if _is_limited(ip, self.limits) else None

    def site(self, ip: str | None) -> str | None:
        """The IPv6 /48 whose ``sessions_per_site`` a session from ``ip`` counts
        against; None for an address that is its own site (IPv4, link-local, one that
        cannot be read) or exempt."""
        key = self.key(ip)
        if key is None or ip is None:
            return None
        site = address_key(ip, SITE_IPV6_BITS)
        return None if site == key else site

    def _address(self, key: str, now: float) -> _Address:
        found = self._addresses.get(key)
        if found is None:
            found = self._addresses[key] = _Address(now, self.limits)
            while len(self._addresses) > MAX_ADDRESSES:
                self._addresses.popitem(last=False)
        else:
            self._addresses.move_to_end(key)
        return found

    def enter(self, peer: str, ip: str | None) -> str | None:
        """Admit a session of ``peer`` from ``ip``: None, or why it is refused (``busy``).

        An admitted session must be ended with :meth:`leave`.
        """
        key = self.key(ip)
        if key is None:
            return None
        if self._open[key] >= self.limits.sessions_per_ip:
            self.refused["per-ip"] += 1
            return "too many sessions from your address at once"
        site = self.site(ip)
        if site is not None and self._open_sites[site] >= self.limits.sessions_per_site:
            self.refused["per-site"] += 1
            return "too many sessions from your network at once"
        now = self._clock()
        address = self._address(key, now)
        seen = address.ids.get(peer)
        if seen is None or now - seen > KNOWN_ID_SECONDS:
            window = self.limits.new_id_seconds
            while address.new_ids and now - address.new_ids[0] >= window:
                address.new_ids.popleft()
            if len(address.new_ids) >= self.limits.new_ids_per_ip:
                self.refused["new-id"] += 1
                logger.info("refusing a session of %s: too many new peer ids from %s", peer, ip)
                return "too many new peer ids from your address; try again later"
            address.new_ids.append(now)
        address.ids[peer] = now
        address.ids.move_to_end(peer)
        while len(address.ids) > MAX_IDS_PER_ADDRESS:
            address.ids.popitem(last=False)
        self._open[key] += 1
        if site is not None:
            self._open_sites[site] += 1
        return None

    def leave(self, ip: str | None) -> None:
        """A session admitted by :meth:`enter` ended."""
        key = self.key(ip)
        if key is None:
            return
        self._open[key] -= 1
        if self._open[key] <= 0:
            del self._open[key]
        site = self.site(ip)
        if site is not None:
            self._open_sites[site] -= 1
            if self._open_sites[site] <= 0:
                del self._open_sites[site]

    def charge_feeds(self, ip: str | None, feeds: int) -> bool:
        """Charge a request naming ``feeds`` feeds to ``ip``; False if over its budget
        (nothing is charged then)."""
        key = self.key(ip)
        if key is None:
            return True
        now = self._clock()
        if self._address(key, now).feeds.take(feeds, now):
            return True
        self.refused["work"] += 1
        return False

    def charge_entries(self, ip: str | None, entries: int) -> bool:
        """Charge ``entries`` entries about to be served to ``ip``; False if over its
        budget (nothing is charged then)."""
        key = self.key(ip)
        if key is None:
            return True
        now = self._clock()
        if self._address(key, now).entries.take(entries, now):
            return True
        self.refused["entries"] += 1
        return False
