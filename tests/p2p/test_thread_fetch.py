"""Threads travel with their root: thread fetch ``/lndesk/thread/1`` (docs/protocol.md
section 32) between real hosts on 127.0.0.1, and its frames byte for byte.

Ann asks a question. Eve and Gus (whom Ann follows) and Fay (whom Eve follows: two hops
from Ann) answer; Mal, whom Ann blocked, as well. Zed, a stranger, replies to a note of
Ann's that is no question (Ann's Requests). Cy follows only Ann; Di follows nobody and
holds the question alone. Both ask Ann's node for the thread and then see the three
answers Ann sees, and neither Zed's nor Mal's. Nothing sleeps: every wait is on an event
under a timeout.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from cbor_reference import ref_encode
from inbox_helpers import signed
from node_helpers import GossipTaken, TestNode, make_data_dir, running_node
from store_helpers import make_identity

from lndesk.app.desk import Desk
from lndesk.app.desk_threads import ThreadCounts
from lndesk.app.inbox_quota import DAY_MS, Quota
from lndesk.content import Follow, Post, Reply
from lndesk.entry import Entry
from lndesk.entry_refs import Ref, ref_of
from lndesk.errors import ProtocolError
from lndesk.identity import Identity
from lndesk.keytext import key_to_text
from lndesk.p2p.events import PeerPenalised
from lndesk.p2p.inbox_notice import inbox_topic
from lndesk.p2p.threads import Replies, ThreadAsk, decode_thread_body, encode_thread_frame
from lndesk.store import views
from lndesk.store.threads import known_replies

WAIT = 20.0
DOCS = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"

EVE, FAY, GUS, ZED, MAL = (make_identity(n) for n in (91, 92, 93, 94, 95))


async def publish_question(ann: TestNode) -> Entry:
    entry: Entry = await ann.app.publish(lambda s: s.publish(Post("Why?", question=True)))
    return entry


def feed(identity: Identity, contents: list[object]) -> list[tuple[bytes, bytes | None]]:
    items: list[tuple[bytes, bytes | None]] = []
    prev = None
    for seq, content in enumerate(contents, 1):
        entry, payload = signed(identity, seq, prev, content)  # type: ignore[arg-type]
        items.append((entry.raw, payload))
        prev = entry.id
    return items


def answer(question: Entry, text: str) -> Reply:
    return Reply(text, ref_of(question), ref_of(question))


def replies_held(node: TestNode, question: Entry) -> set[bytes]:
    shown = views.thread(node.service.store, (question.author, question.seq), question.id, 50)
    return {item.entry.author for item in shown if item.entry.id != question.id}


async def test_every_reader_sees_the_answers_the_asker_sees(tmp_path: Path) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "cy")) as cy,
        running_node(make_data_dir(tmp_path, "di")) as di,
    ):
        await ann.follow(EVE.public_key)
        await ann.follow(GUS.public_key)
        question = await publish_question(ann)
        note = await ann.app.publish(lambda s: s.publish(Post("A note.")))
        feeds = ann.app.feeds
        eve = feed(EVE, [Follow(FAY.public_key), Follow(MAL.public_key), answer(question, "e")])
        for identity, items in (
            (EVE, eve),
            (FAY, feed(FAY, [answer(question, "f")])),
            (GUS, feed(GUS, [answer(question, "g")])),
            (ZED, feed(ZED, [answer(note, "z")])),
            (MAL, feed(MAL, [answer(question, "m")])),
        ):
            assert feeds.ingest(identity.public_key, items).stored == len(items)
        ann.service.block(key_to_text(MAL.public_key))
        three = {EVE.public_key, FAY.public_key, GUS.public_key}
        root = ref_of(question)
        assert feeds.thread_replies(root, 100) == (3, feeds.thread_replies(root, 100)[1])
        assert {ref.author for ref in feeds.thread_replies(root, 100)[1]} == three

        await cy.follow(ann)
        await cy.connect(ann)
        await cy.wait_height(ann, question.seq)
        result = await cy.node.fetch_thread(root)
        assert (result.reported, result.stored) == (3, 3)
        assert replies_held(cy, question) == three
        assert {s.entry.author for s in ann.service.inbox(requests=True)} == {ZED.public_key}
        assert (await cy.node.fetch_thread(ref_of(note))).reported == 0
        assert replies_held(cy, note) == set()

        await di.connect(ann)
        assert await di.node.fetch_refs([root], ann.key) == 1  # the question, as a share brings it
        desk = Desk(di.service)
        desk.attach(di.app)
        assert desk.threads.counts(root) == ThreadCounts(known=0, reported=0)
        assert await desk.threads.fetch_thread(root) == ThreadCounts(known=3, reported=3, asked=1)
        assert replies_held(di, question) == three
        assert known_replies(di.service.store, question.id) == 3
        desk.close()
        assert not any(isinstance(e, PeerPenalised) for n in (ann, cy, di) for e in n.log.events)


async def test_a_server_naming_an_entry_off_the_thread_is_penalised(tmp_path: Path) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "cy")) as cy,
    ):
        question = await publish_question(ann)
        elsewhere = await ann.app.publish(lambda s: s.publish(Post("another post")))
        other = await ann.app.publish(lambda s: s.publish(answer(elsewhere, "not here")))
        # Ann's node answers for the question with a reply under another root.
        ann.app.feeds.thread_replies = lambda _root, _limit: (1, [ref_of(other)])  # type: ignore[method-assign]
        await cy.connect(ann)
        await cy.node.fetch_refs([ref_of(question)], ann.key)
        result = await cy.node.fetch_thread(ref_of(question))
        assert result.stored == 0
        assert cy.service.store.stored_seqs(ann.key, other.seq, other.seq) == set()
        with trio.fail_after(WAIT):
            await cy.log.wait_for(
                lambda events: any(isinstance(e, PeerPenalised) for e in events), WAIT
            )


# --- the frames of section 32.1 --------------------------------------------------------

ROOT = Ref(bytes(range(32)), 7, bytes(range(32, 64)))
REPLY = Ref(bytes([0xAA]) * 32, 2, bytes([0xBB]) * 32)
ASK_HEX = (
    "0000005da361746674687265616464726f6f7483582000010203040506070809"
    "0a0b0c0d0e0f101112131415161718191a1b1c1d1e1f07582020212223242526"
    "2728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f656c696d697418"
    "64"
)
REPLIES_HEX = (
    "0000005ea36174677265706c696573647265667381835820aaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa025820bbbbbbbbbb"
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb65746f7461"
    "6c03"
)


def test_frames_match_the_vectors_byte_for_byte() -> None:
    ask = ThreadAsk(ROOT, 100)
    frame = encode_thread_frame(ask)
    body = ref_encode({"t": "thread", "root": list(ROOT), "limit": 100})
    assert frame == len(body).to_bytes(4, "big") + body
    assert frame.hex() == ASK_HEX
    assert decode_thread_body(frame[4:]) == ask
    answer = Replies(3, (REPLY,))
    frame = encode_thread_frame(answer)
    body = ref_encode({"t": "replies", "refs": [list(REPLY)], "total": 3})
    assert frame == len(body).to_bytes(4, "big") + body
    assert decode_thread_body(frame[4:]) == answer
    text = DOCS.read_text()
    assert frame.hex() == REPLIES_HEX
    for hexed in (ASK_HEX, REPLIES_HEX):
        assert hexed in text.replace("\n", "").replace(" ", "")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"t": "thread", "root": list(ROOT), "limit": 0}, "limit"),
        ({"t": "thread", "root": list(ROOT), "limit": 101}, "limit"),
        ({"t": "thread", "root": [ROOT[0], 0, ROOT[2]], "limit": 1}, "root"),
        ({"t": "replies", "refs": [list(REPLY)], "total": 0}, "total"),
        ({"t": "replies", "refs": [list(REPLY)] * 2, "total": 2}, "twice"),
        ({"t": "replies", "refs": [], "total": -1}, "total"),
    ],
)
def test_frames_out_of_the_rules_are_refused(doc: dict[str, object], message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        decode_thread_body(ref_encode(doc))


def test_too_many_replies_are_refused() -> None:
    refs = [[bytes([n]) * 32, 1, bytes([n]) * 32] for n in range(101)]
    with pytest.raises(ProtocolError):
        decode_thread_body(ref_encode({"t": "replies", "refs": refs, "total": 101}))


# --- answers to my questions are shown (section 32.5) ----------------------------------


def inbox_authors(node: TestNode, *, requests: bool) -> set[bytes]:
    return {stored.entry.author for stored in node.service.inbox(requests=requests)}


async def test_answers_to_my_question_show_without_accepting(tmp_path: Path) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "bo")) as bo,
        running_node(make_data_dir(tmp_path, "di")) as di,
    ):
        await bo.follow(ann)
        await bo.connect(ann)
        with trio.fail_after(WAIT):
            await bo.node.gossip.wait_for_inbox_peers(ann.key, 1)
        question = await publish_question(ann)
        note = await ann.app.publish(lambda s: s.publish(Post("Just a note.")))
        await bo.wait_height(ann, note.seq)
        await bo.app.publish(lambda s: s.publish(answer(question, "Because.")))
        await ann.log.wait_for(lambda _events: ann.log.stored(bo.key) > 0, WAIT)
        # A stranger's reply to a post that is no question stays in Requests; a blocked
        # person's answer never shows.
        assert ann.app.feeds.ingest(ZED.public_key, feed(ZED, [answer(note, "z")])).stored == 1
        assert ann.app.feeds.ingest(MAL.public_key, feed(MAL, [answer(question, "m")])).stored
        ann.service.block(key_to_text(MAL.public_key))
        assert inbox_authors(ann, requests=False) == {bo.key}
        assert inbox_authors(ann, requests=True) == {ZED.public_key}
        desk = Desk(ann.service)
        [item] = desk.reading.page("replies", None, 10)
        assert (item.author, item.followed) == (bo.key, False)  # shown as "not followed"
        desk.close()

        # The thread Ann shows travels with it: Di, who follows nobody, gets Bo's answer.
        await di.connect(ann)
        assert await di.node.fetch_refs([ref_of(question)], ann.key) == 1
        result = await di.node.fetch_thread(ref_of(question))
        assert (result.reported, result.stored) == (1, 1)
        assert replies_held(di, question) == {bo.key}


async def test_an_answer_reaches_a_reader_who_follows_only_the_asker(tmp_path: Path) -> None:
    """Bo follows Ann and answers her question; Cy follows only Ann: the answer reaches
    Cy live, on Ann's inbox topic (Cy keeps it as part of the question's thread), while
    Bo's reply to a note of Ann's is not kept by Cy. The answer is sent once Cy has taken
    the reply to the note in (gossip keeps no order), so Cy has handled that reply when
    it holds the answer."""
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "bo")) as bo,
        running_node(make_data_dir(tmp_path, "cy")) as cy,
    ):
        await bo.follow(ann)
        await bo.connect(ann)
        await cy.follow_live(ann)
        with trio.fail_after(WAIT):
            await bo.node.gossip.wait_for_inbox_peers(ann.key, 1)
            await ann.node.gossip.wait_for_inbox_peers(ann.key, 1)
            # Ann relays what she receives on her inbox topic to the peers of her mesh.
            await ann.node.gossip.router.wait_for_mesh(
                cy.node.host.get_id(), inbox_topic(ann.key), WAIT
            )
        question = await publish_question(ann)
        note = await ann.app.publish(lambda s: s.publish(Post("A note.")))
        await cy.wait_height(ann, note.seq)
        await bo.wait_height(ann, note.seq)
        taken = GossipTaken(cy)
        noted = await bo.app.publish(lambda s: s.publish(answer(note, "Noted.")))
        await taken.wait_for(noted.raw)
        reply = await bo.app.publish(lambda s: s.publish(answer(question, "Because.")))
        await cy.log.wait_for(lambda _events: replies_held(cy, question) == {bo.key}, WAIT)
        assert replies_held(cy, note) == set()
        assert cy.service.store.stored_seqs(bo.key, 1, reply.seq) == {reply.seq}


async def test_threads_of_recent_questions_are_fetched_in_the_background(
    tmp_path: Path,
) -> None:
    """Eve's answer reached Ann while Cy was away: Cy, who follows Ann, gets it with the
    next round of the thread watch, without opening the thread."""
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "cy"), resync_interval=0.5) as cy,
    ):
        await ann.follow(EVE.public_key)
        question = await publish_question(ann)
        items = feed(EVE, [answer(question, "e")])
        assert ann.app.feeds.ingest(EVE.public_key, items).stored == 1
        await cy.follow(ann)
        await cy.connect(ann)
        await cy.log.wait_for(lambda _events: replies_held(cy, question) == {EVE.public_key}, WAIT)
        assert cy.log.stored(EVE.public_key, via="thread") == 1
        # The round keeps what Ann's node reported, for "N more not fetched yet".
        with trio.fail_after(WAIT):
            await cy.app.threads.round_done.wait()
        assert cy.service.local.thread_total(question.id) == 1


async def test_replies_fetched_with_a_thread_are_bounded_by_the_quota(tmp_path: Path) -> None:
    """Di follows nobody: the answers by people outside her circle that a thread brings
    count as requests, so no more than the day's quota is stored."""
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "di")) as di,
    ):
        for friend in (EVE, FAY, GUS):
            await ann.follow(friend.public_key)
        question = await publish_question(ann)
        for friend in (EVE, FAY, GUS):
            items = feed(friend, [answer(question, "x")])
            assert ann.app.feeds.ingest(friend.public_key, items).stored == 1
        gate = di.app.feeds.gate
        assert gate is not None
        gate.quota = Quota(per_day=2)
        now = [10**12]
        gate._clock = lambda: now[0]
        await di.connect(ann)
        assert await di.node.fetch_refs([ref_of(question)], ann.key) == 1
        result = await di.node.fetch_thread(ref_of(question))
        assert (result.reported, result.stored) == (3, 2)
        held = replies_held(di, question)
        assert len(held) == 2
        # They expire as requests do (README, "Threads travel with their root"), unless
        # Di follows or accepts their author first.
        kept = sorted(held)[0]
        di.service.local.set_accepted(kept, True, 0)
        now[0] += 31 * DAY_MS
        assert gate.expire() == 1
        assert replies_held(di, question) == {kept}
