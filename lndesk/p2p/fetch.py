"""Targeted fetch: single entries named by reference, over the sync protocol.

A share names another author's entry, a reply its parent and root, an inbox catch-up
answer the entries addressed to this node: ``(author, seq, id)``. Such entries are
fetched with ``/lndesk/sync/1`` itself (docs/protocol.md section 30), so no other entry
transfer exists: one session per peer, a ``want`` of the referenced authors with this
node's heights, then ``get seq..seq`` for each reference the peer holds.

Each entry arrives as a one-entry batch, authenticated like any other: by its own
signature, or by the stored entries around it (section 7). On top of that the reader
keeps it only if its id is the referenced one; an entry with another id is ignored,
not stored and not held against the peer (the reference may be wrong, or the author
may have forked the feed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lndesk.entry import Entry, decode_entry
from lndesk.entry_refs import PostKey, Ref
from lndesk.errors import ChainError, ForkedFeedError, ProtocolError
from lndesk.identity import blake2b_256
from lndesk.p2p.config import Limits
from lndesk.p2p.events import EventSink
from lndesk.p2p.frame_caps import READER_RECEIVES
from lndesk.p2p.ingest import ingest_reported
from lndesk.p2p.ports import FeedSource
from lndesk.p2p.sessions import Penalise, SessionRefused, client_session
from lndesk.p2p.sync import SYNC_PROTOCOL, check_range, exchange_want, receive_reply
from lndesk.p2p.wire import Ack, Batch, Done, Error, FeedHave, FrameStream, Get

logger = logging.getLogger(__name__)

HELD, MISSING, CONFLICT = "held", "missing", "conflict"

Check = Callable[[Entry, bytes | None], bool]
"""Decides whether a fetched entry (with the referenced id) is wanted after all."""


@dataclass(slots=True)
class FetchReport:
    stored: list[tuple[bytes, bytes, bytes | None]] = field(default_factory=list)
    """(author, entry, payload) of every entry stored."""
    ignored: int = 0
    """Entries received that were not stored: another id than referenced, refused by
    the check, or not linking to what is stored."""


def ref_state(source: FeedSource, ref: Ref) -> str:
    """HELD (the referenced entry is stored), CONFLICT (another entry is stored at that
    seq) or MISSING (nothing is stored there, or the entry without its payload, which
    no tombstone deleted: a hole, which a fetch fills)."""
    author, seq, entry_id = ref
    if not source.stored_seqs(author, seq, seq):
        return MISSING
    run = source.read_run(author, seq, seq, 1, 1 << 20)
    if not run:
        return MISSING
    if blake2b_256(run[0][1]) != entry_id:
        return CONFLICT
    if run[0][2] is None and source.payload_holes(author, seq, seq, 1):
        return MISSING
    return HELD


def missing_refs(source: FeedSource, refs: Sequence[Ref]) -> list[Ref]:
    """The references, once each, whose entries are not stored and may be (accepted)."""
    out: dict[PostKey, Ref] = {}
    for ref in refs:
        if (ref[0], ref[1]) in out or not source.accepts(ref[0]):
            continue
        if ref_state(source, ref) == MISSING:
            out[ref[0], ref[1]] = ref
    return list(out.values())


class RefFetcher:
    """Fetches referenced entries from one peer per call (see the module docstring)."""

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
        self._events = events
        self._penalise = penalise
        self._key_of = key_of

    async def fetch_from(
        self,
        peer: Any,
        refs: Sequence[Ref],
        *,
        via: str = "fetch",
        check: Check | None = None,
    ) -> FetchReport:
        """Fetch from ``peer`` the referenced entries that are not stored.

        Stored entries are reported as ``EntriesStored`` with ``via``. Raises
        PeerMisbehaved (the peer has been penalised), SessionRefused, StoreError, or a
        libp2p error when the stream cannot be opened or breaks.
        """
        report = FetchReport()
        wanted: dict[bytes, dict[int, bytes]] = {}
        for author, seq, entry_id in missing_refs(self.source, refs):
            wanted.setdefault(author, {})[seq] = entry_id
        authors = list(wanted)
        for start in range(0, len(authors), self.limits.want_feeds):
            chunk = {a: wanted[a] for a in authors[start : start + self.limits.want_feeds]}
            await self._session(peer, chunk, via, check, report)
        return report

    async def _session(
        self,
        peer: Any,
        wanted: dict[bytes, dict[int, bytes]],
        via: str,
        check: Check | None,
        report: FetchReport,
    ) -> None:
        async with client_session(
            self.host, peer, SYNC_PROTOCOL, protocol="sync", blame="fetch", penalise=self._penalise
        ) as stream:
            frames = FrameStream(stream, self.limits.max_frame, READER_RECEIVES)
            for offer in await exchange_want(frames, self.source, wanted, self.limits):
                for seq, entry_id in sorted(wanted[offer.key].items()):
                    if seq <= offer.max_seq and self.source.held(offer.key).forked_at is None:
                        await self._fetch_one(
                            peer, frames, offer, seq, entry_id, via, check, report
                        )

    async def _fetch_one(  # noqa: PLR0917 - private; every argument is needed
        self,
        peer: Any,
        frames: FrameStream,
        offer: FeedHave,
        seq: int,
        entry_id: bytes,
        via: str,
        check: Check | None,
        report: FetchReport,
    ) -> None:
        key = offer.key
        await frames.send(Get(key, seq, seq))
        received = False
        while True:
            message = await receive_reply(frames, self.limits)
            if isinstance(message, Done):
                break
            if isinstance(message, Error):
                raise SessionRefused(f"the peer ended the session: {message.code}")
            if (
                not isinstance(message, Batch)
                or message.feed != key
                or received
                or len(message.items) != 1
            ):
                raise ProtocolError("expected one batch of the requested entry")
            check_range(message.items, seq, seq)
            received = True
            raw, payload = message.items[0]
            self._keep(peer, key, decode_entry(raw), payload, entry_id, via, check, report)
            await frames.send(Ack(self.source.held(key).height))
        if not received and seq <= offer.height:
            raise ProtocolError(
                f"the peer said it holds entries 1..{offer.height} but sent no {seq}"
            )

    def _keep(  # noqa: PLR0917 - private; every argument is needed
        self,
        peer: Any,
        key: bytes,
        entry: Entry,
        payload: bytes | None,
        entry_id: bytes,
        via: str,
        check: Check | None,
        report: FetchReport,
    ) -> None:
        if entry.author != key:
            raise ChainError("an entry in the batch belongs to another author than the feed")
        if payload is not None:
            entry.check_payload(payload)
        if entry.id != entry_id or (check is not None and not check(entry, payload)):
            report.ignored += 1
            return
        try:
            outcome = ingest_reported(
                self.source,
                self._events,
                key,
                [(entry.raw, payload)],
                via=via,
                peer=self._key_of(peer),
            )
        except ForkedFeedError:
            report.ignored += 1
            return
        except ChainError as exc:
            # The referenced entry is the author's, but does not fit what is stored of
            # the feed: the author forked it. Not the peer's doing; sync proves forks.
            logger.info("fetched entry %d of %s does not link: %s", entry.seq, key.hex()[:8], exc)
            report.ignored += 1
            return
        if outcome.stored or outcome.filled:
            report.stored.append((key, entry.raw, payload))
        else:
            report.ignored += 1
