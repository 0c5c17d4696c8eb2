"""CPU-heavy work on what peers send, run on worker threads so the trio thread stays free.

Decoding a big frame body and checking a big batch's entries (decoding, payload hashes,
hash links, parsing payloads for the index: :func:`lndesk.batch.check_batch`) take tens
of milliseconds each; on the trio thread they would hold up every other connection, the
GUI's requests and the liveness pings meanwhile. Small work stays inline, where a thread
hop would cost more than it saves. At most ``WORKERS`` such jobs run at once per node
process; the store itself is only ever touched from the trio thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import trio
from trio.lowlevel import RunVar

from lndesk.batch import CheckedBatch, Item, check_batch

T = TypeVar("T")

WORKERS = 2
"""Worker threads for peers' data at once (the machines this runs on have few cores)."""
OFFLOAD_BYTES = 64 * 1024
"""Frame bodies at least this big are decoded on a worker thread."""
OFFLOAD_ITEMS = 64
"""Batches of at least this many entries are checked on a worker thread."""

_limiter: RunVar[trio.CapacityLimiter] = RunVar("lndesk_cpu_limiter")


def cpu_limiter() -> trio.CapacityLimiter:
    """The limiter of this trio run's worker threads for peers' data."""
    try:
        return _limiter.get()
    except LookupError:
        limiter = trio.CapacityLimiter(WORKERS)
        _limiter.set(limiter)
        return limiter


async def run_cpu(work: Callable[..., T], *args: object) -> T:
    """``work(*args)`` on a worker thread (at most ``WORKERS`` at once); its exceptions
    are raised here."""
    return await trio.to_thread.run_sync(work, *args, limiter=cpu_limiter())


async def checked_items(author: bytes, items: Sequence[Item]) -> Sequence[Item]:
    """``items``, checked on a worker thread as a :class:`CheckedBatch` of ``author``
    if there are many (the store then does not decode them again); small batches, and
    batches checked for ``author`` already, are returned as they are (the store checks
    small ones inline)."""
    if len(items) < OFFLOAD_ITEMS or (isinstance(items, CheckedBatch) and items.author == author):
        return items
    checked: CheckedBatch = await run_cpu(check_batch, author, items)
    return checked
