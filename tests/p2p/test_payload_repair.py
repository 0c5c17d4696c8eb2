"""Payload stripping, healed (lndesk.store.fill, lndesk.p2p.holes) on real loopback nodes.

Mallory serves Ann's feed with every payload left out, which the protocol allows
(section 6). Vic, a new follower, meets Mallory first and holds Ann's entries without
their text: holes. The next honest peer fills them, by sync, by a head announcement or
by a targeted fetch; Cy, who meets only Vic afterwards, never sees a stripped copy;
and a rebuild of Vic's index keeps the payloads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from node_helpers import TestNode, make_data_dir, running_node

from lndesk.app.service import Service
from lndesk.keytext import key_to_text
from lndesk.p2p.announce import decode_announcement, encode_announcement
from lndesk.store.store import Store

TEXTS = [f"ann's note {n}" for n in range(1, 4)]


def strip_served(node: TestNode) -> None:
    """Make ``node`` serve every entry without its payload (a stripping peer)."""
    source = node.node.source
    read_run = source.read_run

    def stripped(*args: Any) -> list[tuple[int, bytes, bytes | None]]:
        return [(seq, entry, None) for seq, entry, _ in read_run(*args)]

    source.read_run = stripped  # type: ignore[method-assign]


def record_ingests(node: TestNode) -> list[tuple[bytes, bytes | None]]:
    """Every (entry, payload) item ``node`` is asked to ingest, in order."""
    seen: list[tuple[bytes, bytes | None]] = []
    source = node.node.source
    ingest: Callable[[bytes, Sequence[tuple[bytes, bytes | None]]], Any] = source.ingest

    def recording(key: bytes, items: Sequence[tuple[bytes, bytes | None]]) -> Any:
        seen.extend(items)
        return ingest(key, items)

    source.ingest = recording  # type: ignore[method-assign]
    return seen


def texts_of(store: Store, key: bytes) -> list[str | None]:
    return [
        getattr(item.content, "text", None) for item in reversed(store.feed_entries(key, limit=50))
    ]


def holes(node: TestNode, key: bytes) -> list[int]:
    return node.service.store.payload_holes(key, 1, 1000, 1000)


async def stripped_follower(tmp_path: Path, vic: TestNode) -> bytes:
    """Ann posts, Mallory copies her feed and goes stripping; Vic follows Ann and syncs
    from Mallory only. Returns Ann's key; Ann's and Mallory's nodes are stopped."""
    ann_dir, mal_dir = make_data_dir(tmp_path, "ann"), make_data_dir(tmp_path, "mallory")
    with Service(ann_dir) as ann:
        for text in TEXTS:
            ann.post(text)
        ann_key = ann.public_key
    with Service(mal_dir) as mallory:
        mallory.follow(key_to_text(ann_key))
    async with running_node(ann_dir) as ann_node, running_node(mal_dir) as mal:
        await mal.connect(ann_node)
        await mal.wait_height(ann_key, 3)
    async with running_node(mal_dir) as mal:
        strip_served(mal)
        await vic.follow(ann_key)
        await vic.connect(mal)
        await vic.wait_height(ann_key, 3)
        await vic.node.sync_now(timeout=20)
    assert texts_of(vic.service.store, ann_key) == [None, None, None]
    assert holes(vic, ann_key) == [1, 2, 3]
    return ann_key


async def test_a_stripped_feed_is_healed_by_the_next_honest_peer_and_served_whole(
    tmp_path: Path,
) -> None:
    vic_dir, cy_dir = make_data_dir(tmp_path, "vic"), make_data_dir(tmp_path, "cy")
    async with running_node(vic_dir) as vic:
        ann_key = await stripped_follower(tmp_path, vic)
        async with running_node(tmp_path / "ann") as ann:
            await vic.connect(ann)
            await vic.log.wait_for(lambda _events: not holes(vic, ann_key))
        assert texts_of(vic.service.store, ann_key) == TEXTS
        async with running_node(cy_dir) as cy:
            received = record_ingests(cy)
            await cy.follow(ann_key)
            await cy.connect(vic)
            await cy.wait_height(ann_key, 3)
            await cy.node.sync_now(timeout=20)
            assert texts_of(cy.service.store, ann_key) == TEXTS
            assert holes(cy, ann_key) == []
            assert received and all(payload is not None for _, payload in received)
    with Service(vic_dir) as vic_again:
        assert vic_again.store.reindex() >= 3
        assert texts_of(vic_again.store, ann_key) == TEXTS
        assert vic_again.store.payload_holes(ann_key, 1, 10, 10) == []


async def test_a_head_announcement_carrying_its_payload_fills_a_hole(tmp_path: Path) -> None:
    async with running_node(make_data_dir(tmp_path, "vic")) as vic:
        ann_key = await stripped_follower(tmp_path, vic)
        with Service(tmp_path / "ann") as ann:
            head = ann.store.feed_entries(ann_key, limit=1)[0]
        announced = decode_announcement(encode_announcement(head.entry.raw, head.payload))
        await vic.node._on_head(vic.node.host.get_id(), announced)
        assert holes(vic, ann_key) == [1, 2]
        assert texts_of(vic.service.store, ann_key) == [None, None, TEXTS[2]]


async def test_a_targeted_fetch_fills_a_hole(tmp_path: Path) -> None:
    async with running_node(make_data_dir(tmp_path, "vic")) as vic:
        ann_key = await stripped_follower(tmp_path, vic)
        with Service(tmp_path / "ann") as ann:
            second = ann.store.feed_entries(ann_key, limit=3)[1].entry
        await vic.app.publish(lambda s: s.unfollow(key_to_text(ann_key)))  # sync asks no more
        async with running_node(tmp_path / "ann") as ann_node:
            await vic.connect(ann_node)
            filled = await vic.node.fetch_refs([(ann_key, 2, second.id)], peer=ann_key)
        assert filled == 1
        assert holes(vic, ann_key) == [1, 3]
        assert texts_of(vic.service.store, ann_key) == [None, TEXTS[1], None]


async def test_a_peer_that_filled_nothing_is_not_asked_for_the_same_holes_again(
    tmp_path: Path,
) -> None:
    async with running_node(make_data_dir(tmp_path, "vic")) as vic:
        ann_key = await stripped_follower(tmp_path, vic)
        async with running_node(tmp_path / "mallory") as mal:
            strip_served(mal)
            asked: list[int] = []
            source = mal.node.source
            read_run = source.read_run

            def counting(*args: Any) -> list[tuple[int, bytes, bytes | None]]:
                asked.append(args[1])
                return read_run(*args)

            source.read_run = counting  # type: ignore[method-assign]
            # Vic asked Mallory for the holes once already (the second sync in
            # stripped_follower) and got nothing: the same holes are not asked again.
            await vic.connect(mal)
            await vic.node.sync_now(timeout=20)
            await vic.node.sync_now(timeout=20)
            assert asked == []
            assert holes(vic, ann_key) == [1, 2, 3]
