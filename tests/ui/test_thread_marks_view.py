"""A helpful mark shows in the thread view of a reader who does not follow the asker.

Ann asks a question; Zed and Mal (whom Ann follows) answer, and Ann marks Zed's answer
as helpful. Di follows nobody: a share brought her the question alone. She opens its
thread in her window on real loopback nodes, and the marks come with the answers
(docs/protocol.md 32.6): Zed's answer first with its "Helpful" badge, the question
"answered". Every wait is on an event or a condition under a timeout; nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from store_helpers import make_identity
from test_thread_fetch_view import caller
from ui_helpers import ingest, post_item, signed_chain

from lndesk.app.runtime import LOOPBACK_ONLY, NodeRuntime
from lndesk.app.service import create_identity
from lndesk.content import Reply
from lndesk.entry import Entry
from lndesk.entry_refs import ref_of
from lndesk.p2p.events import EntriesStored
from lndesk.ui.bridge import Bridge
from lndesk.ui.views.post_delegate import ANSWERED, HELPFUL
from lndesk.ui.views.thread import ThreadDialog

ZED, MAL = make_identity(73), make_identity(74)
WAIT = 20_000


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


def test_a_reader_who_follows_nobody_sees_the_mark(
    two_runtimes: tuple[NodeRuntime, NodeRuntime], tmp_path: Path, qtbot: Any, clock: Any
) -> None:
    from lndesk.ui.main_window import MainWindow

    ann_bridge = Bridge(two_runtimes[0], timer=clock.timer)
    di_bridge = Bridge(two_runtimes[1], timer=clock.timer)
    ann, di = caller(ann_bridge, qtbot), caller(di_bridge, qtbot)
    try:
        seq = ann(lambda desk: desk.posting.post("Which book first?", question=True))
        question: Entry = ann(lambda desk: desk.reading.find((desk.service.public_key, seq)).entry)
        raw, payload = ann(
            lambda desk: desk.service.store.read_run(question.author, seq, seq, 1, 1 << 20)[0][1:]
        )
        root = ref_of(question)
        for identity, text in ((ZED, "Start with SICP."), (MAL, "Any of them.")):
            ingest(
                ann, identity, signed_chain(identity, [Reply(text, root, root)], [1]), follow=True
            )
        ann(lambda desk: desk.answers.mark_helpful((ZED.public_key, 1)))
        address = next(
            a for a in ann(lambda desk: desk.network.info()).addresses if "/127.0.0.1/" in a
        )

        def shared(desk: Any) -> None:  # the question alone, as a share brings it
            desk.service.store.ingest(question.author, [(raw, payload)])
            desk._emit(EntriesStored(question.author, 1, seq, seq, "fetch", None))

        di(shared)
        window = MainWindow(di_bridge, tmp_path / "di")
        qtbot.addWidget(window)
        window.show()
        di(lambda desk: desk.network.connect(address))
        qtbot.waitUntil(lambda: di_bridge.connectivity.online, timeout=WAIT)
        item = post_item(id=question.id, author=question.author, seq=seq, question=True)
        thread = window.open_thread(item)
        assert isinstance(thread, ThreadDialog)
        with qtbot.waitSignal(thread.fetched, timeout=WAIT):
            pass
        qtbot.waitUntil(lambda: any(i.helpful for i in thread.model.items()), timeout=WAIT)
        items = thread.model.items()
        assert [i.author for i in items] == [question.author, ZED.public_key, MAL.public_key]
        delegate = thread.view.delegate
        assert delegate.badges(items[1]) == [HELPFUL]
        assert delegate.badges(items[2]) == []
        qtbot.waitUntil(lambda: thread.model.item(0).answered, timeout=WAIT)
        assert delegate.badges(thread.model.item(0))[1] == f"{ANSWERED} · 2 answers"
    finally:
        ann_bridge.close()
        di_bridge.close()
