"""Stream sessions: what every lndesk stream protocol does around its messages.

Sync (:mod:`lndesk.p2p.sync`), the targeted fetch over it (:mod:`lndesk.p2p.fetch`) and
inbox catch-up (:mod:`lndesk.p2p.catchup`) run one session per libp2p stream, and end
sessions alike (docs/protocol.md section 20.7):

* A server resets the stream of a penalised peer and answers ``busy`` to more than
  ``Limits.streams_per_peer`` sessions at once from one peer, more than
  ``Limits.max_sessions`` in all, or what the address limits of
  :mod:`lndesk.p2p.admission` refuse (none of these is a penalty). A session that breaks
  the protocol penalises the peer and is answered ``bad-request``; one whose peer went
  away or timed out is logged and reset, also when the stream ended before its first
  frame (read it with :func:`receive_within`: an empty stream is no message at all). A
  failure of this node's own (an unreadable store, a bug) is reported as a
  :class:`NodeWarning` and answered ``internal``: letting it escape would take the whole
  connection down inside libp2p. Every write of a server has ``Limits.send_timeout``:
  a peer that stops reading has its session ended (:class:`PeerStalled`, counted in
  ``stalled_total``), so that it never keeps a session, or a turn it holds while a
  batch is written, for longer (section 20.7; not a penalty). The sessions of one
  address hold at most ``Limits.turns_per_ip`` of the turns (:class:`BatchTurns`).
* A client penalises a peer that breaks the protocol or sends unauthentic entries and
  raises :class:`PeerMisbehaved`; it resets the stream on any other failure (also
  cancellation) and closes it after a clean session.
* Closing, resetting and sending a last error frame never raise: the peer may be gone,
  and never wait more than ``CLOSE_SECONDS``: a connection that takes nothing would
  otherwise keep the session that ends.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import trio

from lndesk.errors import EntryError, NetworkError, ProtocolError
from lndesk.p2p.admission import Admission, BatchTurns, ServerBusy, stream_ip
from lndesk.p2p.config import Limits
from lndesk.p2p.events import EventSink, NodeWarning
from lndesk.p2p.fair_sessions import FairSessions
from lndesk.p2p.wire import Error, MessageFrames, PeerStalled, StreamGone

logger = logging.getLogger(__name__)

Penalise = Callable[[Any, str], None]
"""Called with a libp2p peer ID and a reason when a peer must be refused for a while."""

YIELDS = (
    "the server is nearly full and readers from addresses holding fewer sessions wait;"
    " try again later"
)
"""The ``busy`` message of a session refused so that addresses holding fewer get one."""

CLOSE_SECONDS = 5.0
"""Longest wait to close or reset a stream (one small muxer frame to write)."""

M = TypeVar("M")
T = TypeVar("T")
A = TypeVar("A")
M_co = TypeVar("M_co", covariant=True)


class PeerMisbehaved(ProtocolError):
    """The peer broke the protocol or sent unauthentic entries; it has been penalised."""


class SessionRefused(NetworkError):
    """The server ended the session with an error frame (busy, ...): not misbehaviour."""


class Receives(Protocol[M_co]):
    """Frames that decode into one protocol's messages (None: the peer closed cleanly)."""

    async def receive(self) -> M_co | None: ...


class SendsErrors(Protocol):
    """Frames of a protocol whose last frame may be an ``error``."""

    stream: Any
    send_timeout: float

    async def send(self, message: Error) -> None: ...


F = TypeVar("F", bound=SendsErrors)


async def receive_within(frames: Receives[M], seconds: float, closed: str) -> M:
    """The next message within ``seconds`` (else ``trio.TooSlowError``); a peer that
    closes the stream instead of answering raises ``StreamGone(closed)``."""
    with trio.fail_after(seconds):
        message = await frames.receive()
    if message is None:
        raise StreamGone(closed)
    return message


async def receive_opening(
    frames: Receives[object], kind: type[A], seconds: float, closed: str, wrong: str
) -> A:
    """A server's first message, which must be a ``kind`` (else ``ProtocolError(wrong)``,
    the peer's fault), within ``seconds``; ``StreamGone(closed)`` if the peer closes."""
    message = await receive_within(frames, seconds, closed)
    if not isinstance(message, kind):
        raise ProtocolError(wrong)
    return message


