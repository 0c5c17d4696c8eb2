"""Anti-entropy visits ``/lndesk/visit/1``: one small exchange when nothing changed.

Every anti-entropy round asks a peer three things: which entries of the wanted feeds it
holds beyond this node's heights (sync, section 20), which entries it holds that are
addressed to this node (inbox catch-up, section 29), and which of the wanted feeds it
holds a fork proof of (section 20.12). On the old protocols that is three streams, with
the whole ``want`` and the whole fork question, even when nothing changed. A visit asks
all three at once by digests of the last answers (docs/protocol.md 20.16, messages in
:mod:`lndesk.p2p.visit_frames`), and only what differs goes on:

* ``heights`` false: a sync session, which sends ``want`` at once;
* an inbox key's references changed: they came in the answer, the missing entries are
  fetched as after an ``ask``;
* ``forked`` names a feed not frozen here (or is null): a fork proof question about
  those feeds (or all of them).

:class:`Visits` decides per peer. The visit names the vector the last ``/3`` session
over the wanted feeds left the server with (``lndesk.p2p.digest.LeftVectors``), also
when this node's heights have grown since from other peers. With none (a first
session, other feeds wanted, more than ``want_feeds`` of them, a hole held), or with a
peer that answers ``na`` to ``/lndesk/visit/1``, the round runs on the old protocols,
as it does when the visit fails for a reason that passes.

The anti-entropy timer asks for a round through :meth:`Visits.periodic_round`, which
skips the rounds the scheduler's :class:`lndesk.p2p.scheduler.RoundPace` says are not
due: a peer whose visits keep finding nothing changed is visited 2, 4, then 8 rounds
apart, and every round again as soon as anything changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import trio
from libp2p.custom_types import TProtocol

from lndesk.errors import ProtocolError, StoreError
from lndesk.p2p.admission import Admission
from lndesk.p2p.catchup import MAX_REFS, clean_refs
from lndesk.p2p.config import Limits
from lndesk.p2p.events import EventSink, NodeWarning, SyncFinished
from lndesk.p2p.forks import ForkChecks
from lndesk.p2p.inbox_delivery import InboxDelivery
from lndesk.p2p.ports import FeedSource
from lndesk.p2p.scheduler import SyncScheduler
from lndesk.p2p.sessions import (
    AskServer,
    PeerMisbehaved,
    Penalise,
    ask_once,
    client_session,
    close_quietly,
    receive_opening,
)
from lndesk.p2p.sync import SyncClient, SyncServer
from lndesk.p2p.unsupported import Unsupported, is_not_supported
from lndesk.p2p.visit_frames import (
    PROTOCOL_NAME,
    VISIT_PROTOCOL_ID,
    InboxCheck,
    Visit,
    Visited,
    VisitFrames,
    refs_digest,
)

logger = logging.getLogger(__name__)

VISIT_PROTOCOL = TProtocol(VISIT_PROTOCOL_ID)


class VisitServer(AskServer[FeedSource, VisitFrames]):
    """Answers ``visit`` (to any peer that is not penalised): the sync server's look at
    the remembered vector, and the inbox answers compared by digest."""

    protocol = PROTOCOL_NAME
    busy = "too many visits from you at once"
    failed = "Could not answer a visit"

    def __init__(
        self,
        source: FeedSource,
        limits: Limits,
        sync: SyncServer,
        *,
        events: EventSink,
        penalise: Penalise,
        is_penalised: Callable[[Any], bool],
        admission: Admission | None = None,
    ) -> None:
        super().__init__(
            source,
            limits,
            events=events,
            penalise=penalise,
            is_penalised=is_penalised,
            admission=admission,
        )
        self._sync = sync

    def frames(self, stream: Any) -> VisitFrames:
        return VisitFrames(stream)

    async def _answer(self, peer: Any, frames: VisitFrames) -> None:
        visit = await receive_opening(
            frames,
            Visit,
            self.limits.session_timeout,
            "the reader closed the stream before visit",
            "a visit must start with visit",
        )
        if visit.inbox:  # each is an inbox query: charged as a wanted feed (20.16)
            self._sync.charge_wants(peer, frames.stream, len(visit.inbox))
        look = await self._sync.look_at_vector(peer, frames.stream, visit.heights, forks=True)
        inbox = tuple(self._inbox(check) for check in visit.inbox)
        if look is None:
            answer = Visited(False, inbox, None)
        else:  # forked unknown (too many) needs heights false: true with null is refused
            answer = Visited(look.same and look.forked is not None, inbox, look.forked)
        await frames.send(answer)
        await close_quietly(frames.stream, PROTOCOL_NAME)

    def _inbox(self, check: InboxCheck) -> tuple[Any, ...] | None:
        """None if the references an ``ask`` would get are those the reader saw."""
        refs = clean_refs(
            self.source.addressed_to(check.to, check.since, MAX_REFS), check.to, MAX_REFS
        )
        return None if refs_digest(refs) == check.seen else refs


class VisitClient:
    """Visits one peer: one ``visit``, one ``visited``, checked against what was asked."""

    def __init__(self, host: Any, limits: Limits, *, penalise: Penalise) -> None:
        self.host = host
        self.limits = limits
        self._penalise = penalise

    async def visit(self, peer: Any, visit: Visit, feeds: list[bytes]) -> Visited:
        """The peer's answer to ``visit`` about ``feeds`` (the vector's feeds).

        Raises PeerMisbehaved (the peer has been penalised), SessionRefused (it answered
        with an error), or a libp2p error when the stream cannot be opened or breaks
        (for example a peer that does not speak the protocol).
        """
        async with client_session(
            self.host, peer, VISIT_PROTOCOL, protocol=PROTOCOL_NAME, penalise=self._penalise
        ) as stream:
            answer = await ask_once(
                VisitFrames(stream),
                visit,
                Visited,
                self.limits.session_timeout,
                protocol=PROTOCOL_NAME,
                names=("visit", "visited"),
            )
            if len(answer.inbox) != len(visit.inbox):
                asked = len(visit.inbox)
                raise ProtocolError(f"visited answers {len(answer.inbox)} inbox keys, not {asked}")
            if answer.forked is not None and not set(answer.forked) <= set(feeds):
                raise ProtocolError("visited names a forked feed that was not asked about")
        return answer


@dataclass(slots=True)
class VisitCounts:
    """What visits came to (for tests and benches)."""

    visits: int = 0
    unchanged: int = 0
    """Visits after which nothing went on: every part was unchanged."""
    old_rounds: int = 0
    """Rounds run on the old protocols instead."""
    skipped: int = 0
    """Timer rounds skipped because the peer's visits kept finding nothing changed."""


