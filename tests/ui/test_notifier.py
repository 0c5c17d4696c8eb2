"""Notifications: what is news, what is never notified, and how bursts are summarised.

Another author's entries are signed here and ingested into the real store on the node
thread (as a sync would), then the notifier is told that entries were stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings

from lndesk.app.events import EntriesStored
from lndesk.app.items import PostItem
from lndesk.content import Post, Profile, Reply, Share, encode_content
from lndesk.entry import Entry, create_entry
from lndesk.entry_refs import ref_of
from lndesk.identity import Identity
from lndesk.ui.notifier import Notifier, names_phrase, snippet, summarise
from lndesk.ui.settings import NOTIFY_POSTS, NOTIFY_REPLIES, ui_settings
from lndesk.ui.timers import ManualTime

Call = Callable[..., Any]
OLD_MS = 1_700_000_000_000  # November 2023: long before any test runs


def now_ms() -> int:
    return int(time.time() * 1000)


class Author:
    """Someone else: signs entries of their own log, which the test feeds to the store."""

    def __init__(self, name: str) -> None:
        self.identity = Identity.generate()
        self.key = self.identity.public_key
        self.seq = 0
        self.prev: bytes | None = None
        self.pending: list[tuple[bytes, bytes | None]] = []
        self.publish(Profile(name))

    def publish(self, content: Any, claimed_ms: int | None = None) -> Entry:
        payload = encode_content(content)
        self.seq += 1
        entry = create_entry(
            self.identity,
            seq=self.seq,
            prev=self.prev,
            claimed_ms=now_ms() if claimed_ms is None else claimed_ms,
            type=content.type,
            payload=payload,
        )
        self.prev = entry.id
        self.pending.append((entry.raw, payload))
        return entry

    def reply(self, text: str, to: Entry) -> Entry:
        """Reply to ``to`` (a post that starts a thread)."""
        return self.publish(Reply(text, ref_of(to), ref_of(to)))

    def deliver(self, call: Call) -> EntriesStored:
        """Store what was signed since the last delivery, as a sync would."""
        items, self.pending = self.pending, []
        call(lambda desk: desk.service.store.ingest(self.key, items))
        return EntriesStored(self.key, len(items), self.seq, self.seq, "sync", None)


class Shown:
    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    def __call__(self, title: str, text: str) -> None:
        self.messages.append((title, text))


@pytest.fixture
def settings(data_dir: Path) -> QSettings:
    return ui_settings(data_dir)


@pytest.fixture
def shown() -> Shown:
    return Shown()


@pytest.fixture
def make_notifier(
    bridge: Any, settings: QSettings, shown: Shown, qtbot: Any
) -> Callable[..., Notifier]:
    def make(**options: Any) -> Notifier:
        notifier = Notifier(bridge, settings, shown, **options)
        qtbot.waitUntil(lambda: notifier.ready)
        return notifier

    return make


def tell(notifier: Notifier, event: EntriesStored, qtbot: Any) -> None:
    """Report stored entries and wait until the notifier has looked at them."""
    with qtbot.waitSignal(notifier.checked):
        notifier.on_entries_stored(event)


def notify(notifier: Notifier, event: EntriesStored, qtbot: Any) -> list[Any]:
    """Report stored entries and wait for the notification they make: (title, text)."""
    with qtbot.waitSignal(notifier.notified) as blocker:
        notifier.on_entries_stored(event)
    return list(blocker.args)


def follow(call: Call, author: Author) -> None:
    call(lambda desk: desk.people.follow(author.identity.key_text))


def my_post(call: Call, text: str) -> Entry:
    seq = call(lambda desk: desk.posting.post(text))
    stored = call(lambda desk: desk.reading.find((desk.own, seq)))
    entry: Entry = stored.entry
    return entry


# --- against the real desk ----------------------------------------------------------------


def test_a_reply_to_me_is_notified_once(
    make_notifier: Callable[..., Notifier], call: Call, shown: Shown, qtbot: Any
) -> None:
    mine = my_post(call, "What should I read on CRDTs?")
    notifier = make_notifier()
    bo = Author("Bo")
    follow(call, bo)  # within two hops: his replies are not requests
    bo.reply("Start with  the Shapiro paper,\nthen Automerge.", mine)
    notified = notify(notifier, bo.deliver(call), qtbot)
    assert notified == ["Bo replied to you", "Start with the Shapiro paper, then Automerge."]
    assert shown.messages == [tuple(notified)]
    # Told again (another event for the same entries): nothing new, nothing shown.
    tell(notifier, EntriesStored(bo.key, 0, bo.seq, bo.seq, "gossip", None), qtbot)
    assert len(shown.messages) == 1


def test_notifications_go_to_the_tray(
    bridge: Any, settings: QSettings, call: Call, qtbot: Any
) -> None:
    from lndesk.ui.tray import Tray

    tray = Tray()
    mine = my_post(call, "hello")
    notifier = Notifier(bridge, settings, tray)
    qtbot.waitUntil(lambda: notifier.ready)
    bo = Author("Bo")
    follow(call, bo)
    bo.publish(Share(ref_of(mine)))
    notify(notifier, bo.deliver(call), qtbot)
    assert tray.last_notification == ("Bo shared your post", "hello")
    # what a click on it opens: the share, on Mentions & replies
    where, item = tray.last_target  # type: ignore[misc]
    assert where == "replies" and item.kind == "share" and item.author == bo.key


def test_a_clicked_notification_opens_its_post_on_its_screen(
    window: Any, call: Call, qtbot: Any
) -> None:
    from lndesk.ui.main_window import REPLIES, SETTINGS, TIMELINE
    from lndesk.ui.views.thread import ThreadDialog

    my_post(call, "a post to open")
    item = call(lambda desk: desk.reading.page("mine", None, 1))[0]
    for where, page in (("replies", REPLIES), ("timeline", TIMELINE)):
        window.show_page(SETTINGS)
        window.showMinimized()
        window.tray.notification_clicked.emit((where, item))
        assert window.stack.currentIndex() == page and not window.isMinimized()
        dialogs = [d for d in window.findChildren(ThreadDialog) if d.isVisible()]
        assert [d.reply_to.post_key for d in dialogs] == [item.post_key]
        dialogs[0].close()
        dialogs[0].deleteLater()
    # a click on a notification about nothing in particular only brings the window up
    window.tray.notification_clicked.emit(None)
    assert not [d for d in window.findChildren(ThreadDialog) if d.isVisible()]


def test_what_was_there_at_start_is_not_news(
    make_notifier: Callable[..., Notifier],
    settings: QSettings,
    call: Call,
    shown: Shown,
    qtbot: Any,
) -> None:
    settings.setValue(NOTIFY_POSTS, True)
    mine = my_post(call, "hello")
    bo = Author("Bo")
    follow(call, bo)
    bo.publish(Post("posted before the app started"))
    bo.reply("replied before the app started", mine)
    event = bo.deliver(call)
    notifier = make_notifier()  # the first answer is the baseline
    tell(notifier, event, qtbot)
    assert shown.messages == []


def test_late_arriving_history_is_not_news(
    make_notifier: Callable[..., Notifier],
    settings: QSettings,
    call: Call,
    shown: Shown,
    qtbot: Any,
) -> None:
    settings.setValue(NOTIFY_POSTS, True)
    bo = Author("Bo")
    follow(call, bo)
    notifier = make_notifier()
    for number in range(3):
        bo.publish(Post(f"an old post {number}"), claimed_ms=OLD_MS + number)
    tell(notifier, bo.deliver(call), qtbot)
    assert shown.messages == []


def test_posts_are_notified_only_when_asked(
    make_notifier: Callable[..., Notifier],
    settings: QSettings,
    call: Call,
    shown: Shown,
    qtbot: Any,
) -> None:
    bo = Author("Bo")
    follow(call, bo)
    notifier = make_notifier()
    bo.publish(Post("not notified: posts are off by default"))
    tell(notifier, bo.deliver(call), qtbot)
    assert shown.messages == []

    settings.setValue(NOTIFY_POSTS, True)  # read at each answer: applies at once
    bo.publish(Post("Reading list for week 3"))
    assert notify(notifier, bo.deliver(call), qtbot) == ["Bo posted", "Reading list for week 3"]


def test_requests_are_not_notified(
    make_notifier: Callable[..., Notifier], call: Call, shown: Shown, qtbot: Any
) -> None:
    """A stranger's reply waits in Requests: notifying it would let anyone ping me."""
    mine = my_post(call, "hello")
    notifier = make_notifier()
    stranger = Author("Zed")
    stranger.reply("buy my course", mine)
    tell(notifier, stranger.deliver(call), qtbot)
    assert shown.messages == []
    assert call(lambda desk: desk.inbox.requests_count()) == 1


