"""Questions, mentions, edits, reading-list cards and following from a share, in the window
(real desk and store, network off)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from store_helpers import BASE_MS, make_entry, make_identity
from ui_helpers import ingest, post_item, signed_chain

from lndesk.app.items import ListEntry, PostItem
from lndesk.content import Edit, Reply, Share, encode_content
from lndesk.entry_refs import PostKey, Ref
from lndesk.keytext import key_to_link, key_to_text
from lndesk.ui import theme
from lndesk.ui.main_window import MainWindow
from lndesk.ui.models.posts import (
    EditedRole,
    FollowOfferRole,
    MentionNamesRole,
    PostListModel,
    QuestionRole,
)
from lndesk.ui.views import post_delegate as d
from lndesk.ui.views.compose import ComposeBox
from lndesk.ui.views.edit import EditDialog
from lndesk.ui.views.posts import PostListView


def action(view: PostListView, text: str) -> Any:
    return next(a for a in view.actions() if a.text() == text)


def select(view: PostListView, key: PostKey) -> PostItem:
    row = view.posts.row_of(key)
    assert row is not None
    view.setCurrentIndex(view.posts.index(row))
    return view.posts.item(row)


def has_colour(view: PostListView, row: int, colour: QColor) -> bool:
    """Whether ``colour`` is painted in the first line of ``row``'s card."""
    image = view.viewport().grab().toImage()
    rect = view.visualRect(view.posts.index(row))
    top = rect.top() + d.MARGIN
    for y in range(max(0, top), min(image.height(), top + 24)):
        for x in range(rect.left(), min(image.width(), rect.right())):
            if image.pixelColor(x, y) == colour:
                return True
    return False


# --- questions -------------------------------------------------------------------------


def test_asking_a_question_publishes_one_and_the_row_shows_the_badge(
    window: MainWindow, qtbot: Any, qtmodeltester: Any
) -> None:
    box = window.timeline.compose
    assert box is not None
    assert box.question.isVisible() and not box.question.isChecked()
    box.text.setPlainText("Which book explains Bayesian statistics best?")
    box.question.setChecked(True)
    qtbot.mouseClick(box.button, Qt.MouseButton.LeftButton)
    model = window.timeline.model
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    item = model.item(0)
    assert item.question and model.data(model.index(0), QuestionRole) is True
    assert not box.question.isChecked()  # the next post is not a question by default
    view = window.timeline.view
    assert view.delegate.badges(item) == ["Question", "open · 0 answers"]
    # what peers reported at an earlier fetch (kept on the device) shows on the card
    reported = replace(item, replies_reported=2)
    assert view.delegate.badges(reported)[-1] == "2 more not fetched yet"
    qtbot.waitUntil(lambda: has_colour(view, 0, theme.named_colour("badge")))
    # a plain post has no badge
    box.text.setPlainText("Just a note")
    qtbot.mouseClick(box.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: model.rowCount() == 2)
    assert not model.item(0).question and view.delegate.badges(model.item(0)) == []
    assert "question" in model.data(model.index(1), Qt.ItemDataRole.AccessibleTextRole)
    qtmodeltester.check(model)


def test_the_new_post_dialog_asks_questions_too_and_replies_cannot(
    window: MainWindow, call: Any, qtbot: Any
) -> None:
    from lndesk.ui.views.compose import ComposeDialog

    window.compose_action.trigger()
    dialog = next(w for w in window._dialogs if isinstance(w, ComposeDialog))
    assert dialog.box.question.isEnabled()
    assert "@lnd1" in dialog.box.hint.text()
    dialog.box.text.setPlainText("Is spaced repetition worth it for languages?")
    dialog.box.question.setChecked(True)
    with qtbot.waitSignal(dialog.box.published):
        dialog.box.submit()
    model = window.timeline.model
    qtbot.waitUntil(lambda: model.rowCount() == 1 and model.item(0).question)
    window.reply(model.item(0))
    reply = next(w for w in window._dialogs if isinstance(w, ComposeDialog) and w.isVisible())
    assert not reply.box.question.isEnabled() and reply.box.question.isHidden()


