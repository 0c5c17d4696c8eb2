"""Learning features across whole nodes on 127.0.0.1: who lands in requests, and edits
and deletions travelling to followers, who purge what was deleted.

Nothing sleeps: every wait is on an event under a timeout.
"""

from __future__ import annotations

from pathlib import Path

import trio
from node_helpers import TestNode, make_data_dir, running_node

from lndesk.content import Content, Edit, Post, Reply, Tombstone
from lndesk.entry import Entry
from lndesk.entry_refs import ref_of
from lndesk.keytext import key_to_text
from lndesk.store.search import SearchQuery
from lndesk.store.store import LOG_NAME

WAIT = 20.0


async def publish(node: TestNode, content: Content) -> Entry:
    entry: Entry = await node.app.publish(lambda s: s.publish(content))
    return entry


def holds(node: TestNode, entry: Entry) -> bool:
    found = node.service.store.stored_seqs(entry.author, entry.seq, entry.seq)
    return entry.seq in found


async def wait_holds(node: TestNode, entry: Entry) -> None:
    await node.log.wait_for(lambda _events: holds(node, entry), WAIT)


async def follows_and_listens(reader: TestNode, author: TestNode) -> None:
    """``reader`` follows ``author`` and both share the author's head and inbox topics."""
    await reader.follow_live(author)
    with trio.fail_after(WAIT):
        await reader.node.gossip.wait_for_inbox_peers(author.key, 1)


def found(node: TestNode, words: str) -> list[bytes]:
    hits = node.service.search(SearchQuery(words))
    return [hit.entry.entry.id for hit in hits]


async def test_replies_from_beyond_two_hops_wait_in_requests(tmp_path: Path) -> None:
    """Ann follows Bo, Bo follows Cy. Cy (two hops) and Lea (nobody Ann knows) both reply
    to Ann's post: Cy's reply is in Ann's inbox, Lea's in her requests. (Answers to a
    question all show in the inbox: tests/p2p/test_thread_fetch.py.)"""
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "bo")) as bo,
        running_node(make_data_dir(tmp_path, "cy")) as cy,
        running_node(make_data_dir(tmp_path, "lea")) as lea,
    ):
        await bo.follow(cy)
        await ann.follow_live(bo)
        await ann.wait_height(bo, 1)  # Bo's follow of Cy is what puts Cy two hops away
        await follows_and_listens(cy, ann)
        await follows_and_listens(lea, ann)
        question = await publish(ann, Post("I teach fractions with paper strips."))
        await wait_holds(cy, question)
        await wait_holds(lea, question)
        from_cy = await publish(cy, Reply("Paper strips.", ref_of(question), ref_of(question)))
        from_lea = await publish(lea, Reply("Pizza!", ref_of(question), ref_of(question)))
        await wait_holds(ann, from_cy)
        await wait_holds(ann, from_lea)

        assert cy.key not in ann.service.store.following(ann.key)
        assert [s.entry.id for s in ann.service.inbox()] == [from_cy.id]
        assert [s.entry.id for s in ann.service.inbox(requests=True)] == [from_lea.id]
        # Bo stops following Cy: Cy is a stranger now, and her answer a request.
        await bo.app.publish(lambda s: s.unfollow(key_to_text(cy.key)))
        await ann.wait_height(bo, 2)
        assert ann.service.inbox() == []
        assert {s.entry.id for s in ann.service.inbox(requests=True)} == {from_cy.id, from_lea.id}


async def test_edits_and_deletions_reach_followers_who_purge_the_text(tmp_path: Path) -> None:
    """Ann posts, edits, then deletes; Bo follows her. Bo sees the edited text, then
    neither version: both nodes drop the payloads from disk, and both chains still verify."""
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "bo")) as bo,
    ):
        await bo.follow_live(ann)
        post = await publish(ann, Post("Draft: quokkas teach fractions"))
        await wait_holds(bo, post)
        edit = await publish(ann, Edit(ref_of(post), "Draft: wombats teach fractions"))
        await wait_holds(bo, edit)
        (stored,) = bo.service.store.feed_entries(ann.key, 1, post.seq + 1)
        current = bo.service.current_versions([stored])[(ann.key, post.seq)]
        assert isinstance(current.content, Edit) and "wombats" in current.content.text
        assert found(bo, "wombats") == [post.id] and found(bo, "quokkas") == []

        await publish(ann, Tombstone(ref_of(post)))
        await bo.wait_height(ann, edit.seq + 1)
        for node in (ann, bo):
            (gone,) = node.service.store.feed_entries(ann.key, 1, post.seq + 1)
            assert gone.deleted and gone.payload is None
            assert found(node, "wombats") == [] and found(node, "fractions") == []
            log_bytes = (node.service.data_dir / LOG_NAME).read_bytes()
            assert b"quokkas" not in log_bytes and b"wombats" not in log_bytes
            report = node.service.verify(every_signature=True)
            assert report.ok and report.feeds >= 1, report.problems
