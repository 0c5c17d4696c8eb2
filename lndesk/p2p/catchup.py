"""Inbox catch-up ``/lndesk/inbox/1``: "which entries you hold are addressed to this key?"

A node that was offline when a reply to it was sent (so it missed the inbox notice,
``lndesk.p2p.inbox_notice``) asks its peers, when it connects to them and then with every
anti-entropy round, for the entries they hold that are addressed to its own key, and
then to each of its owner's pseudonyms' keys (one ``ask`` per key). The answer is a list
of entry references; the node fetches the ones it does not hold with
the sync protocol (``lndesk.p2p.fetch``), so no entry travels over this protocol.

One stream carries one question and one answer, each one frame (the framing of the
sync protocol, section 20.1 of docs/protocol.md; the messages are in section 29):

1. asker → ``ask``: ``to`` (the key), ``since`` (a claimed time in ms), ``limit``;
2. server → ``refs``: at most ``limit`` references ``[author, seq, id]``, newest first,
   or ``error``; then the server closes the stream.

Decoding is as strict as sync: anything but exactly these messages is a ProtocolError,
and the peer that sent it is penalised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from libp2p.custom_types import TProtocol

from lndesk.entry import KEY_SIZE, MAX_TIMESTAMP_MS
from lndesk.entry_refs import PostKey, Ref, parse_ref
from lndesk.errors import ProtocolError
from lndesk.p2p.config import Limits
from lndesk.p2p.frame_caps import CATCHUP_CAPS
from lndesk.p2p.ports import FeedSource
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

PROTOCOL_NAME = "inbox catch-up"
CATCHUP_PROTOCOL_ID = "/lndesk/inbox/1"
CATCHUP_PROTOCOL = TProtocol(CATCHUP_PROTOCOL_ID)
MAX_REFS = 500
"""Most references one ``ask`` may request (``limit``) and one ``refs`` may hold."""
MAX_CATCHUP_FRAME = 65536
"""Largest catch-up frame body accepted: 500 references are about 40 KB."""


@dataclass(frozen=True, slots=True)
class Ask:
    """Asker → server: entries addressed to ``to`` claimed at or after ``since``."""

    to: bytes
    since: int
    limit: int


@dataclass(frozen=True, slots=True)
class Refs:
    """Server → asker: references to held entries addressed to the key, newest first."""

    refs: tuple[Ref, ...]


CatchupMessage = Ask | Refs | Error


def encode_catchup_frame(message: CatchupMessage) -> bytes:
    if isinstance(message, Ask):
        return encode_map_frame(
            {"t": "ask", "to": message.to, "since": message.since, "limit": message.limit}
        )
    if isinstance(message, Refs):
        return encode_map_frame({"t": "refs", "refs": [list(ref) for ref in message.refs]})
    return encode_frame(message)  # the error message is the sync protocol's


def decode_catchup_body(body: bytes) -> CatchupMessage:
    """Decode one catch-up frame body (without its length prefix), strictly."""
    return decode_map_body(body, PROTOCOL_NAME, _PARSERS, CATCHUP_CAPS)


def _ask(doc: dict[str, Any]) -> Ask:
    to, since, limit = doc["to"], doc["since"], doc["limit"]
    if type(to) is not bytes or len(to) != KEY_SIZE:
        raise ProtocolError("ask: 'to' must be a 32-byte key")
    if type(since) is not int or not 0 <= since <= MAX_TIMESTAMP_MS:
        raise ProtocolError(f"ask: 'since' is out of range: {since!r}")
    if type(limit) is not int or not 1 <= limit <= MAX_REFS:
        raise ProtocolError(f"ask: 'limit' must be 1 to {MAX_REFS}: {limit!r}")
    return Ask(to, since, limit)


def parse_refs(doc: dict[str, Any]) -> Refs:
    """A ``refs`` message (inbox catch-up, profile lookup), checked strictly."""
    items = doc["refs"]
    if type(items) is not list:
        raise ProtocolError("refs: 'refs' must be an array")
    if len(items) > MAX_REFS:
        raise ProtocolError(f"refs holds more than {MAX_REFS} references")
    refs: list[Ref] = []
    for item in items:
        ref = parse_ref(item)
        if ref is None:
            raise ProtocolError("refs items must be entry references [author, seq, id]")
        refs.append(ref)
    if len({ref.post_key for ref in refs}) != len(refs):
        raise ProtocolError("refs names an entry twice")
    return Refs(tuple(refs))


_PARSERS: Parsers[CatchupMessage] = {
    "ask": (("to", "since", "limit"), _ask),
    "refs": (("refs",), parse_refs),
    "error": ERROR_PARSER,
}


class CatchupFrames(MessageFrames[CatchupMessage]):
    """Catch-up frames on a libp2p stream."""

    name = PROTOCOL_NAME

    def __init__(self, stream: Any) -> None:
        super().__init__(
            stream, MAX_CATCHUP_FRAME, CATCHUP_CAPS, encode_catchup_frame, decode_catchup_body
        )


def clean_refs(refs: Sequence[Ref], to: bytes, limit: int) -> tuple[Ref, ...]:
    """What a server may send: valid references, none twice, none by ``to``, at most
    ``limit`` (a store bug must not make it send a frame its peer rejects)."""
    out: dict[PostKey, Ref] = {}
    for held in refs:
        if len(out) >= limit:
            break
        ref = parse_ref([bytes(held.author), held.seq, bytes(held.id)])
        if ref is not None and ref.author != to:
            out.setdefault(ref.post_key, ref)
    return tuple(out.values())


class CatchupServer(AskServer[FeedSource, CatchupFrames]):
    """Answers ``ask``: lists the held entries addressed to a key (any key, any peer
    that is not penalised: like feeds, inboxes are public)."""

    protocol = PROTOCOL_NAME
    busy = "too many inbox catch-up requests from you at once"
    failed = "Could not answer an inbox request"

    def frames(self, stream: Any) -> CatchupFrames:
        return CatchupFrames(stream)

    async def _answer(self, _peer: Any, frames: CatchupFrames) -> None:
        ask = await receive_opening(
            frames,
            Ask,
            self.limits.session_timeout,
            "the asker closed the stream before ask",
            "an inbox catch-up must start with ask",
        )
        refs = self.source.addressed_to(ask.to, ask.since, ask.limit)
        await frames.send(Refs(clean_refs(refs, ask.to, ask.limit)))
        await close_quietly(frames.stream, PROTOCOL_NAME)


class CatchupClient:
    """Asks peers for the entries they hold that are addressed to a key."""

    def __init__(self, host: Any, limits: Limits, *, penalise: Penalise) -> None:
        self.host = host
        self.limits = limits
        self._penalise = penalise

    async def ask(self, peer: Any, to: bytes, since: int, limit: int = MAX_REFS) -> list[Ref]:
        """The peer's references to entries addressed to ``to`` claimed since ``since``.

        Raises PeerMisbehaved (the peer has been penalised), SessionRefused (it answered
        with an error), or a libp2p error when the stream cannot be opened or breaks
        (for example a peer that does not speak the protocol).
        """
        async with client_session(
            self.host, peer, CATCHUP_PROTOCOL, protocol=PROTOCOL_NAME, penalise=self._penalise
        ) as stream:
            answer = await ask_once(
                CatchupFrames(stream),
                Ask(to, since, limit),
                Refs,
                self.limits.session_timeout,
                protocol=PROTOCOL_NAME,
                names=("ask", "refs"),
            )
            if len(answer.refs) > limit:
                raise ProtocolError(f"the peer sent more than the {limit} references asked for")
        return list(answer.refs)
