"""A pseudonym's question marked answered, between real hosts on 127.0.0.1 (README
"Pseudonyms", docs/protocol.md 10.12): Ann asks as curious-fox, Bo answers, Ann marks the
answer helpful from her app; the mark is the pseudonym's (in its log), so Cy, who reads
only the pseudonym, sees the answer marked and the question answered, and no entry on
any node links Ann and her pseudonym. Nothing sleeps: every wait is on an event under a
timeout."""

from __future__ import annotations

from pathlib import Path

import trio
from inbox_helpers import held_ids
from node_helpers import TestNode, make_data_dir, running_node
from test_pseudonym_nodes import linking

from lndesk.app import pseudonyms
from lndesk.app.desk import Desk
from lndesk.content import Reply
from lndesk.entry import Entry, decode_entry
from lndesk.entry_refs import ref_of
from lndesk.identity import Identity
from lndesk.store.helpful import answered, helpful_answers

WAIT = 20


def every_feed(node: TestNode) -> list[bytes]:
    """Every feed ``node`` holds entries of."""
    return [state.key for state in node.service.store.feeds()]


async def test_the_pseudonym_marks_an_answer_and_a_third_reader_sees_it(tmp_path: Path) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "bo")) as bo,
        running_node(make_data_dir(tmp_path, "cy")) as cy,
    ):
        await ann.post("A note as myself.")
        asked: tuple[Identity, Entry, bool] = await ann.app.publish(
            lambda s: pseudonyms.ask(s, "curious-fox", "Why does ice float?")
        )
        fox, question, _created = asked
        root = ref_of(question)
        await bo.follow(fox.public_key)
        await bo.connect(ann)
        await bo.wait_height(fox.public_key, question.seq)
        with trio.fail_after(WAIT):
            await bo.node.gossip.wait_for_inbox_peers(fox.public_key, 1)
        answer: Entry = await bo.app.publish(
            lambda s: s.publish(Reply("Its crystals hold the molecules apart.", root, root))
        )
        await ann.log.wait_for(lambda _e: answer.id in held_ids(ann.service.store, bo.key), WAIT)
        desk = Desk(ann.service)
        desk.attach(ann.app)
        try:
            (offered,) = [i for i in desk.reading.thread(root) if i.author == bo.key]
            assert offered.markable and offered.answers_mine  # Ann's app offers the mark
            own_height = ann.height_of(ann)
            mark_seq = await desk.answers.mark_helpful((bo.key, answer.seq))
            # The pseudonym signed it, in its log; Ann's own log did not grow.
            assert ann.height_of(fox.public_key) == mark_seq == question.seq + 1
            assert ann.height_of(ann) == own_height
            (shown,) = [i for i in desk.reading.thread(root) if i.author == bo.key]
            assert shown.helpful and shown.markable
            # Cy reads only the pseudonym: the mark, the answer and "answered" reach him.
            await cy.follow(fox.public_key)
            await cy.connect(ann)
            await cy.wait_height(fox.public_key, mark_seq)
            await cy.node.fetch_thread(root)  # Bo's answer, from Ann's node
            await bo.wait_height(fox.public_key, mark_seq)
            marked = {(bo.key, answer.seq)}
            for reader in (bo, cy):
                assert helpful_answers(reader.service.store, root) == marked
                assert answered(reader.service.store, [root]) == {question.id}
            cy_desk = Desk(cy.service)
            try:
                items = cy_desk.reading.thread(root)
                assert items[0].answered and items[0].author == fox.public_key
                (helped,) = [i for i in items if i.helpful]
                assert helped.post_key == (bo.key, answer.seq) and not helped.markable
            finally:
                cy_desk.close()
            # Taken back, as the pseudonym too: open again for every reader.
            unmark_seq = await desk.answers.mark_helpful((bo.key, answer.seq), on=False)
            assert unmark_seq == mark_seq + 1 and ann.height_of(ann) == own_height
            await cy.wait_height(fox.public_key, unmark_seq)
            for reader in (ann, cy):
                assert helpful_answers(reader.service.store, root) == set()
                assert answered(reader.service.store, [root]) == set()
        finally:
            desk.close()
        # Every entry every node holds: nothing links Ann and her pseudonym.
        for node in (ann, bo, cy):
            assert linking(node, ann.key, fox.public_key) == []
            assert linking(node, fox.public_key, ann.key) == []
            fox_ids = {decode_entry(raw).id for raw, _ in _entries(node, fox.public_key)}
            ann_ids = {decode_entry(raw).id for raw, _ in _entries(node, ann.key)}
            for feed in every_feed(node):
                for raw, payload in _entries(node, feed):
                    blob = raw + (payload or b"")
                    names_fox = fox.public_key in blob or any(i in blob for i in fox_ids)
                    names_ann = ann.key in blob or any(i in blob for i in ann_ids)
                    assert not (names_fox and names_ann), decode_entry(raw).type


def _entries(node: TestNode, key: bytes) -> list[tuple[bytes, bytes | None]]:
    return list(node.service.store.feed_items(key))
