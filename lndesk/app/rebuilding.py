"""``lndesk reindex`` inside a running node: the index is rebuilt beside the one in use
(:mod:`lndesk.store.rebuild`), in steps on the node's thread, so that the node keeps
serving peers, storing what they send and answering the app meanwhile.

Each step waits until every other task of the thread waits (at most IDLE_WAIT), as the
text indexer's chunks do (:class:`lndesk.app.node.TextIndexer`), and holds the thread
for about STEP seconds: the number of records in the next step follows the time the
last one took, from MIN_RECORDS up to MAX_RECORDS. The old index answers until the last
step puts the new one in place. A purge in place of a record the new index already holds
(an old entry deleted or forgotten meanwhile) begins the rebuild again; after
MAX_RESTARTS of those the rest is rebuilt in one go, holding the thread for it. A node
that stops meanwhile drops the half-built index and keeps the old one.
"""

from __future__ import annotations

import logging
import time

import trio
import trio.testing

from lndesk.store.store import Store

logger = logging.getLogger(__name__)

STEP = 0.02
MIN_RECORDS = 50
MAX_RECORDS = 5000
IDLE_WAIT = 1.0
MAX_RESTARTS = 3


def next_records(records: int, spent: float) -> int:
    """The records of a step that takes about STEP seconds, if ``records`` took
    ``spent`` (growing at most twofold a step)."""
    fitting = int(records * STEP / spent) if spent > 0 else 2 * records
    return max(MIN_RECORDS, min(fitting, 2 * records, MAX_RECORDS))


async def rebuild_index(store: Store) -> int:
    """Rebuild ``store``'s index from its log in steps (see the module docstring);
    returns the number of entries the new index holds."""
    rebuild = store.start_rebuild()
    try:
        records = MIN_RECORDS
        while rebuild.restarts <= MAX_RESTARTS:
            with trio.move_on_after(IDLE_WAIT):
                await trio.testing.wait_all_tasks_blocked()
            started = time.perf_counter()
            if store.rebuild_step(rebuild, records):
                break
            records = next_records(records, time.perf_counter() - started)
        else:
            logger.warning(
                "old entries kept being purged; rebuilding the rest of the index at once"
            )
        count = store.finish_rebuild(rebuild)
    except BaseException:
        store.abort_rebuild()
        raise
    logger.info("rebuilt the index: %d entries (%d restarts)", count, rebuild.restarts)
    return count
