"""Storing what peers send, and saying so.

Entries reach the store by sync, by targeted fetch and by inbox notice; each way reports
what an ingest did with the same events, so the app sees one stream of
``EntriesStored`` (with how they came) and ``FeedForked`` whatever carried them.
"""

from __future__ import annotations

from collections.abc import Sequence

from lndesk.p2p.events import EntriesStored, EventSink, FeedForked
from lndesk.p2p.ports import FeedSource, IngestOutcome


def ingest_reported(
    source: FeedSource,
    emit: EventSink,
    key: bytes,
    items: Sequence[tuple[bytes, bytes | None]],
    *,
    via: str,
    peer: bytes | None,
) -> IngestOutcome:
    """``source.ingest(key, items)``, then ``FeedForked`` if the run proved a fork and
    ``EntriesStored`` (with ``via`` and the lndesk key of ``peer``) if any was stored or
    had its missing payload filled.

    Raises what ``ingest`` raises; nothing is reported then.
    """
    outcome = source.ingest(key, items)
    if outcome.fork_at is not None:
        emit(FeedForked(key, outcome.fork_at))
    if outcome.stored or outcome.filled:
        held = source.held(key)
        count = outcome.stored + outcome.filled
        emit(EntriesStored(key, count, held.height, held.max_seq, via, peer))
    return outcome
