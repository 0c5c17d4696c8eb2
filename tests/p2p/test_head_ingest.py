"""A stored head's held state, reported without asking the store again only when it
follows from the state read before (lndesk.p2p.ingest)."""

from __future__ import annotations

from collections.abc import Sequence

from store_helpers import make_chain, make_identity, wire, without_payloads

from lndesk.app.feeds import StoreFeeds
from lndesk.batch import check_decoded
from lndesk.p2p.events import EntriesStored, Event
from lndesk.p2p.ingest import ingest_reported
from lndesk.p2p.ports import Held
from lndesk.store.store import Store

OWNER = make_identity(1)
BOB = make_identity(2)
KEY = BOB.public_key


class CountingFeeds(StoreFeeds):
    """The store as the node sees it, counting how often the held state is asked."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, OWNER.public_key)
        self.asked = 0

    def held(self, key: bytes) -> Held:
        self.asked += 1
        return super().held(key)


def reported(feeds: CountingFeeds, items: Sequence[tuple[bytes, bytes | None]]) -> EntriesStored:
    events: list[Event] = []
    before = feeds.held(KEY)
    feeds.asked = 0
    ingest_reported(feeds, events.append, KEY, items, via="gossip", peer=None, before=before)
    (event,) = events
    assert isinstance(event, EntriesStored)
    return event


def test_a_live_head_reports_the_height_it_reached_without_asking_again(store: Store) -> None:
    chain = make_chain(BOB, 3)
    store.ingest(KEY, wire(chain[:2]))
    feeds = CountingFeeds(store)

    event = reported(feeds, check_decoded(KEY, chain[2:]))

    assert (event.height, event.max_seq, event.count) == (3, 3, 1)
    assert store.feed_limits(KEY) == (3, 3, None)
    assert feeds.asked == 0


def test_a_run_below_entries_held_above_it_reports_what_the_store_holds(store: Store) -> None:
    chain = make_chain(BOB, 5)
    store.ingest(KEY, wire(chain[4:]))  # newest first: 5 held, 1..4 missing
    feeds = CountingFeeds(store)

    event = reported(feeds, check_decoded(KEY, chain[:2]))

    assert (event.height, event.max_seq) == (2, 5) == store.feed_limits(KEY)[:2]
    assert feeds.asked == 1


def test_a_run_after_a_gap_reports_what_the_store_holds(store: Store) -> None:
    chain = make_chain(BOB, 5)
    store.ingest(KEY, wire(chain[:2]))
    feeds = CountingFeeds(store)

    event = reported(feeds, check_decoded(KEY, chain[3:]))  # 3 missing

    assert (event.height, event.max_seq) == (2, 5) == store.feed_limits(KEY)[:2]
    assert feeds.asked == 1


def test_a_filled_payload_reports_what_the_store_holds(store: Store) -> None:
    chain = make_chain(BOB, 2)
    store.ingest(KEY, wire(chain[:1]) + without_payloads(chain[1:]))
    feeds = CountingFeeds(store)

    event = reported(feeds, check_decoded(KEY, chain[1:]))

    assert (event.height, event.max_seq, event.count) == (2, 2, 1)
    assert feeds.asked == 1


def test_a_run_not_checked_reports_what_the_store_holds(store: Store) -> None:
    chain = make_chain(BOB, 2)
    store.ingest(KEY, wire(chain[:1]))
    feeds = CountingFeeds(store)

    event = reported(feeds, wire(chain[1:]))

    assert (event.height, event.max_seq) == (2, 2)
    assert feeds.asked == 1
