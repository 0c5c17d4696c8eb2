"""A purge journal is read as a file that may have been damaged or planted
(lndesk.store.purge): its size is bounded before it is read, and each overwrite it names
must be what a purge writes, at a record of the log, or nothing is written at all.

Each journal below has a valid CRC (written as a purge writes one): a CRC is no proof of
where the bytes came from. The records are built by hand from protocol 14.2, so that each
case gets past every check but the one it is about.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from store_helpers import make_chain, make_identity

from lndesk.content import Post
from lndesk.entry import decode_entry
from lndesk.errors import StoreCorruptError
from lndesk.store import purge
from lndesk.store.logfile import (
    FLAG_PAYLOAD,
    FLAG_PURGED,
    HEADER_SIZE,
    KIND_ENTRY,
    KIND_FORK_PROOF,
    LogFile,
    encode_record,
    purged_record,
)
from lndesk.store.purge import (
    JOURNAL_NAME,
    MAX_JOURNAL_BYTES,
    MAX_JOURNAL_RECORDS,
    Overwrite,
    purge_payloads,
    replay_journal,
)
from lndesk.store.store import LOG_NAME, Store

ALICE = make_identity(41)
HEAD = 8 + 12  # a record's length and CRC, then kind, flags, received time, entry length


def prefix_of(
    entry: bytes,
    size: int,
    *,
    length: int | None = None,
    kind: int = KIND_ENTRY,
    flags: int = FLAG_PURGED,
    received_ms: int = 7,
    crc_delta: int = 0,
    entry_length: int | None = None,
) -> bytes:
    """The bytes a purge writes for a record of ``size`` bytes holding ``entry`` (zeros
    follow them); the keywords make it something else (``entry_length``: the CRC is of
    the bytes of an entry this long, the rest of ``entry`` written where zeros go)."""
    length_field = len(entry) if entry_length is None else entry_length
    head = bytes([kind, flags]) + received_ms.to_bytes(8, "big") + length_field.to_bytes(2, "big")
    crc = zlib.crc32(bytes(size - HEAD - len(entry)), zlib.crc32(head + entry))
    length = size - 8 if length is None else length
    return length.to_bytes(4, "big") + ((crc + crc_delta) % 2**32).to_bytes(4, "big") + head + entry


class Log:
    """A log of three records, A B C; A's payload holds what looks like the start of a
    record (its length reaching the end of B), as a peer's payload may."""

    def __init__(self, directory: Path) -> None:
        (a, _), (b, b_payload), (c, c_payload) = make_chain(ALICE, 3)
        self.entries = [a.raw, b.raw, c.raw]
        self.path = directory / LOG_NAME
        self.file = LogFile(self.path)
        self.fake_entry = b"an entry no log holds"
        a_size = HEAD + len(a.raw) + 200
        self.fake = HEADER_SIZE + HEAD + len(a.raw) + 50  # where it begins, in A's payload
        b_size = HEAD + len(b.raw) + len(b_payload)
        fake_size = HEADER_SIZE + a_size + b_size - self.fake  # it ends where C begins
        fake = prefix_of(self.fake_entry, fake_size, flags=FLAG_PAYLOAD)
        a_payload = bytes(50) + fake + bytes(150 - len(fake))
        self.offsets = self.file.append(
            [
                encode_record(KIND_ENTRY, 7, a.raw, a_payload),
                encode_record(KIND_ENTRY, 7, b.raw, b_payload),
                encode_record(KIND_ENTRY, 7, c.raw, c_payload),
            ]
        )
        self.sizes = [self.file.read(o).size for o in self.offsets]
        assert self.offsets[1] + self.sizes[1] == self.fake + fake_size

    def payload_start(self, record: int, count: int) -> bytes:
        """The first ``count`` bytes of record ``record``'s payload, as the log holds them."""
        at = self.offsets[record] + HEAD + len(self.entries[record])
        return self.file.tail(at, count)

    def damage_flags(self, record: int) -> list[Overwrite]:
        """Record ``record`` with its flags byte damaged; its purge."""
        with self.path.open("r+b") as file:
            file.seek(self.offsets[record] + 9)
            file.write(b"\x40")
        return [self.overwrite(record)]

    def overwrite(self, record: int, **keywords: int) -> Overwrite:
        """What a purge of record ``record`` (0: A) writes, but for ``keywords``."""
        size = self.sizes[record]
        return (self.offsets[record], prefix_of(self.entries[record], size, **keywords), size)


