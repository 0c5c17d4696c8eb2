"""The store: publishing, reading, rebuilding the index, and locking the data directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from store_helpers import (
    BASE_MS,
    check_feed,
    child_env,
    make_chain,
    make_entry,
    make_identity,
    post_text,
    seqs,
    wire,
    with_bad_signature,
)

import lndesk.store.store as store_module
from lndesk.content import Follow, Post, Profile, Tombstone, Unfollow, encode_content
from lndesk.entry_refs import PostKey, Ref
from lndesk.errors import (
    ContentError,
    ForkedFeedError,
    SignatureError,
    StoreError,
    StoreLockedError,
    UnknownEntryError,
)
from lndesk.store.logfile import KIND_ENTRY, LogFile, encode_record
from lndesk.store.store import INDEX_NAME, LOG_NAME, Store

ALICE = make_identity(1)
BOB = make_identity(2)
CAROL = make_identity(3)
DAVE = make_identity(4)
ERIN = make_identity(5)


def authors_and_seqs(items) -> list[PostKey]:
    return [(item.entry.author, item.entry.seq) for item in items]


# --- publishing ----------------------------------------------------------------


def test_publish_chains_seq_and_prev(store: Store) -> None:
    first = store.publish(ALICE, Post("one"))
    second = store.publish(ALICE, Post("two"))
    third = store.publish(ALICE, Post("three"))

    assert (first.seq, first.prev) == (1, None)
    assert (second.seq, second.prev) == (2, first.id)
    assert (third.seq, third.prev) == (3, second.id)
    for entry in (first, second, third):
        assert entry.author == ALICE.public_key
        entry.verify_signature()
    state = store.feed_state(ALICE.public_key)
    assert (state.height, state.max_seq, state.head_id, state.forked_at) == (3, 3, third.id, None)
    assert [e.id for e in check_feed(store, ALICE.public_key)] == [first.id, second.id, third.id]


def test_published_entries_are_durable(data_dir: Path) -> None:
    with Store(data_dir) as first_store:
        published = [first_store.publish(ALICE, Post(f"post {n}")) for n in range(1, 4)]

    with Store(data_dir) as reopened:
        state = reopened.feed_state(ALICE.public_key)
        assert (state.height, state.head_id) == (3, published[-1].id)
        loaded = reopened.feed_entries(ALICE.public_key)
        assert [item.entry.id for item in loaded] == [e.id for e in reversed(published)]
        assert [post_text(item.payload) for item in loaded] == ["post 3", "post 2", "post 1"]
        assert loaded[0].content == Post("post 3")
        assert reopened.warnings == []
        fourth = reopened.publish(ALICE, Post("post 4"))
        assert (fourth.seq, fourth.prev) == (4, published[-1].id)


def test_timeline_shows_own_and_followed_feeds_newest_first(store: Store) -> None:
    store.publish(ALICE, Follow(BOB.public_key), claimed_ms=BASE_MS)
    store.publish(ALICE, Post("alice early"), claimed_ms=BASE_MS + 1500)
    store.publish(ALICE, Post("alice late"), claimed_ms=BASE_MS + 3500)
    store.ingest(BOB.public_key, wire(make_chain(BOB, 3)))  # dated BASE_MS + 1000 * seq
    store.ingest(CAROL.public_key, wire(make_chain(CAROL, 3)))

    assert store.following(ALICE.public_key) == [BOB.public_key]
    timeline = store.timeline(ALICE.public_key)
    a, b = ALICE.public_key, BOB.public_key
    assert authors_and_seqs(timeline) == [(a, 3), (b, 3), (b, 2), (a, 2), (b, 1)]
    assert [item.content.text for item in timeline] == [
        "alice late",
        "entry 3",
        "entry 2",
        "alice early",
        "entry 1",
    ]
    assert authors_and_seqs(store.timeline(ALICE.public_key, limit=2)) == [(a, 3), (b, 3)]
    older = store.timeline(ALICE.public_key, before_ms=BASE_MS + 2000)
    assert authors_and_seqs(older) == [(a, 2), (b, 1)]

    store.publish(ALICE, Unfollow(BOB.public_key))
    assert store.following(ALICE.public_key) == []
    assert authors_and_seqs(store.timeline(ALICE.public_key)) == [(a, 3), (a, 2)]


def test_timeline_pages_reach_entries_sharing_a_timestamp(store: Store) -> None:
    for n in range(1, 5):
        store.publish(ALICE, Post(f"same millisecond {n}"), claimed_ms=BASE_MS)

    seen: list[int] = []
    page = store.timeline(ALICE.public_key, limit=2)
    while page:
        seen.extend(seqs(page))
        page = store.timeline(ALICE.public_key, limit=2, older_than=page[-1])
    assert sorted(seen) == [1, 2, 3, 4]


def test_profile_name_shows_up(store: Store) -> None:
    store.publish(ALICE, Profile("Alice", bio="Teaches statistics"))
    store.publish(ALICE, Post("hello"))
    state = store.feed_state(ALICE.public_key)
    assert (state.name, state.bio) == ("Alice", "Teaches statistics")
    assert [item.author_name for item in store.timeline(ALICE.public_key)] == ["Alice"]

    store.publish(ALICE, Profile("Alice B."))
    assert store.feed_state(ALICE.public_key).name == "Alice B."
    assert store.timeline(ALICE.public_key)[0].author_name == "Alice B."


def test_tombstone_marks_entry_deleted_and_hides_it(data_dir: Path) -> None:
    with Store(data_dir) as store:
        kept = store.publish(ALICE, Post("kept"))
        gone = store.publish(ALICE, Post("regretted"))
        store.publish(ALICE, Tombstone(Ref(ALICE.public_key, gone.seq, gone.id)))

        def check(opened: Store) -> None:
            by_seq = {item.entry.seq: item for item in opened.feed_entries(ALICE.public_key)}
            assert by_seq[gone.seq].deleted
            assert not by_seq[kept.seq].deleted
            assert not by_seq[3].deleted
            assert [item.entry.id for item in opened.timeline(ALICE.public_key)] == [kept.id]

        check(store)
        store.reindex()
        check(store)
    with Store(data_dir) as reopened:
        check(reopened)


@pytest.mark.parametrize("target", ["other author", "other author's id", "unknown seq", "wrong id"])
def test_tombstone_of_an_entry_not_your_own_is_refused(store: Store, target: str) -> None:
    bob_chain = make_chain(BOB, 1)
    bob_entry = bob_chain[0][0]
    store.ingest(BOB.public_key, wire(bob_chain))
    own = store.publish(ALICE, Post("mine"))
    ref = {
        "other author": Ref(BOB.public_key, 1, bob_entry.id),
        "other author's id": Ref(ALICE.public_key, 1, bob_entry.id),
        "unknown seq": Ref(ALICE.public_key, 2, own.id),
        "wrong id": Ref(ALICE.public_key, 1, bytes(32)),
    }[target]
    log_end = store.log.end

    with pytest.raises(ContentError):
        store.publish(ALICE, Tombstone(ref))

    assert store.log.end == log_end
    assert store.feed_state(ALICE.public_key).height == 1
    assert [item.deleted for item in store.feed_entries(BOB.public_key)] == [False]
    assert [item.entry.id for item in store.timeline(ALICE.public_key)] == [own.id]


def test_publish_refused_while_own_log_has_a_gap(store: Store) -> None:
    chain = make_chain(ALICE, 4)
    store.ingest(ALICE.public_key, wire(chain[2:]))  # entries 3 and 4 of a restored log
    log_end = store.log.end

    with pytest.raises(StoreError, match="missing entries"):
        store.publish(ALICE, Post("would fork my feed"))

    assert store.log.end == log_end
    state = store.feed_state(ALICE.public_key)
    assert (state.height, state.max_seq) == (0, 4)


def test_publish_refused_on_a_forked_own_feed(store: Store) -> None:
    first = store.publish(ALICE, Post("one"))
    store.publish(ALICE, Post("two"))
    other_two, payload = make_entry(ALICE, 2, first.id, text="two, from an old backup")
    assert store.ingest(ALICE.public_key, [(other_two.raw, payload)]).fork_at == 2

    with pytest.raises(ForkedFeedError):
        store.publish(ALICE, Post("three"))
    assert store.feed_state(ALICE.public_key).max_seq == 2


def test_resolve_by_id_prefix(store: Store) -> None:
    entry = store.publish(ALICE, Post("find me"))
    assert store.resolve(entry.id[:4]).entry.id == entry.id
    assert store.resolve(entry.id).content == Post("find me")
    missing = bytes([entry.id[0] ^ 0xFF]) + entry.id[1:4]
    with pytest.raises(UnknownEntryError):
        store.resolve(missing)


# --- the index: rebuilding and catching up ---------------------------------------


def populate(store: Store) -> None:
    """A store with every kind of derived state: follows, profiles, tombstones, a fork."""
    store.publish(ALICE, Profile("Alice", bio="bio"), claimed_ms=BASE_MS)
    store.publish(ALICE, Follow(BOB.public_key), claimed_ms=BASE_MS)
    store.publish(ALICE, Follow(CAROL.public_key), claimed_ms=BASE_MS)
    store.publish(ALICE, Post("first #post", tags=("intro",)), claimed_ms=BASE_MS + 500)
    regretted = store.publish(ALICE, Post("regretted"), claimed_ms=BASE_MS + 1500)
    store.publish(ALICE, Tombstone(Ref(ALICE.public_key, regretted.seq, regretted.id)))
    store.publish(ALICE, Unfollow(CAROL.public_key), claimed_ms=BASE_MS)
    bob_profile, bob_profile_payload = make_entry(
        BOB, 1, None, type="profile", payload=_profile_payload("Bob")
    )
    store.ingest(BOB.public_key, [(bob_profile.raw, bob_profile_payload)])
    store.ingest(BOB.public_key, wire(make_chain(BOB, 4, start_seq=2, prev=bob_profile.id)))
    store.ingest(CAROL.public_key, wire(make_chain(CAROL, 3)))
    dave = make_chain(DAVE, 3)
    store.ingest(DAVE.public_key, wire(dave))
    fork, fork_payload = make_entry(DAVE, 2, dave[0][0].id, text="the other second entry")
    assert store.ingest(DAVE.public_key, [(fork.raw, fork_payload)]).fork_at == 2
    store.ingest(ERIN.public_key, wire(make_chain(ERIN, 6)[3:]))  # a sparse segment


def _profile_payload(name: str) -> bytes:
    return encode_content(Profile(name))


def snapshot(store: Store) -> tuple[object, ...]:
    feeds = sorted(store.feeds(), key=lambda feed: feed.key)
    return (
        feeds,
        {feed.key: store.following(feed.key) for feed in feeds},
        [
            (item.entry.id, item.deleted, item.author_name)
            for item in store.timeline(ALICE.public_key, limit=1000)
        ],
        {
            feed.key: [
                (item.entry.id, item.deleted, item.payload, item.received_ms)
                for item in store.feed_entries(feed.key, limit=1000)
            ]
            for feed in feeds
        },
        {feed.key: [entry.id for entry in store.fork_proofs(feed.key)] for feed in feeds},
    )


def test_populated_snapshot_is_what_it_should_be(store: Store) -> None:
    populate(store)
    state = {feed.key: feed for feed in store.feeds()}
    assert (state[ALICE.public_key].height, state[ALICE.public_key].name) == (7, "Alice")
    assert (state[BOB.public_key].height, state[BOB.public_key].name) == (5, "Bob")
    assert state[DAVE.public_key].forked_at == 2
    assert (state[ERIN.public_key].height, state[ERIN.public_key].max_seq) == (0, 6)
    assert store.following(ALICE.public_key) == [BOB.public_key]
    timeline = store.timeline(ALICE.public_key, limit=1000)
    assert {item.entry.author for item in timeline} == {ALICE.public_key, BOB.public_key}
    assert not any(item.deleted for item in timeline)


def test_reindex_gives_the_same_state(store: Store) -> None:
    populate(store)
    before = snapshot(store)

    assert store.reindex() == 7 + 5 + 3 + 3 + 3

    assert snapshot(store) == before
    assert store.publish(ALICE, Post("after reindex")).seq == 8


def test_deleted_index_is_rebuilt_on_open(data_dir: Path) -> None:
    with Store(data_dir) as store:
        populate(store)
        before = snapshot(store)
    for suffix in ("", "-wal", "-shm"):
        (data_dir / (INDEX_NAME + suffix)).unlink(missing_ok=True)

    with Store(data_dir) as reopened:
        assert (data_dir / INDEX_NAME).exists()
        assert snapshot(reopened) == before
        assert reopened.publish(ALICE, Post("still works")).seq == 8


def test_index_of_another_log_is_rebuilt(tmp_path: Path) -> None:
    mine, other = tmp_path / "mine", tmp_path / "other"
    with Store(mine) as store:
        populate(store)
        before = snapshot(store)
    with Store(other) as store:
        store.publish(CAROL, Post("a different store"))
    shutil.copy(other / INDEX_NAME, mine / INDEX_NAME)

    with Store(mine) as reopened:
        assert any("rebuilding" in warning for warning in reopened.warnings)
        assert snapshot(reopened) == before
        assert reopened.feed_state(CAROL.public_key).height == 3


def test_lagging_index_catches_up_with_the_log(data_dir: Path) -> None:
    with Store(data_dir) as store:
        for n in range(1, 4):
            store.publish(ALICE, Post(f"post {n}"))
        head = store.feed_state(ALICE.public_key).head_id
    more = make_chain(ALICE, 3, start_seq=4, prev=head)
    bob = make_chain(BOB, 5)
    log = LogFile(data_dir / LOG_NAME)
    try:
        log.append([encode_record(KIND_ENTRY, BASE_MS, e.raw, p) for e, p in more])
        log.append([encode_record(KIND_ENTRY, BASE_MS, e.raw, p) for e, p in bob[:2]])
        log.append([encode_record(KIND_ENTRY, BASE_MS, e.raw, None) for e, _ in bob[2:]])
    finally:
        log.close()

    with Store(data_dir) as reopened:
        assert reopened.warnings == []
        own = check_feed(reopened, ALICE.public_key)
        assert [e.id for e in own[3:]] == [e.id for e, _ in more]
        assert [e.id for e in check_feed(reopened, BOB.public_key)] == [e.id for e, _ in bob]
        bob_items = reopened.feed_entries(BOB.public_key)
        assert [item.payload is None for item in bob_items] == [True, True, True, False, False]
        assert reopened.publish(ALICE, Post("post 7")).prev == more[-1][0].id


def test_log_cut_back_below_the_index_is_reindexed(data_dir: Path) -> None:
    with Store(data_dir) as store:
        for n in range(1, 4):
            store.publish(ALICE, Post(f"post {n}"))
        cut = store.log.end
        store.publish(ALICE, Post("post 4"))
        store.publish(ALICE, Post("post 5"))
    os.truncate(data_dir / LOG_NAME, cut)  # an older copy of the same log

    with Store(data_dir) as reopened:
        assert any("rebuilding" in warning for warning in reopened.warnings)
        assert len(check_feed(reopened, ALICE.public_key)) == 3
        assert reopened.publish(ALICE, Post("post 4 again")).seq == 4


# --- locking ---------------------------------------------------------------------


def test_second_store_on_the_same_directory_is_refused(data_dir: Path) -> None:
    with Store(data_dir) as first:
        with pytest.raises(StoreLockedError) as info:
            Store(data_dir)
        assert f"pid {os.getpid()}" in str(info.value)
        assert first.publish(ALICE, Post("the first store still works")).seq == 1
    with Store(data_dir) as again:
        assert again.feed_state(ALICE.public_key).height == 1


_HOLDER = """
import sys
from pathlib import Path
from lndesk.store.store import Store

