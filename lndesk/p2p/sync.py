"""The sync protocol ``/lndesk/sync/1``: height vectors, then missing entries in batches.

One session is one stream, opened by the *reader* (the node that wants entries):

1. reader → ``want``: the feeds it asks about, with the height it holds of each;
2. server → ``have``: how much it holds of those it has any of;
3. for each range the reader misses: reader → ``get``; server → ``batch``... ``done``.
   The reader authenticates and stores every batch, then sends ``ack`` with its new
   height; the server keeps at most ``window`` batches unacknowledged.
4. the reader closes the stream.

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
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import trio
from libp2p.custom_types import TProtocol

from lndesk.entry import decode_entry
from lndesk.errors import ChainError, ForkedFeedError, ProtocolError
from lndesk.p2p.admission import Admission, charge_served, charge_want
from lndesk.p2p.config import Limits
from lndesk.p2p.events import EventSink, FeedForked, FeedSynced, HolderProven, SyncProgress
from lndesk.p2p.frame_caps import READER_RECEIVES, SERVER_RECEIVES
from lndesk.p2p.holders import ServedReports, WantRate, prove_holder
from lndesk.p2p.holes import HoleAsks, hole_runs
from lndesk.p2p.ingest import ingest_reported
from lndesk.p2p.offload import checked_items
from lndesk.p2p.ports import FeedSource, Held
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
    Batch,
    Done,
    Error,
    FeedHave,
    FrameStream,
    Get,
    Have,
    Message,
    StreamGone,
    Want,
)

logger = logging.getLogger(__name__)

SYNC_PROTOCOL = TProtocol(PROTOCOL_ID)
WANT_STEP = 200
"""Feeds of a ``want`` looked up in the store between two yields to other tasks (a
5,000-feed want holds the thread for tens of milliseconds at a time, not for 0.3 s)."""

OnStored = Callable[[Any, bytes, Sequence[tuple[bytes, bytes | None]]], None]
"""Called with the peer, the feed and the items of a batch of which entries were stored
(the node looks in them for shared entries and reply parents it lacks)."""


@dataclass(slots=True)
class SessionReport:
    stored: int = 0
    feeds: int = 0


def missing_runs(first: int, last: int, held: set[int]) -> list[tuple[int, int]]:
    """Ascending runs of the seqs in first..last that are not in ``held``."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for seq in range(first, last + 1):
        if seq in held:
            if start is not None:
                runs.append((start, seq - 1))
                start = None
        elif start is None:
            start = seq
    if start is not None:
        runs.append((start, last))
    return runs


