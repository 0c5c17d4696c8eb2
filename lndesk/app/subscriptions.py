"""Following web feeds: fetch, parse, store and poll them, in the node's trio runtime.

One :class:`Subscriptions` per data directory wires :mod:`lndesk.feeds` (HTTP, parsing,
the polling policy) to :class:`~lndesk.store.feedstore.FeedStore`. One feed's failure
(its server, its document, a bug its document triggers) is recorded on that feed and
never reaches the node. A feed already followed that suddenly brings hundreds of new
items, or that moves permanently to another site, is paused with a notice saying why.
Clocks and randomness are passed in: tests drive them.
"""

from __future__ import annotations

import logging
import random as _random
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import trio

from lndesk.errors import FeedError, UsageError
from lndesk.feeds.discover import feed_links, looks_like_html
from lndesk.feeds.fetch import FeedMovedError, FeedRefusedError, Fetched, Validators, fetch
from lndesk.feeds.fetch import new_client as new_http_client
from lndesk.feeds.policy import FIRST_FETCH_ITEMS, FIRST_UNREAD_ITEMS, FLOOD_ITEMS, next_poll_ms
from lndesk.feeds.worker import ParseWorker
from lndesk.store.feedstore import FeedStore, Subscription
from lndesk.webfeeds import ParsedFeed, cut, web_address

log = logging.getLogger(__name__)

MAX_PARALLEL = 8
"""Feeds fetched at once by one refresh."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one refresh of one feed did."""

    sub: int
    status: str
    """"new" (a document), "unchanged" (304), "failed", "paused"."""
    new: int = 0
    updated: int = 0
    bytes_read: int = 0
    message: str = ""


def _wall_ms() -> int:
    import time  # noqa: PLC0415 - the default clock only

    return int(time.time() * 1000)


