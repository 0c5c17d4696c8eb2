"""Keeping the garbage collector's full passes short while a node runs.

A full (generation 2) pass of CPython's cyclic collector walks every tracked object in
the process and holds the GIL throughout: in a running node (libp2p, protobuf, the
app's own modules) that took 80-130 ms on a 2-core machine, and during a sync it came
every few batches, on whichever thread allocated at the wrong moment, so it stalled the
trio thread (and the GUI) longer than anything the node does itself. The objects that
exist once the node is listening live as long as the process; ``gc.freeze`` moves them
out of the collector's sight, so a full pass walks only what was made after them.

Several nodes can run in one process (tests): the heap is frozen when each has started
and unfrozen (everything collectable again) when the last of them stops.
"""

from __future__ import annotations

import gc
import logging
import threading

log = logging.getLogger(__name__)

_lock = threading.Lock()
_running = 0


def settle() -> None:
    """Freeze what the process holds now (a node has just started); pair with
    :func:`unsettle` when that node stops."""
    global _running  # noqa: PLW0603 - one process-wide count, like the heap it guards
    with _lock:
        _running += 1
        gc.freeze()
        log.debug("%d objects kept out of the collector's full passes", gc.get_freeze_count())


def unsettle() -> None:
    """A node that called :func:`settle` has stopped; when none runs any more, every
    frozen object is collectable again."""
    global _running  # noqa: PLW0603
    with _lock:
        _running -= 1
        if _running == 0:
            gc.unfreeze()