def test_a_questions_card_and_its_thread_count_nested_replies_alike(
    window: MainWindow, call: Any, qtbot: Any
) -> None:
    """A peer's ``total`` counts every reply in the thread (docs/protocol.md 32.1): the
    card compares it with the same count as the thread's heading, nested replies in."""
    from lndesk.ui.views.thread import ThreadDialog

    call(lambda desk: desk.posting.post("Which book on fractions?", question=True))
    model = window.timeline.model
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    question = model.item(0)
    # what a peer reported at an earlier fetch, kept on the device
    call(lambda desk: desk.service.local.keep_thread_total(question.id, 3, BASE_MS))
    first = call(lambda desk: desk.posting.reply(question.post_key, "The blue one."))
    call(lambda desk: desk.posting.reply((question.author, first), "Which blue one?"))

    def card() -> PostItem:
        return model.item(model.row_of(question.post_key) or 0)

    qtbot.waitUntil(lambda: model.rowCount() == 3 and card().replies_reported == 3)
    assert card().reply_count == 1  # one direct reply; the other answers it
    badges = window.timeline.view.delegate.badges(card())
    assert badges[1:] == ["open · 2 answers", "1 more not fetched yet"]
    thread = window.open_thread(question)
    assert isinstance(thread, ThreadDialog)
    qtbot.waitUntil(lambda: thread.model.rowCount() == 3 and thread.counts is not None)
    heading = thread.heading.text().splitlines()[-1]
    assert heading == "2 answers here · 1 more not fetched yet; peers not reachable"


def test_the_asker_marks_an_answer_helpful_in_the_thread_and_it_comes_first(
    window: MainWindow, call: Any, qtbot: Any
) -> None:
    from lndesk.ui.views.thread import ThreadDialog

    call(lambda desk: desk.posting.post("Which book on fractions?", question=True))
    model = window.timeline.model
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    question = model.item(0)
    bo = make_identity(31)
    root = question.thread_root
    answers = [Reply("The blue one.", root, root), Reply("Paper strips.", root, root)]
    ingest(call, bo, signed_chain(bo, answers, [BASE_MS + 1000, BASE_MS + 2000]), follow=True)
    thread = window.open_thread(question)
    assert isinstance(thread, ThreadDialog)
    qtbot.waitUntil(lambda: thread.model.rowCount() == 3)
    view = thread.view
    first, second = thread.model.items()[1:]
    assert (first.text, second.text) == ("The blue one.", "Paper strips.")
    assert first.markable and d.action_label(first, "helpful") == "Mark helpful"
    assert "helpful" not in d.actions_of(question)  # my own question: nothing to mark
    rect = view.delegate.action_rect(
        second, view.visualRect(view.posts.index(2)), view.font(), "helpful"
    )
    assert rect is not None
    with qtbot.waitSignal(view.helpful_requested):
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    # The marked answer moves right under the question, and says so.
    qtbot.waitUntil(lambda: thread.model.items()[1].helpful)
    marked = thread.model.items()[1]
    assert marked.text == "Paper strips." and view.delegate.badges(marked) == ["Helpful"]
    assert d.action_label(marked, "helpful") == "Marked helpful"
    qtbot.waitUntil(lambda: thread.model.items()[0].answered)
    assert view.delegate.badges(thread.model.items()[0]) == ["Question", "answered · 2 answers"]
    qtbot.waitUntil(lambda: model.item(model.row_of(question.post_key) or 0).answered)
    # Taking the mark back puts the answers in their order again.
    row = thread.model.row_of(marked.post_key)
    assert row is not None
    view.helpful_requested.emit(thread.model.item(row))
    qtbot.waitUntil(lambda: not any(i.helpful for i in thread.model.items()))
    assert [i.text for i in thread.model.items()[1:]] == ["The blue one.", "Paper strips."]
    qtbot.waitUntil(lambda: not thread.model.items()[0].answered)


# --- mentions ------------------------------------------------------------------------------


def test_a_draft_lists_whom_it_mentions_and_the_post_shows_names(
    window: MainWindow, call: Any, qtbot: Any
) -> None:
    bo = make_identity(41).public_key
    call(lambda desk: desk.people.follow(key_to_link(bo, "Bo")))
    box = window.timeline.compose
    assert box is not None
    box.text.setPlainText(f"Thanks @{key_to_text(bo)} for the pointer")
    qtbot.waitUntil(lambda: box.mentioned_names() == ["Bo"])
    assert box.mentions.isVisible() and "Bo" in box.mentions.text()
    qtbot.mouseClick(box.button, Qt.MouseButton.LeftButton)
    model = window.timeline.model
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    assert model.item(0).mentions == (bo,)
    qtbot.waitUntil(lambda: model.data(model.index(0), MentionNamesRole) == {bo: "Bo"})
    markdown = d.body_markdown(model.item(0), model.data(model.index(0), MentionNamesRole))
    assert "**@Bo**" in markdown and key_to_text(bo) not in markdown
    # the box forgets the mentions once the draft no longer names anyone
    box.text.setPlainText("nobody here")
    qtbot.waitUntil(lambda: not box.mentions.isVisible())


