"""Thread fetch ``/lndesk/thread/1`` and ``/2``: "which replies do you show under this
post, and which answers did its author mark as helpful?"

A reader who holds a post (a question found through a share, say) sees only the
replies that happened to reach it: those of people it follows. Thread fetch asks a peer
for the replies it holds under the post, filtered by the two-hop rule of the *post's
author* (docs/protocol.md section 32), then fetches the named entries with a targeted
fetch (:mod:`lndesk.p2p.fetch`, section 30), so every reader sees the conversation the
author sees. No entry travels over this protocol itself.

One stream carries one question and one answer, each one frame (the framing of the
sync protocol, section 20.1; the messages are in :mod:`lndesk.p2p.thread_frames`):

1. asker → ``thread``: ``root`` (the post's reference) and ``limit``; in version 2 also
   the ids of the root author's ``helpful`` marks the asker holds under the root;
2. server → ``replies``: ``total`` (how many replies it shows under the root) and the
   references of at most ``limit`` of them, newest first; in version 2 also the root
   author's marks under the root and the tombstones of the asked marks (32.6); or
   ``error``. Then the server closes the stream.

A fetched entry must be a reply whose root is the asked post, and a fetched mark the
root author's counting ``helpful`` under it or a tombstone of an asked mark: a server
that names another entry, or more than ``limit``, is penalised. The asker offers
version 2 first and falls back to version 1; a peer that speaks neither answers ``na``
when the stream is opened, which is not misbehaviour.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from lndesk.content import MAX_MARKS_PER_FETCH, Helpful, Reply, Tombstone, parse_content
from lndesk.entry import Entry
from lndesk.entry_refs import Ref
from lndesk.errors import EntryError, NetworkError, ProtocolError, StoreError
from lndesk.p2p.catchup import clean_refs
from lndesk.p2p.config import Limits
from lndesk.p2p.events import EventSink
from lndesk.p2p.fetch import RefFetcher
from lndesk.p2p.frame_caps import MAX_THREAD_MARKS, MAX_THREAD_REPLIES
from lndesk.p2p.ports import FeedSource, Held, IngestOutcome
from lndesk.p2p.sessions import (
    AskServer,
    PeerMisbehaved,
    Penalise,
    ask_once,
    client_session,
    close_quietly,
    receive_opening,
)
from lndesk.p2p.thread_frames import (
    PROTOCOL_NAME,
    THREAD_MARKS_PROTOCOL,
    THREAD_PROTOCOL,
    Replies,
    ThreadAsk,
    ThreadFrames,
    decode_thread_body,
    encode_thread_frame,
)

logger = logging.getLogger(__name__)


class ThreadServer(AskServer[FeedSource, ThreadFrames]):
    """Answers ``thread``: the replies this node shows under a post, in its author's
    audience (``FeedSource.thread_replies``), newest first; on a version 2 stream also
    the author's marks under it and the tombstones of the asked marks
    (``FeedSource.thread_marks``)."""

    protocol = PROTOCOL_NAME
    busy = "too many thread requests from you at once"
    failed = "Could not answer a thread request"

    def frames(self, stream: Any) -> ThreadFrames:
        return ThreadFrames(stream)

    async def handle_marks(self, stream: Any) -> None:
        """The handler of ``/lndesk/thread/2``."""
        await self.serve(ThreadFrames(stream, version=2))

    async def _answer(self, _peer: Any, frames: ThreadFrames) -> None:
        ask = await receive_opening(
            frames,
            ThreadAsk,
            self.limits.session_timeout,
            "the asker closed the stream before its ask",
            "a thread fetch must start with thread",
        )
        total, held = self.source.thread_replies(ask.root, ask.limit)
        refs = tuple(r for r in clean_refs(held, b"", ask.limit) if r != ask.root)
        marks: tuple[Ref, ...] | None = None
        if ask.marks is not None:
            named = {ref.post_key for ref in refs} | {ask.root.post_key}
            author = ask.root.author
            found = (
                self.source.thread_marks(ask.root, ask.marks) if self.source.serves(author) else []
            )
            own = [r for r in found if r.author == author and r.post_key not in named]
            marks = clean_refs(own, b"", MAX_THREAD_MARKS)
        await frames.send(Replies(max(total, len(refs)), refs, marks))
        await close_quietly(frames.stream, PROTOCOL_NAME)


def replies_to(root: Ref) -> Callable[[Entry, bytes | None], bool]:
    """The check of a fetched entry named in a ``replies`` answer: it must be a reply,
    with its payload, whose root is ``root``; anything else is the server's violation."""

    def check(entry: Entry, payload: bytes | None) -> bool:
        if payload is None:
            raise ProtocolError("the thread's server sent a reply without its payload")
        try:
            content = parse_content(entry.type, payload)
        except EntryError as exc:
            raise ProtocolError(
                f"the thread's server named an entry that is no reply: {exc}"
            ) from exc
        if not isinstance(content, Reply) or content.root.id != root.id:
            raise ProtocolError("the thread's server named an entry that does not reply to it")
        return True

    return check


