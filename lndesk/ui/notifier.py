"""Desktop notifications: what to tell the user when new entries arrive.

When the node stores entries, the notifier asks the desk for the newest few replies to
me and the newest few timeline posts, and notifies what it has not seen yet:

* only news: the first answer (at start) sets the baseline, and anything claimed
  before the app started is not news (a first sync of someone's history would
  otherwise bury the user; those posts are in the timeline, marked unread);
* nothing twice: the keys already seen are remembered;
* never my own posts;
* at most one notification per :data:`MIN_INTERVAL_MS`: during a big sync a burst is
  summarised ("Bo and 3 others posted") instead of flooding the desktop.

Which kinds are notified is read from the settings at each answer, so a change on the
Settings screen applies at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, QSettings, Signal

from lndesk.app.events import EntriesStored
from lndesk.app.items import PostItem
from lndesk.entry_refs import PostKey
from lndesk.ui.bridge import Bridge
from lndesk.ui.settings import NOTIFY_POSTS, NOTIFY_REPLIES, flag
from lndesk.ui.timers import TimerFactory, qt_timer
from lndesk.ui.tray import Tray

logger = logging.getLogger(__name__)

LOOK_AT = 5
"""How many of the newest replies and timeline posts each check reads."""
MIN_INTERVAL_MS = 2000
GRACE_MS = 10 * 60 * 1000
"""Entries claimed up to this long before the app started still count as news (clocks
differ between machines)."""
SEEN_CAP = 2000
SNIPPET = 140

Show = Callable[[str, str], None]


def names_phrase(names: Sequence[str]) -> str:
    """Who did it: "Bo", "Bo and Cy", "Bo and 3 others" (distinct names, newest first)."""
    distinct = list(dict.fromkeys(names))
    if len(distinct) == 1:
        return distinct[0]
    if len(distinct) == 2:
        return f"{distinct[0]} and {distinct[1]}"
    return f"{distinct[0]} and {len(distinct) - 1} others"


def snippet(item: PostItem) -> str:
    """The start of a post's text on one line (a share without comment: what it shares)."""
    text = item.text or (item.quoted.text if item.quoted is not None else "")
    line = " ".join(text.split())
    return line if len(line) <= SNIPPET else line[: SNIPPET - 1].rstrip() + "…"


def summarise(replies: Sequence[PostItem], posts: Sequence[PostItem]) -> tuple[str, str] | None:
    """The (title, text) of one notification for everything pending, newest first."""
    if replies:
        names = [item.shown_name for item in replies]
        if all(item.kind == "share" for item in replies):
            verb = "shared your post" if len(replies) == 1 else "shared your posts"
        else:
            verb = "replied to you"
        title = f"{names_phrase(names)} {verb}"
        text = _body(replies)
        if posts:
            count = len(posts)
            text += f"\nAlso {count} new post{'s' if count > 1 else ''} from people you follow."
        return title, text
    if posts:
        names = [item.shown_name for item in posts]
        if len(posts) == 1:
            verb = {"reply": "replied", "share": "shared a post"}.get(posts[0].kind, "posted")
        else:
            verb = "posted"
        return f"{names_phrase(names)} {verb}", _body(posts)
    return None


def _body(items: Sequence[PostItem]) -> str:
    newest = items[0]
    if len(items) == 1:
        return snippet(newest)
    return f"{newest.shown_name}: {snippet(newest)} (and {len(items) - 1} more)"


