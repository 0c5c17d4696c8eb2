"""The sync protocol ``/lndesk/sync/1``: height vectors, then missing entries in batches.

One session is one stream, opened by the *reader* (the node that wants entries):

1. reader → ``want``: the feeds it asks about, with the height it holds of each (its own
   feed at the height the server proved it holds, :mod:`lndesk.p2p.holders`);
2. server → ``have``: how much it holds of those it has any of;
3. for each range the reader misses: reader → ``get``; server → ``batch``... ``done``.
   The reader authenticates and stores every batch, then sends ``ack`` with its new
   height; the server keeps at most ``window`` batches unacknowledged.
4. the reader closes the stream.

On ``/lndesk/sync/2`` (:mod:`lndesk.p2p.pipeline`) the reader keeps several gets in
flight and the window is counted on both ends; ``/lndesk/sync/3``
(:mod:`lndesk.p2p.digest`) is ``/2`` that may open with the digest of the reader's
height vector, so that a round in which nothing changed is one small exchange. A reader
proposes ``/3``, then ``/2``, then ``/1``, and a server speaks all three. What the
reader does with each answer is :mod:`lndesk.p2p.reader` (asks in flight),
:mod:`lndesk.p2p.read_feed` (what to ask of a feed) and :mod:`lndesk.p2p.read_states`
(what each frame does); this module holds the server and the client's session.

A node serves every feed it holds to anyone (re-serving is the point of the network)
and asks for the feeds it follows. A dropped stream costs nothing: the next session
starts from the stored heights. Far-behind feeds are fetched newest range first when
configured, so a new follower can read the latest posts within seconds; the store keeps
such sparse runs and counts the height as the contiguous prefix.

The full specification, with test vectors, is in docs/protocol.md ("Sync protocol").
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import trio
from libp2p.custom_types import TProtocol

from lndesk.errors import ProtocolError
from lndesk.p2p.admission import Admission, charge_served, charge_want, turn_address
from lndesk.p2p.config import Limits
from lndesk.p2p.digest import (
    DIGEST_PROTOCOL,
    LeftVectors,
    SentVectors,
    ServedVectors,
    VectorLook,
    look_at_vector,
    vector_digest,
)
from lndesk.p2p.events import EventSink
from lndesk.p2p.frame_caps import READER_RECEIVES, SERVER_RECEIVES
from lndesk.p2p.holders import ProvenHeights, ServedReports, WantRate
from lndesk.p2p.holes import HoleAsks
from lndesk.p2p.pipeline import (
    GETS_IN_FLIGHT,
    PIPELINED_PROTOCOL,
    WINDOW_BATCHES,
    WINDOW_BYTES,
    ReaderWindow,
    Window,
    receiving,
)
from lndesk.p2p.ports import FeedSource
from lndesk.p2p.read_feed import missing_runs, plan_windows
from lndesk.p2p.read_states import OnStored, ReadContext, check_range
from lndesk.p2p.reader import FeedLocks, SessionRead
from lndesk.p2p.sessions import (
    Penalise,
    ServerSessions,
    SessionRefused,
    client_session,
    receive_within,
)
from lndesk.p2p.wire import (
    PROTOCOL_ID,
    Ack,
    Differs,
    Digest,
    Done,
    Error,
    FeedHave,
    FrameStream,
    Get,
    Have,
    Message,
    Same,
    StreamGone,
    Want,
    encode_run_frame,
)

__all__ = [
    "DIGEST_PROTOCOL",
    "PIPELINED_PROTOCOL",
    "SYNC_PROTOCOL",
    "OnStored",
    "SyncClient",
    "SyncServer",
    "check_range",
    "exchange_want",
    "missing_runs",
    "plan_windows",
    "receive_reply",
]

logger = logging.getLogger(__name__)

SYNC_PROTOCOL = TProtocol(PROTOCOL_ID)
WANT_STEP = 200
"""Feeds of a ``want`` looked up in the store between two yields to other tasks (a
5,000-feed want holds the thread for tens of milliseconds at a time, not for 0.3 s)."""


@dataclass(slots=True)
class SessionReport:
    stored: int = 0
    feeds: int = 0
    unchanged: int = 0
    """Sessions that ended at ``same`` (section 20.15): nothing to fetch."""


class SyncServer:
    """Answers sync sessions: serves every held feed to any peer that is not penalised."""

    def __init__(
        self,
        source: FeedSource,
        limits: Limits,
        *,
        events: EventSink,
        penalise: Penalise,
        is_penalised: Callable[[Any], bool],
        key_of: Callable[[Any], bytes | None],
        admission: Admission | None = None,
    ) -> None:
        self.source = source
        self.limits = limits
        self._events = events
        self._key_of = key_of
        self._want_rate = WantRate(limits.want_feeds_per_minute)
        self.sessions = ServerSessions(
            limits,
            protocol="sync",
            busy="too many sync sessions from you at once",
            failed="Could not serve a sync request",
            events=events,
            penalise=penalise,
            is_penalised=is_penalised,
            admission=admission,
        )
        self._big_want_turns: trio.CapacityLimiter | None = None
        self.vectors = ServedVectors()
        """The height vectors readers ended their ``/3`` sessions with (section 20.15)."""

    async def handle(self, stream: Any) -> None:
        """Serve a ``/lndesk/sync/1`` session."""
        frames = FrameStream(stream, self.limits.max_frame, SERVER_RECEIVES)
        await self.sessions.serve(frames, self._serve)

    async def handle_pipelined(self, stream: Any) -> None:
        """Serve a ``/lndesk/sync/2`` session (section 20.14)."""
        frames = FrameStream(stream, self.limits.max_frame, SERVER_RECEIVES)
        await self.sessions.serve(frames, self._serve_pipelined)

    async def handle_digests(self, stream: Any) -> None:
        """Serve a ``/lndesk/sync/3`` session (section 20.15)."""
        frames = FrameStream(stream, self.limits.max_frame, SERVER_RECEIVES)
        await self.sessions.serve(frames, self._serve_digests)

    async def _serve_pipelined(self, peer: Any, frames: FrameStream) -> None:
        await self._serve(peer, frames, pipelined=True)

    async def _serve_digests(self, peer: Any, frames: FrameStream) -> None:
        await self._serve(peer, frames, pipelined=True, digests=True)

    async def _receive(self, frames: FrameStream) -> Message | None:
        with trio.fail_after(self.limits.session_timeout):
            return await frames.receive()

    def _big_wants(self) -> trio.CapacityLimiter:
        """Admits one want of more than ``WANT_STEP`` feeds to its store lookups at a time."""
        if self._big_want_turns is None:
            self._big_want_turns = trio.CapacityLimiter(1)
        return self._big_want_turns

    async def _serve(
        self, peer: Any, frames: FrameStream, *, pipelined: bool = False, digests: bool = False
    ) -> None:
        first = await receive_within(
            frames, self.limits.session_timeout, "the reader closed the stream before want"
        )
        charged = 0  # feeds this session's digest charged already (section 20.15)
        if digests and isinstance(first, Digest):
            same, charged = await self._nothing_to_serve(peer, frames, first.vector)
            if same:
                await frames.send(Same())
                return
            await frames.send(Differs())
            first = await receive_within(
                frames, self.limits.session_timeout, "the reader closed the stream before want"
            )
        if not isinstance(first, Want):
            raise ProtocolError("a sync session must start with want")
        if len(first.feeds) > self.limits.want_feeds:
            raise ProtocolError(f"want names more than {self.limits.want_feeds} feeds")
        uncharged = max(0, len(first.feeds) - charged)
        self.charge_wants(peer, frames.stream, uncharged)
        peer_key = self._key_of(peer)
        reports = ServedReports(self._events, self.source.own_key(), peer_key)
        reports.claimed(first.feeds)
        have: list[FeedHave] = []
        # Big wants take turns (small ones never wait): many at once, each yielding
        # between steps, would still keep the thread busy for all their steps in turn.
        turn = self._big_wants() if len(first.feeds) > WANT_STEP else contextlib.nullcontext()
        async with turn:
            for number, (key, _height) in enumerate(first.feeds):
                if number and not number % WANT_STEP:
                    await trio.sleep(0)  # let other tasks in between store lookups
                held = self.source.held(key)
                if held.max_seq > 0 and self.source.serves(key):
                    have.append(FeedHave(key, held.height, held.max_seq))
        await frames.send(Have(tuple(have)))
        served = ServedGets(self, frames, reports, pipelined=pipelined)
        if not digests:
            await served.run()
            return
        served.heights = dict(first.feeds)
        try:
            await served.run()
        finally:
            self.vectors.remember(peer, served.heights.items())

    async def _nothing_to_serve(
        self, peer: Any, frames: FrameStream, digest: bytes
    ) -> tuple[bool, int]:
        """(True if ``peer`` left a session with the vector of ``digest`` and this node
        holds no served entry above any of its heights, the feeds charged to ``peer``
        for the look), section 20.15."""
        look = await self.look_at_vector(peer, frames.stream, digest, forks=False)
        return (False, 0) if look is None else (look.same, look.feeds)

    def charge_wants(self, peer: Any, stream: Any, feeds: int) -> None:
        """Charge ``feeds`` lookups to ``peer``'s want rate and its address, as a
        ``want`` of that many feeds (section 20.13); the address only past the rate."""
        self._want_rate.charge(peer, feeds)
        charge_want(self.sessions.admission, stream, feeds)

    async def look_at_vector(
        self, peer: Any, stream: Any, digest: bytes, *, forks: bool
    ) -> VectorLook | None:
        """What this node holds against the vector ``peer`` left a session with under
        ``digest`` (None: not remembered); its feeds are charged to ``peer`` as a
        want's (sections 20.15, 20.16)."""
        vector = self.vectors.recall(peer, digest)
        if vector is None:
            return None
        self.charge_wants(peer, stream, len(vector))
        key, sent = self._key_of(peer), self.vectors.sent_own(peer)
        own = (key, sent) if key is not None and sent else None
        turn = self._big_wants() if len(vector) > WANT_STEP else contextlib.nullcontext()
        async with turn:
            return await look_at_vector(self.source, vector, WANT_STEP, forks=forks, own=own)

    def heard_head(self, peer: Any, author: bytes, seq: int) -> None:
        """``peer`` forwarded a validly signed head of ``author``'s feed at ``seq``: if it
        is the author, its own feed is held up to there (section 20.15)."""
        if self._key_of(peer) == author:
            self.vectors.author_sent(peer, seq)


