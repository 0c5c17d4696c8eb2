"""My pseudonyms on the Identity screen and their reveal, and the answers they get
(README "Pseudonyms", docs/protocol.md 10.13 and 32.5)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from store_helpers import make_identity

from lndesk.app import pseudonyms
from lndesk.app.items import AuthorItem, PostItem
from lndesk.content import Reveal, parse_content
from lndesk.keytext import key_to_text, short_key
from lndesk.pseudonyms import pseudonym_keys, reveal_holds
from lndesk.ui.identity_view import IdentityView
from lndesk.ui.models.authors import describe_author
from lndesk.ui.models.posts import follow_offer
from lndesk.ui.views.post_delegate import action_label, actions_of
from lndesk.ui.views.pseudonyms import EMPTY, RevealDialog

BO = make_identity(42)


def own_entries(call: Any) -> tuple[list[tuple[str, bytes | None]], bytes]:
    """My log's entries (type, payload), newest first, and my key."""

    def read(desk: Any) -> tuple[list[tuple[str, bytes | None]], bytes]:
        own = desk.service.public_key
        found = desk.service.feed(key_to_text(own), 50)
        return [(stored.entry.type, stored.payload) for stored in found], own

    result: tuple[list[tuple[str, bytes | None]], bytes] = call(read)
    return result


def test_the_identity_screen_lists_pseudonyms_and_reveals_one_after_asking(
    bridge: Any, call: Any, qtbot: Any, data_dir: Path
) -> None:
    view = IdentityView(bridge)
    qtbot.addWidget(view)
    panel = view.pseudonyms
    qtbot.waitUntil(lambda: panel.empty.text() == EMPTY and not panel.list.isVisibleTo(view))
    call(lambda desk: pseudonyms.ask(desk.service, "curious-fox", "Why do cats purr?"))
    call(lambda desk: pseudonyms.ask(desk.service, "owl", "Why do owls hoot?"))
    panel.refresh()
    qtbot.waitUntil(lambda: panel.list.count() == 2)
    (fox,) = [key for key in pseudonym_keys(data_dir) if panel.rows[0]["key"] == key_to_text(key)]
    first = panel.list.item(0).text()
    assert first.startswith("curious-fox  (not revealed, 2 entries)")
    assert key_to_text(fox) in first
    assert panel.reveal_button.isEnabled()

    # Reveal… asks first; Cancel publishes nothing.
    panel.reveal_selected()
    qtbot.waitUntil(lambda: isinstance(panel.dialog, RevealDialog) and panel.dialog.isVisible())
    dialog = panel.dialog
    assert dialog is not None
    said = dialog.explanation.text()
    assert "signed by you and by curious-fox" in said and "cannot be undone" in said
    assert not dialog.passphrase.isVisible()  # the key here is not sealed
    dialog.reject()
    assert "reveal" not in [kind for kind, _payload in own_entries(call)[0]]

    panel.reveal_selected()
    qtbot.waitUntil(lambda: panel.dialog is not dialog and panel.dialog is not None)
    assert panel.dialog is not None
    panel.dialog.reveal_button.click()
    qtbot.waitUntil(lambda: "Revealed" in panel.message.text())
    entries, own = own_entries(call)
    ((kind, payload),) = [entry for entry in entries if entry[0] == "reveal"]
    reveal = parse_content(kind, payload or b"")
    assert isinstance(reveal, Reveal) and reveal.key == fox
    assert reveal_holds(own, reveal.key, reveal.proof)
    qtbot.waitUntil(lambda: "revealed as yours" in panel.list.item(0).text())
    assert not panel.reveal_button.isEnabled()  # a reveal is made once
    panel.list.setCurrentRow(1)
    assert panel.reveal_button.isEnabled()


def test_an_answer_to_my_pseudonyms_question_offers_to_follow_its_author() -> None:
    def reply(**marks: Any) -> PostItem:
        return PostItem(
            id=b"\x01" * 32,
            author=BO.public_key,
            seq=3,
            author_name="Bo",
            short_key=short_key(BO.public_key),
            kind="reply",
            text="To calm themselves.",
            tags=(),
            links=(),
            claimed_ms=0,
            cursor=(0, 1, 3),
            mine=False,
            **marks,
        )

    answer = reply(answers_mine=True)
    assert follow_offer(answer) == (BO.public_key, "Bo")
    assert "follow" in actions_of(answer) and action_label(answer, "follow") == "Follow Bo"
    assert follow_offer(reply(answers_mine=True, followed=True)) is None
    assert follow_offer(reply()) is None  # a reply that answers nothing of mine


def test_a_person_in_following_names_the_pseudonyms_they_revealed() -> None:
    ann = AuthorItem(
        key=BO.public_key,
        name="Ann",
        key_text=key_to_text(BO.public_key),
        height=3,
        max_seq=3,
        last_post_ms=None,
        last_synced_ms=None,
        source="pasted key",
        muted=False,
    )
    assert "revealed" not in describe_author(ann)
    revealed = replace(ann, pseudonyms=((b"\x50" * 32, "curious-fox"),))
    assert "revealed as theirs: curious-fox" in describe_author(revealed)
