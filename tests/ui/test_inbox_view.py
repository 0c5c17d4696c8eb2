"""The inbox (replies & mentions, requests), accepting and blocking, and unread counts per
person on the Following screen (real desk and store, network off)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from store_helpers import make_chain, make_entry, make_identity
from ui_helpers import ingest

from lndesk.content import Post, Reply, encode_content
from lndesk.entry_refs import Ref
from lndesk.identity import Identity
from lndesk.keytext import key_to_link, key_to_text
from lndesk.ui.main_window import FOLLOWING, REPLIES, MainWindow
from lndesk.ui.models.authors import BlockedModel, UnreadRole
from lndesk.ui.models.posts import MentionNamesRole, PostListModel
from lndesk.ui.views import post_delegate as d
from lndesk.ui.views.following import FollowingView, block_explanation
from lndesk.ui.views.inbox import REQUESTS_TAB, InboxPage, requests_title


def my_post(call: Any, text: str) -> Ref:
    seq = call(lambda desk: desk.posting.post(text))
    return call(lambda desk: Ref(desk.own, seq, desk.reading.find((desk.own, seq)).entry.id))


def reply_from(call: Any, identity: Identity, to: Ref, text: str, after: Any = None) -> Any:
    """A stranger's signed reply to my post, stored as if a peer had passed it on (after
    their entry ``after``, or as their first). Returns the entry."""
    payload = encode_content(Reply(text, to, to))
    seq, prev = (1, None) if after is None else (after.seq + 1, after.id)
    entry, _ = link = make_entry(identity, seq, prev, type="reply", payload=payload)
    ingest(call, identity, [link])
    return entry


def own_key(call: Any) -> bytes:
    key: bytes = call(lambda desk: desk.own)
    return key


# --- requests ------------------------------------------------------------------------------


def test_a_strangers_reply_waits_in_requests_until_accepted(
    window: MainWindow, call: Any, qtbot: Any, qtmodeltester: Any
) -> None:
    inbox = window.replies
    assert isinstance(inbox, InboxPage)
    mine = my_post(call, "What should I read on retrieval practice?")
    zed = make_identity(51)
    first = reply_from(call, zed, mine, "Try *Make It Stick*.")
    window.show_page(REPLIES)
    requests, replies = inbox.requests_model, inbox.model
    qtbot.waitUntil(lambda: requests.rowCount() == 1)
    assert requests.item(0).author == zed.public_key and requests.item(0).kind == "reply"
    qtbot.waitUntil(lambda: inbox.tabs.tabText(REQUESTS_TAB) == "Requests (1)")
    assert window.nav.count_of(REPLIES) == 1
    assert replies.rowCount() == 0 and inbox.replies_tab.empty.isVisible()
    qtmodeltester.check(requests)
    # the card offers Accept and Block; the requests view has them as actions too
    item = requests.item(0)
    assert d.actions_of(item, requests=True)[-2:] == ("accept", "block")
    inbox.tabs.setCurrentIndex(REQUESTS_TAB)
    view = inbox.requests_view
    view.setCurrentIndex(requests.index(0))
    texts = [a.text() for a in view.menu_actions(item)]
    assert "Accept author" in texts and "Block author…" in texts
    assert "Accept author" not in [a.text() for a in inbox.view.actions()]
    # Accept, by clicking the card's "Accept" link: the reply moves to Replies & mentions
    rect = view.delegate.action_rect(
        item, view.visualRect(requests.index(0)), view.font(), "accept"
    )
    assert rect is not None
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: replies.rowCount() == 1)
    qtbot.waitUntil(lambda: requests.rowCount() == 0)
    assert replies.item(0).post_key == item.post_key
    qtbot.waitUntil(lambda: inbox.tabs.tabText(REQUESTS_TAB) == "Requests")
    assert "Accepted" in inbox.notice.text()
    # ... and so do their later replies
    reply_from(call, zed, mine, "Also *Why Don't Students Like School?*", after=first)
    qtbot.waitUntil(lambda: replies.rowCount() == 2)
    assert requests.rowCount() == 0
    qtmodeltester.check(replies)


def test_blocking_a_request_hides_it_lists_them_as_blocked_and_unblock_restores(
    window: MainWindow, call: Any, qtbot: Any
) -> None:
    inbox = window.replies
    mine = my_post(call, "Notes on interleaving")
    spam = make_identity(52)
    reply_from(call, spam, mine, "buy cheap pills")
    inbox.start()
    requests = inbox.requests_model
    qtbot.waitUntil(lambda: requests.rowCount() == 1)
    item = requests.item(0)
    inbox.block(item, confirm=False)
    qtbot.waitUntil(lambda: requests.rowCount() == 0)
    qtbot.waitUntil(lambda: "Blocked" in inbox.notice.text())
    assert inbox.model.rowCount() == 0  # nor among replies
    dialog = inbox.show_blocked()
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1)
    assert dialog.model.item(0).key == spam.public_key and dialog.model.item(0).blocked
    assert not dialog.empty.isVisible()
    dialog.select_key(spam.public_key)
    assert dialog.unblock_button.isEnabled()
    qtbot.mouseClick(dialog.unblock_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 0)
    assert dialog.empty.isVisible()
    # unblocked, not accepted: back in Requests
    qtbot.waitUntil(lambda: requests.rowCount() == 1)
    assert requests.item(0).post_key == item.post_key


def test_block_asks_first_and_says_what_it_does(
    bridge: Any, call: Any, qtbot: Any, monkeypatch: Any
) -> None:
    from PySide6.QtWidgets import QMessageBox

    inbox = InboxPage(bridge)
    qtbot.addWidget(inbox)
    mine = my_post(call, "a post")
    reply_from(call, make_identity(53), mine, "hello")
    inbox.start()
    qtbot.waitUntil(lambda: inbox.requests_model.rowCount() == 1)
    asked: list[str] = []

    def answer_no(box: QMessageBox) -> int:
        assert box.textFormat() == Qt.TextFormat.PlainText  # a peer's name is not markup
        asked.append(box.text())
        return int(QMessageBox.StandardButton.No.value)

    monkeypatch.setattr(QMessageBox, "exec", answer_no)
    inbox.block(inbox.requests_model.item(0))
    assert asked and "unfollow" in asked[0] and "storing and passing on" in asked[0]
    assert asked[0] == block_explanation(inbox.requests_model.item(0).author_name)
    # nothing was blocked
    assert call(lambda desk: desk.people.blocked()) == []
    assert inbox.requests_model.rowCount() == 1


def test_a_strangers_mention_lands_in_requests_with_my_name(
    bridge: Any, call: Any, qtbot: Any
) -> None:
    call(lambda desk: desk.account.set_profile("Ann", "", b""))
    own = own_key(call)
    yan = make_identity(54)
    text = f"@{key_to_text(own)} wrote the best summary of desirable difficulties"
    payload = encode_content(Post(text, mentions=(own,)))
    ingest(call, yan, [make_entry(yan, 1, None, payload=payload)])
    requests = PostListModel(bridge, "requests")
    requests.start()
    qtbot.waitUntil(lambda: requests.rowCount() == 1)
    assert requests.item(0).mentions == (own,)
    qtbot.waitUntil(lambda: requests.data(requests.index(0), MentionNamesRole) == {own: "Ann"})
    names = requests.data(requests.index(0), MentionNamesRole)
    assert "**@Ann**" in d.body_markdown(requests.item(0), names)
    assert call(lambda desk: desk.inbox.requests_count()) == 1


def test_requests_count_follows_events(bridge: Any, call: Any, qtbot: Any) -> None:
    inbox = InboxPage(bridge)
    qtbot.addWidget(inbox)
    with qtbot.waitSignal(inbox.requests_counted) as counted:
        inbox.refresh_count()
    assert counted.args == [0] and inbox.tabs.tabText(REQUESTS_TAB) == "Requests"
    mine = my_post(call, "a question")
    for number in (55, 56):
        reply_from(call, make_identity(number), mine, f"answer from {number}")
    qtbot.waitUntil(lambda: inbox.count == 2)  # no refresh asked: the events did it
    assert inbox.tabs.tabText(REQUESTS_TAB) == "Requests (2)"
    assert requests_title(5000) == "Requests (999+)"


# --- following: unread per person, mark read, block ----------------------------------------


def deliver_new_posts(call: Any, identity: Identity, old: int, new: int) -> None:
    """``old`` posts from before I used lndesk (read), then ``new`` fresh ones (unread)."""
    chain = make_chain(identity, old, text="history")
    ingest(call, identity, chain)
    now = call(lambda desk: desk.service.local.get("read_mark_ms"))
    news = make_chain(identity, new, start_seq=old + 1, prev=chain[-1][0].id, claimed_ms=now + 1000)
    ingest(call, identity, news)


def test_following_shows_unread_per_person_and_mark_read_clears_it(
    window: MainWindow, call: Any, qtbot: Any, qtmodeltester: Any
) -> None:
    bo, cy = make_identity(57), make_identity(58)
    call(lambda desk: desk.people.follow(key_to_link(bo.public_key, "Bo")))
    call(lambda desk: desk.people.follow(key_to_link(cy.public_key, "Cy")))
    deliver_new_posts(call, bo, 2, 3)
    deliver_new_posts(call, cy, 2, 1)
    window.show_page(FOLLOWING)
    view = window.following
    assert isinstance(view, FollowingView)
    model = view.model

    def unread() -> dict[bytes, int]:
        return {a.key: a.unread for a in model.items()}

    qtbot.waitUntil(lambda: unread() == {bo.public_key: 3, cy.public_key: 1})
    row = next(r for r in range(model.rowCount()) if model.item(r).key == bo.public_key)
    assert model.data(model.index(row)).startswith("Bo  ·  3 unread")
    assert model.data(model.index(row), UnreadRole) == 3
    assert model.data(model.index(row), Qt.ItemDataRole.FontRole).bold()
    qtmodeltester.check(model)
    view.select_key(bo.public_key)
    assert view.mark_read_button.isEnabled()
    menu = view.author_menu(view.selected())  # type: ignore[arg-type]
    assert [a.text() for a in menu.actions() if a.text()] == [
        "Mark read",
        "Unfollow…",
        "Mute",
        "Block…",
        "Set nickname…",
        "Copy key",
    ]
    qtbot.mouseClick(view.mark_read_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: unread() == {bo.public_key: 0, cy.public_key: 1})
    row = next(r for r in range(model.rowCount()) if model.item(r).key == bo.public_key)
    assert model.data(model.index(row)).split("\n")[0] == "Bo"
    assert not view.mark_read_button.isEnabled()
    # the timeline agrees: Bo's posts are read, Cy's is not
    timeline = window.timeline.model
    qtbot.waitUntil(lambda: timeline.rowCount() == 8)
    qtbot.waitUntil(lambda: {i.author for i in timeline.items() if i.unread} == {cy.public_key})


def test_blocking_from_following_unfollows_and_lists_them(
    bridge: Any, call: Any, qtbot: Any, qtmodeltester: Any
) -> None:
    bo = make_identity(59)
    call(lambda desk: desk.people.follow(key_to_link(bo.public_key, "Bo")))
    view = FollowingView(bridge)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.model.rowCount() == 1)
    view.select_key(bo.public_key)
    view.block_selected(confirm=False)
    qtbot.waitUntil(lambda: view.model.rowCount() == 0)
    blocked = BlockedModel(bridge)
    with qtbot.waitSignal(blocked.refreshed):
        blocked.refresh()
    assert [a.key for a in blocked.items()] == [bo.public_key]
    assert blocked.item(0).name == "Bo"
    qtmodeltester.check(blocked)
    dialog = view.show_blocked()
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1)
    dialog.select_key(bo.public_key)
    dialog.unblock_selected()
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 0)
    qtbot.waitUntil(lambda: blocked.rowCount() == 0)
    assert view.model.rowCount() == 0  # unblocking does not follow again
