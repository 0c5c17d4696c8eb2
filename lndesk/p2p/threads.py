"""Thread fetch ``/lndesk/thread/1``: "which replies do you show under this post?"

A reader who holds a post (a question found through a share, say) sees only the
replies that happened to reach it: those of people it follows. Thread fetch asks a peer
for the replies it holds under the post, filtered by the two-hop rule of the *post's
author* (docs/protocol.md section 32), then fetches the named entries with a targeted
fetch (:mod:`lndesk.p2p.fetch`, section 30), so every reader sees the conversation the
author sees. No entry travels over this protocol itself.

One stream carries one question and one answer, each one frame (the framing of the
sync protocol, section 20.1):

1. asker → ``thread``: ``root`` (the post's reference) and ``limit``;
2. server → ``replies``: ``total`` (how many replies it shows under the root) and the
   references of at most ``limit`` of them, newest first; or ``error``. Then the
   server closes the stream.

A fetched entry must be a reply whose root is the asked post: a server that names
another entry, or more than ``limit``, is penalised. A peer that does not speak the
protocol answers ``na`` when the stream is opened, which is not misbehaviour.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from libp2p.custom_types import TProtocol

from lndesk.content import Reply, parse_content
from lndesk.entry import Entry
from lndesk.entry_refs import Ref, parse_ref
from lndesk.errors import EntryError, NetworkError, ProtocolError, StoreError
from lndesk.p2p.catchup import clean_refs, parse_refs
from lndesk.p2p.config import Limits
from lndesk.p2p.events import EventSink
from lndesk.p2p.fetch import RefFetcher
from lndesk.p2p.frame_caps import MAX_THREAD_REPLIES, THREAD_CAPS
from lndesk.p2p.ports import FeedSource, Held, IngestOutcome
from lndesk.p2p.sessions import (
    AskServer,
    PeerMisbehaved,
    Penalise,
    SessionRefused,
    client_session,
    close_quietly,
    receive_within,
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

PROTOCOL_NAME = "thread fetch"
THREAD_PROTOCOL_ID = "/lndesk/thread/1"
THREAD_PROTOCOL = TProtocol(THREAD_PROTOCOL_ID)
MAX_THREAD_FRAME = 16_384
"""Largest thread fetch frame body accepted (an answer names at most 100 replies)."""
MAX_TOTAL = 2**53 - 1


@dataclass(frozen=True, slots=True)
class ThreadAsk:
    """Asker → server: which replies do you show under ``root`` (at most ``limit``)?"""

    root: Ref
    limit: int


@dataclass(frozen=True, slots=True)
class Replies:
    """Server → asker: how many replies it shows under the root, and the newest of them."""

    total: int
    refs: tuple[Ref, ...]


ThreadMessage = ThreadAsk | Replies | Error


def encode_thread_frame(message: ThreadMessage) -> bytes:
    if isinstance(message, ThreadAsk):
        return encode_map_frame({"t": "thread", "root": list(message.root), "limit": message.limit})
    if isinstance(message, Replies):
        return encode_map_frame(
            {"t": "replies", "refs": [list(ref) for ref in message.refs], "total": message.total}
        )
    return encode_frame(message)  # the error message is the sync protocol's


def decode_thread_body(body: bytes) -> ThreadMessage:
    """Decode one thread fetch frame body (without its length prefix), strictly."""
    return decode_map_body(body, PROTOCOL_NAME, _PARSERS, THREAD_CAPS)


def _ask(doc: dict[str, Any]) -> ThreadAsk:
    root = parse_ref(doc["root"])
    if root is None:
        raise ProtocolError("thread: 'root' must be an entry reference [author, seq, id]")
    limit = doc["limit"]
    if type(limit) is not int or not 1 <= limit <= MAX_THREAD_REPLIES:
        raise ProtocolError(f"thread: 'limit' must be an integer from 1 to {MAX_THREAD_REPLIES}")
    return ThreadAsk(root, limit)


def _replies(doc: dict[str, Any]) -> Replies:
    total = doc["total"]
    if type(total) is not int or not 0 <= total <= MAX_TOTAL:
        raise ProtocolError("replies: 'total' must be an integer from 0 to 2^53-1")
    refs = parse_refs(doc).refs
    if len(refs) > MAX_THREAD_REPLIES:
        raise ProtocolError(f"replies names more than {MAX_THREAD_REPLIES} entries")
    if total < len(refs):
        raise ProtocolError("replies: 'total' is less than the replies it names")
    return Replies(total, refs)


_PARSERS: Parsers[ThreadMessage] = {
    "thread": (("root", "limit"), _ask),
    "replies": (("refs", "total"), _replies),
    "error": ERROR_PARSER,
}


class ThreadFrames(MessageFrames[ThreadMessage]):
    """Thread fetch frames on a libp2p stream."""

    name = PROTOCOL_NAME

    def __init__(self, stream: Any) -> None:
        super().__init__(
            stream, MAX_THREAD_FRAME, THREAD_CAPS, encode_thread_frame, decode_thread_body
        )


class ThreadServer(AskServer[FeedSource, ThreadFrames]):
    """Answers ``thread``: the replies this node shows under a post, in its author's
    audience (``FeedSource.thread_replies``), newest first."""

    protocol = PROTOCOL_NAME
    busy = "too many thread requests from you at once"
    failed = "Could not answer a thread request"

    def frames(self, stream: Any) -> ThreadFrames:
        return ThreadFrames(stream)

    async def _answer(self, _peer: Any, frames: ThreadFrames) -> None:
        ask = await receive_within(
            frames, self.limits.session_timeout, "the asker closed the stream before its ask"
        )
        if not isinstance(ask, ThreadAsk):
            raise ProtocolError("a thread fetch must start with thread")
        total, held = self.source.thread_replies(ask.root, ask.limit)
        refs = tuple(r for r in clean_refs(held, b"", ask.limit) if r != ask.root)
        await frames.send(Replies(max(total, len(refs)), refs))
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


class ThreadFetcher:
    """Asks peers for a thread's replies and fetches those not held (module docstring)."""

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
        self._penalise = penalise

    async def ask(self, peer: Any, root: Ref, limit: int = MAX_THREAD_REPLIES) -> Replies:
        """The peer's answer for ``root``. Raises PeerMisbehaved (the peer has been
        penalised), SessionRefused, or a libp2p error when the stream cannot be opened."""
        async with client_session(
            self.host, peer, THREAD_PROTOCOL, protocol=PROTOCOL_NAME, penalise=self._penalise
        ) as stream:
            frames = ThreadFrames(stream)
            await frames.send(ThreadAsk(root, limit))
            answer = await receive_within(
                frames,
                self.limits.session_timeout,
                "the peer closed the thread fetch stream without answering",
            )
            if isinstance(answer, Error):
                raise SessionRefused(f"the peer refused: {answer.code}: {answer.message}")
            if not isinstance(answer, Replies):
                raise ProtocolError("the peer did not answer thread with replies")
            if len(answer.refs) > limit:
                raise ProtocolError(f"the peer named {len(answer.refs)} replies, over {limit}")
            if root in answer.refs:
                raise ProtocolError("the peer named the root among its replies")
        return answer

    async def fetch(self, peers: Iterable[Any], root: Ref) -> ThreadResult:
        """Ask each peer in turn for ``root``'s replies and fetch those not held; a peer
        that fails is logged and skipped (penalised if it broke the protocol)."""
        reported = stored = asked = 0
        check = replies_to(root)
        for peer in peers:
            try:
                answer = await self.ask(peer, root)
                asked += 1
                reported = max(reported, answer.total)
                refs: Sequence[Ref] = answer.refs
                if refs:
                    report = await self._fetcher.fetch_from(peer, refs, via="thread", check=check)
                    stored += len(report.stored)
            except StoreError:
                raise
            except (PeerMisbehaved, NetworkError) as exc:
                logger.info("thread fetch from %s failed: %s", peer, exc)
            except Exception as exc:  # libp2p: the peer went away or lacks the protocol
                logger.info("thread fetch from %s failed: %s", peer, exc)
        return ThreadResult(reported, stored, asked)


__all__ = [
    "MAX_THREAD_REPLIES",
    "THREAD_PROTOCOL",
    "Replies",
    "ThreadAsk",
    "ThreadFetcher",
    "ThreadResult",
    "ThreadServer",
    "decode_thread_body",
    "encode_thread_frame",
    "replies_to",
]