CASES: dict[str, tuple[str, Callable[[Log], list[Overwrite]]]] = {
    # Bytes in a payload that look like a record: zeroing "its" payload would zero B.
    "inside a payload": (
        "no record of the log begins at offset",
        lambda log: [
            (
                log.fake,
                prefix_of(log.fake_entry, log.offsets[2] - log.fake),
                log.offsets[2] - log.fake,
            )
        ],
    ),
    # A purged record of B written over A.
    "another entry": (
        "is not the log's record there",
        lambda log: [(log.offsets[0], prefix_of(log.entries[1], log.sizes[0]), log.sizes[0])],
    ),
    # A's own bytes, but zeros on past A's end (over B).
    "zeros past its end": (
        "would not be a purged record",
        lambda log: [
            (
                log.offsets[0],
                prefix_of(log.entries[0], log.sizes[0] + log.sizes[1], length=log.sizes[0] - 8),
                log.sizes[0] + log.sizes[1],
            )
        ],
    ),
    "not marked purged": (
        "would not be a purged record",
        lambda log: [log.overwrite(0, flags=FLAG_PAYLOAD)],
    ),
    "a fork proof": (
        "would not be a purged record",
        lambda log: [log.overwrite(0, kind=KIND_FORK_PROOF)],
    ),
    "a wrong CRC": ("would not be a purged record", lambda log: [log.overwrite(0, crc_delta=1)]),
    "past the end": (
        "is outside the log",
        lambda log: [(2**64 - HEAD - 64, log.overwrite(0)[1], log.sizes[0])],
    ),
    # A's purge, but writing the start of its payload back where zeros go.
    "payload kept": (
        "would not be a purged record",
        lambda log: [
            (
                log.offsets[0],
                prefix_of(
                    log.entries[0] + log.payload_start(0, 16),
                    log.sizes[0],
                    entry_length=len(log.entries[0]),
                ),
                log.sizes[0],
            )
        ],
    ),
    # A record whose flags byte is damaged (not one a purge leaves): not the journal's.
    "damaged flags": ("is not the log's record there", lambda log: log.damage_flags(0)),
    "too many": (
        f"more than the {MAX_JOURNAL_RECORDS} records",
        lambda log: [log.overwrite(0)] * MAX_JOURNAL_RECORDS,
    ),
    "too short": ("has an impossible size", lambda log: [(log.offsets[0], b"\x00\x00\x00", 3)]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_journal_naming_other_bytes_than_a_purge_writes_is_refused(
    tmp_path: Path, case: str
) -> None:
    log = Log(tmp_path)
    problem, planted = CASES[case]
    good = log.overwrite(2)  # a purge of C: not applied either, when the other is refused
    overwrites = sorted([good, *planted(log)])
    journal = tmp_path / JOURNAL_NAME
    purge._write_journal(journal, log.file.log_id, overwrites)
    before = log.path.read_bytes()
    with pytest.raises(StoreCorruptError) as refused:
        replay_journal(log.file)
    assert problem in refused.value.message
    assert str(journal) in refused.value.message and "mv " in refused.value.hint
    assert log.path.read_bytes() == before and journal.exists()
    # The new purge a store runs replays a journal first: refused the same way.
    with pytest.raises(StoreCorruptError):
        purge_payloads(log.file, [(log.offsets[1], b"")])
    assert log.path.read_bytes() == before
    log.file.close()


def test_a_journal_past_damage_in_the_log_says_where_the_log_is_damaged(tmp_path: Path) -> None:
    # B is damaged (a byte of its payload flipped) and the journal names C: no walk of
    # the log reaches C, which the refusal says, with where and why the walk stopped.
    log = Log(tmp_path)
    with log.path.open("r+b") as file:
        file.seek(log.offsets[2] - 1)
        byte = file.read(1)
        file.seek(log.offsets[2] - 1)
        file.write(bytes([byte[0] ^ 1]))
    purge._write_journal(tmp_path / JOURNAL_NAME, log.file.log_id, [log.overwrite(2)])
    with pytest.raises(StoreCorruptError) as refused:
        replay_journal(log.file)
    assert f"no record of the log begins at offset {log.offsets[2]}" in refused.value.message
    assert f"up to offset {log.offsets[1]}: record checksum mismatch" in refused.value.message
    log.file.close()


def test_an_oversized_journal_is_refused_unread(tmp_path: Path) -> None:
    log = Log(tmp_path)
    journal = tmp_path / JOURNAL_NAME
    journal.write_bytes(b"")
    os.truncate(journal, 64 << 20)  # sparse: no disk is used
    tracemalloc.start()
    try:
        with pytest.raises(StoreCorruptError) as refused:
            replay_journal(log.file)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "larger than" in refused.value.message and journal.exists()
    assert peak < 2 * MAX_JOURNAL_BYTES, peak
    log.file.close()


def test_a_journal_finishing_a_purge_that_tore_its_records_is_applied(tmp_path: Path) -> None:
    # What the checks above must let through: a crash mid-purge left A whole but purged,
    # B half overwritten (its CRC new, its flags old) and C not touched at all.
    log = Log(tmp_path)
    overwrites = [log.overwrite(0), log.overwrite(1), log.overwrite(2)]
    for offset, prefix, size in overwrites[:1]:
        log.file.overwrite(offset, prefix, size)
    offset, prefix, _ = overwrites[1]
    log.file.overwrite(offset, prefix[:8], 8)
    purge._write_journal(tmp_path / JOURNAL_NAME, log.file.log_id, overwrites)
    assert replay_journal(log.file) == 3
    for index, offset in enumerate(log.offsets):
        record = log.file.read(offset)
        assert record.purged and record.entry == log.entries[index]
        assert purged_record(record) == overwrites[index][1:]
    log.file.close()


def test_a_purge_of_many_records_writes_journals_a_reader_takes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # More records than one journal may name: several journals, each of them read back as
    # a whole one (a crash at any point leaves one the next open finishes).
    log = Log(tmp_path)
    written: list[list[Overwrite]] = []
    write = purge._write_journal

    def keep(path: Path, log_id: bytes, overwrites: list[Overwrite]) -> None:
        write(path, log_id, overwrites)
        replayed = purge._parse_journal(path.read_bytes(), log_id)
        assert replayed == list(overwrites)
        written.append(list(overwrites))

    monkeypatch.setattr(purge, "_write_journal", keep)
    monkeypatch.setattr(purge, "MAX_JOURNAL_RECORDS", 2)
    chosen = [(o, decode_entry(log.file.read(o).entry).id) for o in log.offsets]
    assert purge_payloads(log.file, chosen) == 3
    assert [len(w) for w in written] == [2, 1]
    assert all(log.file.read(o).purged for o in log.offsets)
    log.file.close()


def test_the_largest_journal_a_purge_writes_is_within_the_bound(tmp_path: Path) -> None:
    entry = bytes(512)  # MAX_ENTRY_SIZE
    size = HEAD + len(entry) + 65_536
    overwrites = [
        (HEADER_SIZE + i * size, prefix_of(entry, size), size) for i in range(MAX_JOURNAL_RECORDS)
    ]
    purge._write_journal(tmp_path / JOURNAL_NAME, bytes(16), overwrites)
    assert (tmp_path / JOURNAL_NAME).stat().st_size == MAX_JOURNAL_BYTES


def store_with_a_post(data_dir: Path) -> tuple[int, int]:
    """A store holding two posts; the offsets of their records."""
    with Store(data_dir) as store:
        store.publish(ALICE, Post("one"))
        store.publish(ALICE, Post("two"))
        stored = store.index.stored_ids(ALICE.public_key, 1, 2)
        return stored[1][1], stored[2][1]


def follow_the_advice(error: StoreCorruptError) -> None:
    """Run the command the hint gives (mv FROM TO), as a person would."""
    command = error.hint.split("(", 1)[1].split(")", 1)[0]
    words = shlex.split(command)
    assert words[0] == "mv" and len(words) == 3
    mv = shutil.which("mv")
    assert mv is not None
    subprocess.run([mv, *words[1:]], check=True)


@pytest.mark.parametrize("planted", ["another record's bytes", "larger than a purge writes"])
def test_the_advice_given_for_a_refused_journal_opens_the_store(
    data_dir: Path, planted: str
) -> None:
    first, second = store_with_a_post(data_dir)
    journal = data_dir / JOURNAL_NAME
    if planted == "larger than a purge writes":
        journal.write_bytes(b"")
        with journal.open("r+b") as file:
            file.truncate(MAX_JOURNAL_BYTES + 1)  # sparse: nothing is written
    else:
        log_file = LogFile(data_dir / LOG_NAME)
        record = log_file.read(second)
        prefix, size = purged_record(record)
        # The second post's purged bytes, named at the first one's place.
        purge._write_journal(journal, log_file.log_id, [(first, prefix, size)])
        log_file.close()
    before = (data_dir / LOG_NAME).read_bytes()
    with pytest.raises(StoreCorruptError) as refused:
        Store(data_dir)
    assert (data_dir / LOG_NAME).read_bytes() == before
    follow_the_advice(refused.value)
    with Store(data_dir) as store:
        held = {item.entry.seq: item.content for item in store.feed_entries(ALICE.public_key)}
        assert held == {1: Post("one"), 2: Post("two")}
    assert (data_dir / LOG_NAME).read_bytes() == before