class HeldAhead:
    """The held seqs of one get's range, read ahead a window at a time, to find where the
    next batch starts after a gap: each seq is read once per get, so a sparse feed (every
    other entry missing) costs a query per window, not one over the rest of the range at
    every gap. An empty window doubles the next, so a long empty tail costs a few."""

    def __init__(self, source: FeedSource, key: bytes, first: int, last: int, span: int) -> None:
        self._source = source
        self._key = key
        self._last = last
        self._span = max(1, span)
        self._scanned = first - 1
        self._ahead: deque[int] = deque()

    def next_from(self, seq: int) -> int | None:
        """The first held seq at or after ``seq`` (None when none up to the range's end)."""
        ahead = self._ahead
        while ahead and ahead[0] < seq:
            ahead.popleft()
        span = self._span
        while not ahead and self._scanned < self._last:
            first = max(seq, self._scanned + 1)
            self._scanned = min(self._last, first + span - 1)
            ahead.extend(sorted(self._source.stored_seqs(self._key, first, self._scanned)))
            span *= 2
        return ahead[0] if ahead else None


class ServedGets:
    """The gets of one session after ``have``, answered in order (sections 20.3, 20.5
    and, pipelined, 20.14): batches within the window, then ``done``."""

    def __init__(
        self, server: SyncServer, frames: FrameStream, reports: ServedReports, *, pipelined: bool
    ) -> None:
        self.server = server
        self.frames = frames
        self.reports = reports
        self.pipelined = pipelined
        limits = server.limits
        self.window = (
            Window(min(limits.pipeline_window, WINDOW_BATCHES), WINDOW_BYTES)
            if pipelined
            else Window(limits.window, 1 << 62)
        )
        self.queue: deque[Get] = deque()
        self.answering = False
        self.heights: dict[bytes, int] | None = None
        """On ``/3``: the reader's height of each wanted feed, from its want and acks."""
        self.address = turn_address(frames.stream, limits)
        """What this session's batch turns are counted by (None: exempt)."""

    async def run(self) -> None:
        while True:
            if not self.queue:
                message = await self.server._receive(self.frames)
                if message is None:
                    return
                self._take(message)
                continue
            get = self.queue.popleft()
            self.answering = True
            await self._send_range(get)
            self.answering = False

    def _take(self, message: Message) -> None:
        """A frame from the reader: an ack, or (pipelined, or between ranges) a get."""
        if isinstance(message, Ack):
            feed = self.window.ack()
            self.reports.acked(feed, message.height)
            if self.heights is not None and feed in self.heights:
                self.heights[feed] = message.height
            return
        if not isinstance(message, Get):
            raise ProtocolError(f"unexpected {type(message).__name__.lower()} from the reader")
        if message.last - message.first + 1 > self.server.limits.request_entries:
            raise ProtocolError(
                f"get asks for more than {self.server.limits.request_entries} entries"
            )
        if len(self.queue) + self.answering >= GETS_IN_FLIGHT:
            raise ProtocolError(f"more than {GETS_IN_FLIGHT} gets unanswered")
        self.queue.append(message)

    async def _wait_for_room(self) -> None:
        while self.window.full:
            message = await self.server._receive(self.frames)
            if message is None:
                raise StreamGone("the reader closed the stream while batches were in flight")
            if not self.pipelined and not isinstance(message, Ack):
                raise ProtocolError("expected an ack while sending batches")
            self._take(message)

    async def _send_range(self, get: Get) -> None:
        # A feed held only through an inbox is not served (docs/protocol.md 28.6).
        source, limits = self.server.source, self.server.limits
        seq = get.first if source.serves(get.feed) else get.last + 1
        ahead = HeldAhead(source, get.feed, seq, get.last, limits.batch_entries)
        size = last = -1
        while seq <= get.last:
            # One batch at a time in memory, shared by every session served (the turn
            # is held while it is written, within send_timeout: a reader that stops
            # reading loses the turn with its session; one address holds at most
            # turns_per_ip of them), and nothing of it kept while acks are awaited.
            async with self.server.sessions.turns.hold(self.address):
                run = source.read_run(
                    get.feed, seq, get.last, limits.batch_entries, limits.batch_bytes
                )
                if run:
                    charge_served(self.server.sessions.admission, self.frames.stream, len(run))
                    last = run[-1][0]
                    frame = encode_run_frame(get.feed, run)
                    del run
                    size = len(frame) - 4
                    await self.frames.send_frame(frame)
                    del frame
            if size < 0:
                after = ahead.next_from(seq)
                if after is None or after == seq:  # nothing more, or unreadable (blocked)
                    break
                seq = after
                continue
            self.window.add(size, get.feed)
            self.reports.sent(get.feed, last)
            seq = last + 1
            size = -1
            await self._wait_for_room()
        await self.frames.send(Done())


