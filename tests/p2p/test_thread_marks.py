""" "This helped" travels with the thread: ``/lndesk/thread/2`` (docs/protocol.md 32.6)
between real hosts on 127.0.0.1, and its frames byte for byte.

Ann asks a question; Bo and Cy (whom Ann follows) answer, and Ann marks Bo's answer as
helpful. Di follows nobody and holds only the question (a share brought it): opening
the thread brings her every answer, Bo's marked, and the question answered. Ann takes
the mark back: Di's next fetch brings the tombstone, and Ed, a new reader, sees no mark.
Nothing sleeps: every wait is on an event under a timeout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
from cbor_reference import ref_encode
from cli_helpers import Cli
from inbox_helpers import signed
from node_helpers import TestNode, make_data_dir, running_node
from store_helpers import make_identity

from lndesk.app import answers
from lndesk.app.desk import Desk
from lndesk.content import Helpful, Post, Reply
from lndesk.entry import Entry, decode_entry
from lndesk.entry_refs import Ref, ref_of
from lndesk.errors import ProtocolError
from lndesk.identity import Identity
from lndesk.p2p.events import PeerPenalised
from lndesk.p2p.thread_frames import (
    Replies,
    ThreadAsk,
    ThreadFrames,
    decode_thread_body,
    encode_thread_frame,
)
from lndesk.p2p.threads import THREAD_MARKS_PROTOCOL, THREAD_PROTOCOL
from lndesk.store.helpful import answered, helpful_answers

WAIT = 20.0
BO, CY = make_identity(96), make_identity(97)


def feed(identity: Identity, contents: list[object]) -> list[tuple[bytes, bytes | None]]:
    items: list[tuple[bytes, bytes | None]] = []
    prev = None
    for seq, content in enumerate(contents, 1):
        entry, payload = signed(identity, seq, prev, content)  # type: ignore[arg-type]
        items.append((entry.raw, payload))
        prev = entry.id
    return items


async def asked_and_answered(ann: TestNode) -> tuple[Ref, Ref, Desk]:
    """Ann's question, Bo's and Cy's answers held by Ann, Bo's marked: (question, Bo's
    answer, Ann's desk)."""
    await ann.follow(BO.public_key)
    await ann.follow(CY.public_key)
    question: Entry = await ann.app.publish(
        lambda s: s.publish(Post("Which book first?", question=True))
    )
    root = ref_of(question)
    for identity, text in ((BO, "The blue one."), (CY, "Any.")):
        items = feed(identity, [Reply(text, root, root)])
        assert ann.app.feeds.ingest(identity.public_key, items).stored == 1
    desk = Desk(ann.service)
    desk.attach(ann.app)
    await desk.answers.mark_helpful((BO.public_key, 1))
    return root, ref_at(ann, BO.public_key, 1), desk


def ref_at(node: TestNode, key: bytes, seq: int) -> Ref:
    """The reference of the entry ``node`` holds at ``key``'s ``seq``."""
    ((_seq, raw, _payload),) = node.service.store.read_run(key, seq, seq, 1, 1 << 20)
    return ref_of(decode_entry(raw))


async def open_thread(reader: TestNode, ann: TestNode, root: Ref) -> Desk:
    """The reader holds the question alone (as a share brings it) and opens its thread."""
    await reader.connect(ann)
    assert await reader.node.fetch_refs([root], ann.key) == 1
    desk = Desk(reader.service)
    desk.attach(reader.app)
    await desk.threads.fetch_thread(root)
    return desk


def shown_marks(desk: Desk, root: Ref) -> tuple[list[bytes], bool]:
    """(the authors of the thread's replies in the order the thread view shows them,
    with the helpful ones first; whether the question card says answered)."""
    items = desk.reading.thread(root)
    assert items[0].id == root.id
    return [i.author for i in items[1:] if i.helpful], items[0].answered


def no_penalties(*nodes: TestNode) -> bool:
    return not any(isinstance(e, PeerPenalised) for n in nodes for e in n.log.events)


async def test_every_reader_of_the_thread_sees_the_mark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "di")) as di,
    ):
        root, _answer, ann_desk = await asked_and_answered(ann)
        di_desk = await open_thread(di, ann, root)
        store = di.service.store
        assert helpful_answers(store, root) == {(BO.public_key, 1)}
        assert answered(store, [root]) == {root.id}
        helpful, is_answered = shown_marks(di_desk, root)
        assert helpful == [BO.public_key] and is_answered
        replies = [i.author for i in di_desk.reading.thread(root)[1:]]
        assert replies == [BO.public_key, CY.public_key]  # Bo's, marked, first
        for desk in (ann_desk, di_desk):
            desk.close()
        assert no_penalties(ann, di)
    # Di's commands, once her node has stopped: lndesk thread ID, lndesk questions.
    cli = Cli(tmp_path / "di", capsys)
    shown = cli("thread", root.id.hex()[:12])
    assert "[answered, 2 answers]" in shown
    assert shown.count("[helpful]") == 1
    assert shown.index("[helpful]") < shown.index("The blue one.") < shown.index("Any.")
    assert "[answered, 2 answers]" in cli("questions", "--answered")
    assert "No open questions" in cli("questions", "--open")