def test_replies_can_be_turned_off(
    make_notifier: Callable[..., Notifier],
    settings: QSettings,
    call: Call,
    shown: Shown,
    qtbot: Any,
) -> None:
    settings.setValue(NOTIFY_REPLIES, False)
    mine = my_post(call, "hello")
    notifier = make_notifier()
    bo = Author("Bo")
    bo.reply("hi", mine)
    tell(notifier, bo.deliver(call), qtbot)
    assert shown.messages == []


def test_my_own_posts_are_never_notified(
    make_notifier: Callable[..., Notifier],
    settings: QSettings,
    call: Call,
    shown: Shown,
    qtbot: Any,
) -> None:
    settings.setValue(NOTIFY_POSTS, True)
    notifier = make_notifier()
    my_post(call, "a note to myself")
    tell(notifier, EntriesStored(bytes(32), 1, 1, 1, "sync", None), qtbot)
    assert shown.messages == []


def test_a_burst_is_summarised(
    make_notifier: Callable[..., Notifier],
    settings: QSettings,
    call: Call,
    shown: Shown,
    qtbot: Any,
) -> None:
    settings.setValue(NOTIFY_POSTS, True)
    bo, cy, di = Author("Bo"), Author("Cy"), Author("Di")
    for author in (bo, cy, di):
        follow(call, author)
    # Time moves only when the test says: whatever comes after the first notification is
    # within the interval and waits for the timer, however slow the machine is.
    manual = ManualTime()
    notifier = make_notifier(min_interval_ms=2000, clock=manual.clock, timer=manual.timer)
    bo.publish(Post("first"))
    notify(notifier, bo.deliver(call), qtbot)
    assert shown.messages == [("Bo posted", "first")]

    start = now_ms()
    bo.publish(Post("second"), claimed_ms=start)
    cy.publish(Post("third"), claimed_ms=start + 1)
    di.publish(Post("fourth, the newest"), claimed_ms=start + 2)
    tell(notifier, bo.deliver(call), qtbot)
    tell(notifier, cy.deliver(call), qtbot)
    tell(notifier, di.deliver(call), qtbot)
    assert len(shown.messages) == 1  # held back: too soon after the first
    assert notifier.pending == 3
    manual.advance(1.999)
    assert len(shown.messages) == 1  # still within the interval
    manual.advance(0.001)
    assert len(shown.messages) == 2
    assert shown.messages[1] == ("Di and 2 others posted", "Di: fourth, the newest (and 2 more)")
    assert notifier.pending == 0
    # Once the interval has passed, the next post is shown at once.
    manual.advance(2.0)
    cy.publish(Post("fifth"))
    assert notify(notifier, cy.deliver(call), qtbot) == ["Cy posted", "fifth"]


