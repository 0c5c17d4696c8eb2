"""What a sync reader does with the answer to one ``get``: small named states.

Every ``get`` a reader sends is an :class:`Ask`; the server answers it with zero or more
``batch`` frames and a ``done`` (docs/protocol.md sections 20.3 to 20.6). The ask's
state takes each batch and returns the state that takes the next one; ``done`` ends
the ask with a :class:`End` that tells the feed what to do next. One transition per
frame, no flags:

* :class:`Storing` authenticates and stores each batch. A batch that proves a fork
  turns it into :class:`Frozen`; one whose first entry does not link to the stored
  entry before it (the author may have forked below it) into :class:`Suspect`.
* :class:`Frozen` and :class:`Suspect` acknowledge the rest of the range without
  storing it; after ``done`` the feed stops, or asks for the one entry that can prove
  the fork (:class:`ForkProof`).
* :class:`Discarding` answers asks the reader sent ahead for a feed that has stopped
  since (only a pipelining reader has such asks, :mod:`lndesk.p2p.pipeline`).
* :class:`HolderCheck` asks a peer for the entry at the height it claims of this
  node's own feed (section 20.13).

Every state is tested alone against a scripted server (tests/p2p/test_read_states.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from lndesk.entry import decode_entry
from lndesk.errors import ChainError, ForkedFeedError, ProtocolError
from lndesk.p2p.events import EventSink, FeedForked
from lndesk.p2p.ingest import ingest_reported
from lndesk.p2p.offload import checked_items
from lndesk.p2p.ports import FeedSource
from lndesk.p2p.wire import Batch, FeedHave, Message

if TYPE_CHECKING:
    from lndesk.p2p.read_feed import FeedRead

Item = tuple[bytes, bytes | None]

OnStored = Callable[[Any, bytes, Sequence[Item]], None]
"""Called with the peer, the feed and the items of a batch of which entries were stored
(the node looks in them for shared entries and reply parents it lacks)."""


@dataclass(frozen=True, slots=True)
class ReadContext:
    """What every state of one session needs: the store, where to report, the peer."""

    source: FeedSource
    events: EventSink
    peer: Any
    peer_key: bytes | None
    on_stored: OnStored | None
    proven: int = 0
    """How far the peer proved it holds this node's own feed (a holder check at or below
    it would prove nothing new)."""


class End(Enum):
    """How an ask ended, for the feed that sent it."""

    GO_ON = "go on"
    """The range was answered; the feed continues with its next range."""
    STOP = "stop"
    """Nothing more of this feed in this session: it is frozen, or the server holds
    nothing of a range above its contiguous height (section 20.4)."""
    PROVE_FORK = "prove fork"
    """A batch did not link to the stored entry before it: ask for that seq."""


class Ask:
    """One ``get`` sent to the server, and the state its answer is in."""

    __slots__ = ("feed", "first", "last", "received", "state", "stored")

    def __init__(self, feed: FeedRead, first: int, last: int, state: AnswerState) -> None:
        self.feed = feed
        self.first = first
        self.last = last
        self.state = state
        self.received = 0
        """Entries received in answer so far."""
        self.stored = 0
        """Entries stored or filled from them."""

    @property
    def key(self) -> bytes:
        return self.feed.key


class AnswerState(ABC):
    """The state an ask's answer is in: what the next batch and ``done`` do."""

    progress = False
    """Whether each batch taken is reported as sync progress."""

    @abstractmethod
    async def take(self, ctx: ReadContext, ask: Ask, message: Message) -> AnswerState:
        """Take a frame other than ``done`` or ``error``; return the next state."""

    @abstractmethod
    def done(self, ctx: ReadContext, ask: Ask) -> End:
        """The server sent ``done``: how the ask ended."""


def check_range(items: Sequence[Item], first: int, last: int) -> None:
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


def range_batch(ask: Ask, message: Message) -> Batch:
    """``message`` as a batch of the ask's feed inside its range (else ProtocolError)."""
    if not isinstance(message, Batch) or message.feed != ask.key:
        raise ProtocolError("expected a batch of the requested feed")
    check_range(message.items, ask.first, ask.last)
    ask.received += len(message.items)
    return message


def empty_range(ask: Ask, offer: FeedHave) -> End:
    """``done`` with nothing sent: a broken claim at or below the server's height,
    else (a sparse claim) nothing more of this feed in this session."""
    if ask.first <= offer.height:
        raise ProtocolError(
            f"the peer said it holds entries 1..{offer.height} but sent none of "
            f"{ask.first}..{ask.last}"
        )
    return End.STOP