async def test_a_mark_taken_back_goes_away_for_every_reader(tmp_path: Path) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "di")) as di,
        running_node(make_data_dir(tmp_path, "ed")) as ed,
    ):
        root, bo_answer, ann_desk = await asked_and_answered(ann)
        di_desk = await open_thread(di, ann, root)
        store = di.service.store
        assert shown_marks(di_desk, root) == ([BO.public_key], True)
        # Ann takes the mark back: Di's next fetch brings the tombstone; Ed, who opens
        # the thread only now, never sees the mark.
        await ann_desk.answers.mark_helpful((bo_answer.author, bo_answer.seq), on=False)
        result = await di.node.fetch_thread(root, ann.key)
        assert result.marks == 1
        assert helpful_answers(store, root) == set() and answered(store, [root]) == set()
        assert shown_marks(di_desk, root) == ([], False)
        ed_desk = await open_thread(ed, ann, root)
        assert shown_marks(ed_desk, root) == ([], False)
        assert len(ed_desk.reading.thread(root)) == 3
        assert answers.list_questions(ed.service, {"state": "answered"})["questions"] == []
        shown = answers.show_thread(ed.service, {"entry_id": root.id.hex()})
        assert not shown["answered"] and not any(e["helpful"] for e in shown["entries"])
        for desk in (ann_desk, di_desk, ed_desk):
            desk.close()
        assert no_penalties(ann, di, ed)


async def test_old_peers_get_the_replies_without_marks(tmp_path: Path) -> None:
    """An asker that speaks only /lndesk/thread/1 is still served; a new asker facing a
    server without /lndesk/thread/2 falls back to version 1."""
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "di")) as di,
        running_node(make_data_dir(tmp_path, "ed")) as ed,
    ):
        root, _answer, ann_desk = await asked_and_answered(ann)
        di.node.threads.protocols = (THREAD_PROTOCOL,)
        await di.connect(ann)
        assert await di.node.fetch_refs([root], ann.key) == 1
        result = await di.node.fetch_thread(root, ann.key)
        assert (result.asked, result.stored, result.marks) == (1, 2, 0)
        assert answered(di.service.store, [root]) == set()

        ann.node.host.remove_stream_handler(THREAD_MARKS_PROTOCOL)
        await ed.connect(ann)
        assert await ed.node.fetch_refs([root], ann.key) == 1
        result = await ed.node.fetch_thread(root, ann.key)
        assert (result.asked, result.stored, result.marks) == (1, 2, 0)
        ann_desk.close()
        assert no_penalties(ann, di, ed)


async def penalised_for(
    ann: TestNode, di: TestNode, root: Ref, marks: list[Ref], *, asked: int = 1
) -> None:
    """Ann's node, made hostile, names ``marks`` for ``root`` (its own checks skipped):
    Di stores none of them and penalises it; ``asked`` 0 when the answer itself is
    refused, before anything is fetched."""

    async def hostile(stream: Any) -> None:
        frames = ThreadFrames(stream, version=2)
        assert isinstance(await frames.receive(), ThreadAsk)
        await frames.send(Replies(0, (), tuple(marks)))
        await stream.close()

    ann.node.host.set_stream_handler(THREAD_MARKS_PROTOCOL, hostile)
    await di.connect(ann)
    assert await di.node.fetch_refs([root], ann.key) == 1
    result = await di.node.fetch_thread(root, ann.key)
    assert (result.asked, result.marks) == (asked, 0)
    for ref in (m for m in marks if m != root):
        assert di.service.store.stored_seqs(ref.author, ref.seq, ref.seq) == set()
    with trio.fail_after(WAIT):
        await di.log.wait_for(lambda events: not no_penalties(di), WAIT)


async def test_a_mark_by_someone_else_is_the_servers_violation(tmp_path: Path) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "di")) as di,
    ):
        root, bo_answer, ann_desk = await asked_and_answered(ann)
        # Cy marks Bo's answer to Ann's question: valid content that counts for nobody.
        items = feed(CY, [Reply("Any.", root, root), Helpful(bo_answer, root)])
        assert ann.app.feeds.ingest(CY.public_key, items[1:]).stored == 1
        await penalised_for(ann, di, root, [ref_at(ann, CY.public_key, 2)], asked=0)
        ann_desk.close()


async def test_the_root_among_the_marks_is_the_servers_violation(tmp_path: Path) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "di")) as di,
    ):
        root, _answer, ann_desk = await asked_and_answered(ann)
        await penalised_for(ann, di, root, [root], asked=0)
        ann_desk.close()


async def test_a_mark_for_another_root_is_the_servers_violation(tmp_path: Path) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "di")) as di,
    ):
        root, _answer, ann_desk = await asked_and_answered(ann)
        other: Entry = await ann.app.publish(lambda s: s.publish(Post("And?", question=True)))
        items = feed(
            BO, [Reply("The blue one.", root, root), Reply("Yes.", ref_of(other), ref_of(other))]
        )
        assert ann.app.feeds.ingest(BO.public_key, items[1:]).stored == 1
        seq = await ann_desk.answers.mark_helpful((BO.public_key, 2))
        await penalised_for(ann, di, root, [ref_at(ann, ann.key, seq)])
        ann_desk.close()