# --- the wording ----------------------------------------------------------------------------


def item(name: str, text: str, kind: str = "post", claimed_ms: int = 0, **extra: Any) -> PostItem:
    key = name.encode().ljust(32, b".")
    return PostItem(
        id=bytes(32),
        author=key,
        seq=1,
        author_name=name,
        short_key=name,
        kind=kind,
        text=text,
        tags=(),
        links=(),
        claimed_ms=claimed_ms,
        cursor=(claimed_ms, 1, 1),
        mine=False,
        **extra,
    )


def test_names_phrase() -> None:
    assert names_phrase(["Bo"]) == "Bo"
    assert names_phrase(["Bo", "Bo"]) == "Bo"
    assert names_phrase(["Bo", "Cy", "Bo"]) == "Bo and Cy"
    assert names_phrase(["Bo", "Cy", "Di", "Ed"]) == "Bo and 3 others"


def test_summaries() -> None:
    assert summarise([], []) is None
    assert summarise([], [item("Bo", "hi", kind="share")]) == ("Bo shared a post", "hi")
    assert summarise([item("Bo", "hi", kind="share")], []) == ("Bo shared your post", "hi")
    title, text = summarise([item("Bo", "yes"), item("Cy", "no")], [item("Di", "x")]) or ("", "")
    assert title == "Bo and Cy replied to you"
    assert text == "Bo: yes (and 1 more)\nAlso 1 new post from people you follow."


def test_snippet_is_one_short_line() -> None:
    assert snippet(item("Bo", "line one\n\nline   two")) == "line one line two"
    long = snippet(item("Bo", "word " * 100))
    assert len(long) <= 140 and long.endswith("…")
    assert snippet(item("Bo", "")) == ""