def test_a_peers_name_is_escaped_where_it_becomes_markup() -> None:
    bo = make_identity(42).public_key
    text = f"hi @{key_to_text(bo)}!"
    shown = d.with_mentions(text, (bo,), {bo: "<img src=x> *Bo* [a](file:///etc)"})
    from PySide6.QtGui import QTextDocument

    doc = QTextDocument()
    doc.setMarkdown(shown)
    assert "<img src=x> *Bo* [a](file:///etc)" in doc.toPlainText()
    assert "<img" not in doc.toHtml().split("<body", 1)[1]  # no tag of the peer's made it


# --- edits -------------------------------------------------------------------------------


def test_editing_my_post_shows_the_new_text_marked_edited(
    window: MainWindow, call: Any, qtbot: Any
) -> None:
    call(lambda desk: desk.posting.post("Spaced repetition works for vocab", ["memory"]))
    model = window.timeline.model
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    view = window.timeline.view
    item = select(view, model.item(0).post_key)
    assert action(view, "Edit…") in view.menu_actions(item)
    assert action(view, "Edit…").shortcut().toString() == "E"
    action(view, "Edit…").trigger()
    dialog = next(w for w in window._dialogs if isinstance(w, EditDialog))
    assert dialog.box.text.toPlainText() == "Spaced repetition works for vocab"
    assert dialog.box.tags.text() == "memory" and dialog.box.question.isEnabled()
    dialog.box.submit()  # unchanged: refused inline
    assert dialog.box.error.isVisible() and "Nothing changed" in dialog.box.error.text()
    dialog.box.text.setPlainText("Spaced repetition works for vocabulary *and* grammar")
    dialog.box.question.setChecked(True)
    with qtbot.waitSignal(dialog.box.published):
        dialog.box.submit()
    qtbot.waitUntil(lambda: model.item(0).edited)
    edited = model.item(0)
    assert model.rowCount() == 1 and edited.post_key == item.post_key  # the same row, not a new one
    assert edited.text == "Spaced repetition works for vocabulary *and* grammar"
    assert edited.question and model.data(model.index(0), EditedRole) is True
    assert "(edited)" in d.meta_text(edited)
    # My posts shows the new version too
    window.mine.model.start()
    qtbot.waitUntil(lambda: window.mine.model.rowCount() == 1)
    qtbot.waitUntil(lambda: window.mine.model.item(0).edited)
    assert window.mine.model.item(0).text.startswith("Spaced repetition works for vocabulary")


def test_a_list_already_showing_my_post_picks_up_the_edit(
    bridge: Any, call: Any, qtbot: Any
) -> None:
    seq = call(lambda desk: desk.posting.post("first version"))
    model = PostListModel(bridge, "mine")
    model.start()
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    own = model.item(0).author
    dialog = EditDialog(bridge, model.item(0))
    qtbot.addWidget(dialog)
    dialog.box.text.setPlainText("second version")
    with qtbot.waitSignal(dialog.box.published):
        dialog.box.submit()
    qtbot.waitUntil(lambda: model.item(0).text == "second version")
    assert model.item(0).edited and model.item(0).post_key == (own, seq)


def test_a_peers_edit_reaches_the_row_already_shown_however_it_arrives(
    bridge: Any, call: Any, qtbot: Any
) -> None:
    # The list does not read an author's rows again on every small arrival: the desk's
    # refresh reloads exactly the rows whose post was edited since they were shown, also
    # when the edit comes in a big batch (a sync) among other entries.
    bo = make_identity(49)
    first = make_entry(bo, 1, None, text="Bo's draft thought")
    call(lambda desk: desk.people.follow(key_to_text(bo.public_key)))
    ingest(call, bo, [first])
    model = PostListModel(bridge, "timeline")
    model.start()
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    shown = model.item(0)
    edit = encode_content(Edit(Ref(bo.public_key, 1, first[0].id), "Bo's considered thought"))
    links = [make_entry(bo, 2, first[0].id, type="edit", payload=edit)]
    for seq in range(3, 3 + 40):  # more than a live burst: this arrives as a sync would
        links.append(make_entry(bo, seq, links[-1][0].id, text=f"later {seq}"))
    ingest(call, bo, links)
    qtbot.waitUntil(lambda: model.row_of(shown.post_key) is not None and model.rowCount() == 41)
    qtbot.waitUntil(lambda: model.item(model.row_of(shown.post_key) or 0).edited)
    edited = model.item(model.row_of(shown.post_key) or 0)
    assert edited.text == "Bo's considered thought" and edited.version == 2