class Visits:
    """Runs each peer's anti-entropy round as a visit when it can (module docstring)."""

    def __init__(
        self,
        host: Any,
        source: FeedSource,
        limits: Limits,
        *,
        sync: SyncClient,
        sync_server: SyncServer,
        scheduler: SyncScheduler,
        inbox: InboxDelivery,
        forks: ForkChecks | None,
        emit: EventSink,
        penalise: Penalise,
        is_penalised: Callable[[Any], bool],
        key_of: Callable[[Any], bytes | None],
        admission: Admission | None = None,
    ) -> None:
        self.client = VisitClient(host, limits, penalise=penalise)
        self.server = VisitServer(
            source,
            limits,
            sync_server,
            events=emit,
            penalise=penalise,
            is_penalised=is_penalised,
            admission=admission,
        )
        self.source = source
        self.limits = limits
        self._sync = sync
        self._scheduler = scheduler
        self._inbox = inbox
        self._forks = forks
        self._emit = emit
        self._key_of = key_of
        self.unsupported = Unsupported(VISIT_PROTOCOL_ID)
        """Peers that said ``na`` to ``/lndesk/visit/1``: old rounds for a while."""
        self.counts = VisitCounts()
        self._nursery: trio.Nursery | None = None
        self._visiting: set[Any] = set()

    def attach(self, nursery: trio.Nursery | None) -> None:
        self._nursery = nursery

    def visit_soon(self, peer: Any) -> None:
        """Run an anti-entropy round with ``peer`` soon, unless one is running."""
        if self._nursery is not None and peer not in self._visiting:
            self._visiting.add(peer)
            self._nursery.start_soon(self._visit_task, peer)

    def is_visiting(self, peer: Any) -> bool:
        """Whether a round with ``peer`` runs now."""
        return peer in self._visiting

    def periodic_round(self, peer: Any) -> None:
        """The anti-entropy timer's round with ``peer``: run soon, unless the peer's
        visits kept finding nothing changed and this round is one to skip."""
        if self._scheduler.pace.due(peer):
            self.visit_soon(peer)
        else:
            self.counts.skipped += 1

    async def _visit_task(self, peer: Any) -> None:
        # Runs in the node's nursery: what escapes here would stop the node.
        try:
            await self.visit(peer)
        except StoreError as exc:  # our disk, not the peer: the next round tries again
            self._emit(NodeWarning(f"Could not prepare a round with a peer: {exc}"))
        except Exception:  # a bug in one peer's round must not stop the node
            logger.exception("the anti-entropy round with %s failed", peer)
        finally:
            self._visiting.discard(peer)

    def old_round(self, peer: Any) -> None:
        """The round on the old protocols: sync, inbox catch-up, fork proofs."""
        self.counts.old_rounds += 1
        self._scheduler.pace.stirred(peer)
        self._scheduler.request(peer)
        self._inbox.catch_up_soon(peer)
        if self._forks is not None:
            self._forks.check_soon(peer)

    async def visit(self, peer: Any) -> bool:
        """One round with ``peer``; True if it was a visit (else an old round)."""
        wanted = list(dict.fromkeys(self.source.wanted_feeds()))
        vector = None
        if len(wanted) <= self.limits.want_feeds and not self.unsupported.skips(peer):
            vector = self._sync.visit_vector(peer, wanted)
        if vector is None:
            self.old_round(peer)
            return False
        checks, unasked = self._inbox.visit_checks(peer)
        visit = Visit(vector, tuple(InboxCheck(*check) for check in checks))
        try:
            answer = await self.client.visit(peer, visit, wanted)
        except PeerMisbehaved as exc:  # penalised: no more rounds with it for a while
            logger.info("%s", exc)
            return True
        except Exception as exc:  # no visit on that peer, or it went away or was busy
            if is_not_supported(exc):
                self.unsupported.note(peer)
            else:
                logger.info("visiting %s failed: %s", peer, exc)
            self.old_round(peer)
            return False
        self.counts.visits += 1
        self._go_on(peer, visit, answer, wanted, vector=vector, unasked=unasked)
        return True

    def _go_on(
        self,
        peer: Any,
        visit: Visit,
        answer: Visited,
        wanted: list[bytes],
        *,
        vector: bytes,
        unasked: list[bytes],
    ) -> None:
        """Whatever differs goes on, on the old protocols."""
        unchanged = True
        if answer.heights:
            key = self._key_of(peer)
            if key is not None:
                self._emit(SyncFinished(key, 0, len(wanted), None))
        else:
            unchanged = False
            self._sync.sent_vectors.forget(peer, vector)  # want at once, no digest
            self._scheduler.request(peer)
        for check, refs in zip(visit.inbox, answer.inbox, strict=True):
            if refs is not None:
                unchanged = False
                self._inbox.take_refs_soon(peer, check.to, check.since, refs)
        if unasked:
            unchanged = False
            self._inbox.catch_up_soon(peer, unasked)
        if self._forks is not None:
            if answer.forked is None:
                unchanged = False
                self._forks.check_soon(peer)
            else:
                fresh = [f for f in answer.forked if self.source.held(f).forked_at is None]
                if fresh:
                    unchanged = False
                    self._forks.check_soon(peer, fresh)
        if unchanged:
            self.counts.unchanged += 1
            self._scheduler.pace.unchanged(peer)
        else:
            self._scheduler.pace.stirred(peer)