def plan_windows(
    height: int, target: int, window: int, *, newest_first: bool
) -> Iterator[tuple[int, int]]:
    """Windows of at most ``window`` seqs covering height+1..target, in fetch order."""
    if newest_first:
        hi = target
        while hi > height:
            lo = max(height + 1, hi - window + 1)
            yield lo, hi
            hi = lo - 1
    else:
        lo = height + 1
        while lo <= target:
            hi = min(target, lo + window - 1)
            yield lo, hi
            lo = hi + 1


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

    async def handle(self, stream: Any) -> None:
        frames = FrameStream(stream, self.limits.max_frame, SERVER_RECEIVES)
        await self.sessions.serve(frames, self._serve)

    async def _receive(self, frames: FrameStream) -> Message | None:
        with trio.fail_after(self.limits.session_timeout):
            return await frames.receive()

    def _big_wants(self) -> trio.CapacityLimiter:
        """Admits one want of more than ``WANT_STEP`` feeds to its store lookups at a time."""
        if self._big_want_turns is None:
            self._big_want_turns = trio.CapacityLimiter(1)
        return self._big_want_turns

    async def _serve(self, peer: Any, frames: FrameStream) -> None:
        first = await receive_within(
            frames, self.limits.session_timeout, "the reader closed the stream before want"
        )
        if not isinstance(first, Want):
            raise ProtocolError("a sync session must start with want")
        if len(first.feeds) > self.limits.want_feeds:
            raise ProtocolError(f"want names more than {self.limits.want_feeds} feeds")
        charge_want(self.sessions.admission, frames.stream, len(first.feeds))
        self._want_rate.charge(peer, len(first.feeds))
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
        unacked = 0
        last_feed: bytes | None = None
        while True:
            message = await self._receive(frames)
            if message is None:
                return
            if isinstance(message, Ack):
                unacked = max(0, unacked - 1)
                reports.acked(last_feed, message.height)
                continue
            if not isinstance(message, Get):
                raise ProtocolError(f"unexpected {type(message).__name__.lower()} from the reader")
            if message.last - message.first + 1 > self.limits.request_entries:
                raise ProtocolError(f"get asks for more than {self.limits.request_entries} entries")
            last_feed = message.feed
            unacked = await self._send_range(frames, message, unacked, reports)

    async def _send_range(
        self, frames: FrameStream, get: Get, unacked: int, reports: ServedReports
    ) -> int:
        # A feed held only through an inbox is not served (docs/protocol.md 28.6).
        seq = get.first if self.source.serves(get.feed) else get.last + 1
        limits = self.limits
        while seq <= get.last:
            run = self.source.read_run(
                get.feed, seq, get.last, limits.batch_entries, limits.batch_bytes
            )
            if not run:
                held = self.source.stored_seqs(get.feed, seq, get.last)
                if not held or min(held) == seq:  # nothing more, or unreadable (blocked)
                    break
                seq = min(held)
                continue
            charge_served(self.sessions.admission, frames.stream, len(run))
            await frames.send(Batch(get.feed, tuple((e, p) for _, e, p in run)))
            reports.sent(get.feed, run[-1][0])
            seq = run[-1][0] + 1
            unacked += 1
            while unacked >= limits.window:
                message = await self._receive(frames)
                if message is None:
                    raise StreamGone("the reader closed the stream while batches were in flight")
                if not isinstance(message, Ack):
                    raise ProtocolError("expected an ack while sending batches")
                unacked -= 1
                reports.acked(get.feed, message.height)
        await frames.send(Done())
        return unacked


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
    ) -> None:
        self.host = host
        self.source = source
        self.limits = limits
        self._events = events
        self._penalise = penalise
        self._key_of = key_of
        self.newest_first = newest_first
        self._on_stored = on_stored
        self._feed_locks: defaultdict[bytes, trio.Lock] = defaultdict(trio.Lock)
        self._hole_asks = HoleAsks()

    async def sync_with(self, peer: Any, feeds: Sequence[bytes] | None = None) -> SessionReport:
        """One session with ``peer`` for ``feeds`` (default: every wanted feed).

        Raises ProtocolError (the peer has been penalised) or a network error from
        libp2p when the stream cannot be opened or breaks.
        """
        wanted = list(dict.fromkeys(self.source.wanted_feeds() if feeds is None else feeds))
        report = SessionReport()
        for start in range(0, max(1, len(wanted)), self.limits.want_feeds):
            chunk = wanted[start : start + self.limits.want_feeds]
            if chunk:
                await self._session(peer, chunk, report)
        return report

    async def _session(self, peer: Any, feeds: list[bytes], report: SessionReport) -> None:
        async with client_session(
            self.host, peer, SYNC_PROTOCOL, protocol="sync", penalise=self._penalise
        ) as stream:
            frames = FrameStream(stream, self.limits.max_frame, READER_RECEIVES)
            for offer in await exchange_want(frames, self.source, feeds, self.limits):
                report.stored += await self._fetch_feed(peer, frames, offer)
                report.feeds += 1

    async def _fetch_feed(self, peer: Any, frames: FrameStream, offer: FeedHave) -> int:
        key = offer.key
        async with self._feed_locks[key]:
            held = self.source.held(key)
            stored = 0
            # Holes this server did not just leave: it would not fill them now.
            holes = hole_runs(self.source, offer, self.limits)
            if held.forked_at is None and offer.max_seq > held.height:
                # Newest first asks one batch at a time, so the first batch that arrives
                # holds the newest entries; oldest first asks for long ranges.
                newest_first = (
                    self.newest_first and offer.max_seq - held.height > self.limits.batch_entries
                )
                size = self.limits.batch_entries if newest_first else self.limits.request_entries
                windows = plan_windows(held.height, offer.max_seq, size, newest_first=newest_first)
                for lo, hi in windows:
                    have = self.source.stored_seqs(key, lo, hi)
                    runs = missing_runs(lo, hi, have)
                    if newest_first:
                        runs.reverse()
                    for first, last in runs:
                        got, frozen = await self._fetch_run(peer, frames, key, first, last, offer)
                        stored += got
                        if frozen:
                            break
                    else:
                        continue
                    break
            if holes and self.source.held(key).forked_at is None:
                stored += await self._fill_holes(peer, frames, offer, holes)
            held = self.source.held(key)
        peer_key = self._key_of(peer)
        if peer_key is not None:
            self._events(FeedSynced(peer_key, key, offer.height, offer.max_seq, held.height))
            if key == self.source.own_key() and 0 < offer.height <= held.height:
                await prove_holder(
                    frames,
                    self.source,
                    offer,
                    self.limits.session_timeout,
                    lambda height: self._events(HolderProven(peer_key, key, height)),
                )
        return stored

    async def _fetch_run(  # noqa: PLR0917 - private; every argument is needed
        self, peer: Any, frames: FrameStream, key: bytes, first: int, last: int, offer: FeedHave
    ) -> tuple[int, bool]:
        """Fetch first..last; returns (entries stored, whether the feed is now frozen).

        A run that does not link to the entry stored before it means either a lying peer
        or an author who forked their log. The peer gets one chance to prove the fork:
        its own entry at the seq where the chains meet. Two validly signed entries at one
        seq are a proof, kept by the store (the feed is frozen there); anything else and
        the peer is penalised.
        """
        await frames.send(Get(key, first, last))
        stored = 0
        received = 0
        frozen = False
        suspect: int | None = None
        peer_key = self._key_of(peer)
        while True:
            message = await receive_reply(frames, self.limits)
            if isinstance(message, Done):
                if suspect is not None:
                    frozen = await self._check_fork(frames, key, suspect)
                if not received:
                    if first <= offer.height:
                        raise ProtocolError(
                            f"the peer said it holds entries 1..{offer.height} but sent none of "
                            f"{first}..{last}"
                        )
                    # Above its contiguous height a peer may hold nothing of a range; do
                    # not walk down a long sparse claim window by window.
                    return stored, True
                return stored, frozen
            if isinstance(message, Error):
                raise SessionRefused(
                    f"the peer ended the session: {message.code}: {message.message}"
                )
            if not isinstance(message, Batch) or message.feed != key:
                raise ProtocolError("expected a batch of the requested feed")
            check_range(message.items, first, last)
            received += len(message.items)
            if not frozen and suspect is None:
                try:
                    items = await checked_items(key, message.items)
                    outcome = ingest_reported(
                        self.source, self._events, key, items, via="sync", peer=peer_key
                    )
                except ForkedFeedError:
                    frozen = True
                except ChainError:
                    suspect = self._meeting_point(key, message.items)
                    if suspect is None:
                        raise
                else:
                    stored += outcome.stored + outcome.filled
                    frozen = outcome.fork_at is not None
                    if (outcome.stored or outcome.filled) and self._on_stored is not None:
                        self._on_stored(peer, key, message.items)
            held = self.source.held(key)
            await frames.send(Ack(held.height))
            if peer_key is not None:
                self._events(SyncProgress(peer_key, key, _progress(held), offer.max_seq))

    async def _fill_holes(
        self, peer: Any, frames: FrameStream, offer: FeedHave, runs: list[tuple[int, int]]
    ) -> int:
        """Ask for held entries whose payloads are missing (lndesk.p2p.holes)."""
        if not self._hole_asks.worth_asking(peer, offer, runs):
            return 0
        filled = 0
        for first, last in runs:
            got, stop = await self._fetch_run(peer, frames, offer.key, first, last, offer)
            filled += got
            if stop:
                break
        self._hole_asks.note(peer, offer, runs, filled)
        return filled

    def _meeting_point(self, key: bytes, items: Sequence[tuple[bytes, bytes | None]]) -> int | None:
        """The stored seq just before a batch that failed to link to it, if there is one.

        Only a run of the right author's entries that fails to meet ours can be the
        other branch of a fork; anything else is simply false.
        """
        entries = [decode_entry(raw) for raw, _ in items]
        if any(entry.author != key for entry in entries):
            return None
        seq = entries[0].seq
        if seq > 1 and self.source.stored_seqs(key, seq - 1, seq - 1):
            return seq - 1
        return None

    async def _check_fork(self, frames: FrameStream, key: bytes, seq: int) -> bool:
        """Ask for the peer's entry at ``seq``; True if it proves a fork."""
        await frames.send(Get(key, seq, seq))
        proof: tuple[tuple[bytes, bytes | None], ...] = ()
        while True:
            message = await receive_reply(frames, self.limits)
            if isinstance(message, Done):
                break
            if not isinstance(message, Batch) or message.feed != key or proof:
                raise ProtocolError("expected one entry as proof of a fork")
            proof = message.items
            await frames.send(Ack(self.source.held(key).height))
        if len(proof) == 1:
            outcome = self.source.ingest(key, proof)
            if outcome.fork_at is not None:
                self._events(FeedForked(key, outcome.fork_at))
                return True
        raise ChainError(f"the peer's entries of feed {key.hex()[:8]} do not link to ours")


async def exchange_want(
    frames: FrameStream, source: FeedSource, feeds: Iterable[bytes], limits: Limits
) -> tuple[FeedHave, ...]:
    """The reader's opening: ``want`` of ``feeds`` with the heights held of them, and the
    server's ``have``, which may offer only feeds that were asked for."""
    asked = list(feeds)
    await frames.send(Want(tuple((key, source.held(key).height) for key in asked)))
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


def check_range(items: Sequence[tuple[bytes, bytes | None]], first: int, last: int) -> None:
    """A batch's first and last entries must lie inside the range asked for.

    That the entries between them are consecutive and ascending is a link rule of the
    batch (``ChainError`` when it is ingested), not a rule of the sync protocol.
    """
    for raw in (items[0][0], items[-1][0]):
        seq = decode_entry(raw).seq
        if not first <= seq <= last:
            raise ProtocolError(
                f"a batch holds entry {seq}, outside the range {first}..{last} asked for"
            )


def _progress(held: Held) -> int:
    return held.max_seq if held.height == held.max_seq else held.height
