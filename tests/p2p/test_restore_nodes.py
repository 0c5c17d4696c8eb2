"""A restored identity on real loopback nodes: a stale peer never unlocks it into a fork."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from node_helpers import make_data_dir, running_node

from lndesk.app.restore import restore_status
from lndesk.app.service import Service, restore_identity
from lndesk.errors import OwnLogUnknownError, UsageError


def _holder(root: Path, name: str, items: list[tuple[bytes, bytes | None]], feed: bytes) -> Path:
    """A node that holds ``items`` of ``feed`` (as a follower keeps them)."""
    path = make_data_dir(root, name)
    with Service(path) as service:
        assert service.store.ingest(feed, items).stored == len(items)
    return path


async def test_a_stale_peer_does_not_fork_a_restored_feed(tmp_path: Path) -> None:
    """One peer holds entries 1..2 of 10 (stale or malicious), another 1..10: the restored
    identity learns 10 (the max wins), fetches 1..10, and publishes only when the user
    confirms 10; its next entry is 11 and links to the real 10."""
    with Service(make_data_dir(tmp_path, "ann-old")) as ann:
        for i in range(10):
            ann.post(f"before the disk died {i}")
        ann_key, words = ann.public_key, ann.backup_words()
        items = list(ann.store.feed_items(ann_key))
    stale_dir = _holder(tmp_path, "stale", items[:2], ann_key)
    full_dir = _holder(tmp_path, "full", items, ann_key)
    new_dir = tmp_path / "ann-new"
    restore_identity(new_dir, words, None)

    async with running_node(stale_dir) as stale, running_node(full_dir) as full:
        async with running_node(new_dir, survey_window=0) as ann_again:
            # The stale peer answers first: with the old rule this unlocked publishing.
            await ann_again.connect(stale)
            await ann_again.log.wait_for(lambda _e: ann_again.height_of(ann_key) >= 2)
            with pytest.raises(OwnLogUnknownError):
                await ann_again.post("would be entry 3: a fork")
            await ann_again.app.survey.finished.wait()
        bootstrap = (stale.address, full.address)
        async with running_node(new_dir, bootstrap=bootstrap, survey_window=20) as ann_again:
            with trio.fail_after(60):
                await ann_again.app.survey.finished.wait()
            status = restore_status(ann_again.service)
            assert (status.latest, status.seen_on, status.sources) == (10, 1, 2)
            assert status.held == 10 and status.ready and not status.confirmed
            assert status.summary() == "your log: latest entry 10, seen on 1 peer"
            with pytest.raises(OwnLogUnknownError):  # found, but not confirmed yet
                await ann_again.post("not yet")
            with pytest.raises(UsageError, match="not 2"):
                ann_again.app.survey.confirm(2)
            ann_again.app.survey.confirm(10)
            entry = await ann_again.post("back again")
            assert entry.seq == 11
            assert ann_again.service.store.feed_state(ann_key).forked_at is None
            mine = list(ann_again.service.store.feed_items(ann_key))
    with Service(full_dir) as full_service:
        result = full_service.store.ingest(ann_key, mine[10:])
        assert (result.stored, result.fork_at) == (1, None)
        assert full_service.store.feed_state(ann_key).height == 11


async def test_a_restored_identity_with_no_peer_waits_for_confirmation(tmp_path: Path) -> None:
    with Service(make_data_dir(tmp_path, "ann-old")) as ann:
        ann.post("one")
        words = ann.backup_words()
    new_dir = tmp_path / "ann-new"
    restore_identity(new_dir, words, None)
    async with running_node(new_dir, survey_window=0) as ann_again:
        await ann_again.app.survey.finished.wait()
        status = restore_status(ann_again.service)
        assert (status.latest, status.sources, status.surveyed) == (0, 0, True)
        assert "No peer reported your log" in status.advice()
        with pytest.raises(OwnLogUnknownError):
            await ann_again.post("nobody has seen my log")


async def test_the_own_log_is_found_through_the_dht(tmp_path: Path) -> None:
    """The restored node knows only a hub that holds nothing of its feed; the DHT's
    providers of the feed lead it to the peer that holds all 10 entries."""
    with Service(make_data_dir(tmp_path, "ann-old")) as ann:
        for i in range(10):
            ann.post(f"post {i}")
        ann_key, words = ann.public_key, ann.backup_words()
        items = list(ann.store.feed_items(ann_key))
    full_dir = _holder(tmp_path, "full", items, ann_key)
    new_dir = tmp_path / "ann-new"
    restore_identity(new_dir, words, None)
    async with running_node(make_data_dir(tmp_path, "hub"), dht=True) as hub:
        async with running_node(full_dir, dht=True, bootstrap=(hub.address,)) as full:
            with trio.fail_after(30):
                await full.node.discovery.wait_routing_table(1)
                await full.node.discovery.provide([ann_key])
            async with running_node(
                new_dir, dht=True, bootstrap=(hub.address,), survey_window=30
            ) as ann_again:
                with trio.fail_after(90):
                    await ann_again.app.survey.finished.wait()
                status = restore_status(ann_again.service)
                assert (status.latest, status.held, status.seen_on) == (10, 10, 1)
                assert full.key.hex() in ann_again.service.own_log.seen_on
