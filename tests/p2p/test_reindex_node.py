"""``lndesk reindex`` through a running node's control socket rebuilds the index in steps
(lndesk/app/rebuilding.py): meanwhile the node serves a peer's sync on loopback and
takes in a post, and the index it ends with is the one a rebuild in one go builds.
Nothing sleeps: every wait is on an event under a timeout."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import trio
from index_dump import index_rows
from node_helpers import make_data_dir, running_node
from store_helpers import make_chain, make_identity, wire

from lndesk.app import rebuilding
from lndesk.app.control import ControlClient, ControlServer
from lndesk.app.service import Service
from lndesk.store.rebuild import IndexRebuild
from lndesk.store.store import INDEX_NAME, Store

BO = make_identity(81)
HELD = 1500
WAIT = 60.0


def texts_indexed(data_dir: Path) -> dict[str, list[tuple[object, ...]]]:
    """The index's rows once all its staged text is indexed for search."""
    with Store(data_dir) as store:
        while store.index_text(10_000):
            pass
    return index_rows(data_dir / INDEX_NAME)


async def test_a_reindex_in_the_node_leaves_it_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rebuilding, "MIN_RECORDS", 2)
    monkeypatch.setattr(rebuilding, "MAX_RECORDS", 2)  # many small steps
    ann_dir = make_data_dir(tmp_path, "ann")
    with Service(ann_dir) as service:
        service.store.ingest(BO.public_key, wire(make_chain(BO, HELD)))
        for n in range(2):
            service.post(f"note {n}")
    steps: list[bool] = []
    stepped = trio.Event()
    async with (
        running_node(ann_dir) as ann,
        running_node(make_data_dir(tmp_path, "cy")) as cy,
        trio.open_nursery() as nursery,
    ):
        store = ann.service.store
        step = store.rebuild_step

        def counted(rebuild: IndexRebuild, records: int) -> bool:
            steps.append(done := step(rebuild, records))
            stepped.set()
            return done

        monkeypatch.setattr(store, "rebuild_step", counted)
        await nursery.start(ControlServer(ann.app).run)
        answer: dict[str, int] = {}
        reindexed = trio.Event()

        async def reindex() -> None:
            answer.update(await trio.to_thread.run_sync(ControlClient(ann_dir).call, "reindex"))
            reindexed.set()

        nursery.start_soon(reindex)
        with trio.fail_after(WAIT):
            await stepped.wait()
            await ann.post("written during the rebuild")
            await cy.follow(ann)
            await cy.connect(ann)
            await cy.wait_height(ann, 3)  # a peer's sync, served while the index is rebuilt
            assert store.rebuilding
            during = len(steps)
            await reindexed.wait()
        assert answer == {"entries": HELD + 3}
        assert len(steps) > during and steps[-1] and not any(steps[:-1])
        assert not store.rebuilding
        assert [s.entry.seq for s in store.feed_entries(ann.key)] == [3, 2, 1]
        nursery.cancel_scope.cancel()
    offline = tmp_path / "offline"
    shutil.copytree(ann_dir, offline)
    Store(offline, reindex=True).close()  # a rebuild in one go, of the same log
    assert texts_indexed(ann_dir) == texts_indexed(offline)