def test_others_posts_offer_no_edit(window: MainWindow, call: Any, qtbot: Any) -> None:
    bo = make_identity(43)
    call(lambda desk: desk.people.follow(key_to_text(bo.public_key)))
    ingest(call, bo, [make_entry(bo, 1, None, text="Bo's own thoughts")])
    model = window.timeline.model
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    view = window.timeline.view
    item = select(view, (bo.public_key, 1))
    assert action(view, "Edit…") not in view.menu_actions(item)
    assert action(view, "Mute author") in view.menu_actions(item)
    qtbot.keyClick(view, Qt.Key.Key_E)  # the shortcut does nothing on someone else's post
    action(view, "Edit…").trigger()
    assert not any(isinstance(w, EditDialog) for w in window._dialogs)
    assert window.edit_post(item) is None
    with pytest.raises(ValueError, match="only my own"):
        EditDialog(window.bridge, item)


# --- following from a share ---------------------------------------------------------------


def test_a_share_of_someone_i_do_not_follow_offers_to_follow_them(
    window: MainWindow, call: Any, qtbot: Any, qtmodeltester: Any
) -> None:
    bo, cy = make_identity(44), make_identity(45)
    cy_entry = make_entry(cy, 1, None, text="Cy's first note on retrieval practice")
    ingest(call, cy, [cy_entry])  # stored (a peer had it), not followed
    cy_post = cy_entry[0]
    share = encode_content(Share(Ref(cy.public_key, 1, cy_post.id), "worth reading"))
    call(lambda desk: desk.people.follow(key_to_text(bo.public_key)))
    ingest(call, bo, [make_entry(bo, 1, None, type="share", payload=share)])
    model = window.timeline.model
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    item = model.item(0)
    assert item.kind == "share" and item.quoted is not None and not item.quoted.followed
    offer = model.data(model.index(0), FollowOfferRole)
    assert offer is not None and offer[0] == cy.public_key
    view = window.timeline.view
    assert "follow" in d.actions_of(item)
    assert d.action_label(item, "follow") == f"Follow {item.quoted.author_name}"
    select(view, item.post_key)
    assert action(view, "Follow the shared post's author") in view.menu_actions(item)
    qtmodeltester.check(model)
    # one click on "Follow Cy" in the card's action row
    rect = view.delegate.action_rect(item, view.visualRect(model.index(0)), view.font(), "follow")
    assert rect is not None
    with qtbot.waitSignal(model.followed) as followed:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert followed.args[0].key == cy.public_key and followed.args[0].source == "share"
    qtbot.waitUntil(lambda: model.row_of(item.post_key) is not None)
    shared = model.item(model.row_of(item.post_key) or 0)
    assert shared.quoted is not None and shared.quoted.followed
    assert model.data(model.index(model.row_of(item.post_key) or 0), FollowOfferRole) is None
    assert "follow" not in d.actions_of(shared)
    following = call(lambda desk: [a.key for a in desk.people.following()])
    assert cy.public_key in following
    # Cy's own post now comes into the timeline, and the share stays followed after refreshes
    qtbot.waitUntil(lambda: model.rowCount() == 2)
    row = model.row_of(item.post_key)
    assert row is not None and model.item(row).quoted is not None
    assert model.item(row).quoted.followed  # type: ignore[union-attr]
    assert "Now following" in window.statusBar().currentMessage()


def test_unfollowing_brings_the_offer_back(bridge: Any, call: Any, qtbot: Any) -> None:
    bo, cy = make_identity(46), make_identity(47)
    cy_entry = make_entry(cy, 1, None, text="Cy writes")
    ingest(call, cy, [cy_entry])
    share = encode_content(Share(Ref(cy.public_key, 1, cy_entry[0].id)))
    call(lambda desk: desk.people.follow(key_to_text(bo.public_key)))
    call(lambda desk: desk.people.follow(key_to_text(cy.public_key)))
    ingest(call, bo, [make_entry(bo, 1, None, type="share", payload=share)])
    model = PostListModel(bridge, "timeline")
    model.start()
    qtbot.waitUntil(lambda: model.rowCount() == 2)
    key = (bo.public_key, 1)
    assert model.data(model.index(model.row_of(key) or 0), FollowOfferRole) is None
    call(lambda desk: desk.people.unfollow(cy.public_key))
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    qtbot.waitUntil(lambda: model.data(model.index(0), FollowOfferRole) is not None)


