"""A running node keeps the objects it started with out of the garbage collector's full
passes and collects its young generation less often (lndesk.app.heap), and gives both
back when the last node of the process stops."""

from __future__ import annotations

import gc
from pathlib import Path

from node_helpers import make_data_dir, running_node

from lndesk.app.heap import YOUNG_THRESHOLD


async def test_a_started_node_freezes_the_heap_until_the_last_node_stops(
    tmp_path: Path,
) -> None:
    assert gc.get_freeze_count() == 0
    before = gc.get_threshold()
    assert before[0] < YOUNG_THRESHOLD
    async with running_node(make_data_dir(tmp_path, "a")) as a:
        await a.app.heap_settled.wait()
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # libp2p and the node's modules, at least
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *before[1:])
        async with running_node(make_data_dir(tmp_path, "b")) as b:
            await b.app.heap_settled.wait()
            assert gc.get_freeze_count() >= frozen
        assert gc.get_freeze_count() > 0  # the other node still runs
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before
