"""Reading a run of log records at once (``LogFile.read_run``): the same answers as
reading each record alone, whatever the records and their places in the log."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lndesk.errors import StoreCorruptError
from lndesk.store.logfile import (
    FLAG_PAYLOAD,
    FLAG_PURGED,
    KIND_ENTRY,
    KIND_FORK_PROOF,
    LogFile,
    encode_record,
    purged_record,
)

STABLE = settings(derandomize=True, database=None, deadline=None, max_examples=150)
RECEIVED_MS = 1_700_000_000_123

# (kind, entry size, payload size or None, purged)
RecordSpec = tuple[int, int, int | None, bool]
record_specs = st.tuples(
    st.sampled_from([KIND_ENTRY, KIND_ENTRY, KIND_FORK_PROOF]),
    st.integers(0, 512),
    st.one_of(st.none(), st.integers(0, 600), st.sampled_from([9000, 65_536])),
    st.booleans(),
)


def write_log(path: Path, specs: list[RecordSpec]) -> tuple[LogFile, list[int]]:
    log = LogFile(path)
    records = [
        encode_record(
            kind,
            RECEIVED_MS,
            os.urandom(entry),
            None if payload is None else os.urandom(payload),
            purged=purged and payload is None,
        )
        for kind, entry, payload, purged in specs
    ]
    return log, log.append(records)


def one_by_one(
    log: LogFile, offsets: list[int], first: int, max_bytes: int
) -> list[tuple[int, bytes, bytes | None]]:
    """What ``read_run`` answers, from one ``read`` a record."""
    run: list[tuple[int, bytes, bytes | None]] = []
    size = 0
    for number, offset in enumerate(offsets, start=first):
        record = log.read(offset)
        size += len(record.entry) + len(record.payload or b"")
        if run and size > max_bytes:
            break
        run.append((number, record.entry, record.payload))
    return run


@STABLE
@given(
    specs=st.lists(record_specs, min_size=1, max_size=40),
    picks=st.lists(st.integers(0, 39), max_size=40),
    max_bytes=st.sampled_from([0, 700, 5000, 1 << 20]),
    first=st.integers(1, 1000),
)
def test_a_run_reads_as_its_records_one_by_one(
    tmp_path_factory: pytest.TempPathFactory,
    specs: list[RecordSpec],
    picks: list[int],
    max_bytes: int,
    first: int,
) -> None:
    log, offsets = write_log(tmp_path_factory.mktemp("log") / "test.log", specs)
    try:
        # Every record in order, then a choice of them in any order (other feeds'
        # records between, repeats, going back).
        for chosen in (offsets, [offsets[i % len(offsets)] for i in picks]):
            assert log.read_run(chosen, first, max_bytes) == one_by_one(
                log, chosen, first, max_bytes
            )
    finally:
        log.close()


def test_a_run_of_many_small_records_is_read_whole(tmp_path: Path) -> None:
    """Records of one append, more than one read's worth of them."""
    log, offsets = write_log(tmp_path / "test.log", [(KIND_ENTRY, 300, 500, False)] * 1000)
    run = log.read_run(offsets, 7, 1 << 30)
    assert run == one_by_one(log, offsets, 7, 1 << 30)
    assert [number for number, _, _ in run] == list(range(7, 1007))
    assert log.read_run(offsets, 1, 8000) == one_by_one(log, offsets, 1, 8000)
    log.close()


def test_a_purged_record_in_a_run_has_no_payload(tmp_path: Path) -> None:
    log, offsets = write_log(tmp_path / "test.log", [(KIND_ENTRY, 300, 500, False)] * 5)
    prefix, size = purged_record(log.read(offsets[2]))
    log.overwrite(offsets[2], prefix, size)
    run = log.read_run(offsets, 1, 1 << 20)
    assert [payload is None for _, _, payload in run] == [False, False, True, False, False]
    assert run == one_by_one(log, offsets, 1, 1 << 20)
    log.close()


@pytest.mark.parametrize("where", [0, 4, 9])
def test_a_damaged_record_in_a_run_is_refused(tmp_path: Path, where: int) -> None:
    """A record whose bytes changed after it was written (its checksum no longer
    matches) ends the read as :meth:`LogFile.read` ends it."""
    path = tmp_path / "test.log"
    log, offsets = write_log(path, [(KIND_ENTRY, 300, 500, False)] * 10)
    log.close()
    with path.open("r+b") as damaged:
        damaged.seek(offsets[where] + 8 + 12 + 300 + 17)  # a byte of its payload
        byte = damaged.read(1)
        damaged.seek(-1, os.SEEK_CUR)
        damaged.write(bytes([byte[0] ^ 0x55]))
    log = LogFile(path)
    with pytest.raises(StoreCorruptError, match=f"offset {offsets[where]} is damaged"):
        log.read_run(offsets, 1, 1 << 20)
    assert [n for n, _, _ in log.read_run(offsets[:where], 1, 1 << 20)] == list(range(1, where + 1))
    log.close()


def odd_record(kind: int, flags: int, entry_len: int, rest: bytes) -> bytes:
    """A record whose checksum matches a body that ``encode_record`` never writes."""
    body = struct.pack(">BBQH", kind, flags, RECEIVED_MS, entry_len) + rest
    return struct.pack(">II", len(body), zlib.crc32(body)) + body


@pytest.mark.parametrize(
    ("record", "refused"),
    [
        (odd_record(3, FLAG_PAYLOAD, 300, bytes(800)), True),  # no such kind
        (odd_record(KIND_ENTRY, FLAG_PAYLOAD, 900, bytes(800)), True),  # entry past the end
        (odd_record(KIND_ENTRY, FLAG_PAYLOAD | FLAG_PURGED, 300, bytes(800)), True),
        (odd_record(KIND_ENTRY, FLAG_PAYLOAD | 4, 300, bytes(800)), False),  # unknown flag
    ],
)
def test_a_record_read_alone_refused_is_refused_in_a_run(
    tmp_path: Path, record: bytes, refused: bool
) -> None:
    log, offsets = write_log(tmp_path / "test.log", [(KIND_ENTRY, 300, 500, False)] * 3)
    offsets += log.append([record])
    offsets += log.append([encode_record(KIND_ENTRY, RECEIVED_MS, bytes(300), bytes(500))])
    if refused:
        with pytest.raises(StoreCorruptError, match=f"offset {offsets[3]} is damaged"):
            log.read(offsets[3])
        with pytest.raises(StoreCorruptError, match=f"offset {offsets[3]} is damaged"):
            log.read_run(offsets, 1, 1 << 20)
    else:
        assert log.read_run(offsets, 1, 1 << 20) == one_by_one(log, offsets, 1, 1 << 20)
    log.close()
