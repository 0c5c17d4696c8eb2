"""Keeping the garbage collector's passes short and rare while a node runs.

A full (generation 2) pass of CPython's cyclic collector walks every tracked object in
the process and holds the GIL throughout: in a running node (libp2p, protobuf, the
app's own modules) that took 80-130 ms on a 2-core machine, and during a sync it came
every few batches, on whichever thread allocated at the wrong moment, so it stalled the
trio thread (and the GUI) longer than anything the node does itself. The objects that
exist once the node is listening live as long as the process; ``gc.freeze`` moves them
out of the collector's sight, so a full pass walks only what was made after them.

The young generation's pass comes every ``700`` allocations by default. A synced batch
of 2,000 entries holds some 6,000 tracked objects once checked (decoded entries, parsed
posts) and more while it is stored (index rows), so with that default the collector
walked each of them several times over, promoting them from one generation to the
next, and the full passes that promotion brings on walked them again: 2-3 us of CPU per
stored entry, a tenth of storing it.
While a node runs the young generation is collected every :data:`YOUNG_THRESHOLD`
allocations instead; a batch is then released before a pass comes, and the pass that
does come walks at most that many objects (a millisecond or two).

Several nodes can run in one process (tests): the heap is frozen when each has started,
and unfrozen (everything collectable again, the thresholds as they were) when the last
of them stops.
"""

from __future__ import annotations

import gc
import logging
import threading

log = logging.getLogger(__name__)

YOUNG_THRESHOLD = 20_000
"""Allocations (less deallocations) between two passes over the young generation while
a node runs: more than the objects of a stored batch."""

_lock = threading.Lock()
_running = 0
_thresholds: tuple[int, ...] = ()
"""The collector's thresholds before the first running node raised the young one."""


def settle() -> None:
    """Freeze what the process holds now (a node has just started) and collect the
    young generation less often; pair with :func:`unsettle` when that node stops."""
    global _running, _thresholds  # noqa: PLW0603 - one process-wide count, like the heap
    with _lock:
        _running += 1
        if _running == 1:
            _thresholds = gc.get_threshold()
            young, *older = _thresholds
            gc.set_threshold(max(young, YOUNG_THRESHOLD), *older)
        gc.freeze()
        log.debug("%d objects kept out of the collector's full passes", gc.get_freeze_count())


def unsettle() -> None:
    """A node that called :func:`settle` has stopped; when none runs any more, every
    frozen object is collectable again and the thresholds are as they were."""
    global _running  # noqa: PLW0603
    with _lock:
        _running -= 1
        if _running == 0:
            gc.unfreeze()
            gc.set_threshold(*_thresholds)