async def ask_once(
    frames: MessageFrames[T],
    ask: T,
    answer: type[A],
    seconds: float,
    *,
    protocol: str,
    names: tuple[str, str],
) -> A:
    """Send the one ``ask`` of a ``protocol`` session and read its one answer, which must
    be an ``answer`` arriving within ``seconds``: an ``error`` raises SessionRefused (not
    misbehaviour), a stream closed instead StreamGone, any other message ProtocolError.
    ``names`` are the ask's and the answer's message names, as that error says them."""
    await frames.send(ask)
    message = await receive_within(
        frames, seconds, f"the peer closed the {protocol} stream without answering"
    )
    if isinstance(message, Error):
        raise SessionRefused(f"the peer refused: {message.code}: {message.message}")
    if not isinstance(message, answer):
        raise ProtocolError(f"the peer did not answer {names[0]} with {names[1]}")
    return message


class ServerSessions:
    """The sessions of one stream protocol's server: admission, a count per peer, and
    how a session ends (see the module docstring)."""

    def __init__(
        self,
        limits: Limits,
        *,
        protocol: str,
        busy: str,
        failed: str,
        events: EventSink,
        penalise: Penalise,
        is_penalised: Callable[[Any], bool],
        admission: Admission | None = None,
    ) -> None:
        self.limits = limits
        self.admission = admission
        """The node's address limits, shared by its servers (None: not applied)."""
        self.protocol = protocol
        """Names the protocol in logs and penalty reasons ("sync", "inbox catch-up")."""
        self._busy = busy
        """The ``busy`` error's message."""
        self._failed = failed
        """Starts the warning shown when serving fails for a local reason."""
        self._events = events
        self._penalise = penalise
        self._is_penalised = is_penalised
        self._open: defaultdict[Any, int] = defaultdict(int)
        """Sessions being served now, by peer (a peer with none has no entry)."""
        self.open_total = 0
        """Sessions being served now, to all peers."""
        self.busy_total = 0
        """Sessions answered ``busy`` so far."""
        self.stalled_total = 0
        """Sessions ended because the peer took no write within ``send_timeout``."""
        self.fair = FairSessions(limits.max_sessions)
        """The sessions of each address, and the addresses waiting for one
        (``lndesk.p2p.fair_sessions``)."""
        self.turns = BatchTurns(limits)
        """One is held while one batch is read, encoded and written
        (``Limits.served_batches``, at most ``Limits.turns_per_ip`` of them by one
        address, a freed one to the address holding the fewest): what serving holds in
        memory is bounded by them, not by the number of readers. The write has
        ``Limits.send_timeout``: a reader that stops reading loses its turn with its
        session."""

    async def serve(self, frames: F, session: Callable[[Any, F], Awaitable[None]]) -> None:
        """Run ``session(peer, frames)`` for the stream ``frames`` read, if the peer may."""
        stream = frames.stream
        peer = stream.muxed_conn.peer_id
        frames.send_timeout = self.limits.send_timeout
        if self._is_penalised(peer):
            await reset_quietly(stream, self.protocol)
            return
        if self._open.get(peer, 0) >= self.limits.streams_per_peer:
            await self._send_busy(frames, self._busy)
            return
        ip = stream_ip(stream)
        address = self.admission.key(ip) if self.admission is not None else None
        if self.open_total >= self.limits.max_sessions:
            if address is not None:
                self.fair.refused_full(address)
            await self._send_busy(frames, "the server is serving too many sessions")
            return
        if address is not None and self.fair.yields(address, self.open_total):
            await self._send_busy(frames, YIELDS)
            return
        refused = self.admission.enter(str(peer), ip) if self.admission is not None else None
        if refused is not None:
            await self._send_busy(frames, refused)
            return
        self._open[peer] += 1
        self.open_total += 1
        if address is not None:
            self.fair.opened(address)
        try:
            await session(peer, frames)
        except ServerBusy as exc:
            await self._send_busy(frames, str(exc))
        except ProtocolError as exc:
            self._penalise(peer, f"{self.protocol}: {exc}")
            await send_error(frames, "bad-request", str(exc), self.protocol)
        except PeerStalled as exc:
            self.stalled_total += 1
            logger.info("%s session from %s ended: %s", self.protocol, peer, exc)
            await reset_quietly(stream, self.protocol)
        except (trio.TooSlowError, OSError, StreamGone) as exc:
            logger.info(
                "%s session from %s ended: %s", self.protocol, peer, str(exc) or "timed out"
            )
            await reset_quietly(stream, self.protocol)
        except Exception as exc:
            if is_stream_error(exc):  # from libp2p: the peer went away
                logger.info("%s session from %s ended: %s", self.protocol, peer, exc)
                await reset_quietly(stream, self.protocol)
            else:  # our side failed: say so, and keep the connection
                logger.exception("could not serve %s to %s", self.protocol, peer)
                self._events(NodeWarning(f"{self._failed}: {exc}"))
                await send_error(
                    frames, "internal", "the server failed for a local reason", self.protocol
                )
        finally:
            self._open[peer] -= 1
            self.open_total -= 1
            if not self._open[peer]:
                del self._open[peer]
            if address is not None:
                self.fair.closed(address)
            if self.admission is not None:
                self.admission.leave(ip)

    async def _send_busy(self, frames: SendsErrors, message: str) -> None:
        self.busy_total += 1
        await send_error(frames, "busy", message, self.protocol)


