"""Rebuilding the index in steps beside the one in use (lndesk/store/rebuild.py): what is
published, stored, deleted or forgotten meanwhile is in the rebuilt index, which is the
one a rebuild in one go builds from the same log."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from index_dump import index_rows
from store_helpers import BASE_MS, make_chain, make_identity, wire

from lndesk.content import Post, Tombstone
from lndesk.entry_refs import ref_of
from lndesk.errors import StoreError
from lndesk.store.rebuild import IndexRebuild
from lndesk.store.store import INDEX_NAME, Store

ANN, BO, CY = make_identity(61), make_identity(62), make_identity(63)


def stepped(store: Store, between: list[Callable[[], object] | None]) -> tuple[int, IndexRebuild]:
    """Rebuild in steps of two records, running the next of ``between`` (if not None)
    after each step."""
    rebuild = store.start_rebuild()
    actions = list(between)
    while not store.rebuild_step(rebuild, 2) or actions:
        action = actions.pop(0) if actions else None
        if action is not None:
            action()
    return store.finish_rebuild(rebuild), rebuild


def test_a_stepped_rebuild_takes_in_what_arrives_meanwhile(data_dir: Path) -> None:
    with Store(data_dir) as store:
        first = store.publish(ANN, Post("first"), claimed_ms=BASE_MS)
        for n in range(6):
            store.publish(ANN, Post(f"note {n} #tag"), claimed_ms=BASE_MS + n)
        bo = make_chain(BO, 8)
        store.ingest(BO.public_key, wire(bo[:4]))
        cy = make_chain(CY, 3)
        store.ingest(CY.public_key, wire(cy))

        def delete_first() -> None:  # its record is already in the rebuilt index
            store.publish(ANN, Tombstone(ref_of(first)))

        count, rebuild = stepped(
            store,
            [
                lambda: store.publish(ANN, Post("written meanwhile")),
                lambda: store.ingest(BO.public_key, wire(bo[4:])),
                delete_first,  # the new index holds its record: the rebuild begins again
                *[None] * 7,  # until it holds Cy's first entry again
                lambda: store.forget(CY.public_key, [1]),  # a purge in place, nothing appended
                lambda: store.publish(ANN, Post("and another")),
            ],
        )
        assert count == 7 + 8 + 3 + 3
        assert rebuild.restarts == 2
        assert not (data_dir / (INDEX_NAME + ".new")).exists()
        stepped_rows = index_rows(data_dir / INDEX_NAME)
        assert store.feed_state(BO.public_key).height == 8
        assert [s.entry.seq for s in store.feed_entries(CY.public_key)] == [3, 2, 1]
    with Store(data_dir, reindex=True) as store:  # a rebuild in one go, of the same log
        assert index_rows(data_dir / INDEX_NAME) == stepped_rows
        assert store.publish(ANN, Post("after the rebuild")).seq == 11


def test_one_rebuild_at_a_time_and_a_failed_one_leaves_the_index(data_dir: Path) -> None:
    with Store(data_dir) as store:
        for n in range(4):
            store.publish(ANN, Post(f"note {n}"))
        rebuild = store.start_rebuild()
        with pytest.raises(StoreError, match="being rebuilt already") as refused:
            store.start_rebuild()
        assert "Wait for that rebuild to finish" in (refused.value.hint or "")
        store.rebuild_step(rebuild, 1)
        store.abort_rebuild()  # as when the node stops meanwhile
        assert not (data_dir / (INDEX_NAME + ".new")).exists()
        with pytest.raises(StoreError, match="rebuild is over"):
            store.rebuild_step(rebuild, 1)
        assert store.feed_state(ANN.public_key).height == 4
        assert store.reindex() == 4  # what the refusal advised: once it is over, again
