"""A node whose disk is full stops syncing cleanly, says so, and resumes by itself."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from node_helpers import make_data_dir, running_node

from lndesk.app.diskwatch import PAUSED, RESUMED
from lndesk.app.service import Service, create_identity
from lndesk.errors import DiskFullError
from lndesk.keytext import key_to_text
from lndesk.p2p.events import Event, NodeWarning
from lndesk.store.index import Index
from lndesk.store.verify import verify_store

WAIT = 30.0
POSTS = 5


def warnings(events: list[Event]) -> list[str]:
    return [event.message for event in events if isinstance(event, NodeWarning)]


async def test_a_full_disk_pauses_syncing_and_room_resumes_it(tmp_path: Path) -> None:
    ann_dir, bo_dir = make_data_dir(tmp_path, "ann"), make_data_dir(tmp_path, "bo")
    with Service(ann_dir) as ann:
        for number in range(POSTS):
            ann.post(f"rock pool {number}")
        ann_key = ann.public_key
    with Service(bo_dir) as bo:
        bo.follow(key_to_text(ann_key))
    async with running_node(ann_dir) as ann_node, running_node(bo_dir) as bo_node:
        space = bo_node.service.store.space
        space.min_free = 1 << 60  # more than any disk: the disk is "full"
        assert bo_node.app.disk.check() is not None
        said = warnings(bo_node.log.events)
        assert any(m.startswith("The disk is full: ") and PAUSED in m for m in said), said

        await bo_node.connect(ann_node)
        # The sync reaches the store, which refuses before writing anything.
        await bo_node.log.wait_for(
            lambda events: any("Could not store" in m for m in warnings(events)), WAIT
        )
        assert any("the disk is full" in m for m in warnings(bo_node.log.events))
        assert bo_node.height_of(ann_key) == 0

        space.min_free = 0  # room again: the next check resumes without waiting
        assert bo_node.app.disk.check() is None
        assert RESUMED in warnings(bo_node.log.events)
        await bo_node.wait_height(ann_key, POSTS, WAIT)


async def test_a_new_follower_syncs_a_feed_published_while_the_index_was_failing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ann's node keeps running while her index cannot be written: each post reaches the
    log, or is refused, and none takes a position twice. A new follower then gets it all."""
    ann_dir, cy_dir = make_data_dir(tmp_path, "ann"), make_data_dir(tmp_path, "cy")
    async with running_node(ann_dir) as ann_node:
        await ann_node.post("before")
        acknowledged = []
        with monkeypatch.context() as patch:
            patch.setattr(Index, "add_entries", _index_full)
            for number in range(4):
                try:
                    acknowledged.append(await ann_node.post(f"while full {number}"))
                except DiskFullError:
                    pass
        acknowledged.append(await ann_node.post("after"))
        assert [entry.seq for entry in acknowledged] == [2, 3]  # after 'before'
        with Service(cy_dir, lazy=True) as cy:
            cy_key = cy.public_key
        async with running_node(cy_dir) as cy_node:
            await cy_node.follow(ann_node)
            await cy_node.connect(ann_node)
            await cy_node.wait_height(ann_node, 3, WAIT)
            held = {row.seq: row.id for row in cy_node.service.store.feed_rows(ann_node.key)}
        assert cy_key != ann_node.key
    assert held[2] == acknowledged[0].id and held[3] == acknowledged[1].id
    with Service(ann_dir) as ann:
        assert verify_store(ann.store).ok


def _index_full(*_args: Any, **_kwargs: Any) -> Any:
    raise sqlite3.OperationalError("database or disk is full")


def test_the_app_is_told_the_disk_is_full_in_words(tmp_path: Path) -> None:
    """What the desktop app shows for a failed action (runtime.describe of the error)."""
    import queue

    from lndesk.app.runtime import NodeRuntime, describe

    create_identity(tmp_path / "ann")
    runtime = NodeRuntime(tmp_path / "ann", control=False, relay_client=False, network=False)
    runtime.start(wait_network=False)
    try:
        done: queue.Queue[tuple[object, BaseException | None]] = queue.Queue()

        def full_then_post(desk: Any) -> Any:
            desk.service.store.space.min_free = 1 << 60
            return desk.posting.post("no room")

        runtime.submit(full_then_post, lambda r: done.put((r, None)), lambda e: done.put((None, e)))
        _, error = done.get(timeout=10)
        assert isinstance(error, DiskFullError)
        assert describe(error).startswith("the disk is full: ")

        def database_full(_desk: Any) -> Any:  # e.g. a bookmark written on a full disk
            raise sqlite3.OperationalError("database or disk is full")

        runtime.submit(database_full, lambda r: done.put((r, None)), lambda e: done.put((None, e)))
        _, error = done.get(timeout=10)
        assert isinstance(error, DiskFullError), error
        assert "OperationalError" not in describe(error)
    finally:
        runtime.stop()