@asynccontextmanager
async def client_session(
    host: Any,
    peer: Any,
    protocol_id: str | Sequence[str],
    *,
    protocol: str,
    penalise: Penalise,
    blame: str | None = None,
) -> AsyncIterator[Any]:
    """A new stream to ``peer`` for one session, ended as the module docstring says.

    ``protocol_id`` may list several versions, the preferred first; the stream's
    ``get_protocol()`` says which one the peer chose.

    ``protocol`` names the protocol in :class:`PeerMisbehaved`; ``blame`` starts the
    penalty reason (default: ``protocol``). Raises a libp2p error when the stream cannot
    be opened (for example a peer that does not speak the protocol).
    """
    ids = [protocol_id] if isinstance(protocol_id, str) else list(protocol_id)
    stream = await host.new_stream(peer, ids)
    try:
        yield stream
    except (ProtocolError, EntryError) as exc:
        penalise(peer, f"{blame or protocol}: {exc}")
        await reset_quietly(stream, protocol)
        raise PeerMisbehaved(f"peer {peer} broke the {protocol} protocol: {exc}") from exc
    except BaseException:
        await reset_quietly(stream, protocol)
        raise
    await close_quietly(stream, protocol)


async def send_error(frames: SendsErrors, code: str, message: str, protocol: str) -> None:
    """Send a last ``error`` frame and close the stream."""
    try:
        await frames.send(Error(code, message[:1000]))
    except Exception as exc:  # the peer may already be gone; nothing else to do
        logger.debug("could not send a %s error: %s", protocol, exc)
    await close_quietly(frames.stream, protocol)


async def close_quietly(stream: Any, protocol: str) -> None:
    with trio.move_on_after(CLOSE_SECONDS) as waited:
        try:
            await stream.close()
        except Exception as exc:  # closing a stream the peer reset
            logger.debug("closing the %s stream: %s", protocol, exc)
    if waited.cancelled_caught:
        logger.debug("gave up closing the %s stream: its connection takes nothing", protocol)


async def reset_quietly(stream: Any, protocol: str) -> None:
    with trio.move_on_after(CLOSE_SECONDS) as waited:
        try:
            await stream.reset()
        except Exception as exc:  # resetting a stream that is already gone
            logger.debug("resetting the %s stream: %s", protocol, exc)
    if waited.cancelled_caught:
        logger.debug("gave up resetting the %s stream: its connection takes nothing", protocol)


def is_stream_error(exc: Exception) -> bool:
    """Whether ``exc`` says the stream broke (the peer went away), not that we failed."""
    module = type(exc).__module__
    return module.startswith("libp2p.") or isinstance(exc, trio.BrokenResourceError)


S = TypeVar("S")


class AskServer(ABC, Generic[S, F]):
    """A server that answers one ask per stream (inbox catch-up, profile lookup, fork
    proofs): the node's shared policing, wired once, around each subclass's ``_answer``.

    A subclass names its protocol and what a refusal says, and builds its frames."""

    protocol: ClassVar[str]
    busy: ClassVar[str]
    """The ``busy`` error's message."""
    failed: ClassVar[str]
    """Starts the warning shown when answering fails for a local reason."""

    def __init__(
        self,
        source: S,
        limits: Limits,
        *,
        events: EventSink,
        penalise: Penalise,
        is_penalised: Callable[[Any], bool],
        admission: Admission | None = None,
    ) -> None:
        self.source = source
        self.limits = limits
        self._sessions = ServerSessions(
            limits,
            protocol=self.protocol,
            busy=self.busy,
            failed=self.failed,
            events=events,
            penalise=penalise,
            is_penalised=is_penalised,
            admission=admission,
        )

    @abstractmethod
    def frames(self, stream: Any) -> F:
        """The frames of one stream of this protocol."""

    async def handle(self, stream: Any) -> None:
        await self.serve(self.frames(stream))

    async def serve(self, frames: F) -> None:
        """Answer the one ask on ``frames`` (a stream of this protocol, or of another
        version of it that a subclass handles), policed like every ask."""
        await self._sessions.serve(frames, self._answer)

    @abstractmethod
    async def _answer(self, peer: Any, frames: F) -> None:
        """Read the ask from ``frames`` and send the answer."""
