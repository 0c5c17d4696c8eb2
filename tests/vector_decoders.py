"""The decoders the negative vectors name (docs/protocol.md sections 18.2, 27, 29 and 32),
run against lndesk: each takes a vector and raises what lndesk rejects its input with.

The generator records each rejection's message as the vector's ``reason``, and the
vector tests check it, so that every negative vector is known to fail for the rule its
name gives and not for another fault of the input.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

from vector_reading import hx, input_of

from lndesk import canonical
from lndesk.content import parse_content
from lndesk.entry import authenticate_range, decode_entry
from lndesk.identity import Identity
from lndesk.keyfile import decode_key_file
from lndesk.keytext import key_from_text, parse_key_or_link
from lndesk.p2p.announce import decode_announcement
from lndesk.p2p.catchup import CatchupFrames
from lndesk.p2p.config import Limits
from lndesk.p2p.forks import ForksFrames, check_proof
from lndesk.p2p.inbox_notice import decode_notice
from lndesk.p2p.profiles import ProfileFrames
from lndesk.p2p.thread_frames import ThreadFrames
from lndesk.p2p.visit_frames import VisitFrames
from lndesk.p2p.wire import Batch, FrameStream
from lndesk.store.ingest import decode_batch, plan_batch


class ScriptedStream:
    """A stream that yields ``incoming`` to its reader."""

    def __init__(self, incoming: bytes) -> None:
        self.incoming = incoming
        self.muxed_conn = SimpleNamespace(peer_id="peer")

    async def read(self, n: int = 65536) -> bytes:
        chunk, self.incoming = self.incoming[:n], self.incoming[n:]
        return chunk


async def _cbor(v: dict[str, Any]) -> None:
    canonical.decode(input_of(v))


async def _entry(v: dict[str, Any]) -> None:
    decode_entry(input_of(v)).verify_signature()


async def _entry_payload(v: dict[str, Any]) -> None:
    entry = decode_entry(input_of(v))
    entry.verify_signature()
    entry.check_payload(hx(v["payload"]))


async def _range(v: dict[str, Any]) -> None:
    authenticate_range([decode_entry(hx(raw)) for raw in v["entries"]])


async def _content(v: dict[str, Any]) -> None:
    parse_content(v["content_type"], input_of(v))


async def _key_text(v: dict[str, Any]) -> None:
    key_from_text(input_of(v))


async def _share_link(v: dict[str, Any]) -> None:
    parse_key_or_link(input_of(v))


async def _backup_words(v: dict[str, Any]) -> None:
    Identity.from_backup_words(input_of(v))


async def _key_file(v: dict[str, Any]) -> None:
    decode_key_file(input_of(v), v["passphrase"])


async def _frame(v: dict[str, Any]) -> Any:
    return await FrameStream(ScriptedStream(input_of(v)), Limits().max_frame).receive()


async def _batch(v: dict[str, Any]) -> None:
    message = await _frame(v)
    assert isinstance(message, Batch)
    entries = decode_batch(message.feed, message.items)
    plan_batch(entries, [p for _, p in message.items], {}, lambda _seq: None)


async def _announcement(v: dict[str, Any]) -> None:
    decode_announcement(input_of(v), topic=v["topic"])


async def _notice(v: dict[str, Any]) -> None:
    decode_notice(input_of(v), topic=v["topic"])


async def _inbox_frame(v: dict[str, Any]) -> None:
    await CatchupFrames(ScriptedStream(input_of(v))).receive()


async def _profile_frame(v: dict[str, Any]) -> None:
    await ProfileFrames(ScriptedStream(input_of(v))).receive()


async def _forks_frame(v: dict[str, Any]) -> None:
    await ForksFrames(ScriptedStream(input_of(v))).receive()


async def _fork_proof(v: dict[str, Any]) -> None:
    check_proof({hx(k) for k in v["asked"]}, set(), hx(v["first"]), hx(v["second"]))


async def _thread_frame(v: dict[str, Any]) -> None:
    await ThreadFrames(ScriptedStream(input_of(v)), v["version"]).receive()


async def _visit_frame(v: dict[str, Any]) -> None:
    await VisitFrames(ScriptedStream(input_of(v))).receive()


Decoder = Callable[[dict[str, Any]], Awaitable[Any]]

DECODERS: dict[str, Decoder] = {
    "cbor": _cbor,
    "entry": _entry,
    "entry-payload": _entry_payload,
    "range": _range,
    "content": _content,
    "key-text": _key_text,
    "share-link": _share_link,
    "backup-words": _backup_words,
    "key-file": _key_file,
    "frame": _frame,
    "batch": _batch,
    "announcement": _announcement,
    "notice": _notice,
    "inbox-frame": _inbox_frame,
    "profile-frame": _profile_frame,
    "forks-frame": _forks_frame,
    "fork-proof": _fork_proof,
    "thread-frame": _thread_frame,
    "visit-frame": _visit_frame,
}


async def rejection(vector: dict[str, Any]) -> BaseException:
    """What lndesk raises for the vector's input (AssertionError if it accepts it)."""
    try:
        await DECODERS[vector["decoder"]](vector)
    except Exception as exc:
        return exc
    raise AssertionError(f"{vector['decoder']}: {vector['name']}: accepted")
