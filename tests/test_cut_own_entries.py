"""Damaged own entries cut from the end of the log (lndesk.app.cuts): every record of a
cut tail is read, so any own entry among them pauses publishing; a saved tail is never
written over; a named pipe where a saved tail goes is refused, not waited on."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from planted_pipes import planted_pipe
from store_helpers import flip, record_offsets

from lndesk.app import cuts
from lndesk.app.service import Service, create_identity
from lndesk.errors import OwnLogUnknownError
from lndesk.store.store import INDEX_NAME, LOG_NAME

CUT = LOG_NAME + ".cut-"


def forget_index(data_dir: Path) -> None:
    for name in (INDEX_NAME, INDEX_NAME + "-wal", INDEX_NAME + "-shm"):
        (data_dir / name).unlink(missing_ok=True)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data_dir = tmp_path / "ann"
    create_identity(data_dir)
    with Service(data_dir) as ann:
        for number in range(1, 8):
            ann.post(f"note {number} about tidal pools")
    return data_dir


def test_an_own_entry_behind_an_unnamed_damaged_record_pauses_publishing(
    data_dir: Path,
) -> None:
    """The last two records are damaged: the first so badly that it names no entry, the
    second (my entry 7) in its payload. Both are cut; entry 7 must never be signed again."""
    log_path = data_dir / LOG_NAME
    offsets = record_offsets(log_path)
    flip(log_path, offsets[-2] + 20)  # the first byte of its entry: it names nothing
    flip(log_path, log_path.stat().st_size - 5)  # a payload byte of entry 7
    forget_index(data_dir)  # the index is rebuilt from the log at the next open
    with Service(data_dir) as ann:
        assert not ann.own_log.confirmed
        warned = "\n".join(ann.store.warnings)
        assert "entry 7 of your own log was damaged" in warned, warned
        assert "restore-status" in warned and "confirm-log" in warned
        with pytest.raises(OwnLogUnknownError):
            ann.post("a position peers may hold already")
        assert ann.own_state().height < 7
    assert len(list(data_dir.glob(CUT + "*.seen"))) == 1


def test_a_tail_dealt_with_is_never_saved_over_one_kept_before(data_dir: Path) -> None:
    log_path = data_dir / LOG_NAME
    offsets = record_offsets(log_path)
    last = log_path.read_bytes()[offsets[-1] :]
    earlier = data_dir / f"{CUT}999.seen"
    earlier.write_bytes(b"a tail kept from before")
    (data_dir / f"{CUT}999").write_bytes(last)
    with Service(data_dir) as ann:
        assert not ann.own_log.confirmed
        assert any(f"{CUT}999.seen-2" in warning for warning in ann.store.warnings)
    assert earlier.read_bytes() == b"a tail kept from before"
    assert (data_dir / f"{CUT}999.seen-2").read_bytes() == last
    assert not (data_dir / f"{CUT}999").exists()


def test_a_saved_tail_that_is_a_pipe_is_refused_not_waited_on(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Its writer answers a plain open with my entry's record: read, it would pause
    publishing for an entry that was never cut."""
    log_path = data_dir / LOG_NAME
    offsets = record_offsets(log_path)
    last = log_path.read_bytes()[offsets[-1] :]
    with planted_pipe(data_dir / f"{CUT}999", last), caplog.at_level(logging.WARNING):
        with Service(data_dir) as ann:
            assert ann.own_log.confirmed
            ann.post("note 8")
    assert "named pipe" in caplog.text


def test_an_own_entry_behind_a_record_whose_length_is_damaged_pauses_publishing(
    data_dir: Path,
) -> None:
    """Where the damaged record's length says the next record starts is wrong: entry 7
    is found where it is."""
    log_path = data_dir / LOG_NAME
    offsets = record_offsets(log_path)
    flip(log_path, offsets[-2])  # the high byte of its length: past any record's
    flip(log_path, log_path.stat().st_size - 5)  # a payload byte of entry 7
    forget_index(data_dir)
    with Service(data_dir) as ann:
        assert not ann.own_log.confirmed
        assert any("entries 6 and 7 of your own log" in w for w in ann.store.warnings)


def test_an_own_entry_whose_position_cannot_be_read_pauses_publishing(data_dir: Path) -> None:
    log_path = data_dir / LOG_NAME
    offsets = record_offsets(log_path)
    flip(log_path, offsets[-1] + 19)  # the entry length in its record's head
    forget_index(data_dir)
    with Service(data_dir) as ann:
        assert not ann.own_log.confirmed
        warned = "\n".join(ann.store.warnings)
        said = "1 entry of your own log (its position too damaged to read) was damaged"
        assert said in warned, warned


@pytest.mark.parametrize("chunk", [1 << 20, 37])
def test_every_own_entry_of_a_tail_is_found_however_it_is_read(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(cuts, "_CHUNK", chunk)
    log_path = data_dir / LOG_NAME
    offsets = record_offsets(log_path)
    tail = b"\xff" * 50 + log_path.read_bytes()[offsets[-3] :]
    with Service(data_dir) as ann:
        own = ann.public_key
    (data_dir / f"{CUT}999").write_bytes(tail)
    found = cuts.own_cut_entries(data_dir, own)
    assert [(path.name, seqs, unread) for path, seqs, unread in found] == [
        (f"{CUT}999", [5, 6, 7], 0)
    ]
