"""The append-only log file, and how the store recovers from a torn last write."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest
from store_helpers import check_feed, make_chain, make_identity, post_text, wire

import lndesk.store.store as store_module
from lndesk.content import Post
from lndesk.entry import decode_entry
from lndesk.errors import StoreCorruptError
from lndesk.store.logfile import (
    HEADER_SIZE,
    KIND_ENTRY,
    KIND_FORK_PROOF,
    MAGIC,
    LogFile,
    Record,
    ScanEnd,
    encode_entry_records,
    encode_record,
)
from lndesk.store.store import INDEX_NAME, LOCK_NAME, LOG_NAME, Store

ALICE = make_identity(1)
BOB = make_identity(2)
RECEIVED_MS = 1_700_000_000_123


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "test.log"


def scan(log: LogFile) -> tuple[list[Record], ScanEnd]:
    items = list(log.scan())
    end = items.pop()
    assert isinstance(end, ScanEnd)
    assert all(isinstance(item, Record) for item in items)
    return items, end  # type: ignore[return-value]


# --- LogFile -----------------------------------------------------------------------


def test_append_read_and_scan(log_path: Path) -> None:
    log = LogFile(log_path)
    assert log.end == HEADER_SIZE
    first = encode_record(KIND_ENTRY, RECEIVED_MS, b"entry one", b"payload one")
    second = encode_record(KIND_FORK_PROOF, RECEIVED_MS + 1, b"entry two", None)
    third = encode_record(KIND_ENTRY, RECEIVED_MS + 2, b"entry three", b"")

    offsets = log.append([first, second])
    offsets += log.append([third])

    assert offsets == [HEADER_SIZE, HEADER_SIZE + len(first), HEADER_SIZE + len(first + second)]
    assert log.end == HEADER_SIZE + len(first + second + third) == log_path.stat().st_size
    expected = [
        Record(offsets[0], KIND_ENTRY, RECEIVED_MS, b"entry one", b"payload one"),
        Record(offsets[1], KIND_FORK_PROOF, RECEIVED_MS + 1, b"entry two", None),
        Record(offsets[2], KIND_ENTRY, RECEIVED_MS + 2, b"entry three", b""),
    ]
    assert [log.read(offset) for offset in offsets] == expected
    assert [record.size for record in expected] == [len(first), len(second), len(third)]
    records, end = scan(log)
    assert records == expected
    assert (end.valid_end, end.file_size, end.problem, end.torn) == (log.end, log.end, None, False)
    assert [r.offset for r in log.scan(offsets[1]) if isinstance(r, Record)] == offsets[1:]
    log_id = log.log_id
    log.close()

    reopened = LogFile(log_path)
    try:
        assert reopened.log_id == log_id
        assert reopened.end == log_path.stat().st_size
        assert scan(reopened)[0] == expected
    finally:
        reopened.close()


def test_new_logs_get_their_own_id(tmp_path: Path) -> None:
    one, two = LogFile(tmp_path / "one.log"), LogFile(tmp_path / "two.log")
    try:
        assert len(one.log_id) == 16
        assert one.log_id != two.log_id
        assert (tmp_path / "one.log").read_bytes() == MAGIC + one.log_id
    finally:
        one.close()
        two.close()


def test_scan_reads_past_its_buffer(log_path: Path) -> None:
    log = LogFile(log_path)
    payloads = [bytes([n]) * 60_000 for n in range(40)]  # 2.4 MB, over two read chunks
    try:
        offsets = []
        for start in range(0, 40, 7):
            offsets += log.append(
                [
                    encode_record(KIND_ENTRY, n, b"e%d" % n, payloads[n])
                    for n in range(start, min(start + 7, 40))
                ]
            )
        records, end = scan(log)
        assert [r.offset for r in records] == offsets
        assert [r.payload for r in records] == payloads
        assert [r.received_ms for r in records] == list(range(40))
        assert not end.torn
    finally:
        log.close()


def test_damaged_record_cannot_be_read(log_path: Path) -> None:
    log = LogFile(log_path)
    try:
        (offset,) = log.append([encode_record(KIND_ENTRY, 1, b"entry", b"payload")])
        with pytest.raises(StoreCorruptError):
            log.read(log.end)
        with pytest.raises(StoreCorruptError):
            log.read(offset + 1)
        flip_byte(log_path, log.end - 1)
        with pytest.raises(StoreCorruptError, match="damaged"):
            log.read(offset)
    finally:
        log.close()


def test_file_that_is_not_a_log_is_refused(log_path: Path) -> None:
    log_path.write_bytes(b"SQLite format 3\x00" + bytes(100))
    with pytest.raises(StoreCorruptError, match="not an lndesk log file"):
        LogFile(log_path)
    assert log_path.read_bytes() == b"SQLite format 3\x00" + bytes(100)


TAIL = encode_record(KIND_ENTRY, RECEIVED_MS, b"the torn entry", b"its payload")

NEVER_COMPLETED = {"truncated header", "truncated body", "zeros"}
"""Tails that cannot be a completed record: the file ends inside the record, or zeros."""


def crc_broken(record: bytes) -> bytes:
    return record[:-1] + bytes([record[-1] ^ 0x01])


TORN_TAILS = {
    "truncated header": (TAIL[:5], "incomplete record header"),
    "truncated body": (TAIL[:-3], "incomplete record"),
    "zeros": (bytes(64), "impossible record length"),
    "garbage": (b"\xde\xad\xbe\xef" * 20, "impossible record length"),
    "crc-broken record": (crc_broken(TAIL), "record checksum mismatch"),
}


@pytest.mark.parametrize("name", list(TORN_TAILS))
def test_scan_reports_where_a_torn_tail_starts(log_path: Path, name: str) -> None:
    tail, problem = TORN_TAILS[name]
    log = LogFile(log_path)
    try:
        log.append([encode_record(KIND_ENTRY, 1, b"kept", b"kept payload")])
        good_end = log.end
        with log_path.open("ab") as file:
            file.write(tail)

        records, end = scan(log)

        assert [r.entry for r in records] == [b"kept"]
        assert (end.valid_end, end.file_size, end.problem) == (
            good_end,
            good_end + len(tail),
            problem,
        )
        assert end.torn
        log.truncate(end.valid_end, problem)
        assert log_path.stat().st_size == good_end == log.end
        (offset,) = log.append([TAIL])
        assert offset == good_end
        assert log.read(offset).entry == b"the torn entry"
    finally:
        log.close()


# --- the store after a torn write --------------------------------------------------


def build_store(directory: Path) -> list[tuple[bytes, bytes | None]]:
    """A store with five own posts and a batch of Bob's; returns Bob's chain as sent."""
    bob = wire(make_chain(BOB, 4))
    with Store(directory) as store:
        for n in range(1, 4):
            store.publish(ALICE, Post(f"post {n}"))
        store.ingest(BOB.public_key, bob)
        store.publish(ALICE, Post("post 4"))
        store.publish(ALICE, Post("post 5"))
    return bob


def remove_index(directory: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        (directory / (INDEX_NAME + suffix)).unlink(missing_ok=True)


def check_contents(store: Store) -> None:
    own = store.feed_entries(ALICE.public_key)
    assert [post_text(item.payload) for item in own] == [f"post {n}" for n in range(5, 0, -1)]
    assert len(check_feed(store, ALICE.public_key)) == 5
    assert len(check_feed(store, BOB.public_key)) == 4


def flip_byte(path: Path, offset: int) -> None:
    with path.open("r+b") as file:
        file.seek(offset)
        byte = file.read(1)
        file.seek(offset)
        file.write(bytes([byte[0] ^ 0x40]))


@pytest.mark.parametrize("name", list(TORN_TAILS))
def test_store_cuts_a_torn_last_write(tmp_path: Path, name: str) -> None:
    directory = tmp_path / "data"
    build_store(directory)
    log_path = directory / LOG_NAME
    good = log_path.read_bytes()
    tail, problem = TORN_TAILS[name]
    with log_path.open("ab") as file:
        file.write(tail)

    with Store(directory) as store:
        assert len(store.warnings) == 1
        assert problem in store.warnings[0]
        assert f"cut {len(tail)} bytes" in store.warnings[0]
        if name in NEVER_COMPLETED:
            assert "interrupted" in store.warnings[0]
            assert "no post was lost" in store.warnings[0]
        else:  # it may have been a completed record: never called harmless, and kept
            assert "damaged" in store.warnings[0]
            assert "no post was lost" not in store.warnings[0]
            saved = directory / f"{LOG_NAME}.cut-{len(good)}"
            assert str(saved) in store.warnings[0]
            assert saved.read_bytes() == tail
        assert log_path.read_bytes() == good
        check_contents(store)
        assert store.publish(ALICE, Post("post 6")).seq == 6

    with Store(directory) as store:
        assert store.warnings == []
        assert len(check_feed(store, ALICE.public_key)) == 6


def test_store_keeps_the_complete_records_of_a_torn_batch(tmp_path: Path) -> None:
    directory = tmp_path / "data"
    bob = build_store(directory)
    with Store(directory) as store:
        head = store.feed_state(BOB.public_key).head_id
    more = make_chain(BOB, 3, start_seq=5, prev=head)
    batch = b"".join(encode_record(KIND_ENTRY, RECEIVED_MS, e.raw, p) for e, p in more)
    first_two = len(encode_record(KIND_ENTRY, RECEIVED_MS, more[0][0].raw, more[0][1])) + len(
        encode_record(KIND_ENTRY, RECEIVED_MS, more[1][0].raw, more[1][1])
    )
    log_path = directory / LOG_NAME
    with log_path.open("ab") as file:
        file.write(batch[: first_two + 10])  # two whole records, then 10 bytes of the third

    with Store(directory) as store:
        assert len(store.warnings) == 1
        assert "cut 10 bytes" in store.warnings[0]
        entries = check_feed(store, BOB.public_key)
        assert [e.id for e in entries] == [raw_id(raw) for raw, _ in bob] + [
            e.id for e, _ in more[:2]
        ]
        assert store.ingest(BOB.public_key, wire(more)).stored == 1


def raw_id(raw: bytes) -> bytes:
    return decode_entry(raw).id


@pytest.mark.parametrize("name", list(TORN_TAILS))
def test_store_cuts_a_torn_last_write_while_rebuilding_the_index(tmp_path: Path, name: str) -> None:
    directory = tmp_path / "data"
    build_store(directory)
    log_path = directory / LOG_NAME
    good = log_path.read_bytes()
    with log_path.open("ab") as file:
        file.write(TORN_TAILS[name][0])
    remove_index(directory)

    with Store(directory) as store:
        said = "interrupted" if name in NEVER_COMPLETED else "damaged"
        assert any(said in warning for warning in store.warnings)
        assert log_path.read_bytes() == good
        check_contents(store)


def damage_middle_record(directory: Path) -> int:
    """Damage the third of the nine records build_store writes; return its offset."""
    log = LogFile(directory / LOG_NAME)
    try:
        records, _ = scan(log)
    finally:
        log.close()
    assert len(records) == 9
    target = records[2]
    flip_byte(directory / LOG_NAME, target.offset + target.size - 2)
    return target.offset


def test_damage_before_the_end_is_refused_when_rebuilding(tmp_path: Path) -> None:
    directory = tmp_path / "data"
    build_store(directory)
    offset = damage_middle_record(directory)
    remove_index(directory)
    damaged = (directory / LOG_NAME).read_bytes()

    with pytest.raises(StoreCorruptError, match=f"offset {offset}") as info:
        Store(directory)

    assert "not modified" in info.value.hint
    assert (directory / LOG_NAME).read_bytes() == damaged
    lock_fd = os.open(directory / LOCK_NAME, os.O_RDWR)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the failed open let go of it
    finally:
        os.close(lock_fd)


def test_damage_before_the_end_is_still_refused_on_the_next_open(tmp_path: Path) -> None:
    directory = tmp_path / "data"
    build_store(directory)
    damage_middle_record(directory)
    remove_index(directory)
    damaged = (directory / LOG_NAME).read_bytes()
    with pytest.raises(StoreCorruptError):
        Store(directory)

    try:
        with pytest.raises(StoreCorruptError):
            Store(directory).close()
    finally:
        assert (directory / LOG_NAME).read_bytes() == damaged


def test_failed_open_closes_the_log_and_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "data"
    build_store(directory)
    damage_middle_record(directory)
    remove_index(directory)
    opened: list[LogFile] = []

    class TrackedLogFile(LogFile):
        def __init__(self, path: Path) -> None:
            super().__init__(path)
            opened.append(self)

    monkeypatch.setattr(store_module, "LogFile", TrackedLogFile)

    with pytest.raises(StoreCorruptError):
        Store(directory)

    assert len(opened) == 1
    assert opened[0]._fd == -1


def test_record_with_an_unreadable_entry_is_reported_not_crashed_on(tmp_path: Path) -> None:
    directory = tmp_path / "data"
    build_store(directory)
    log = LogFile(directory / LOG_NAME)
    log.append([encode_record(KIND_ENTRY, 0, b"\x89 not an entry", None)])
    log.close()
    before = (directory / LOG_NAME).read_bytes()
    with pytest.raises(StoreCorruptError, match="unreadable entry"):
        Store(directory)
    assert (directory / LOG_NAME).read_bytes() == before


def test_damaged_length_pointing_past_the_end_is_not_taken_for_a_torn_write(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "data"
    build_store(directory)
    log = LogFile(directory / LOG_NAME)
    try:
        records, _ = scan(log)
    finally:
        log.close()
    target = records[-3]  # two complete records follow it
    with (directory / LOG_NAME).open("r+b") as file:
        file.seek(target.offset)
        file.write((0x00010000).to_bytes(4, "big"))  # a length that runs past the end
    remove_index(directory)
    damaged = (directory / LOG_NAME).read_bytes()
    with pytest.raises(StoreCorruptError, match="valid records follow"):
        Store(directory)
    assert (directory / LOG_NAME).read_bytes() == damaged


def test_entry_records_of_a_batch_are_the_records_one_by_one() -> None:
    """A batch's records, encoded in one pass, are byte for byte those
    :func:`encode_record` makes of each: with a payload, without one, purged, and of
    entries of two lengths (seq 23 is one byte, seq 24 two)."""
    chain = make_chain(make_identity(5), 24)
    batch = [chain[0], (chain[1][0], None), chain[2], chain[22], chain[23]]
    assert len(chain[22][0].raw) != len(chain[23][0].raw)
    purged = [False, False, True, False, False]  # a deleted entry's record: no payload
    assert encode_entry_records(1_700_000_000_123, batch, {2}) == [
        encode_record(
            KIND_ENTRY, 1_700_000_000_123, entry.raw, None if gone else payload, purged=gone
        )
        for (entry, payload), gone in zip(batch, purged, strict=True)
    ]