def marks_of(root: Ref, asked: Iterable[bytes]) -> Callable[[Entry, bytes | None], bool]:
    """The check of a fetched entry named among a ``replies`` answer's marks: with its
    payload, by the root's author (checked before the fetch), either a ``helpful`` whose
    ``root`` names ``root``'s id or a tombstone of one of the ``asked`` marks; anything
    else is the server's violation."""
    taken = frozenset(asked)

    def check(entry: Entry, payload: bytes | None) -> bool:
        if payload is None:
            raise ProtocolError("the thread's server sent a mark without its payload")
        try:
            content = parse_content(entry.type, payload)
        except EntryError as exc:
            raise ProtocolError(f"the thread's server named a mark that is no mark: {exc}") from exc
        if isinstance(content, Tombstone):
            if content.ref.id not in taken:
                raise ProtocolError("the thread's server named a tombstone of no asked mark")
            return True
        if not isinstance(content, Helpful) or content.root.id != root.id:
            raise ProtocolError("the thread's server named a mark that is not for this thread")
        return True

    return check


class _RepliesSource:
    """The node's FeedSource, storing fetched replies with ``ingest_replies``: a reply
    vouched for by a thread server is kept like context, not like someone else's notice."""

    def __init__(self, source: FeedSource) -> None:
        self._source = source

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)

    def held(self, key: bytes) -> Held:
        return self._source.held(key)

    def ingest(self, key: bytes, items: Sequence[tuple[bytes, bytes | None]]) -> IngestOutcome:
        return self._source.ingest_replies(key, items)


@dataclass(frozen=True, slots=True)
class ThreadResult:
    """What a thread fetch learned."""

    reported: int
    """The most replies any peer said it shows under the root."""
    stored: int
    """Replies stored by this fetch."""
    asked: int
    """Peers that answered."""
    marks: int = 0
    """Marks, and tombstones taking marks back, stored by this fetch."""


class ThreadFetcher:
    """Asks peers for a thread's replies and marks and fetches those not held (module
    docstring)."""

    protocols = (THREAD_MARKS_PROTOCOL, THREAD_PROTOCOL)
    """What the asker offers, the preferred first."""

    def __init__(
        self,
        host: Any,
        source: FeedSource,
        limits: Limits,
        *,
        events: EventSink,
        penalise: Penalise,
        key_of: Callable[[Any], bytes | None],
    ) -> None:
        self.host = host
        self.source = source
        self.limits = limits
        replies_source: Any = _RepliesSource(source)  # delegates every other method
        self._fetcher = RefFetcher(
            host, replies_source, limits, events=events, penalise=penalise, key_of=key_of
        )
        # Marks are the root author's own entries, stored like context (32.6).
        self._marks = RefFetcher(
            host, source, limits, events=events, penalise=penalise, key_of=key_of
        )
        self._penalise = penalise

    async def ask(
        self, peer: Any, root: Ref, limit: int = MAX_THREAD_REPLIES, marks: Sequence[bytes] = ()
    ) -> Replies:
        """The peer's answer for ``root`` (``marks``: the ids of the root author's marks
        held here, asked about on ``/lndesk/thread/2``). Its ``marks`` is None when the
        peer speaks only ``/lndesk/thread/1``. Raises PeerMisbehaved (the peer has been
        penalised), SessionRefused, or a libp2p error when the stream cannot be opened."""
        async with client_session(
            self.host, peer, self.protocols, protocol=PROTOCOL_NAME, penalise=self._penalise
        ) as stream:
            version = 2 if stream.get_protocol() == THREAD_MARKS_PROTOCOL else 1
            asked = tuple(marks[:MAX_MARKS_PER_FETCH]) if version == 2 else None
            answer = await ask_once(
                ThreadFrames(stream, version),
                ThreadAsk(root, limit, asked),
                Replies,
                self.limits.session_timeout,
                protocol=PROTOCOL_NAME,
                names=("thread", "replies"),
            )
            if len(answer.refs) > limit:
                raise ProtocolError(f"the peer named {len(answer.refs)} replies, over {limit}")
            if root in answer.refs:
                raise ProtocolError("the peer named the root among its replies")
            if any(ref.author != root.author for ref in answer.marks or ()):
                raise ProtocolError("the peer named a mark by someone other than the root's author")
            if root in (answer.marks or ()):
                raise ProtocolError("the peer named the root among its marks")
        return answer

    async def fetch(self, peers: Iterable[Any], root: Ref) -> ThreadResult:
        """Ask each peer in turn for ``root``'s replies and marks and fetch those not
        held; a peer that fails is logged and skipped (penalised if it broke the
        protocol)."""
        reported = stored = asked = marked = 0
        check = replies_to(root)
        held = [ref.id for ref in self.source.thread_marks(root, ())][:MAX_MARKS_PER_FETCH]
        check_mark = marks_of(root, held)
        for peer in peers:
            try:
                answer = await self.ask(peer, root, marks=held)
                asked += 1
                reported = max(reported, answer.total)
                refs: Sequence[Ref] = answer.refs
                if refs:
                    report = await self._fetcher.fetch_from(peer, refs, via="thread", check=check)
                    stored += len(report.stored)
                if answer.marks:
                    report = await self._marks.fetch_from(
                        peer, answer.marks, via="thread", check=check_mark
                    )
                    marked += len(report.stored)
            except StoreError:
                raise
            except (PeerMisbehaved, NetworkError) as exc:
                logger.info("thread fetch from %s failed: %s", peer, exc)
            except Exception as exc:  # libp2p: the peer went away or lacks the protocol
                logger.info("thread fetch from %s failed: %s", peer, exc)
        return ThreadResult(reported, stored, asked, marked)


__all__ = [
    "MAX_THREAD_REPLIES",
    "THREAD_MARKS_PROTOCOL",
    "THREAD_PROTOCOL",
    "Replies",
    "ThreadAsk",
    "ThreadFetcher",
    "ThreadResult",
    "ThreadServer",
    "decode_thread_body",
    "encode_thread_frame",
    "marks_of",
    "replies_to",
]
