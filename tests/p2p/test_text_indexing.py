"""Text indexing in the background of whole nodes on 127.0.0.1.

Storing an entry only stages its text; the node's indexer makes it searchable. Here no
search runs before the checks (a search would index a small backlog itself), and
nothing sleeps: every wait is on the indexer or an event, under a timeout.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import trio
from node_helpers import TestNode, make_data_dir, running_node
from store_helpers import make_chain, make_identity, wire

from lndesk.app.node import TextIndexer
from lndesk.app.service import Service
from lndesk.keytext import key_to_text
from lndesk.store import idprefix
from lndesk.store.search import SearchQuery
from lndesk.store.store import Store

WAIT = 30.0
POSTS = 120
ANN = make_identity(5)


def indexed(node: TestNode, word: str) -> int:
    """Documents the FTS5 table itself matches (no search: it would index first)."""
    conn = node.service.store.index.conn
    return int(
        conn.execute("SELECT COUNT(*) FROM search WHERE search MATCH ?", (word,)).fetchone()[0]
    )


async def caught_up(node: TestNode) -> None:
    with trio.fail_after(WAIT):
        await node.app.indexer.wait_idle()
    assert node.service.store.text_pending() == 0
    assert idprefix.pending(node.service.store.index.conn) == 0


async def test_synced_posts_become_searchable_without_a_search(tmp_path: Path) -> None:
    ann_dir, bo_dir = make_data_dir(tmp_path, "ann"), make_data_dir(tmp_path, "bo")
    with Service(ann_dir) as ann:  # offline: staged, and no node to index it yet
        for number in range(POSTS):
            ann.post(f"tidepool observation {number}")
        ann_key = ann.public_key
        assert ann.store.text_pending() == POSTS
    with Service(bo_dir) as bo:
        bo.follow(key_to_text(ann_key))
    async with running_node(ann_dir) as ann_node, running_node(bo_dir) as bo_node:
        # Staged before the node ran: indexed when it starts, without any new entry.
        await caught_up(ann_node)
        assert indexed(ann_node, "tidepool") == POSTS
        bo_node.app.indexer.CHUNK = 25  # several chunks, with pauses while entries arrive
        assert bo_node.app.indexer.last_synced == -math.inf
        await bo_node.connect(ann_node)
        await bo_node.wait_height(ann_key, POSTS, WAIT)
        assert bo_node.app.indexer.last_synced > -math.inf  # indexed once the sync is over
        await caught_up(bo_node)
        assert indexed(bo_node, "tidepool") == POSTS
        assert bo_node.service.store.index.conn.execute(
            "SELECT COUNT(*) FROM search_pending"
        ).fetchone() == (0,)
        # A post published on a running node is indexed in the background too.
        await ann_node.post("tidepool anemone")
        await bo_node.wait_height(ann_key, POSTS + 1, WAIT)
        await caught_up(bo_node)
        assert indexed(bo_node, "anemone") == 1
        hits = bo_node.service.search(SearchQuery("tidepool"), limit=500)
        assert (len(hits), hits.pending) == (POSTS + 1, 0)


async def test_entries_without_text_get_their_ids_indexed_too(tmp_path: Path) -> None:
    """Follows have no text to search, but their ids are indexed in the background all
    the same (an id lookup then needs no pending rows)."""
    ann_dir = make_data_dir(tmp_path, "ann")
    with Service(ann_dir) as ann:
        for number in range(3):
            bo_dir = make_data_dir(tmp_path, f"bo{number}")
            with Service(bo_dir) as bo:
                ann.follow(key_to_text(bo.public_key))
        assert ann.store.text_pending() == 0
        assert idprefix.pending(ann.store.index.conn) > 0
    async with running_node(ann_dir) as ann_node:
        await caught_up(ann_node)


async def test_a_node_with_a_large_indexing_backlog_serves_a_reader_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ann holds thousands of long posts of Dee's whose text is not indexed yet; her
    indexer may take them all in one chunk. Bo dials her and syncs Ann's own posts: he
    is served while her indexer is still at it, because each chunk is sized to hold the
    thread only briefly, whatever it may take."""
    monkeypatch.setattr(TextIndexer, "CHUNK", 1_000_000)
    dee = make_identity(77)
    words = " ".join(f"tidepool{number}" for number in range(2_000))  # about 20 kB a post
    ann_dir, bo_dir = make_data_dir(tmp_path, "ann"), make_data_dir(tmp_path, "bo")
    with Service(ann_dir) as ann:
        ann_key = ann.public_key
        ann.post("low tide at six")
        ann.post("bring boots")
        chain = make_chain(dee, 2_000, text=words)
        for start in range(0, len(chain), 500):
            ann.store.ingest(dee.public_key, wire(chain[start : start + 500]))
        backlog = ann.store.text_pending()
    with Service(bo_dir) as bo:
        bo.follow(key_to_text(ann_key))
    async with running_node(ann_dir) as ann_node, running_node(bo_dir) as bo_node:
        with trio.fail_after(WAIT):
            await ann_node.app.indexer.wait_stepped()  # Ann's indexer is at work
        assert 0 < ann_node.service.store.text_pending() < backlog
        await bo_node.connect(ann_node)
        await bo_node.wait_height(ann_key, 2, WAIT)
        assert ann_node.service.store.text_pending() > 0  # Bo did not wait for the rest