class SyncClient:
    """Runs sync sessions as the reader: asks a peer for the feeds this node wants."""

    def __init__(
        self,
        host: Any,
        source: FeedSource,
        limits: Limits,
        *,
        events: EventSink,
        penalise: Penalise,
        key_of: Callable[[Any], bytes | None],
        newest_first: bool,
        on_stored: OnStored | None = None,
        pipelined: bool | None = None,
        digests: bool | None = None,
    ) -> None:
        self.host = host
        self.source = source
        self.limits = limits
        self.proven = ProvenHeights(source.own_key)
        self._events = self.proven.watching(events)
        self._penalise = penalise
        self._key_of = key_of
        self.newest_first = newest_first
        self.pipelined = limits.gets_in_flight > 1 if pipelined is None else pipelined
        """Propose ``/lndesk/sync/2`` first (section 20.14); by default unless the limits
        allow one get in flight."""
        self.digests = self.pipelined if digests is None else digests
        """Propose ``/lndesk/sync/3`` first (section 20.15)."""
        self.sent_vectors = SentVectors()
        self.left_vectors = LeftVectors()
        """The vectors sessions left servers with, for visits (section 20.16)."""
        self._on_stored = on_stored
        self._feed_locks = FeedLocks()
        self._hole_asks = HoleAsks()
        self._heights_next: set[Any] = set()
        """Peers whose next session sends ``want`` whatever it remembers (section 20.13):
        a holder check must learn how far a peer holds the own feed, and ``same`` says
        only that it holds nothing *above* the vector."""

    def ask_heights_next(self, peer: Any) -> None:
        """Make the next session with ``peer`` send ``want``, not a digest."""
        self._heights_next.add(peer)

    async def sync_with(self, peer: Any, feeds: Sequence[bytes] | None = None) -> SessionReport:
        """One session with ``peer`` for ``feeds`` (default: every wanted feed).

        Raises ProtocolError (the peer has been penalised) or a network error from
        libp2p when the stream cannot be opened or breaks.
        """
        wanted = list(dict.fromkeys(self.source.wanted_feeds() if feeds is None else feeds))
        report = SessionReport()
        heights = peer in self._heights_next
        self._heights_next.discard(peer)
        for start in range(0, max(1, len(wanted)), self.limits.want_feeds):
            chunk = wanted[start : start + self.limits.want_feeds]
            if chunk:
                await self._session(peer, chunk, report, heights=heights)
        return report

    async def _session(
        self, peer: Any, feeds: list[bytes], report: SessionReport, *, heights: bool = False
    ) -> None:
        protocols = [PIPELINED_PROTOCOL, SYNC_PROTOCOL] if self.pipelined else [SYNC_PROTOCOL]
        if self.digests:
            protocols.insert(0, DIGEST_PROTOCOL)
        async with client_session(
            self.host, peer, protocols, protocol="sync", penalise=self._penalise
        ) as stream:
            frames = FrameStream(stream, self.limits.max_frame, READER_RECEIVES)
            digests = stream.get_protocol() == DIGEST_PROTOCOL
            if digests and not heights and await self._unchanged(peer, frames, feeds):
                report.unchanged += 1
                return
            asked = self.heights_for(peer, feeds)  # what the want below names
            offers = await exchange_want(frames, self.source, feeds, self.limits, asked)
            peer_key = self._key_of(peer)
            proven = self.proven.of(peer_key)
            ctx = ReadContext(self.source, self._events, peer, peer_key, self._on_stored, proven)
            pipelined = stream.get_protocol() in (PIPELINED_PROTOCOL, DIGEST_PROTOCOL)
            read = SessionRead(
                ctx,
                self.limits,
                offers,
                locks=self._feed_locks,
                hole_asks=self._hole_asks,
                newest_first=self.newest_first,
                depth=min(self.limits.gets_in_flight, GETS_IN_FLIGHT) if pipelined else 1,
            )
            if pipelined:
                await self._read_pipelined(frames, read)
            else:

                async def receive() -> Message:
                    return await receive_reply(frames, self.limits)

                await read.run(frames.send, frames.flush, receive)
            report.stored += read.stored
            report.feeds += read.feeds
            if digests:
                # The vector the server remembers (20.15): the want's heights, each
                # replaced by the last ack of the feed; not the heights held now, which
                # may have grown meanwhile (a post, a head announcement).
                left = [(key, read.acked.get(key, height)) for key, height in asked]
                self.sent_vectors.remember(peer, vector_digest(left))
                self.left_vectors.remember(peer, left)

    def heights_for(self, peer: Any, feeds: list[bytes]) -> list[tuple[bytes, int]]:
        """The heights ``feeds`` are named at to ``peer`` (section 20.13)."""
        return self.proven.heights(self._key_of(peer), self.source, feeds)

    def _vector(self, peer: Any, feeds: list[bytes]) -> bytes:
        return vector_digest(self.heights_for(peer, feeds))

    def visit_vector(self, peer: Any, feeds: list[bytes]) -> bytes | None:
        """The digest a visit of ``peer`` carries for ``feeds`` (section 20.16): of the
        vector the last session with ``peer`` over these feeds left it with, if no height
        held now is lower and no hole is held in them."""
        if any(self.source.payload_holes(key, 1, 1 << 62, 1) for key in feeds):
            return None  # heights do not show holes: only want asks for them (20.4)
        return self.left_vectors.usable(peer, self.heights_for(peer, feeds))

    def remembered_vector(self, peer: Any, feeds: list[bytes]) -> bytes | None:
        """The digest of ``feeds``' heights if ``peer`` was left with that vector and no
        hole is held in them: what a ``digest`` or a ``visit`` may carry (20.15, 20.16)."""
        vector = self._vector(peer, feeds)
        if not self.sent_vectors.knows(peer, vector):
            return None
        if any(self.source.payload_holes(key, 1, 1 << 62, 1) for key in feeds):
            return None  # heights do not show holes: only want asks for them (20.4)
        return vector

    async def _unchanged(self, peer: Any, frames: FrameStream, feeds: list[bytes]) -> bool:
        """Send the digest of ``feeds``' heights if ``peer`` was left with that vector;
        True if it answers ``same`` (section 20.15). Otherwise ``want`` follows."""
        vector = self.remembered_vector(peer, feeds)
        if vector is None:
            return False
        await frames.send(Digest(vector))
        answer = await receive_reply(frames, self.limits)
        if isinstance(answer, Error):
            raise SessionRefused(f"the peer refused to sync: {answer.code}: {answer.message}")
        if isinstance(answer, Same):
            return True
        if not isinstance(answer, Differs):
            raise ProtocolError("the peer did not answer digest with same or differs")
        self.sent_vectors.forget(peer, vector)
        return False

    async def _read_pipelined(self, frames: FrameStream, read: SessionRead) -> None:
        """Asks in flight, frames read by a task of their own, acks counted against the
        window (section 20.14); a frame is flushed with the gets that follow it."""
        window = ReaderWindow()

        async def send(message: Message) -> None:
            if isinstance(message, Ack):
                window.ack()
            await frames.send(message, flush=False)

        async with receiving(frames, window, self.limits.session_timeout) as received:
            await read.run(send, frames.flush, received.next)


async def exchange_want(
    frames: FrameStream,
    source: FeedSource,
    feeds: Iterable[bytes],
    limits: Limits,
    heights: Sequence[tuple[bytes, int]] | None = None,
) -> tuple[FeedHave, ...]:
    """The reader's opening: ``want`` of ``feeds`` with the heights held of them (or the
    ``heights`` given for them), and the server's ``have``, which may offer only feeds
    that were asked for."""
    asked = list(feeds)
    if heights is None:
        heights = [(key, source.held(key).height) for key in asked]
    await frames.send(Want(tuple(heights)))
    have = await receive_reply(frames, limits)
    if isinstance(have, Error):
        raise SessionRefused(f"the peer refused to sync: {have.code}: {have.message}")
    if not isinstance(have, Have):
        raise ProtocolError("the peer did not answer want with have")
    if not {offer.key for offer in have.feeds} <= set(asked):
        raise ProtocolError("the peer offered a feed that was not asked for")
    return have.feeds


async def receive_reply(frames: FrameStream, limits: Limits) -> Message:
    """The server's next message to the reader: within the session timeout, never None."""
    return await receive_within(
        frames, limits.session_timeout, "the peer closed the sync stream early"
    )