store = Store(Path(sys.argv[1]))
print("locked", flush=True)
sys.stdin.read()
store.close()
"""


def test_store_held_by_another_process_names_its_pid(data_dir: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=child_env(),
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(StoreLockedError) as info:
            Store(data_dir)
        assert f"pid {holder.pid}" in str(info.value)
        assert info.value.hint
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()
    with Store(data_dir) as store:
        assert store.feeds() == []


def test_bad_signature_helper_really_breaks_the_signature() -> None:
    entry, _ = make_chain(ALICE, 1)[0]
    broken = with_bad_signature(entry)
    assert broken.seq == entry.seq and broken.id != entry.id
    with pytest.raises(SignatureError, match="invalid signature"):
        broken.verify_signature()


def test_index_is_rebuilt_when_the_indexing_rules_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store(tmp_path) as first:
        first.publish(ALICE, Post("kept across a rules change"))
    monkeypatch.setattr(store_module, "INDEX_RULES", store_module.INDEX_RULES + b"-next")
    with Store(tmp_path) as upgraded:
        assert any("rebuilding the index" in warning for warning in upgraded.warnings)
        assert [item.content for item in upgraded.timeline(ALICE.public_key)] == [
            Post("kept across a rules change")
        ]
    with Store(tmp_path) as again:
        assert again.warnings == []


def test_a_run_read_from_a_sparse_feed_stops_at_its_first_gap(tmp_path: Path) -> None:
    chain = make_chain(ALICE, 12)
    with Store(tmp_path) as store:
        store.ingest(ALICE.public_key, wire(chain[:5]))  # 1..5
        for k in (6, 8, 11):  # 7, 9, 12
            store.ingest(ALICE.public_key, wire(chain[k : k + 1]))
        run = store.read_run(ALICE.public_key, 1, 12, 100, 1 << 20)
        assert [(seq, raw) for seq, raw, _ in run] == [(n + 1, chain[n][0].raw) for n in range(5)]
        assert [seq for seq, _, _ in store.read_run(ALICE.public_key, 7, 12, 100, 1 << 20)] == [7]
        assert store.read_run(ALICE.public_key, 6, 12, 100, 1 << 20) == []
        assert len(store.index.run_offsets(ALICE.public_key, 9, 12)) == 1
        assert store.index.run_offsets(b"\1" * 32, 1, 12) == []
