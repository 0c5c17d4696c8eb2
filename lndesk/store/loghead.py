"""Reading entries back from the log where the index says they are: the own log's head
before signing the next entry, and the ``prev`` of stored entries when a batch links to
them. The log, not the index, is the truth for both."""

from __future__ import annotations

from lndesk.entry import decode_entry
from lndesk.errors import ForkedFeedError, IndexDamagedError, StoreCorruptError, StoreError
from lndesk.store.index import FeedState, Index
from lndesk.store.logfile import LogFile


def log_head(index: Index, log: LogFile, key: bytes, state: FeedState) -> tuple[int, bytes | None]:
    """(seq, id) of the last entry of ``key``'s feed in the log: read back from the
    log record the (levelled) index points to, and checked against it. The caller
    makes sure the index has caught up with the log first.

    Refuses a log that may not grow: one forked, or missing entries below its last."""
    if state.forked_at is not None:
        raise ForkedFeedError(f"your own log has two different entries at entry {state.forked_at}")
    if state.height != state.max_seq:
        raise StoreError(
            f"your own log is missing entries from {state.height + 1} on, "
            f"below entry {state.max_seq}",
            "Sync with peers that hold your posts (lndesk sync) before publishing again.",
        )
    if state.max_seq == 0:
        return 0, None
    held = index.stored_ids(key, state.max_seq, state.max_seq).get(state.max_seq)
    entry = None
    if held is not None:
        try:
            entry = decode_entry(log.read(held[1]).entry)
        except StoreCorruptError as exc:
            raise StoreCorruptError(
                f"your latest entry ({state.max_seq}) is damaged in the log: {exc}"
            ) from exc
    if (
        entry is None
        or entry.author != key
        or entry.seq != state.max_seq
        or entry.id != state.head_id
    ):
        raise IndexDamagedError(
            f"the index and the log disagree about entry {state.max_seq} of your own log"
        )
    return entry.seq, entry.id


class PrevReader:
    """Reads the ``prev`` of a stored entry from the log, for linking a batch to it."""

    def __init__(self, log_file: LogFile, stored: dict[int, tuple[bytes, int]]) -> None:
        self._log = log_file
        self._stored = stored

    def __call__(self, seq: int) -> bytes | None:
        held = self._stored.get(seq)
        if held is None:
            return None
        return decode_entry(self._log.read(held[1]).entry).prev
