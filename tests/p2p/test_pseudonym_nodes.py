"""A question asked under a pseudonym, between real hosts on 127.0.0.1 (README
"Pseudonyms"): a reader who follows only the pseudonym answers, the answer comes back to
the asker's app by the pseudonym's inbox topic and shows in Mentions & replies, and no
entry on any node links the two identities. Nothing sleeps: every wait is on an event
under a timeout."""

from __future__ import annotations

from pathlib import Path

import trio
from inbox_helpers import held_ids
from node_helpers import TestNode, make_data_dir, running_node

from lndesk.app import pseudonyms
from lndesk.app.desk import Desk
from lndesk.app.service import Service
from lndesk.content import Reply
from lndesk.entry import Entry, decode_entry
from lndesk.entry_refs import ref_of
from lndesk.identity import Identity
from lndesk.p2p.events import EntriesStored

WAIT = 20


def entries_of(node: TestNode, key: bytes) -> list[tuple[bytes, bytes | None]]:
    store = node.service.store
    height = store.feed_state(key).height
    return [(raw, payload) for _s, raw, payload in store.read_run(key, 1, height, 1000, 1 << 24)]


def linking(node: TestNode, one: bytes, other: bytes) -> list[str]:
    """Entries of ``one`` held by ``node`` that name ``other`` or one of its entries."""
    other_ids = [decode_entry(raw).id for raw, _ in entries_of(node, other)]
    found = []
    for raw, payload in entries_of(node, one):
        blob = raw + (payload or b"")
        if any(needle in blob for needle in (other, *other_ids)):
            found.append(f"{decode_entry(raw).type} {decode_entry(raw).seq}")
    return found


async def test_an_answer_to_a_pseudonymous_question_reaches_the_askers_desk(
    tmp_path: Path,
) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "bo")) as bo,
    ):
        await ann.post("A note as myself.")
        asked: tuple[Identity, Entry, bool] = await ann.app.publish(
            lambda s: pseudonyms.ask(s, "curious-fox", "Is it silly to ask why 0.1+0.2?")
        )
        fox, question, created = asked
        assert created and question.author == fox.public_key != ann.key
        # Bo found the pseudonym's link (a share, a forum): he follows it, not Ann.
        await bo.follow(fox.public_key)
        await bo.connect(ann)
        await bo.wait_height(fox.public_key, question.seq)
        assert bo.height_of(ann) == 0  # Ann's own feed did not come with it
        with trio.fail_after(WAIT):
            # Ann's node watches the pseudonym's inbox topic; Bo's, as a follower, too.
            await bo.node.gossip.wait_for_inbox_peers(fox.public_key, 1)
        root = ref_of(question)
        answer: Entry = await bo.app.publish(
            lambda s: s.publish(Reply("Not silly: floating point.", root, root))
        )
        # By the pseudonym's inbox topic (Ann does not follow Bo: his follow stays away).
        await ann.log.wait_for(lambda _e: answer.id in held_ids(ann.service.store, bo.key), WAIT)
        assert fox.public_key in ann.node.gossip.watching()
        desk = Desk(ann.service)
        try:
            shown = [item.post_key for item in desk.reading.page("replies", None, 50)]
            assert (bo.key, answer.seq) in shown  # in Mentions & replies, not in Requests
            requests = [item.post_key for item in desk.reading.page("requests", None, 50)]
            assert (bo.key, answer.seq) not in requests
        finally:
            desk.close()
        # No entry on either node links Ann and her pseudonym, in either direction.
        for node in (ann, bo):
            assert linking(node, ann.key, fox.public_key) == []
            assert linking(node, fox.public_key, ann.key) == []
        assert ann.service.store.following(fox.public_key) == []


async def test_an_answer_sent_while_the_asker_was_offline_arrives_by_catch_up(
    tmp_path: Path,
) -> None:
    """Bo answers the pseudonym's question while Ann's node is off (his own is off too,
    so no inbox notice goes out at all); when both start again and Ann meets Bo, inbox
    catch-up asks for the pseudonym's key too (docs/protocol.md 29.3), and the answer
    comes back, with no entry linking Ann and her pseudonym."""
    ann_dir, bo_dir = make_data_dir(tmp_path, "ann"), make_data_dir(tmp_path, "bo")
    async with running_node(bo_dir) as bo, running_node(ann_dir) as ann:
        asked: tuple[Identity, Entry, bool] = await ann.app.publish(
            lambda s: pseudonyms.ask(s, "curious-fox", "Why is the sky blue, really?")
        )
        fox, question, _created = asked
        await bo.follow(fox.public_key)
        await bo.connect(ann)
        await bo.wait_height(fox.public_key, question.seq)
    root = ref_of(question)
    with Service(bo_dir) as service:
        answer = service.publish(Reply("Rayleigh scattering.", root, root))
    async with running_node(bo_dir) as bo, running_node(ann_dir) as ann:
        assert answer.id not in held_ids(ann.service.store, bo.key)
        await ann.connect(bo)
        await ann.log.wait_for(lambda _e: answer.id in held_ids(ann.service.store, bo.key), WAIT)
        (event,) = [
            e
            for e in ann.log.events
            if isinstance(e, EntriesStored) and e.feed == bo.key and e.via == "inbox"
        ]
        assert event.peer == bo.key
        assert ann.service.store.following(ann.key) == []  # nothing else brought it
        for node in (ann, bo):
            assert linking(node, ann.key, fox.public_key) == []
            assert linking(node, fox.public_key, ann.key) == []
