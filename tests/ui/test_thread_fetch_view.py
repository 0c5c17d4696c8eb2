"""Opening a thread in the app asks peers for its replies, and the thread view says what
is known in words.

Ann asks a question; Zed (whom Ann follows) and Mal answer it, and Ann's node holds both
answers. Di follows Ann only and has blocked Mal: her node holds the question and no
answer. Di opens the question's thread in her window on real loopback nodes: the view
says it is looking, Zed's answer arrives from Ann's node, and Mal's, which Di does not
take, is told as one more not fetched, in the thread's heading and on the question's card
in the timeline too; opened again when no peer answers, the view still says it, and that
asking failed. Offline, the view asks nobody and says so. Every wait is on an event or a
condition under a timeout; nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from store_helpers import make_identity
from ui_helpers import awaited, ingest, post_item, signed_chain

from lndesk.app.runtime import LOOPBACK_ONLY, NodeRuntime
from lndesk.app.service import create_identity
from lndesk.content import Reply
from lndesk.entry import Entry
from lndesk.entry_refs import ref_of
from lndesk.keytext import key_to_text
from lndesk.p2p.threads import THREAD_MARKS_PROTOCOL, THREAD_PROTOCOL
from lndesk.ui.bridge import Bridge
from lndesk.ui.views.thread import (
    ASKED,
    FAILED,
    LOOKING,
    UNREACHABLE,
    ThreadDialog,
    counts_text,
)

ZED, MAL = make_identity(71), make_identity(72)
WAIT = 20_000
Call = Callable[..., Any]


def test_counts_in_words() -> None:
    assert counts_text(3, 0, ASKED, question=True) == "3 answers"
    assert counts_text(3, 2, ASKED, question=True) == "3 answers · 2 more not fetched yet"
    assert counts_text(1, 0, LOOKING, question=True) == "1 answer · Looking for more answers…"
    assert counts_text(3, 0, UNREACHABLE, question=True) == "3 answers here; peers not reachable"
    assert (
        counts_text(3, 2, UNREACHABLE, question=True)
        == "3 answers here · 2 more not fetched yet; peers not reachable"
    )
    assert (
        counts_text(0, 0, FAILED, question=False) == "0 replies here; asking peers for more failed"
    )
    assert (
        counts_text(1, 1, LOOKING, question=True)
        == "1 answer · 1 more not fetched yet · Looking for more answers…"
    )
    assert counts_text(1, 0, ASKED, question=False) == "1 reply"


def caller(bridge: Bridge, qtbot: Any) -> Call:
    def call(function: Callable[[Any], Any]) -> Any:
        box: dict[str, Any] = {}
        bridge.request_async(
            awaited(function), lambda r: box.setdefault("ok", r), lambda e: box.setdefault("err", e)
        )
        qtbot.waitUntil(lambda: bool(box), timeout=WAIT)
        if "err" in box:
            raise box["err"]
        return box["ok"]

    return call


@pytest.fixture
def two_runtimes(tmp_path: Path, qapp: Any) -> Iterator[tuple[NodeRuntime, NodeRuntime]]:
    runtimes = []
    for name in ("ann", "di"):
        create_identity(tmp_path / name)
        runtime = NodeRuntime(tmp_path / name, control=False, **LOOPBACK_ONLY)
        runtime.start(wait_network=True)
        runtimes.append(runtime)
    yield runtimes[0], runtimes[1]
    for runtime in runtimes:
        runtime.stop()


def ann_answered(ann: Call, di: Call) -> tuple[Entry, str]:
    """Ann's question, answered by Zed and Mal on Ann's node; Di follows Ann and blocked
    Mal. Returns the question and Ann's loopback address."""
    seq = ann(lambda desk: desk.posting.post("Which book first?", question=True))
    question: Entry = ann(lambda desk: desk.reading.find((desk.service.public_key, seq)).entry)
    root = ref_of(question)
    for identity, text in ((ZED, "Start with SICP."), (MAL, "Buy my course.")):
        chain = signed_chain(identity, [Reply(text, root, root)], [1])
        ingest(ann, identity, chain, follow=True)
    address = next(a for a in ann(lambda desk: desk.network.info()).addresses if "/127.0.0.1/" in a)
    di(lambda desk: desk.people.follow(key_to_text(question.author)))
    di(lambda desk: desk.people.block(MAL.public_key))
    return question, address


def test_opening_a_thread_fetches_an_answer_only_a_peer_holds(
    two_runtimes: tuple[NodeRuntime, NodeRuntime], tmp_path: Path, qtbot: Any, clock: Any
) -> None:
    from lndesk.ui.main_window import MainWindow

    ann_bridge = Bridge(two_runtimes[0], timer=clock.timer)
    di_bridge = Bridge(two_runtimes[1], timer=clock.timer)
    ann, di = caller(ann_bridge, qtbot), caller(di_bridge, qtbot)
    try:
        question, address = ann_answered(ann, di)
        ann_key = question.author
        window = MainWindow(di_bridge, tmp_path / "di")
        qtbot.addWidget(window)
        window.show()
        di(lambda desk: desk.network.connect(address))
        timeline = window.timeline.model
        qtbot.waitUntil(lambda: timeline.rowCount() == 1, timeout=WAIT)
        qtbot.waitUntil(lambda: di_bridge.connectivity.online, timeout=WAIT)
        item = timeline.item(0)
        assert item.question and item.reply_count == 0

        thread = window.open_thread(item)
        assert isinstance(thread, ThreadDialog)
        assert "Looking for more answers…" in thread.heading.text()
        with qtbot.waitSignal(thread.fetched, timeout=WAIT):
            pass
        assert thread.counts is not None and thread.counts.known == 1
        assert thread.counts.reported == 2
        qtbot.waitUntil(lambda: thread.model.rowCount() == 2, timeout=WAIT)
        assert [i.author for i in thread.model.items()] == [ann_key, ZED.public_key]
        qtbot.waitUntil(
            lambda: thread.heading.text().endswith("1 answer · 1 more not fetched yet"),
            timeout=WAIT,
        )
        card = thread.model.item(0)
        assert thread.view.delegate.badges(card)[-1] == "1 more not fetched yet"
        # the question's card in the timeline says the same
        qtbot.waitUntil(lambda: timeline.item(0).reply_count == 1, timeout=WAIT)
        badges = window.timeline.view.delegate.badges(timeline.item(0))
        assert badges[1:] == ["open · 1 answer", "1 more not fetched yet"]
    finally:
        ann_bridge.close()
        di_bridge.close()