async def test_the_indexer_waits_while_a_sync_stores_batches(
    tmp_path: Path, mock_clock: trio.testing.MockClock
) -> None:
    """Entries a sync stores defer indexing until no batch has come for QUIET seconds;
    entries that came another way are indexed in the lulls meanwhile."""
    store = Store(tmp_path / "s")
    try:
        chain = make_chain(ANN, 15)
        store.ingest(ANN.public_key, wire(chain[:10]))
        indexer = TextIndexer(store)
        async with trio.open_nursery() as nursery:
            indexer.arrived(synced=True)
            nursery.start_soon(indexer.run)
            for _ in range(3):  # batches keep coming: nothing is indexed
                mock_clock.jump(indexer.QUIET * 0.9)
                await trio.testing.wait_all_tasks_blocked()
                assert store.text_pending() == 10
                indexer.arrived(synced=True)
            mock_clock.jump(indexer.QUIET * 0.9)
            await trio.testing.wait_all_tasks_blocked()
            assert store.text_pending() == 10
            mock_clock.jump(indexer.QUIET * 0.1)  # the sync is over
            with trio.fail_after(WAIT):
                await indexer.wait_idle()
            store.ingest(ANN.public_key, wire(chain[10:]))
            indexer.arrived()  # gossip, say: indexed in a lull once GATHER has passed
            mock_clock.jump(indexer.GATHER)
            with trio.fail_after(WAIT):
                await indexer.wait_idle()
            nursery.cancel_scope.cancel()
    finally:
        store.close()


async def test_live_posts_are_indexed_together(
    tmp_path: Path, mock_clock: trio.testing.MockClock
) -> None:
    """Posts arriving one by one are indexed in one chunk for GATHER seconds; the first
    after a chunk long ago is indexed in the next lull."""
    store = Store(tmp_path / "s")
    try:
        chain = make_chain(ANN, 3)
        indexer = TextIndexer(store)
        lull = indexer.LULL * 10  # every task, the indexer too, waited for its lull
        async with trio.open_nursery() as nursery:
            nursery.start_soon(indexer.run)
            store.ingest(ANN.public_key, wire(chain[:1]))
            indexer.arrived()
            with trio.fail_after(WAIT):
                await indexer.wait_idle()
            for number in (1, 2):
                mock_clock.jump(indexer.GATHER / 3)
                store.ingest(ANN.public_key, wire(chain[number : number + 1]))
                indexer.arrived()
                await trio.testing.wait_all_tasks_blocked(lull)
                assert store.text_pending() == number  # gathered, not indexed yet
            mock_clock.jump(indexer.GATHER / 3)
            with trio.fail_after(WAIT):
                await indexer.wait_idle()
            nursery.cancel_scope.cancel()
    finally:
        store.close()
