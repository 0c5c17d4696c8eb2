"""Deciding what of a batch of received entries may be stored.

Pure checks over decoded entries and what the index already holds; the store does
the writing. A batch is one author's contiguous run of entries, ascending. It is
authenticated with one signature: the entries must chain by hash, and the last one
must be vouched for, by its own signature, by being already stored, or by the next
stored entry naming it as ``prev``. Nothing of a batch that fails is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from lndesk.batch import MAX_BATCH, CheckedBatch, check_batch
from lndesk.entry import Entry
from lndesk.errors import ChainError, SignatureError

__all__ = ["FUTURE_HOLD_MS", "MAX_BATCH", "Plan", "decode_batch", "plan_batch"]

FUTURE_HOLD_MS = 10 * 60 * 1000


@dataclass(slots=True)
class Plan:
    """What to do with a verified batch."""

    new: list[tuple[Entry, bytes | None]] = field(default_factory=list)
    duplicates: int = 0
    fork_proof: Entry | None = None


def decode_batch(author: bytes, items: Sequence[tuple[bytes, bytes | None]]) -> list[Entry]:
    """Decode a batch and check everything that needs no stored state (a batch that
    :func:`lndesk.batch.check_batch` checked for ``author`` already is not decoded again;
    either way no batch of more than ``MAX_BATCH`` entries gets through)."""
    if isinstance(items, CheckedBatch) and items.author == author:
        return list(items.entries)
    return list(check_batch(author, items).entries)


def plan_batch(
    entries: list[Entry],
    payloads: Sequence[bytes | None],
    stored: dict[int, tuple[bytes, int]],
    stored_prev: Callable[[int], bytes | None],
) -> Plan:
    """Compare a decoded batch with the stored entries around it.

    ``stored`` maps seq to (id, log offset) for the stored entries from one before the
    batch to one after it; ``stored_prev(seq)`` reads the ``prev`` of a stored entry.
    """
    plan = Plan()
    if not entries:
        return plan
    first, last = entries[0], entries[-1]
    for entry in entries if stored else ():  # nothing stored around it: no fork, no repeat
        held = stored.get(entry.seq)
        if held is not None and held[0] != entry.id:
            # Two entries at one position: verify the newcomer on its own, keep it as proof.
            entry.verify_signature()
            plan.fork_proof = entry
            return plan
    below = stored.get(first.seq - 1)
    if below is not None and first.prev != below[0]:
        raise ChainError(
            f"entry {first.seq} does not link to the stored entry {first.seq - 1}",
            "The peer's copy of this person's log disagrees with ours; nothing was stored.",
        )
    above = stored.get(last.seq + 1)
    anchored = last.seq in stored
    if above is not None and not anchored:
        if stored_prev(last.seq + 1) != last.id:
            raise ChainError(
                f"entry {last.seq} is not the one the stored entry {last.seq + 1} links to",
                "The peer's copy of this person's log disagrees with ours; nothing was stored.",
            )
        anchored = True
    if not anchored:
        try:
            last.verify_signature()
        except SignatureError as exc:
            raise SignatureError(
                f"{exc.message}; the batch it ends was not stored",
                exc.hint,
            ) from exc
    if not stored:
        plan.new = list(zip(entries, payloads, strict=True))
        return plan
    for entry, payload in zip(entries, payloads, strict=True):
        if entry.seq in stored:
            plan.duplicates += 1
        else:
            plan.new.append((entry, payload))
    return plan
