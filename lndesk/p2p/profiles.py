"""Profile lookup ``/lndesk/profile/1``: "which entry is this key's current profile?"

A reply or mention from a stranger arrives alone (by inbox notice or catch-up); the
reader holds nothing else of that feed, so it can show the stranger only by key. After
storing such an entry the node asks the peer that delivered it which entry holds the
author's current profile, and fetches that one entry with a targeted fetch
(``lndesk.p2p.fetch``, docs/protocol.md section 30), so Requests show a name and an
avatar. No entry travels over this protocol; the fetched entry is authenticated like any
other, and kept only if it is a profile of that author.

One stream carries one question and one answer, each one frame (the framing of the
sync protocol, section 20.1; the messages are in section 31):

1. asker → ``profile``: ``of`` (the key);
2. server → ``refs``: no reference (it holds no profile of that key) or one, by that
   key; or ``error``. Then the server closes the stream.

A peer that does not speak the protocol answers ``na`` when the stream is opened,
which is not misbehaviour; the stranger is then shown by key and fingerprint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from libp2p.custom_types import TProtocol

from lndesk.entry import KEY_SIZE
from lndesk.entry_refs import Ref
from lndesk.errors import ProtocolError
from lndesk.p2p.catchup import Refs, clean_refs, parse_refs
from lndesk.p2p.config import Limits
from lndesk.p2p.frame_caps import PROFILE_CAPS
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

PROTOCOL_NAME = "profile lookup"
PROFILE_PROTOCOL_ID = "/lndesk/profile/1"
PROFILE_PROTOCOL = TProtocol(PROFILE_PROTOCOL_ID)
MAX_PROFILE_FRAME = 1024
"""Largest profile lookup frame body accepted (an answer holds one reference)."""


@dataclass(frozen=True, slots=True)
class ProfileAsk:
    """Asker → server: which entry holds ``of``'s current profile?"""

    of: bytes


ProfileMessage = ProfileAsk | Refs | Error


def encode_profile_frame(message: ProfileMessage) -> bytes:
    if isinstance(message, ProfileAsk):
        return encode_map_frame({"t": "profile", "of": message.of})
    if isinstance(message, Refs):
        return encode_map_frame({"t": "refs", "refs": [list(ref) for ref in message.refs]})
    return encode_frame(message)  # the error message is the sync protocol's


def decode_profile_body(body: bytes) -> ProfileMessage:
    """Decode one profile lookup frame body (without its length prefix), strictly."""
    return decode_map_body(body, PROTOCOL_NAME, _PARSERS, PROFILE_CAPS)


def _ask(doc: dict[str, Any]) -> ProfileAsk:
    of = doc["of"]
    if type(of) is not bytes or len(of) != KEY_SIZE:
        raise ProtocolError("profile: 'of' must be a 32-byte key")
    return ProfileAsk(of)


def _refs(doc: dict[str, Any]) -> Refs:
    refs = parse_refs(doc)
    if len(refs.refs) > 1:
        raise ProtocolError("a profile answer holds at most one reference")
    return refs


_PARSERS: Parsers[ProfileMessage] = {
    "profile": (("of",), _ask),
    "refs": (("refs",), _refs),
    "error": ERROR_PARSER,
}


class ProfileFrames(MessageFrames[ProfileMessage]):
    """Profile lookup frames on a libp2p stream."""

    name = PROTOCOL_NAME

    def __init__(self, stream: Any) -> None:
        super().__init__(
            stream, MAX_PROFILE_FRAME, PROFILE_CAPS, encode_profile_frame, decode_profile_body
        )


class ProfileServer(AskServer[FeedSource, ProfileFrames]):
    """Answers ``profile``: the held entry that set a key's current profile, if any."""

    protocol = PROTOCOL_NAME
    busy = "too many profile requests from you at once"
    failed = "Could not answer a profile request"

    def frames(self, stream: Any) -> ProfileFrames:
        return ProfileFrames(stream)

    async def _answer(self, _peer: Any, frames: ProfileFrames) -> None:
        ask = await receive_opening(
            frames,
            ProfileAsk,
            self.limits.session_timeout,
            "the asker closed the stream before its ask",
            "a profile lookup must start with profile",
        )
        ref = self.source.profile_ref(ask.of)  # None for a feed not accepted (blocked)
        refs = clean_refs([ref] if ref is not None and ref[0] == ask.of else [], b"", 1)
        await frames.send(Refs(refs))
        await close_quietly(frames.stream, PROTOCOL_NAME)


class ProfileClient:
    """Asks a peer which entry holds a key's current profile."""

    def __init__(self, host: Any, limits: Limits, *, penalise: Penalise) -> None:
        self.host = host
        self.limits = limits
        self._penalise = penalise

    async def ask(self, peer: Any, of: bytes) -> Ref | None:
        """The reference the peer gives (None: it holds no profile of ``of``).

        Raises PeerMisbehaved (the peer has been penalised), SessionRefused (it answered
        with an error), or a libp2p error when the stream cannot be opened or breaks
        (for example a peer that does not speak the protocol).
        """
        async with client_session(
            self.host, peer, PROFILE_PROTOCOL, protocol=PROTOCOL_NAME, penalise=self._penalise
        ) as stream:
            answer = await ask_once(
                ProfileFrames(stream),
                ProfileAsk(of),
                Refs,
                self.limits.session_timeout,
                protocol=PROTOCOL_NAME,
                names=("profile", "refs"),
            )
            if answer.refs and answer.refs[0][0] != of:
                raise ProtocolError("the peer answered with an entry of another author")
        return answer.refs[0] if answer.refs else None
