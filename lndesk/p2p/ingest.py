"""Storing what peers send, and saying so.

Entries reach the store by sync, by targeted fetch and by inbox notice; each way reports
what an ingest did with the same events, so the app sees one stream of
``EntriesStored`` (with how they came) and ``FeedForked`` whatever carried them.
"""

from __future__ import annotations

from collections.abc import Sequence

from lndesk.batch import CheckedBatch
from lndesk.p2p.events import EntriesStored, EventSink, FeedForked
from lndesk.p2p.ports import FeedSource, Held, IngestOutcome


def ingest_reported(
    source: FeedSource,
    emit: EventSink,
    key: bytes,
    items: Sequence[tuple[bytes, bytes | None]],
    *,
    via: str,
    peer: bytes | None,
    before: Held | None = None,
) -> IngestOutcome:
    """``source.ingest(key, items)``, then ``FeedForked`` if the run proved a fork and
    ``EntriesStored`` (with ``via`` and the lndesk key of ``peer``) if any was stored or
    had its missing payload filled.

    ``before``: what ``source.held(key)`` answered just before, with nothing stored in
    between. A checked run stored whole right after a feed's head, with nothing held
    above it, leaves the feed held up to the run's last entry: the held state reported
    is then known without asking the store again (a live post's one-entry ingest).

    Raises what ``ingest`` raises; nothing is reported then.
    """
    outcome = source.ingest(key, items)
    if outcome.fork_at is not None:
        emit(FeedForked(key, outcome.fork_at))
    if outcome.stored or outcome.filled:
        held = _appended(before, items, outcome) or source.held(key)
        count = outcome.stored + outcome.filled
        emit(EntriesStored(key, count, held.height, held.max_seq, via, peer))
    return outcome


def _appended(
    before: Held | None, items: Sequence[tuple[bytes, bytes | None]], outcome: IngestOutcome
) -> Held | None:
    """The held state after ``items`` were stored, if it follows from ``before`` alone:
    every entry of the checked run stored, the first right after ``before``'s height and
    nothing held above the last (as the index raises a feed's height, Index.add_entries).
    None otherwise (ask the store)."""
    if before is None or before.forked_at is not None or not isinstance(items, CheckedBatch):
        return None
    entries = items.entries
    if not entries or outcome.stored != len(entries):  # a payload filled is no new entry
        return None
    last = entries[-1].seq
    if entries[0].seq != before.height + 1 or before.max_seq > last:
        return None
    return Held(last, last)