class Subscriptions:
    """The web feeds one data directory follows. Use from the trio thread that owns it."""

    def __init__(
        self,
        store: FeedStore,
        *,
        clock_ms: Callable[[], int] = _wall_ms,
        random: Callable[[], float] = _random.random,
        client: httpx.AsyncClient | None = None,
        on_change: Callable[[], None] = lambda: None,
        parser: ParseWorker | None = None,
    ) -> None:
        self.store = store
        self.parser = parser or ParseWorker()
        """Parses every fetched document in a child process, under a time limit."""
        self.clock_ms = clock_ms
        self.random = random
        self._client = client
        self.on_change = on_change
        self.on_polled: Callable[[list[Outcome]], None] = lambda _outcomes: None
        """Told what each round of :meth:`run` did (``lndesk serve`` prints it)."""
        self._wake = trio.Event()

    @property
    def client(self) -> httpx.AsyncClient:
        """The HTTP client of every fetch (made at the first, inside trio)."""
        if self._client is None:
            self._client = new_http_client()
        return self._client

    async def aclose(self) -> None:
        self.parser.close()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # --- following ----------------------------------------------------------------------

    async def _get(self, url: str, validators: Validators | None = None, **kw: bool) -> Fetched:
        return await fetch(self.client, url, validators, now_s=self.clock_ms() / 1000, **kw)

    async def follow(self, text: str) -> tuple[Subscription, int]:
        """Follow the web feed at ``text``, or the feed a web page there names: fetched and
        stored now. Returns the subscription and how many items it brought."""
        url = web_address(text)
        if url is None:
            raise UsageError(
                f"{cut(text, 80)} is not a web address",
                "Give the web feed's address (https://example.org/rss.xml) or its site's.",
            )
        if self.store.find(url) is not None:
            raise UsageError(
                f"you already follow the web feed {url}",
                "See the web feeds you follow: lndesk feeds list",
            )
        self.store.check_room()
        fetched = await self._get(url, allow_move=True)
        feed_url = fetched.moved_to or url
        if looks_like_html(fetched.body, fetched.content_type):
            links = feed_links(fetched.body, fetched.url)
            if not links:
                raise FeedError(
                    f"the page at {url} names no web feed (RSS, Atom or JSON Feed)",
                    "Look on the site for a link to its web feed (often ending in /rss or "
                    "/atom.xml) and follow that address.",
                )
            feed_url = links[0]
            if self.store.find(feed_url) is not None:
                raise UsageError(
                    f"you already follow the web feed {feed_url} (the web feed of {url})",
                    "See the web feeds you follow: lndesk feeds list",
                )
            fetched = await self._get(feed_url, allow_move=True)
            feed_url = fetched.moved_to or feed_url
        parsed = await self.parser.parse(fetched.body, fetched.url, fetched.content_type)
        now = self.clock_ms()
        sub = self.store.add(feed_url, now, title=parsed.title, added_url=url)
        applied = self.store.apply(
            sub.sub,
            parsed.items,
            now,
            flood_limit=None,
            first_limit=FIRST_FETCH_ITEMS,
            first_unread=FIRST_UNREAD_ITEMS,
        )
        self._fetched(sub.sub, now, fetched, parsed)
        self.on_change()
        return self.store.subscription(sub.sub), applied.new

    def _fetched(self, sub: int, now: int, fetched: Fetched, parsed: ParsedFeed | None) -> None:
        self.store.fetched(
            sub,
            now,
            next_poll_ms(now, self.random, max_age_s=fetched.max_age_s),
            etag=fetched.validators.etag,
            last_modified=fetched.validators.last_modified,
            url=fetched.moved_to,
            title=parsed.title if parsed else None,
            site=parsed.site if parsed and parsed.site else None,
        )

    # --- refreshing ---------------------------------------------------------------------

    async def refresh(self, sub: Subscription) -> Outcome:
        """Fetch one feed now (conditionally) and store what is new. Never raises for
        what the feed or its server did: that is recorded on the feed."""
        try:
            return await self._refresh(sub)
        except FeedMovedError as exc:
            self.store.pause(sub.sub, self.clock_ms(), exc.message, exc.target)
            return Outcome(sub.sub, "paused", message=exc.message)
        except FeedError as exc:
            after = exc.retry_after_s if isinstance(exc, FeedRefusedError) else None
            return self._failed(sub, exc.message, after)
        except Exception as exc:  # a document that trips a parser bug must not end the node
            log.exception("refreshing the feed %s failed", sub.url)
            return self._failed(sub, f"the web feed at {sub.url} could not be read ({exc})", None)

    def _failed(self, sub: Subscription, message: str, retry_after_s: int | None) -> Outcome:
        now = self.clock_ms()
        next_ms = next_poll_ms(
            now, self.random, retry_after_s=retry_after_s, failures=sub.failures + 1
        )
        self.store.failed(sub.sub, now, next_ms, message)
        log.info("feed %s failed: %s", sub.url, message)
        return Outcome(sub.sub, "failed", message=message)

    async def _refresh(self, sub: Subscription) -> Outcome:
        validators = Validators(sub.etag, sub.last_modified)
        fetched = await self._get(sub.url, validators)
        now = self.clock_ms()
        if fetched.status == 304:
            self._fetched(sub.sub, now, fetched, None)
            return Outcome(sub.sub, "unchanged", bytes_read=fetched.bytes_read)
        if looks_like_html(fetched.body, fetched.content_type):
            raise FeedError(
                f"the web feed at {sub.url} is now a web page, not a web feed",
                "The site may have moved its web feed: remove this one and follow the site's "
                "address again to find it.",
            )
        parsed = await self.parser.parse(fetched.body, fetched.url, fetched.content_type)
        applied = self.store.apply(
            sub.sub,
            parsed.items,
            now,
            flood_limit=None if sub.take_all else FLOOD_ITEMS,
            first_limit=FIRST_FETCH_ITEMS,
            first_unread=FIRST_UNREAD_ITEMS,
        )
        if applied.flood:
            message = (
                f"{sub.name} brought {applied.flood} new items at once; none were added. "
                f"Resume it to take them all (lndesk feeds resume {sub.sub}), or remove it."
            )
            self.store.pause(sub.sub, now, message)
            return Outcome(sub.sub, "paused", message=message, bytes_read=fetched.bytes_read)
        self._fetched(sub.sub, now, fetched, parsed)
        if applied.new or applied.updated:
            self.on_change()
        return Outcome(sub.sub, "new", applied.new, applied.updated, fetched.bytes_read)

    async def refresh_due(self, *, everything: bool = False) -> list[Outcome]:
        """Refresh the feeds that are due (every feed not paused when ``everything``),
        :data:`MAX_PARALLEL` at a time, by as many tasks (never one task per feed: up to
        :data:`~lndesk.webfeeds.MAX_FEEDS` may be due at once)."""
        subs = (
            [s for s in self.store.subscriptions() if s.paused is None]
            if everything
            else self.store.due(self.clock_ms())
        )
        outcomes: list[Outcome] = []
        queue = iter(subs)

        async def worker() -> None:
            for sub in queue:  # shared: each feed is taken by one worker
                outcomes.append(await self.refresh(sub))

        async with trio.open_nursery() as nursery:
            for _ in range(min(MAX_PARALLEL, len(subs))):
                nursery.start_soon(worker)
        if any(o.status in {"failed", "paused"} for o in outcomes):
            self.on_change()
        return outcomes

    def refresh_soon(self, sub: int | None = None) -> None:
        """ "Refresh now": make a feed (every feed) due and wake the poller."""
        self.store.refresh_now(sub)
        self._wake.set()

    async def poll(self) -> None:
        """:meth:`run` until cancelled, then close the HTTP client: the poller of the
        desktop app's runtime and of ``lndesk serve``."""
        try:
            await self.run()
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(2):
                await self.aclose()

    async def run(self) -> None:
        """Poll forever: refresh what is due, then wait until the next feed is due (or
        until :meth:`refresh_soon`). The trio clock paces the waits."""
        while True:
            self.on_polled(await self.refresh_due())
            self._wake = trio.Event()
            next_ms = self.store.next_due_ms()
            wait_s = 3600.0 if next_ms is None else max(0.0, (next_ms - self.clock_ms()) / 1000)
            with trio.move_on_after(min(wait_s, 3600.0)):
                await self._wake.wait()
