"""Nicknames: my own name for someone overrides theirs in every view, on this device only
(real desk and store, network off)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from store_helpers import make_identity
from test_hostile_names import profile_and_post
from ui_helpers import ingest

from lndesk.app.local import LOCAL_NAME, LocalState
from lndesk.content import Profile
from lndesk.ui.main_window import FOLLOWING, TIMELINE, MainWindow
from lndesk.ui.views.author_line import name_parts

ANN = make_identity(61)


def shown_names(model: Any) -> list[str]:
    role = Qt.ItemDataRole.DisplayRole
    return [model.data(model.index(r), role) for r in range(model.rowCount())]


def test_a_nickname_replaces_the_chosen_name_everywhere(
    window: MainWindow, call: Any, qtbot: Any
) -> None:
    ingest(call, ANN, profile_and_post(ANN, Profile("Ann Lee"), "Hello"), follow=True)
    window.show_page(TIMELINE)
    model = window.timeline.model
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    assert model.item(0).author_name == "Ann Lee"
    dialog = window.timeline.view.ask_nickname(model.item(0))
    assert dialog is not None and dialog.textValue() == ""
    dialog.setTextValue("  Mum\u202e ")
    dialog.accept()
    qtbot.waitUntil(lambda: model.item(0).author_name == "Mum")
    item = model.item(0)
    assert item.chosen_name == "Ann Lee"
    assert name_parts(item) == ("Mum", ' "Ann Lee"', "")
    assert call(lambda desk: desk.people.names([ANN.public_key])) == {ANN.public_key: "Mum"}
    window.show_page(FOLLOWING)
    following = window.following.model
    qtbot.waitUntil(lambda: any(n.startswith('Mum "Ann Lee"') for n in shown_names(following)))
    assert following.data(following.index(0), Qt.ItemDataRole.DecorationRole) is not None
    dialog = window.following.nickname_selected_for(following.item(0))
    assert dialog.textValue() == "Mum"
    dialog.setTextValue("")
    dialog.accept()
    qtbot.waitUntil(lambda: model.item(0).author_name == "Ann Lee")
    assert model.item(0).chosen_name == ""
    qtbot.waitUntil(lambda: any(n.startswith("Ann Lee") for n in shown_names(following)))


def test_set_nickname_is_offered_for_others_only(window: MainWindow, call: Any, qtbot: Any) -> None:
    ingest(call, ANN, profile_and_post(ANN, Profile("Ann Lee"), "Hello"), follow=True)
    call(lambda desk: desk.posting.post("mine"))
    window.show_page(TIMELINE)
    model = window.timeline.model
    qtbot.waitUntil(lambda: model.rowCount() == 2)
    view = window.timeline.view
    texts = {r: [a.text() for a in view.menu_actions(model.item(r))] for r in range(2)}
    mine = next(r for r in range(2) if model.item(r).mine)
    assert "Set nickname…" not in texts[mine]
    assert "Set nickname…" in texts[1 - mine]


def test_the_local_state_gains_the_nicknames_table(tmp_path: Path) -> None:
    # A local state file of the previous version keeps its contents and gains the table.
    conn = sqlite3.connect(tmp_path / LOCAL_NAME)
    conn.executescript(
        "CREATE TABLE settings (name TEXT PRIMARY KEY, value);"
        "INSERT INTO settings VALUES ('read_mark_ms', 5);"
        "PRAGMA user_version=2;"
    )
    conn.close()
    local = LocalState(tmp_path)
    try:
        assert local.get("read_mark_ms") == 5
        local.set_nickname(b"k" * 32, "Mum", 1)
        assert local.nicknames() == {b"k" * 32: "Mum"}
        local.set_nickname(b"k" * 32, None, 2)
        assert local.nicknames() == {}
    finally:
        local.close()


def test_a_nickname_given_before_the_posts_load_is_shown_at_once(
    bridge: Any, call: Any, qtbot: Any
) -> None:
    from lndesk.ui.models.posts import PostListModel

    ingest(call, ANN, profile_and_post(ANN, Profile("Ann Lee"), "Hello"), follow=True)
    call(lambda desk: desk.people.set_nickname(ANN.public_key, "Mum"))
    model = PostListModel(bridge, "timeline")
    model.start()
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    assert (model.item(0).author_name, model.item(0).chosen_name) == ("Mum", "Ann Lee")


def test_people_and_peers_lists_draw_each_keys_fingerprint(qapp: Any) -> None:
    from lndesk.app.items import AuthorItem, PeerItem
    from lndesk.keytext import key_to_text
    from lndesk.ui.identicon import identicon_image
    from lndesk.ui.models.authors import BlockedModel
    from lndesk.ui.models.peers import PeersModel

    key, other = ANN.public_key, make_identity(62).public_key
    blocked = BlockedModel(None)
    blocked._apply(
        [AuthorItem(k, "Ann", key_to_text(k), 0, 0, None, None, "", False) for k in (key, other)]
    )
    peers = PeersModel(None)
    peers._apply([PeerItem(key, "Ann", "12D3KooW", "", None, False)])
    role = Qt.ItemDataRole.DecorationRole
    icons = [
        m.data(m.index(r), role).toImage() for m, r in ((blocked, 0), (blocked, 1), (peers, 0))
    ]
    assert icons[0] != icons[1]  # same name, different keys: different fingerprints
    fmt = icons[0].format()
    assert icons[0] == identicon_image(key, icons[0].width()).convertToFormat(fmt)
    assert icons[2] == identicon_image(key, icons[2].width()).convertToFormat(fmt)