# --- reading lists ----------------------------------------------------------------------


def test_a_reading_list_is_drawn_as_a_card_with_its_first_items() -> None:
    bo = make_identity(48).public_key
    entries = tuple(
        ListEntry(f"Post number {n} *bold*", ref=(bo, n, b"\x01" * 32), author_name="Bo")
        for n in range(1, 5)
    )
    link = ListEntry("https://example.org/a", note="<b>read</b> this", link="https://example.org/a")
    item = post_item(
        id=b"\x02" * 32,
        author=bo,
        seq=9,
        kind="readinglist",
        text="Bayes for <beginners>",
        claimed_ms=1_700_000_000_000,
        cursor=(1_700_000_000_000, 1, 9),
        list_items=(link, *entries),
    )
    markdown = d.body_markdown(item)
    from PySide6.QtGui import QTextDocument

    doc = QTextDocument()
    doc.setMarkdown(markdown)
    text = doc.toPlainText()
    assert "Reading list: Bayes for <beginners>" in text
    assert "5 items" in text
    assert "https://example.org/a" in text and "<b>read</b> this" in text
    assert "Post number 1 *bold*" in text and "Post number 2" in text
    assert "Post number 3" not in text  # only the first LIST_PREVIEW items
    assert "and 2 more" in text
    assert "reading list" in d.meta_text(item)


# --- the compose box on its own -----------------------------------------------------------


def test_the_compose_box_refuses_too_many_mentions_before_publishing(
    bridge: Any, qtbot: Any
) -> None:
    box = ComposeBox(bridge)
    qtbot.addWidget(box)
    keys = [make_identity(60 + n).public_key for n in range(17)]
    box.text.setPlainText(" ".join(f"@{key_to_text(k)}" for k in keys))
    box.update_mentions()
    assert len(box.mentioned) == 17
    assert "at most 16" in box.mentions.text()


def test_the_action_links_of_a_card(bridge: Any, qtbot: Any) -> None:
    view = PostListView(PostListModel(bridge, "timeline"))
    qtbot.addWidget(view)
    item = post_item(kind="share", quoted=None)
    # a share whose post is not stored offers nothing to follow (nobody to name)
    assert "follow" not in d.actions_of(item)
    rect = view.delegate.action_rect(item, view.rect(), view.font(), "reply")
    assert rect is not None
    assert view.delegate.action_at(item, view.rect(), view.font(), rect.center()) == "reply"
    assert view.delegate.action_at(item, view.rect(), view.font(), QPoint(-50, -50)) is None
    # a post in the Requests list offers Accept and Block
    assert d.actions_of(item, requests=True)[-2:] == ("accept", "block")


def test_add_to_reading_list_from_a_post_and_the_list_shows_as_a_card(
    window: MainWindow, call: Any, qtbot: Any
) -> None:
    from lndesk.ui.views.add_to_list import AddToListMenu

    call(lambda desk: desk.posting.post("Retrieval practice beats rereading"))
    model = window.timeline.model
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    view = window.timeline.view
    item = select(view, model.item(0).post_key)
    add = action(view, "Add to reading list…")
    assert add in view.menu_actions(item) and add.shortcut().toString() == "L"
    add.trigger()
    menu = window.findChild(AddToListMenu)
    assert isinstance(menu, AddToListMenu)
    qtbot.waitUntil(lambda: any(a.text() == "New list…" for a in menu.actions()))
    with qtbot.waitSignal(menu.added):
        menu.new_list("Week 1: memory")
    lists = call(lambda desk: desk.lists.reading_lists(mine=True))
    assert [entry.ref[:2] for entry in lists[0].list_items] == [item.post_key]  # type: ignore[index]
    # the list itself comes into the timeline, drawn as a card
    qtbot.waitUntil(lambda: any(i.kind == "readinglist" for i in model.items()))
    card = next(i for i in model.items() if i.kind == "readinglist")
    assert card.text == "Week 1: memory" and len(card.list_items) == 1
    markdown = d.body_markdown(card)
    assert "Reading list: Week 1: memory" in markdown and "1 item*" in markdown
    assert "Retrieval practice beats rereading" in markdown
