"""The desktop app's service: one small facade over the features a window uses.

A :class:`Desk` lives on the node's trio thread (see :mod:`lndesk.app.runtime`) and owns
the open data directory's service, this device's local state and, once the network is
up, the node. Widgets never call it directly: the GUI bridge submits functions of the
desk and gets plain values back (:mod:`lndesk.app.items`).

Each feature is its own object, built here from what it declares it needs:

* :attr:`Desk.reading` — the post lists, threads, bookmarks and read marks;
* :attr:`Desk.posting` — posts, replies, shares, edits, deletions;
* :attr:`Desk.people` — following, muting, blocking, nicknames, people's pages;
* :attr:`Desk.inbox` — Requests and accepting people out of it;
* :attr:`Desk.search` — full-text search and tags;
* :attr:`Desk.lists` — reading lists;
* :attr:`Desk.threads` — a thread's replies fetched from peers, and their counts;
* :attr:`Desk.answers` — marking answers to my questions as helpful, open and answered
  questions;
* :attr:`Desk.network` — peers, addresses, network settings, dialling;
* :attr:`Desk.account` — my profile, backup, export and import, a restore's own log;
* :attr:`Desk.feed_reader` — web feeds followed beside people;
* :attr:`Desk.feed_files` — OPML import and export, my log kept as an Atom file.

Changes go through :class:`~lndesk.app.service.Service` (appends through
:class:`~lndesk.app.desk_publish.Publisher`, which announces them on the running node).
Queries read the index through ``Service.reader``, the store's read-only side: each
class that does says so and why (a bounded lookup with no invariant for the service to
keep); none of them can write around the service.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import trio

from lndesk.app.desk_account import Account
from lndesk.app.desk_answers import Answers
from lndesk.app.desk_events import AnyEvent, AppEvent, LocalChanged, NetworkUnavailable
from lndesk.app.desk_feedfiles import FeedFiles
from lndesk.app.desk_inbox import Inbox
from lndesk.app.desk_items import READ_MARK, PostItems
from lndesk.app.desk_lists import Lists
from lndesk.app.desk_naming import Naming
from lndesk.app.desk_network import Network
from lndesk.app.desk_people import People
from lndesk.app.desk_posting import Posting
from lndesk.app.desk_publish import NodeLink, Publisher
from lndesk.app.desk_reading import BOOKMARKS, OLDEST, THREAD, Reading, Refresh
from lndesk.app.desk_search import Search
from lndesk.app.desk_threads import Threads
from lndesk.app.feed_reader import FeedReader
from lndesk.app.service import Service
from lndesk.p2p.events import HolderProven

if TYPE_CHECKING:
    from lndesk.app.node import AppNode

logger = logging.getLogger(__name__)

__all__ = [
    "BOOKMARKS",
    "OLDEST",
    "READ_MARK",
    "THREAD",
    "AnyEvent",
    "AppEvent",
    "Desk",
    "LocalChanged",
    "NetworkUnavailable",
    "Refresh",
]


class Desk:
    """The features of the desktop app on one open data directory (see the module)."""

    def __init__(self, service: Service, emit: Callable[[AnyEvent], None] = lambda _e: None):
        self.service = service
        self.own = service.public_key
        self._emit = emit
        self._link = NodeLink()
        reader = service.reader
        naming = Naming(reader, service.local)
        self.items = PostItems(reader, service.local, naming, self.own, service.pseudonyms.current)
        """Stored entries as post items, the way every list shows them."""
        self._publisher = publisher = Publisher(service, self._link, service.local, emit)
        self.reading = Reading(service, reader, self.items, emit)
        self.posting = Posting(publisher, self.items, self.own)
        self.people = People(service, reader, publisher, naming, emit)
        self.inbox = Inbox(service, reader, emit)
        self.search = Search(service, reader, self.items)
        self.lists = Lists(service, reader, publisher, self.items, emit)
        self.network = Network(service, self._link, naming, emit)
        self.threads = Threads(service, self._link)
        self.answers = Answers(
            reader,
            publisher,
            self.items,
            self.own,
            service.hidden,
            data_dir=service.data_dir,
            pseudonyms=service.pseudonyms.current,
        )
        self.account = Account(service, reader, self._link, publisher, emit)
        self.feed_reader = FeedReader(service.data_dir, emit, in_memory=service.store.read_only)
        self.reading.web = self.search.web = self.lists.web = self.feed_reader.store
        self.feed_reader.publisher = publisher
        """Web feeds (RSS, Atom, JSON Feed): polled by the runtime, read by their screen."""
        self.feed_files = FeedFiles(service, self.feed_reader, self.people)
        """OPML import and export, and the Atom file kept up to date on every publish."""

    def attach(self, node: AppNode | None, nursery: trio.Nursery | None = None) -> None:
        """The network started (``node``) or stopped (None)."""
        self._link.attach(node, nursery)

    def on_event(self, event: AnyEvent) -> None:
        """Record what the desk keeps of the node's events (on the node thread)."""
        self.people.on_event(event)
        if isinstance(event, HolderProven) and event.feed == self.own:
            # Only a proven holder is "seen by": a claim costs nothing to make up.
            self._publisher.holds(event.peer, event.height)

    def close(self) -> None:
        """Write what is kept in memory; the service closes the local state."""
        self.people.flush()
        self.feed_reader.close()