async def test_a_tombstone_of_no_asked_mark_is_the_servers_violation(tmp_path: Path) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "di")) as di,
    ):
        root, _answer, ann_desk = await asked_and_answered(ann)
        note = await ann.post("A note.")
        gone = await ann.app.publish(lambda s: s.delete(note.id.hex()))
        await penalised_for(ann, di, root, [ref_of(gone)])
        ann_desk.close()


# --- the frames of /lndesk/thread/2 (section 32.1) -------------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
ROOT = Ref(bytes(range(32)), 7, bytes(range(32, 64)))
REPLY = Ref(bytes([0xAA]) * 32, 2, bytes([0xBB]) * 32)
MARK = Ref(bytes(range(32)), 9, bytes([0xDD]) * 32)
HELD = bytes([0xCC]) * 32
ASK_HEX = (
    "00000086a461746674687265616464726f6f74835820000102030405060708090a0b0c0d0e0f"
    "101112131415161718191a1b1c1d1e1f075820202122232425262728292a2b2c2d2e2f303132"
    "333435363738393a3b3c3d3e3f656c696d69741864656d61726b73815820cccccccccccccccc"
    "cccccccccccccccccccccccccccccccccccccccccccccccc"
)
REPLIES_HEX = (
    "000000aba46174677265706c696573647265667381835820aaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa025820bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb656d61726b7381835820000102030405060708090a0b0c"
    "0d0e0f101112131415161718191a1b1c1d1e1f095820dddddddddddddddddddddddddddddddd"
    "dddddddddddddddddddddddddddddddd65746f74616c03"
)


def test_version_2_frames_match_the_vectors_byte_for_byte() -> None:
    text = DOCS.read_text().replace("\n", "").replace(" ", "")
    cases = [
        (
            ThreadAsk(ROOT, 100, (HELD,)),
            {"t": "thread", "root": list(ROOT), "limit": 100, "marks": [HELD]},
            ASK_HEX,
        ),
        (
            Replies(3, (REPLY,), (MARK,)),
            {"t": "replies", "refs": [list(REPLY)], "marks": [list(MARK)], "total": 3},
            REPLIES_HEX,
        ),
    ]
    for message, doc, hexed in cases:
        frame = encode_thread_frame(message)
        body = ref_encode(doc)
        assert frame == len(body).to_bytes(4, "big") + body
        assert frame.hex() == hexed
        assert hexed in text
        assert decode_thread_body(frame[4:], 2) == message
        with pytest.raises(ProtocolError, match="exactly the fields"):
            decode_thread_body(frame[4:], 1)  # a version 2 message on a version 1 stream
    old = encode_thread_frame(Replies(3, (REPLY,)))
    with pytest.raises(ProtocolError, match="exactly the fields"):
        decode_thread_body(old[4:], 2)


def mark_refs(count: int) -> list[list[object]]:
    return [[bytes([n]) * 32, 1, bytes([n]) * 32] for n in range(count)]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"t": "thread", "root": list(ROOT), "limit": 1, "marks": [HELD] * 2}, "twice"),
        ({"t": "thread", "root": list(ROOT), "limit": 1, "marks": [HELD[:31]]}, "32-byte"),
        ({"t": "thread", "root": list(ROOT), "limit": 1, "marks": [HELD] * 17}, "at most 16"),
        ({"t": "thread", "root": list(ROOT), "limit": 1, "marks": HELD}, "array"),
        ({"t": "replies", "refs": [], "marks": [list(MARK)] * 2, "total": 0}, "twice"),
        ({"t": "replies", "refs": [list(MARK)], "marks": [list(MARK)], "total": 1}, "twice"),
        ({"t": "replies", "refs": [], "marks": mark_refs(33), "total": 0}, "more than 32"),
        ({"t": "replies", "refs": [], "marks": {}, "total": 0}, "array"),
    ],
)
def test_version_2_frames_out_of_the_rules_are_refused(
    doc: dict[str, object], message: str
) -> None:
    with pytest.raises(ProtocolError, match=message):
        decode_thread_body(ref_encode(doc), 2)


def test_the_largest_version_2_messages_fit_their_caps() -> None:
    refs = [Ref(bytes([n]) * 32, 2**53 - 1, bytes([n]) * 32) for n in range(100)]
    marks = tuple(Ref(bytes([200]) * 32, 2**53 - 1 - n, bytes([n]) * 32) for n in range(32))
    answer = Replies(2**53 - 1, tuple(refs), marks)
    assert decode_thread_body(encode_thread_frame(answer)[4:], 2) == answer
    root = Ref(bytes(32), 2**53 - 1, bytes(32))
    ask = ThreadAsk(root, 100, tuple(bytes([n]) * 32 for n in range(16)))
    assert decode_thread_body(encode_thread_frame(ask)[4:], 2) == ask
