"""The index's derived state does not depend on the order entries arrive in, one by one
or in runs, nor on when the text indexer runs, and a rebuild from the log gives it again.
"""

from __future__ import annotations

import random
from pathlib import Path

from learning_helpers import (
    ANN,
    BEN,
    ME,
    busy_feeds,
    deliver_in_order,
    derived_state,
    orders,
)
from search_index import assert_words_are_the_documents

from lndesk.content import Edit, Post, Tombstone
from lndesk.entry_refs import ref_of
from lndesk.store.store import Store


def test_derived_state_is_the_same_in_every_arrival_order_and_after_a_rebuild(
    tmp_path: Path,
) -> None:
    feeds = busy_feeds()
    states = {}
    for name, order in orders(feeds).items():
        # Text staged all along, indexed as it came (in between deliveries), or a mix.
        for index_every in (0, 1, 3):
            with Store(tmp_path / f"{name.replace(' ', '-')}-{index_every}") as store:
                deliver_in_order(store, feeds, order, index_every)
                assert_words_are_the_documents(store)
                live = derived_state(store)
                while store.index_text(limit=2):
                    assert derived_state(store) == live, f"indexing changes {name}"
                assert derived_state(store) == live, f"indexing changes {name}"
                assert store.text_pending() == 0
                store.reindex()
                assert store.text_pending() > 0  # a rebuild stages every document again
                assert derived_state(store) == live, f"rebuild differs after {name}"
                store.index_text(limit=2**31)
                assert_words_are_the_documents(store)
                states[f"{name}, indexing after every {index_every}"] = live
    expected = states["oldest first, indexing after every 0"]
    for name, state in states.items():
        assert state == expected, f"{name} differs from oldest first"
    # A few facts, so that "equal" is not "equally empty".
    assert ("Me", 2) in [(row[1], row[3]) for row in expected["feeds"]]  # type: ignore[attr-defined]
    assert expected["lists"] and expected["edits"] and expected["addressed"]
    assert len(expected["search"]) >= 3  # type: ignore[arg-type]
    assert expected["purges"] == []
    marked = {
        (row[1], row[2], row[3]) for row in expected["refs"] if row[1] in ("helpful", "helped")
    }  # type: ignore[attr-defined]
    assert marked == {("helped", ME.public_key, 11), ("helpful", ME.public_key, 11)}


def test_derived_state_is_the_same_when_entries_arrive_in_runs(tmp_path: Path) -> None:
    """Runs of several entries per ingest, plain posts among them, in random order: runs
    of plain posts take the index's quick way unless an edit or a tombstone stored
    before names one of them."""
    feeds = busy_feeds()
    me, ann = feeds
    plain = [ann.sign(Post(f"plain post {n}", tags=("Memory", "plain"))) for n in range(4)]
    ann.sign(Edit(ref_of(plain[1]), "plain post, edited", tags=("edited",)))
    ann.sign(Tombstone(ref_of(plain[2])))
    ann.sign(Post("a mention", mentions=(ME.public_key,)))
    me.sign(Post("mine, plain", tags=("mine",)))
    me.sign(Post("mine, plain too"))
    with Store(tmp_path / "one-by-one") as store:
        deliver_in_order(store, feeds, orders(feeds)["oldest first"])
        expected = derived_state(store)
    for seed in range(12):
        rng = random.Random(seed)
        runs = []
        for number, feed in enumerate(feeds):
            first = 1
            while first <= len(feed.entries):
                last = min(len(feed.entries), first + rng.randint(0, 4))
                runs.append((number, first, last))
                first = last + 1
        rng.shuffle(runs)
        with Store(tmp_path / f"runs-{seed}") as store:
            for number, first, last in runs:
                feed = feeds[number]
                store.ingest(feed.key, [(e.raw, p) for e, p in feed.entries[first - 1 : last]])
            assert derived_state(store) == expected, f"runs {runs} differ"
            store.reindex()
            assert derived_state(store) == expected, f"rebuild after runs {runs} differs"


def test_deleted_follows_and_profiles_stop_counting(store: Store) -> None:
    feeds = busy_feeds()
    deliver_in_order(store, feeds, orders(feeds)["oldest first"])
    assert store.feed_state(ME.public_key).name == "Me"  # the renaming was deleted
    assert store.following(ME.public_key) == sorted([ANN.public_key, BEN.public_key])
