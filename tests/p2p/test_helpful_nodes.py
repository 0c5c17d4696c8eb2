""" "This helped" between real hosts on 127.0.0.1 (docs/protocol.md 10.12): the asker's mark
of an answer travels in the asker's log, so every reader of the asker sees it, and a mark
taken back is taken back for every reader. Nothing sleeps: every wait is on an event
under a timeout."""

from __future__ import annotations

from pathlib import Path

from node_helpers import make_data_dir, running_node

from lndesk.app.desk import Desk
from lndesk.content import Post, Reply
from lndesk.entry import Entry
from lndesk.entry_refs import ref_of
from lndesk.store.helpful import answered, helpful_answers


async def test_the_askers_mark_shows_to_every_reader(tmp_path: Path) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "bo")) as bo,
        running_node(make_data_dir(tmp_path, "cy")) as cy,
    ):
        question: Entry = await ann.app.publish(
            lambda s: s.publish(Post("Which book first?", question=True))
        )
        root = ref_of(question)
        # Bo follows Ann and answers; Ann follows Bo back, so her node holds the answer.
        await bo.follow(ann)
        await bo.connect(ann)
        await bo.wait_height(ann, question.seq)
        answer: Entry = await bo.app.publish(
            lambda s: s.publish(Reply("The blue one.", root, root))
        )
        await ann.follow(bo)
        await ann.connect(bo)
        await ann.wait_height(bo, answer.seq)
        # Ann marks it in the app, as the thread view's Mark helpful does.
        desk = Desk(ann.service)
        desk.attach(ann.app)
        mark_seq = await desk.answers.mark_helpful((answer.author, answer.seq))
        marked = {(bo.key, answer.seq)}
        assert helpful_answers(ann.service.store, root) == marked
        # Bo (the answerer) and Cy (who follows only Ann) read Ann's log: both see it.
        await cy.follow(ann)
        await cy.connect(ann)
        await cy.wait_height(ann, mark_seq)
        await cy.node.fetch_thread(root)  # Bo's answer, from Ann's node
        await bo.wait_height(ann, mark_seq)
        for reader in (bo, cy):
            assert helpful_answers(reader.service.store, root) == marked
            assert answered(reader.service.store, [root]) == {question.id}
        cy_desk = Desk(cy.service)
        (shown,) = [i for i in cy_desk.reading.thread(root) if i.helpful]
        assert shown.post_key == (bo.key, answer.seq) and not shown.markable
        assert cy_desk.reading.thread(root)[0].answered
        # Ann takes the mark back: the question is open again for every reader.
        unmark_seq = await desk.answers.mark_helpful((answer.author, answer.seq), on=False)
        await cy.wait_height(ann, unmark_seq)
        await bo.wait_height(ann, unmark_seq)
        for reader in (ann, bo, cy):
            assert helpful_answers(reader.service.store, root) == set()
            assert answered(reader.service.store, [root]) == set()
        desk.close()
        cy_desk.close()