class Storing(AnswerState):
    """Authenticate and store each batch (section 20.6)."""

    progress = True

    async def take(self, ctx: ReadContext, ask: Ask, message: Message) -> AnswerState:
        batch = range_batch(ask, message)
        try:
            items = await checked_items(ask.key, batch.items)
            outcome = ingest_reported(
                ctx.source, ctx.events, ask.key, items, via="sync", peer=ctx.peer_key
            )
        except ForkedFeedError:
            return FROZEN
        except ChainError:
            seq = meeting_point(ctx.source, ask.key, batch.items)
            if seq is None:
                raise
            return Suspect(seq)
        ask.stored += outcome.stored + outcome.filled
        if (outcome.stored or outcome.filled) and ctx.on_stored is not None:
            ctx.on_stored(ctx.peer, ask.key, batch.items)
        return FROZEN if outcome.fork_at is not None else self

    def done(self, ctx: ReadContext, ask: Ask) -> End:
        return End.GO_ON if ask.received else empty_range(ask, ask.feed.offer)


class Frozen(AnswerState):
    """The feed froze on a fork proof: take the rest of the range without storing it."""

    progress = True

    async def take(self, ctx: ReadContext, ask: Ask, message: Message) -> AnswerState:
        range_batch(ask, message)
        return self

    def done(self, ctx: ReadContext, ask: Ask) -> End:
        return End.STOP


FROZEN = Frozen()


class Suspect(AnswerState):
    """A batch did not link to the stored entry at ``seq``: take the rest of the range
    without storing it, then ask for the server's entry at ``seq``."""

    progress = True

    def __init__(self, seq: int) -> None:
        self.seq = seq

    async def take(self, ctx: ReadContext, ask: Ask, message: Message) -> AnswerState:
        range_batch(ask, message)
        return self

    def done(self, ctx: ReadContext, ask: Ask) -> End:
        ask.feed.suspect = self.seq
        return End.PROVE_FORK


def meeting_point(source: FeedSource, key: bytes, items: Sequence[Item]) -> int | None:
    """The stored seq just before a batch that failed to link to it, if there is one.

    Only a run of the right author's entries that fails to meet ours can be the other
    branch of a fork; anything else is simply false.
    """
    entries = [decode_entry(raw) for raw, _ in items]
    if any(entry.author != key for entry in entries):
        return None
    seq = entries[0].seq
    if seq > 1 and source.stored_seqs(key, seq - 1, seq - 1):
        return seq - 1
    return None


class ForkProof(AnswerState):
    """The answer to ``get seq..seq`` after a batch that did not link: one batch of one
    entry, validly signed, differing from the stored one, proves a fork (section 20.6);
    anything else fails."""

    def __init__(self) -> None:
        self.proof: tuple[Item, ...] = ()

    async def take(self, ctx: ReadContext, ask: Ask, message: Message) -> AnswerState:
        if not isinstance(message, Batch) or message.feed != ask.key or self.proof:
            raise ProtocolError("expected one entry as proof of a fork")
        self.proof = message.items
        return self

    def done(self, ctx: ReadContext, ask: Ask) -> End:
        if len(self.proof) == 1:
            outcome = ctx.source.ingest(ask.key, self.proof)
            if outcome.fork_at is not None:
                ctx.events(FeedForked(ask.key, outcome.fork_at))
                return End.STOP
        raise ChainError(f"the peer's entries of feed {ask.key.hex()[:8]} do not link to ours")


class Discarding(AnswerState):
    """An ask sent ahead for a feed that has stopped since: its batches are of the feed
    and inside the range, and are acknowledged without being stored."""

    async def take(self, ctx: ReadContext, ask: Ask, message: Message) -> AnswerState:
        range_batch(ask, message)
        return self

    def done(self, ctx: ReadContext, ask: Ask) -> End:
        return End.STOP


class HolderCheck(AnswerState):
    """The entry at the height a peer claims of this node's own feed: proven if it is
    exactly the entry stored there (section 20.13)."""

    def __init__(self, ours: bytes, report: Callable[[int], None]) -> None:
        self.ours = ours
        self.report = report
        self.served: bytes | None = None

    async def take(self, ctx: ReadContext, ask: Ask, message: Message) -> AnswerState:
        if (
            not isinstance(message, Batch)
            or message.feed != ask.key
            or self.served is not None
            or len(message.items) != 1
        ):
            raise ProtocolError("expected the one entry asked for")
        self.served = message.items[0][0]
        return self

    def done(self, ctx: ReadContext, ask: Ask) -> End:
        if self.served is None:
            raise ProtocolError(
                f"the peer said it holds entries 1..{ask.first} but sent none of {ask.first}"
            )
        if self.served == self.ours:
            self.report(ask.first)
        return End.STOP


STORING = Storing()
DISCARDING = Discarding()