class Notifier(QObject):
    """Turns stored-entries events into (coalesced) desktop notifications.

    ``show`` displays one: a :class:`Tray` (its :meth:`~Tray.notify`), any function of
    (title, text), or None to only emit :attr:`notified`. ``clock`` and ``timer`` (a
    :data:`~lndesk.ui.timers.TimerFactory`) measure and wait out the interval.
    """

    notified = Signal(str, str)
    """(title, text) of each notification, as it is shown."""
    checked = Signal()
    """An answer from the desk was handled (the first one sets the baseline)."""

    def __init__(
        self,
        bridge: Bridge,
        settings: QSettings,
        show: Tray | Show | None = None,
        parent: QObject | None = None,
        *,
        min_interval_ms: int = MIN_INTERVAL_MS,
        clock: Callable[[], float] = time.monotonic,
        timer: TimerFactory = qt_timer,
        started_ms: int | None = None,
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.settings = settings
        self._tray = show if isinstance(show, Tray) else None
        self._show = None if isinstance(show, Tray) else show
        self._interval = min_interval_ms / 1000
        self._clock = clock
        start = int(time.time() * 1000) if started_ms is None else started_ms
        self._since_ms = start - GRACE_MS
        self._seen: dict[PostKey, None] = {}
        self._baseline = False
        self._busy = False
        self._again = False
        self._last_shown: float | None = None
        self._replies: list[PostItem] = []
        self._posts: list[PostItem] = []
        self._timer = timer(self, self.flush)
        bridge.node_event.connect(self._on_event)
        self.check()

    @property
    def ready(self) -> bool:
        """The baseline is set: from now on, new entries are notified."""
        return self._baseline

    @property
    def pending(self) -> int:
        return len(self._replies) + len(self._posts)

    def _on_event(self, event: object) -> None:
        if isinstance(event, EntriesStored):
            self.on_entries_stored(event)

    def on_entries_stored(self, _event: EntriesStored) -> None:
        self.check()

    def check(self) -> None:
        """Ask the desk for the newest replies and posts (one request at a time)."""
        if self._busy:
            self._again = True
            return
        self._busy = True
        self.bridge.request(
            lambda desk: (
                desk.reading.page("replies", None, LOOK_AT),
                desk.reading.page("timeline", None, LOOK_AT),
            ),
            done=self._answer,
            failed=self._failed,
        )

    def _failed(self, error: BaseException) -> None:
        self._busy = False
        logger.info("could not check for news to notify: %s", error)
        self._next()

    def _next(self) -> None:
        if self._again:
            self._again = False
            self.check()

    def _answer(self, answer: tuple[list[PostItem], list[PostItem]]) -> None:
        self._busy = False
        replies, timeline = answer
        if not self._baseline:
            self._baseline = True
            for item in (*replies, *timeline):
                self._remember(item.post_key)
        else:
            # Replies first: a reply by someone I follow is also in the timeline.
            new_replies = self._news(replies)
            new_posts = self._news(timeline)
            if flag(self.settings, NOTIFY_REPLIES, True):
                self._replies += new_replies
            if flag(self.settings, NOTIFY_POSTS, False):
                self._posts += new_posts
            self._schedule()
        self.checked.emit()
        self._next()

    def _news(self, items: Sequence[PostItem]) -> list[PostItem]:
        news = []
        for item in items:
            if item.post_key in self._seen:
                continue
            self._remember(item.post_key)
            if not item.mine and item.claimed_ms >= self._since_ms and item.problem is None:
                news.append(item)
        return news

    def _remember(self, post_key: PostKey) -> None:
        self._seen[post_key] = None
        while len(self._seen) > SEEN_CAP:
            del self._seen[next(iter(self._seen))]

    def _schedule(self) -> None:
        if not self.pending or self._timer.isActive():
            return
        if self._last_shown is None:
            self.flush()
            return
        wait = self._interval - (self._clock() - self._last_shown)
        if wait <= 0:
            self.flush()
        else:
            self._timer.start(max(1, round(wait * 1000)))

    def flush(self) -> None:
        """Show one notification for everything pending now."""
        self._timer.stop()

        def newest_first(items: list[PostItem]) -> list[PostItem]:
            return sorted(items, key=lambda i: i.cursor, reverse=True)

        replies, posts = newest_first(self._replies), newest_first(self._posts)
        message = summarise(replies, posts)
        self._replies, self._posts = [], []
        if message is None:
            return
        self._last_shown = self._clock()
        title, text = message
        logger.debug("notifying: %s", title)
        if self._tray is not None:
            # A click opens the newest of what it tells (replies first, as it does), on
            # the screen it is on.
            target = ("replies", replies[0]) if replies else ("timeline", posts[0])
            self._tray.notify(title, text, target)
        elif self._show is not None:
            self._show(title, text)
        self.notified.emit(title, text)
