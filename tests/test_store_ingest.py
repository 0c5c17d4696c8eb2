"""Ingesting other people's entries: authentication, gaps, forks and what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from store_helpers import (
    BASE_MS,
    check_feed,
    make_chain,
    make_entry,
    make_identity,
    post_text,
    seqs,
    wire,
    with_bad_signature,
    without_payloads,
)

from lndesk import canonical
from lndesk import entry as entry_module
from lndesk.batch import check_decoded
from lndesk.content import Post, Tombstone, Unknown, encode_content
from lndesk.content_fields import MAX_TAG_CHARS
from lndesk.entry import MAX_ENTRY_SIZE
from lndesk.entry_refs import Ref
from lndesk.errors import (
    ChainError,
    EntryError,
    ForkedFeedError,
    PayloadError,
    SignatureError,
    SizeError,
)
from lndesk.store import reading
from lndesk.store.ingest import FUTURE_HOLD_MS, MAX_BATCH
from lndesk.store.logfile import KIND_ENTRY, KIND_FORK_PROOF, Record
from lndesk.store.store import IngestResult, Store

BOB = make_identity(2)
CAROL = make_identity(3)
KEY = BOB.public_key
MINUTE_MS = 60_000


def heights(store: Store, key: bytes = KEY) -> tuple[int, int]:
    state = store.feed_state(key)
    return state.height, state.max_seq


def log_records(store: Store) -> list[Record]:
    return [item for item in store.log.scan() if isinstance(item, Record)]


def assert_nothing_stored(store: Store, log_end: int, key: bytes = KEY) -> None:
    assert store.log.end == log_end
    assert store.log.path.stat().st_size == log_end
    assert heights(store, key) == (0, 0)
    assert list(store.feed_items(key)) == []


# --- accepted batches ------------------------------------------------------------


def test_contiguous_batch_from_one(store: Store) -> None:
    chain = make_chain(BOB, 5)

    assert store.ingest(KEY, wire(chain)) == IngestResult(stored=5, duplicates=0, held=0)

    state = store.feed_state(KEY)
    assert (state.height, state.max_seq, state.head_id) == (5, 5, chain[-1][0].id)
    assert [e.id for e in check_feed(store, KEY)] == [e.id for e, _ in chain]
    loaded = store.feed_entries(KEY)
    assert [post_text(item.payload) for item in loaded] == [f"entry {n}" for n in (5, 4, 3, 2, 1)]
    assert all(item.content_error is None for item in loaded)


def test_batch_continuing_from_the_stored_head(store: Store) -> None:
    chain = make_chain(BOB, 9)
    assert store.ingest(KEY, wire(chain[:4])).stored == 4

    assert store.ingest(KEY, wire(chain[4:])).stored == 5

    assert heights(store) == (9, 9)
    assert len(check_feed(store, KEY)) == 9


def test_duplicates_are_counted_not_stored_twice(store: Store) -> None:
    chain = make_chain(BOB, 8)
    store.ingest(KEY, wire(chain[:5]))

    assert store.ingest(KEY, wire(chain[2:])) == IngestResult(stored=3, duplicates=3, held=0)
    log_end = store.log.end
    assert store.ingest(KEY, wire(chain)) == IngestResult(stored=0, duplicates=8, held=0)

    assert store.log.end == log_end
    assert [record.kind for record in log_records(store)] == [KIND_ENTRY] * 8
    assert len(check_feed(store, KEY)) == 8


def test_sparse_segment_then_the_gap_filled(store: Store) -> None:
    chain = make_chain(BOB, 10)

    assert store.ingest(KEY, wire(chain[7:])).stored == 3  # vouched for by entry 10's signature
    state = store.feed_state(KEY)
    assert (state.height, state.max_seq, state.head_id) == (0, 10, None)

    store.ingest(KEY, wire(chain[:3]))
    assert heights(store) == (3, 10)
    assert store.feed_state(KEY).head_id == chain[2][0].id

    store.ingest(KEY, wire(chain[3:7]))
    assert heights(store) == (10, 10)
    assert store.feed_state(KEY).head_id == chain[-1][0].id
    assert len(check_feed(store, KEY)) == 10


def test_newest_first_runs_raise_the_height_once_the_oldest_arrives(store: Store) -> None:
    """Runs stored from the newest down leave the height at 0 until entry 1 comes; then
    it is the head at once. A run with entries held already counts each once."""
    chain = make_chain(BOB, 12)
    for start in (9, 6, 3):
        store.ingest(KEY, wire(chain[start : start + 3]))
        assert heights(store) == (0, 12)
    assert store.ingest(KEY, wire(chain[0:5])).stored == 3  # 4 and 5 are held already
    assert heights(store) == (12, 12)
    assert len(check_feed(store, KEY)) == 12


def test_gap_filler_is_anchored_by_the_next_stored_entry(data_dir: Path) -> None:
    # Entry 7 carries a broken signature, but entry 8, correctly signed, names its id as
    # prev: once 8 is stored, 7 is proven by the hash chain and needs no signature.
    head = make_chain(BOB, 6)
    seventh = with_bad_signature(make_entry(BOB, 7, head[-1][0].id)[0])
    seventh_payload = make_entry(BOB, 7, head[-1][0].id)[1]
    tail = make_chain(BOB, 3, start_seq=8, prev=seventh.id)

    with Store(data_dir / "unanchored") as alone:
        with pytest.raises(SignatureError):
            alone.ingest(KEY, [(seventh.raw, seventh_payload)])
        assert_nothing_stored(alone, alone.log.end)

    with Store(data_dir / "anchored") as store:
        store.ingest(KEY, wire(tail))
        assert store.ingest(KEY, [(seventh.raw, seventh_payload)]).stored == 1
        assert heights(store) == (0, 10)
        store.ingest(KEY, wire(head))  # its last entry is anchored by stored entry 7's prev
        assert heights(store) == (10, 10)
        entries = check_feed(store, KEY)
        assert entries[6].id == seventh.id


def test_gap_filler_that_the_next_stored_entry_does_not_name_is_refused(store: Store) -> None:
    chain = make_chain(BOB, 10)
    store.ingest(KEY, wire(chain[7:]))
    other_history = make_chain(BOB, 7, text="another history")
    log_end = store.log.end

    with pytest.raises(ChainError):
        store.ingest(KEY, wire(other_history[4:]))

    assert store.log.end == log_end
    assert heights(store) == (0, 10)
    assert seqs(store.feed_entries(KEY)) == [10, 9, 8]


def test_payload_absent_is_accepted(store: Store) -> None:
    chain = make_chain(BOB, 3)

    assert store.ingest(KEY, without_payloads(chain)).stored == 3

    assert len(check_feed(store, KEY)) == 3
    for item in store.feed_entries(KEY):
        assert (item.payload, item.content, item.content_error) == (None, None, None)


def test_payload_invalid_for_its_type_is_stored_without_content(store: Store) -> None:
    entry, payload = make_entry(BOB, 1, None, payload=canonical.encode({"text": ""}))

    assert store.ingest(KEY, [(entry.raw, payload)]).stored == 1

    (loaded,) = store.feed_entries(KEY)
    assert loaded.entry.id == entry.id
    assert loaded.payload == payload
    assert loaded.content is None
    assert loaded.content_error is not None
    assert "empty" in loaded.content_error


def test_unknown_content_type_is_stored_and_loaded_as_unknown(store: Store) -> None:
    value = {"question": "Which topic next?", "options": ["graphs", "proofs"]}
    entry, payload = make_entry(BOB, 1, None, type="poll.v2", payload=canonical.encode(value))

    assert store.ingest(KEY, [(entry.raw, payload)]).stored == 1

    (loaded,) = store.feed_entries(KEY)
    assert loaded.content == Unknown("poll.v2", value)
    assert loaded.content_error is None
    assert loaded.entry.type == "poll.v2"


def indexed_tags(store: Store) -> list[tuple[str, int]]:
    return store.index.conn.execute("SELECT tag, seq FROM tags ORDER BY tag, seq").fetchall()


def test_uppercase_tag_from_a_peer_is_accepted_and_indexed_normalised(store: Store) -> None:
    payload = canonical.encode({"text": "Fractions", "tags": ["Maths"]})
    entry, payload = make_entry(BOB, 1, None, payload=payload)

    assert store.ingest(KEY, [(entry.raw, payload)]).stored == 1

    (loaded,) = store.feed_entries(KEY)
    assert loaded.content == Post("Fractions", ("Maths",))  # shown as its author wrote it
    assert loaded.content_error is None
    assert indexed_tags(store) == [("maths", 1)]


@pytest.mark.parametrize(
    ("tag", "indexed"),
    [
        ("e\u0301cole", "\u00e9cole"),  # not NFC
        ("E\u0301COLE", "\u00e9cole"),
        ("Straße", "strasse"),
        ("a#B", "a#b"),
        ("ß" * MAX_TAG_CHARS, "ß" * MAX_TAG_CHARS),  # its normal form is too long: as received
    ],
)
def test_tags_from_a_peer_are_indexed_in_normal_form(store: Store, tag: str, indexed: str) -> None:
    payload = canonical.encode({"text": "Hi", "tags": [tag, "maths"]})
    entry, payload = make_entry(BOB, 1, None, payload=payload)

    assert store.ingest(KEY, [(entry.raw, payload)]).stored == 1

    (loaded,) = store.feed_entries(KEY)
    assert loaded.content == Post("Hi", (tag, "maths"))
    assert indexed_tags(store) == sorted([(indexed, 1), ("maths", 1)])


def test_tags_differing_only_in_case_are_indexed_once(store: Store) -> None:
    payload = canonical.encode({"text": "Hi", "tags": ["Maths", "maths", "MATHS"]})
    entry, payload = make_entry(BOB, 1, None, payload=payload)

    assert store.ingest(KEY, [(entry.raw, payload)]).stored == 1

    assert indexed_tags(store) == [("maths", 1)]


def test_future_entries_are_stored_held_and_shown_when_their_time_comes(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = BASE_MS + 1000 * MINUTE_MS
    offsets = [-1000, 9 * MINUTE_MS, FUTURE_HOLD_MS + 1, 60 * MINUTE_MS]
    chain = []
    prev = None
    for seq, offset in enumerate(offsets, start=1):
        entry, payload = make_entry(BOB, seq, prev, claimed_ms=now + offset)
        chain.append((entry, payload))
        prev = entry.id

    assert store.ingest(KEY, wire(chain), received_ms=now) == IngestResult(4, 0, 2)
    assert heights(store) == (4, 4)
    assert [row.seq for row in store.feed_rows(KEY)] == [1, 2, 3, 4]

    monkeypatch.setattr(reading, "now_ms", lambda: now)
    assert seqs(store.timeline(KEY)) == [2, 1]
    assert seqs(store.feed_entries(KEY)) == [2, 1]
    monkeypatch.setattr(reading, "now_ms", lambda: now + 2 * MINUTE_MS)
    assert seqs(store.timeline(KEY)) == [3, 2, 1]
    assert seqs(store.feed_entries(KEY)) == [3, 2, 1]
    monkeypatch.setattr(reading, "now_ms", lambda: now + 60 * MINUTE_MS)
    assert seqs(store.timeline(KEY)) == [4, 3, 2, 1]


def test_old_timestamps_are_accepted(store: Store) -> None:
    first, first_payload = make_entry(BOB, 1, None, claimed_ms=0)
    second, second_payload = make_entry(BOB, 2, first.id, claimed_ms=1)

    result = store.ingest(KEY, [(first.raw, first_payload), (second.raw, second_payload)])

    assert result == IngestResult(2, 0, 0)
    assert seqs(store.timeline(KEY)) == [2, 1]


def test_tombstone_ingested_before_its_target_still_deletes_it(store: Store) -> None:
    posts = make_chain(BOB, 3)
    target = posts[1][0]
    tombstone, tombstone_payload = make_entry(
        BOB,
        4,
        posts[-1][0].id,
        type="tombstone",
        payload=encode_content(Tombstone(Ref(KEY, target.seq, target.id))),
    )
    store.ingest(KEY, [(tombstone.raw, tombstone_payload)])  # newest first, as sync does

    store.ingest(KEY, wire(posts))

    deleted = {item.entry.seq: item.deleted for item in store.feed_entries(KEY)}
    assert deleted == {1: False, 2: True, 3: False, 4: False}
    assert seqs(store.timeline(KEY)) == [3, 1]


def test_tombstone_by_another_author_deletes_nothing(store: Store) -> None:
    posts = make_chain(BOB, 2)
    store.ingest(KEY, wire(posts))
    target = posts[0][0]
    forged, payload = make_entry(
        CAROL,
        1,
        None,
        type="tombstone",
        payload=encode_content(Tombstone(Ref(KEY, target.seq, target.id))),
    )

    assert store.ingest(CAROL.public_key, [(forged.raw, payload)]).stored == 1

    assert [item.deleted for item in store.feed_entries(KEY)] == [False, False]
    assert seqs(store.timeline(KEY)) == [2, 1]


def test_tombstone_whose_ref_names_another_author_deletes_nothing(store: Store) -> None:
    # The ref pairs Bob's key with the id of Carol's own entry: it names no entry at all.
    post, post_payload = make_entry(CAROL, 1, None, text="kept")
    tombstone, payload = make_entry(
        CAROL,
        2,
        post.id,
        type="tombstone",
        payload=encode_content(Tombstone(Ref(KEY, 1, post.id))),
    )

    store.ingest(CAROL.public_key, [(post.raw, post_payload), (tombstone.raw, payload)])

    assert [item.deleted for item in store.feed_entries(CAROL.public_key)] == [False, False]
    assert seqs(store.timeline(CAROL.public_key)) == [1]
    # and the post keeps its payload: the tombstone dropped nothing on the way in
    held = {item.entry.seq: item.payload for item in store.feed_entries(CAROL.public_key)}
    assert held == {1: post_payload, 2: payload}


# --- refused batches ---------------------------------------------------------------


def test_bad_last_signature_stores_nothing(store: Store) -> None:
    chain = make_chain(BOB, 5)
    items = [*wire(chain[:-1]), (with_bad_signature(chain[-1][0]).raw, chain[-1][1])]
    log_end = store.log.end

    with pytest.raises(SignatureError, match="not stored"):
        store.ingest(KEY, items)

    assert_nothing_stored(store, log_end)


def test_sparse_segment_with_bad_last_signature_stores_nothing(store: Store) -> None:
    chain = make_chain(BOB, 10)
    items = [*wire(chain[7:9]), (with_bad_signature(chain[9][0]).raw, chain[9][1])]
    log_end = store.log.end

    with pytest.raises(SignatureError):
        store.ingest(KEY, items)

    assert_nothing_stored(store, log_end)


@pytest.mark.parametrize("damage", ["replaced", "missing", "swapped"])
def test_broken_internal_link_is_refused(store: Store, damage: str) -> None:
    items = wire(make_chain(BOB, 5))
    if damage == "replaced":
        items[2] = wire(make_chain(BOB, 3, text="another"))[2]
    elif damage == "missing":
        del items[2]
    else:
        items[1], items[2] = items[2], items[1]
    log_end = store.log.end

    with pytest.raises(ChainError):
        store.ingest(KEY, items)

    assert_nothing_stored(store, log_end)


def test_batch_not_linking_to_its_stored_predecessor_is_refused(store: Store) -> None:
    store.ingest(KEY, wire(make_chain(BOB, 5)))
    other_history = make_chain(BOB, 8, text="another history")
    log_end = store.log.end

    with pytest.raises(ChainError):
        store.ingest(KEY, wire(other_history[5:]))

    assert store.log.end == log_end
    assert heights(store) == (5, 5)
    assert store.feed_state(KEY).forked_at is None


@pytest.mark.parametrize("damage", ["other payload", "one byte changed", "truncated"])
def test_payload_mismatch_is_refused(store: Store, damage: str) -> None:
    items = wire(make_chain(BOB, 3))
    raw, payload = items[1]
    assert payload is not None
    if damage == "other payload":
        payload = items[0][1]
    elif damage == "one byte changed":
        payload = payload[:-1] + bytes([payload[-1] ^ 0x01])
    else:
        payload = payload[:-1]
    items[1] = (raw, payload)
    log_end = store.log.end

    with pytest.raises(PayloadError):
        store.ingest(KEY, items)

    assert_nothing_stored(store, log_end)


def test_entry_of_another_author_in_the_batch_is_refused(store: Store) -> None:
    items = wire(make_chain(BOB, 2)) + wire(make_chain(CAROL, 3))[2:]
    log_end = store.log.end

    with pytest.raises(EntryError):
        store.ingest(KEY, items)

    assert_nothing_stored(store, log_end)


def test_oversized_batch_is_refused(store: Store) -> None:
    item = wire(make_chain(BOB, 1))[0]
    log_end = store.log.end

    with pytest.raises(SizeError, match="limit"):
        store.ingest(KEY, [item] * (MAX_BATCH + 1))

    assert_nothing_stored(store, log_end)


def test_oversized_entry_is_refused(store: Store) -> None:
    raw, payload = wire(make_chain(BOB, 1))[0]
    log_end = store.log.end

    with pytest.raises(SizeError):
        store.ingest(KEY, [(raw + bytes(MAX_ENTRY_SIZE), payload)])

    assert_nothing_stored(store, log_end)


def test_empty_batch_stores_nothing(store: Store) -> None:
    assert store.ingest(KEY, []) == IngestResult(0, 0, 0)
    assert store.feeds() == []


# --- forks -------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["one entry", "a whole other history"])
def test_fork_is_recorded_kept_and_freezes_the_feed(data_dir: Path, where: str) -> None:
    chain = make_chain(BOB, 5)
    if where == "one entry":
        conflicting = [make_entry(BOB, 3, chain[1][0].id, text="the other third entry")]
        fork_seq = 3
    else:
        conflicting = make_chain(BOB, 6, text="restored from an old backup")
        fork_seq = 1
    with Store(data_dir) as store:
        store.ingest(KEY, wire(chain))

        result = store.ingest(KEY, wire(conflicting))

        assert result.fork_at == fork_seq
        assert result.stored == 0
        proof = conflicting[0][0]
        assert [entry.id for entry in store.fork_proofs(KEY)] == [proof.id]
        assert store.feed_state(KEY).forked_at == fork_seq
        assert [e.id for e in check_feed(store, KEY)] == [e.id for e, _ in chain]
        assert [r.kind for r in log_records(store)] == [KIND_ENTRY] * 5 + [KIND_FORK_PROOF]
        assert any("signed two different entries" in warning for warning in store.warnings)
        log_end = store.log.end

        with pytest.raises(ForkedFeedError):
            store.ingest(KEY, wire(make_chain(BOB, 2, start_seq=6, prev=chain[-1][0].id)))
        with pytest.raises(ForkedFeedError):
            store.ingest(KEY, wire(conflicting))
        assert store.log.end == log_end
        assert heights(store) == (5, 5)

    with Store(data_dir) as reopened:
        assert reopened.feed_state(KEY).forked_at == fork_seq
        assert [entry.id for entry in reopened.fork_proofs(KEY)] == [proof.id]
        reopened.fork_proofs(KEY)[0].verify_signature()
        with pytest.raises(ForkedFeedError):
            reopened.ingest(KEY, wire(make_chain(BOB, 1, start_seq=6, prev=chain[-1][0].id)))


def test_forged_conflicting_entry_is_refused_and_no_fork_recorded(store: Store) -> None:
    chain = make_chain(BOB, 5)
    store.ingest(KEY, wire(chain))
    forged, payload = make_entry(BOB, 3, chain[1][0].id, text="not really by Bob")
    log_end = store.log.end

    with pytest.raises(SignatureError):
        store.ingest(KEY, [(with_bad_signature(forged).raw, payload)])

    assert store.log.end == log_end
    assert store.fork_proofs(KEY) == []
    assert store.feed_state(KEY).forked_at is None
    more = make_chain(BOB, 2, start_seq=6, prev=chain[-1][0].id)
    assert store.ingest(KEY, wire(more)).stored == 2
    assert len(check_feed(store, KEY)) == 7


def test_a_head_verified_on_arrival_is_not_verified_again(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    head, payload = make_entry(BOB, 1, None)
    head.verify_signature()  # as the gossip validator does
    checks: list[bytes] = []
    real = entry_module.verify_signature

    def counted(key: bytes, message: bytes, signature: bytes) -> None:
        checks.append(signature)
        real(key, message, signature)

    monkeypatch.setattr(entry_module, "verify_signature", counted)
    assert store.ingest(KEY, check_decoded(KEY, [(head, payload)])).stored == 1
    assert checks == []
    assert len(check_feed(store, KEY)) == 1


def test_a_decoded_entry_passed_on_unverified_is_verified(store: Store) -> None:
    head, payload = make_entry(BOB, 1, None)
    log_end = store.log.end

    with pytest.raises(SignatureError, match="not stored"):
        store.ingest(KEY, check_decoded(KEY, [(with_bad_signature(head), payload)]))

    assert_nothing_stored(store, log_end)