def test_offline_the_thread_asks_nobody_and_says_so(
    window: Any, call: Any, bridge: Bridge, qtbot: Any
) -> None:
    seq = call(lambda desk: desk.posting.post("Anyone?", question=True))
    qtbot.waitUntil(lambda: window.timeline.model.rowCount() == 1)
    item = window.timeline.model.item(0)
    assert item.seq == seq
    thread = window.open_thread(item)
    assert thread.fetch_state == UNREACHABLE
    qtbot.waitUntil(lambda: thread.model.rowCount() == 1)
    assert thread.counts is None or thread.counts.asked == 0  # nobody was asked
    assert thread.heading.text().endswith("0 answers here; peers not reachable")
    assert "Looking" not in thread.heading.text()
    thread.close()
    # What peers said at an earlier fetch is kept on the device and shown offline too.
    call(lambda desk: desk.service.local.keep_thread_total(item.id, 2, 0))
    again = window.open_thread(item)
    qtbot.waitUntil(
        lambda: again.heading.text().endswith(
            "0 answers here · 2 more not fetched yet; peers not reachable"
        )
    )


def test_a_thread_opened_offline_is_fetched_when_a_peer_connects(
    two_runtimes: tuple[NodeRuntime, NodeRuntime], tmp_path: Path, qtbot: Any, clock: Any
) -> None:
    from lndesk.ui.main_window import MainWindow

    ann_bridge = Bridge(two_runtimes[0], timer=clock.timer)
    di_bridge = Bridge(two_runtimes[1], timer=clock.timer)
    ann, di = caller(ann_bridge, qtbot), caller(di_bridge, qtbot)
    try:
        question, address = ann_answered(ann, di)
        window = MainWindow(di_bridge, tmp_path / "di")
        qtbot.addWidget(window)
        window.show()
        # a link to the question (a notification, a share) opened before any peer is up
        item = post_item(id=question.id, author=question.author, seq=question.seq, question=True)
        thread = window.open_thread(item)
        assert thread.fetch_state == UNREACHABLE
        assert thread.counts is None or thread.counts.asked == 0
        assert "peers not reachable" in thread.heading.text()
        with qtbot.waitSignal(thread.fetched, timeout=WAIT):
            di(lambda desk: desk.network.connect(address))
        assert thread.counts is not None and thread.counts.reported == 2
        qtbot.waitUntil(
            lambda: ZED.public_key in {i.author for i in thread.model.items()}, timeout=WAIT
        )
        assert "peers not reachable" not in thread.heading.text()
    finally:
        ann_bridge.close()
        di_bridge.close()


def test_when_no_peer_answers_the_heading_says_asking_failed_and_what_was_reported(
    two_runtimes: tuple[NodeRuntime, NodeRuntime], tmp_path: Path, qtbot: Any, clock: Any
) -> None:
    from lndesk.ui.main_window import MainWindow

    ann_bridge = Bridge(two_runtimes[0], timer=clock.timer)
    di_bridge = Bridge(two_runtimes[1], timer=clock.timer)
    ann, di = caller(ann_bridge, qtbot), caller(di_bridge, qtbot)
    try:
        question, address = ann_answered(ann, di)
        window = MainWindow(di_bridge, tmp_path / "di")
        qtbot.addWidget(window)
        window.show()
        di(lambda desk: desk.network.connect(address))
        qtbot.waitUntil(lambda: di_bridge.connectivity.online, timeout=WAIT)
        item = post_item(id=question.id, author=question.author, seq=question.seq, question=True)
        first = window.open_thread(item)
        with qtbot.waitSignal(first.fetched, timeout=WAIT):
            pass
        assert first.fetch_state == ASKED and first.counts is not None
        assert (first.counts.reported, first.counts.asked) == (2, 1)
        first.close()
        # Ann's node stops serving threads (as a node too old to know them): the only
        # peer Di asks fails.
        two_runtimes[0].call(
            lambda app: [
                app.node.host.remove_stream_handler(protocol)
                for protocol in (THREAD_MARKS_PROTOCOL, THREAD_PROTOCOL)
            ]
        )
        again = window.open_thread(item)
        with qtbot.waitSignal(again.fetched, timeout=WAIT):
            pass
        assert again.fetch_state == FAILED and again.counts is not None
        assert again.counts.asked == 0
        # What the earlier fetch reported is kept on the device, beside what is held.
        assert again.counts.reported == 2
        qtbot.waitUntil(
            lambda: again.heading.text().endswith(
                "1 answer here · 1 more not fetched yet; asking peers for more failed"
            ),
            timeout=WAIT,
        )
        assert di_bridge.connectivity.online  # a peer was there; it did not answer
    finally:
        ann_bridge.close()
        di_bridge.close()
