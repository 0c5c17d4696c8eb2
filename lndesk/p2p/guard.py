"""One stream's input never stops the node (docs/protocol.md section 24).

py-libp2p runs every inbound stream's protocol handler inside the connection's nursery,
and an exception a handler lets out ends the connection's tasks and, from there, the
whole host: py-libp2p 0.8.1's GossipSub handler, for one, does not catch protobuf's
``DecodeError``, so seven bytes on ``/meshsub/1.1.0`` stopped the node.

:func:`guard_streams` wraps the one entry point every inbound stream goes through (the
swarm's stream handler, which negotiates the protocol and calls its handler), so that
any exception from any protocol handler (sync, inbox catch-up, GossipSub, identify,
Kademlia, relay, ping, ...) ends only that stream: it is reset, logged, and the peer is
penalised when what it sent does not decode (:func:`is_malformed`): no honest libp2p
node sends a protobuf message that does not parse. Any other failure may be a bug of
a library or of ours on honest input, so it costs the peer nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from google.protobuf.message import DecodeError as ProtobufDecodeError

logger = logging.getLogger(__name__)

OnMalformed = Callable[[Any, str], None]
"""Called with a libp2p peer ID and a reason when a peer sent input that does not decode."""

StreamHandler = Callable[[Any], Awaitable[None]]

_GUARDED = "_lndesk_guarded"


def is_malformed(exc: BaseException) -> bool:
    """Whether ``exc`` (or one in its group) says the peer's bytes do not decode."""
    if isinstance(exc, ProtobufDecodeError):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return any(is_malformed(inner) for inner in exc.exceptions)
    return False


def guard_streams(host: Any, on_malformed: OnMalformed) -> None:
    """Make every inbound stream of ``host`` fail alone (see the module docstring).

    Call once per host, before it starts serving; a second call does nothing.
    """
    network = host.get_network()
    inner: StreamHandler = network.common_stream_handler
    if getattr(inner, _GUARDED, False):
        return

    async def guarded(stream: Any) -> None:
        try:
            await inner(stream)
        except Exception as exc:  # one peer's stream: never the host's
            await stream_failed(stream, exc, on_malformed)

    setattr(guarded, _GUARDED, True)
    network.set_stream_handler(guarded)


async def stream_failed(stream: Any, exc: Exception, on_malformed: OnMalformed) -> None:
    """End ``stream`` after its handler raised ``exc``: reset it, log it, and penalise
    the peer if its input did not decode. Never raises."""
    peer = _peer_of(stream)
    protocol = _protocol_of(stream)
    if is_malformed(exc):
        logger.info("%s from %s does not decode: %s", protocol, peer, exc)
        if peer is not None:
            try:
                on_malformed(peer, f"{protocol}: sent a message that does not decode")
            except Exception:  # a penalty's bookkeeping must not bring the stream's error back
                logger.exception("could not penalise %s", peer)
    else:
        logger.warning(
            "a %s stream from %s failed: %s: %s", protocol, peer, type(exc).__name__, exc
        )
        logger.debug("the failed %s stream's error", protocol, exc_info=exc)
    try:
        await stream.reset()
    except Exception as reset_exc:  # already gone
        logger.debug("resetting a failed %s stream: %s", protocol, reset_exc)


def _peer_of(stream: Any) -> Any:
    try:
        return stream.muxed_conn.peer_id
    except Exception:  # a stream without a connection: nobody to blame
        return None


def _protocol_of(stream: Any) -> str:
    try:
        protocol = stream.get_protocol()
    except Exception:  # not negotiated yet
        protocol = None
    return str(protocol) if protocol else "a stream"
