"""Mark helpful on an answer to a question asked under a sealed pseudonym: the thread
view asks for the passphrase, a wrong one publishes nothing (the dialog stays and says
so), and the right one marks the answer in the pseudonym's log, not in mine (README
"Pseudonyms")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from store_helpers import make_identity
from ui_helpers import KEY_WORK_MS, ingest, post_item, signed_chain

from lndesk.app.runtime import NodeRuntime
from lndesk.app.service import create_identity
from lndesk.content import Reply
from lndesk.entry import Entry
from lndesk.entry_refs import ref_of
from lndesk.pseudonyms import pseudonym_keys
from lndesk.ui.views.post_delegate import HELPFUL, action_label, actions_of
from lndesk.ui.views.pseudonym_mark import EMPTY
from lndesk.ui.views.thread import ThreadDialog

PASSPHRASE = "correct horse"
BO = make_identity(81)
WAIT = 20_000


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "ann"
    create_identity(path, PASSPHRASE)
    return path


@pytest.fixture
def runtime(data_dir: Path) -> Iterator[NodeRuntime]:
    runtime = NodeRuntime(data_dir, lambda: PASSPHRASE, network=False, control=False)
    runtime.start(wait_network=False)
    yield runtime
    runtime.stop()


def heights(call: Any, fox: bytes) -> tuple[int, int]:
    """(my log's height, the pseudonym's)."""

    def read(desk: Any) -> tuple[int, int]:
        store = desk.service.store
        return store.feed_state(desk.own).height, store.feed_state(fox).height

    found: tuple[int, int] = call(read)
    return found


def test_a_sealed_pseudonym_marks_after_its_passphrase_and_a_wrong_one_publishes_nothing(
    bridge: Any, call: Any, qtbot: Any, data_dir: Path
) -> None:
    seq, _link = call(
        lambda desk: desk.posting.ask_as_pseudonym(
            "curious-fox", "Why does ice float?", [], [], PASSPHRASE
        ),
        timeout=KEY_WORK_MS,  # seals the pseudonym's new key (Argon2)
    )
    (fox,) = pseudonym_keys(data_dir)
    question: Entry = call(lambda desk: desk.reading.find((fox, seq)).entry)
    root = ref_of(question)
    ingest(call, BO, signed_chain(BO, [Reply("Its crystals are open.", root, root)], [1]))
    item = post_item(id=question.id, author=fox, seq=seq, question=True)
    thread = ThreadDialog(bridge, item)
    qtbot.addWidget(thread)
    thread.show()
    qtbot.waitUntil(lambda: thread.model.rowCount() == 2, timeout=WAIT)
    answer = thread.model.item(1)
    assert answer.author == BO.public_key and answer.markable
    assert "helpful" in actions_of(answer) and action_label(answer, "helpful") == "Mark helpful"
    before = heights(call, fox)
    view = thread.view
    rect = view.delegate.action_rect(
        answer, view.visualRect(thread.model.index(1)), view.font(), "helpful"
    )
    assert rect is not None
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(
        lambda: thread.mark_dialog is not None and thread.mark_dialog.isVisible(), timeout=WAIT
    )
    dialog = thread.mark_dialog
    assert dialog is not None
    assert "curious-fox" in dialog.explanation.text() and "own log" in dialog.explanation.text()
    dialog.mark_button.click()
    assert dialog.error.text() == EMPTY and dialog.isVisible()
    dialog.passphrase.setText("wrong horse")
    dialog.mark_button.click()
    qtbot.waitUntil(lambda: "wrong passphrase" in dialog.error.text(), timeout=KEY_WORK_MS)
    assert "Check the passphrase" in dialog.error.text()
    assert dialog.isVisible() and dialog.mark_button.isEnabled()
    assert heights(call, fox) == before  # nothing published
    dialog.passphrase.setText(PASSPHRASE)
    dialog.mark_button.click()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=KEY_WORK_MS)
    qtbot.waitUntil(lambda: thread.model.item(1).helpful, timeout=WAIT)
    assert view.delegate.badges(thread.model.item(1)) == [HELPFUL]
    assert heights(call, fox) == (before[0], before[1] + 1)  # the pseudonym's log, not mine
    types = call(
        lambda desk: [s.entry.type for s in desk.service.feed(desk.service.identity.key_text, 50)]
    )
    assert "helpful" not in types
