"""Fork proofs ``/lndesk/forks/1``: "have you seen any of these feeds fork?"

A node that detected a fork (two validly signed entries of one author at one seq,
docs/protocol.md section 8) freezes the feed, but a reader syncing from it would only
receive one branch and never learn it. So a node asks each peer, when they connect and
with every anti-entropy round, for proofs of forks of the feeds it wants; the peer
answers with both signed entries of each fork it knows, and the asker checks the proof
itself (two valid signatures by the author at one seq, different ids) before it keeps
it and freezes the feed. Nobody has to trust the peer: a proof can only be made with
the author's key.

One stream carries one question and one answer, each one frame (the framing of the sync
protocol, section 20.1; the messages are in section 20.12):

1. asker → ``forks``: ``feeds``, the keys asked about (at most ``MAX_FEEDS``);
2. server → ``proofs``: at most ``MAX_PROOFS`` pairs ``[entry, entry]`` (exact bytes,
   ordered by id), at most one per asked feed, or ``error``; then it closes the stream.

Decoding is as strict as sync: anything else is a ProtocolError, and a proof that does
not verify is the entry error it breaks; either way the peer is penalised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import trio
from libp2p.custom_types import TProtocol

from lndesk.cbor_scan import ScanLimits
from lndesk.entry import KEY_SIZE, MAX_ENTRY_SIZE, Entry, decode_entry
from lndesk.errors import ChainError, EntryError, ProtocolError, StoreError
from lndesk.p2p.admission import Admission
from lndesk.p2p.config import Limits
from lndesk.p2p.events import EventSink, FeedForked, NodeWarning
from lndesk.p2p.sessions import (
    AskServer,
    Penalise,
    ask_once,
    client_session,
    close_quietly,
    receive_opening,
)
from lndesk.p2p.wire import (
    ERROR_PARSER,
    Error,
    MessageFrames,
    Parsers,
    decode_map_body,
    encode_frame,
    encode_map_frame,
)

logger = logging.getLogger(__name__)

PROTOCOL_NAME = "fork proof"
FORKS_PROTOCOL_ID = "/lndesk/forks/1"
FORKS_PROTOCOL = TProtocol(FORKS_PROTOCOL_ID)
MAX_FEEDS = 5000
"""Most feeds one ``forks`` may ask about (the sync protocol's ``want_feeds``)."""
MAX_PROOFS = 64
"""Most proofs in one ``proofs`` (forks are rare; more are asked for next time)."""

FORKS_CAPS: dict[str, ScanLimits] = {
    "forks": ScanLimits(max_bytes=196_608, max_items=5 + MAX_FEEDS + 40, max_string=64),
    "proofs": ScanLimits(max_bytes=73_728, max_items=5 + 3 * MAX_PROOFS + 40, max_string=512),
    "error": ScanLimits(max_bytes=8192, max_items=32, max_string=4096),
}
"""Caps of every fork proof message, checked before a body is decoded (section 20.12)."""
MAX_FORKS_FRAME = max(caps.max_bytes for caps in FORKS_CAPS.values())


@dataclass(frozen=True, slots=True)
class Forks:
    """Asker → server: the feeds whose forks the asker wants to hear of."""

    feeds: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class Proofs:
    """Server → asker: two entries at one seq of each forked feed, ordered by id."""

    proofs: tuple[tuple[bytes, bytes], ...]


ForksMessage = Forks | Proofs | Error


@runtime_checkable
class ForkSource(Protocol):
    """What the fork protocol needs of the store (the app wires the store in)."""

    def fork_proof(self, key: bytes) -> tuple[bytes, bytes] | None:
        """Two held entries of ``key`` at its lowest forked seq, ordered by id."""
        ...

    def record_fork(self, key: bytes, first: bytes, second: bytes) -> int:
        """Keep a verified fork proof of ``key`` and freeze the feed; returns the seq."""
        ...


def encode_forks_frame(message: ForksMessage) -> bytes:
    if isinstance(message, Forks):
        return encode_map_frame({"t": "forks", "feeds": list(message.feeds)})
    if isinstance(message, Proofs):
        return encode_map_frame({"t": "proofs", "proofs": [list(p) for p in message.proofs]})
    return encode_frame(message)  # the error message is the sync protocol's


def decode_forks_body(body: bytes) -> ForksMessage:
    """Decode one fork proof frame body (without its length prefix), strictly."""
    return decode_map_body(body, PROTOCOL_NAME, _PARSERS, FORKS_CAPS)


def _forks(doc: dict[str, Any]) -> Forks:
    feeds = doc["feeds"]
    if type(feeds) is not list or not 1 <= len(feeds) <= MAX_FEEDS:
        raise ProtocolError(f"forks: 'feeds' must be an array of 1 to {MAX_FEEDS} keys")
    for key in feeds:
        if type(key) is not bytes or len(key) != KEY_SIZE:
            raise ProtocolError("forks: a feed key must be 32 bytes")
    if len(set(feeds)) != len(feeds):
        raise ProtocolError("forks names a feed twice")
    return Forks(tuple(feeds))


def _proofs(doc: dict[str, Any]) -> Proofs:
    items = doc["proofs"]
    if type(items) is not list or len(items) > MAX_PROOFS:
        raise ProtocolError(f"proofs: 'proofs' must be an array of at most {MAX_PROOFS}")
    proofs = []
    for item in items:
        if (
            type(item) is not list
            or len(item) != 2
            or not all(type(e) is bytes and len(e) <= MAX_ENTRY_SIZE for e in item)
        ):
            raise ProtocolError("proofs items must be [entry, entry] of at most 512 bytes each")
        proofs.append((item[0], item[1]))
    return Proofs(tuple(proofs))


_PARSERS: Parsers[ForksMessage] = {
    "forks": (("feeds",), _forks),
    "proofs": (("proofs",), _proofs),
    "error": ERROR_PARSER,
}


def check_proof(asked: set[bytes], seen: set[bytes], first: bytes, second: bytes) -> Entry:
    """The first entry of a proof sent in answer to ``asked``, once it proves a fork:
    both decode, are by one asked author (named once in the answer: ``seen``), at one
    seq, ordered by id (so different), and both signatures verify."""
    a, b = decode_entry(first), decode_entry(second)
    if a.author not in asked or b.author != a.author:
        raise ProtocolError("a fork proof names a feed that was not asked about")
    if a.author in seen:
        raise ProtocolError("proofs names a feed twice")
    if a.seq != b.seq:
        raise ChainError(f"a fork proof's entries are at {a.seq} and {b.seq}")
    if not a.id < b.id:
        raise ProtocolError("a fork proof's entries must differ and be ordered by id")
    a.verify_signature()
    b.verify_signature()
    seen.add(a.author)
    return a


class ForksFrames(MessageFrames[ForksMessage]):
    """Fork proof frames on a libp2p stream."""

    name = PROTOCOL_NAME

    def __init__(self, stream: Any) -> None:
        super().__init__(stream, MAX_FORKS_FRAME, FORKS_CAPS, encode_forks_frame, decode_forks_body)


class ForksServer(AskServer[ForkSource, ForksFrames]):
    """Answers ``forks`` with the proofs held of the asked feeds (to any peer that is
    not penalised: like feeds, fork proofs are public)."""

    protocol = PROTOCOL_NAME
    busy = "too many fork proof requests from you at once"
    failed = "Could not answer a fork proof request"

    def frames(self, stream: Any) -> ForksFrames:
        return ForksFrames(stream)

    async def _answer(self, _peer: Any, frames: ForksFrames) -> None:
        ask = await receive_opening(
            frames,
            Forks,
            self.limits.session_timeout,
            "the asker closed the stream before forks",
            "a fork proof request must start with forks",
        )
        await frames.send(Proofs(self.proofs_of(ask.feeds)))
        await close_quietly(frames.stream, PROTOCOL_NAME)

    def proofs_of(self, feeds: Iterable[bytes]) -> tuple[tuple[bytes, bytes], ...]:
        out = []
        for feed in feeds:
            pair = self.source.fork_proof(feed)
            if pair is not None:
                out.append(pair)
                if len(out) == MAX_PROOFS:
                    break
        return tuple(out)


class ForksClient:
    """Asks a peer for proofs of forks of some feeds, and checks each one it gets."""

    def __init__(self, host: Any, limits: Limits, *, penalise: Penalise) -> None:
        self.host = host
        self.limits = limits
        self._penalise = penalise

    async def ask(self, peer: Any, feeds: Sequence[bytes]) -> list[tuple[bytes, bytes, bytes]]:
        """Verified proofs ``(feed, first, second)`` the peer holds of ``feeds``.

        Raises PeerMisbehaved (the peer has been penalised: a malformed answer, or a
        proof that does not verify), SessionRefused (it answered with an error), or a
        libp2p error when the stream cannot be opened (a peer without the protocol).
        """
        feeds = list(dict.fromkeys(feeds))[:MAX_FEEDS]
        if not feeds:
            return []
        async with client_session(
            self.host, peer, FORKS_PROTOCOL, protocol=PROTOCOL_NAME, penalise=self._penalise
        ) as stream:
            answer = await ask_once(
                ForksFrames(stream),
                Forks(tuple(feeds)),
                Proofs,
                self.limits.session_timeout,
                protocol=PROTOCOL_NAME,
                names=("forks", "proofs"),
            )
            asked, seen = set(feeds), set[bytes]()
            verified = []
            for first, second in answer.proofs:
                entry = check_proof(asked, seen, first, second)
                verified.append((entry.author, first, second))
        return verified


class ForkChecks:
    """Asks peers for fork proofs of the wanted feeds and keeps each verified one.

    Run on the node's trio thread: :meth:`check_soon` when a peer connects and with
    every anti-entropy round; a kept proof freezes the feed and is reported as
    FeedForked, like a fork detected here.
    """

    def __init__(
        self,
        host: Any,
        source: Any,
        limits: Limits,
        *,
        emit: EventSink,
        penalise: Penalise,
        is_penalised: Callable[[Any], bool],
        key_of: Callable[[Any], bytes | None],
        admission: Admission | None = None,
    ) -> None:
        self.source = source
        self.client = ForksClient(host, limits, penalise=penalise)
        self.server = ForksServer(
            source,
            limits,
            events=emit,
            penalise=penalise,
            is_penalised=is_penalised,
            admission=admission,
        )
        self._emit = emit
        self._is_penalised = is_penalised
        self._key_of = key_of
        self._nursery: trio.Nursery | None = None
        self._asking: set[Any] = set()
        self._idle = trio.Event()

    def attach(self, nursery: trio.Nursery | None) -> None:
        self._nursery = nursery

    def check_soon(self, peer: Any, feeds: Sequence[bytes] | None = None) -> None:
        """Ask ``peer`` about the wanted feeds (or ``feeds``) not frozen here, unless
        already asking it."""
        if self._nursery is not None and peer not in self._asking:
            self._asking.add(peer)
            self._nursery.start_soon(self.check, peer, feeds)

    async def check(self, peer: Any, asked: Sequence[bytes] | None = None) -> int:
        """Ask ``peer`` once; returns how many new forks were kept."""
        self._asking.add(peer)
        try:
            if self._is_penalised(peer):
                return 0
            wanted = self.source.wanted_feeds() if asked is None else asked
            feeds = [f for f in wanted if self.source.held(f).forked_at is None]
            try:
                proofs = await self.client.ask(peer, feeds)
            except Exception as exc:  # penalised already if it misbehaved; else it went away
                logger.info("asking %s for fork proofs failed: %s", peer, exc)
                return 0
            kept = 0
            for feed, first, second in proofs:
                try:
                    seq = self.source.record_fork(feed, first, second)
                except StoreError as exc:  # our disk: say so, the next round asks again
                    self._emit(NodeWarning(f"Could not keep a fork proof: {exc}"))
                    continue
                except EntryError as exc:  # checked above; the store checks again
                    logger.warning("a fork proof from %s was not kept: %s", peer, exc)
                    continue
                kept += 1
                logger.warning("fork proof from %s: %s forked at %d", peer, feed.hex()[:12], seq)
                self._emit(FeedForked(feed, seq))
            return kept
        finally:
            self._asking.discard(peer)
            if not self._asking:
                self._idle.set()
                self._idle = trio.Event()

    async def wait_idle(self, timeout: float) -> None:
        """Wait until no fork proof question runs (or ``timeout``)."""
        with trio.move_on_after(timeout):
            while self._asking:
                await self._idle.wait()
