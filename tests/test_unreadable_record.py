"""A record of the log whose CRC holds but whose entry cannot be read (planted, or
written by something else than lndesk): opening the data directory is refused with the
advice to run lndesk repair, and that advice works when followed. A CRC is no proof that
the bytes it covers are an entry."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import Cli
from store_helpers import make_identity

from lndesk.content import Post
from lndesk.store.logfile import KIND_ENTRY, KIND_FORK_PROOF, LogFile, Record, encode_record
from lndesk.store.salvage import Damaged, salvage_scan
from lndesk.store.store import LOG_NAME, Store

UNREADABLE = b"\x89 not an entry, under a CRC that holds"


def planted(path: Path, kind: int, *, middle: bool) -> tuple[bytes, bytes]:
    """Write a record of ``kind`` holding no readable entry into the log at ``path``, at
    its end or before its last record; the record's bytes, and the log's bytes before."""
    record = encode_record(kind, 7, UNREADABLE, b"its payload" if kind == KIND_ENTRY else None)
    before = path.read_bytes()
    log = LogFile(path, read_only=True)
    try:
        last = [item.offset for item in log.scan() if isinstance(item, Record)][-1]
    finally:
        log.close()
    at = last if middle else len(before)
    path.write_bytes(before[:at] + record + before[at:])
    return record, before


@pytest.mark.parametrize("kind", [KIND_ENTRY, KIND_FORK_PROOF])
@pytest.mark.parametrize("middle", [False, True], ids=["at the end", "in the middle"])
def test_a_record_with_no_readable_entry_gets_advice_that_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: int, middle: bool
) -> None:
    cli = Cli(tmp_path / "ann", capsys)
    cli("init", "--name", "Ann")
    for number in range(1, 4):
        cli("post", f"note {number}")
    log = cli.data_dir / LOG_NAME
    record, _ = planted(log, kind, middle=middle)
    (cli.data_dir / "index.sqlite3").unlink()  # read again from the log
    cli("post", "before the repair", expect=1)
    assert "unreadable entry" in cli.err and "lndesk repair" in cli.err, cli.err
    out = cli("repair")  # the advice
    assert "nothing to repair" not in out
    saved = next(cli.data_dir.glob("damaged-*.bin"))
    assert saved.read_bytes() == record and str(saved) in out
    assert "everything verifies" in cli("verify")
    shown = cli("log")
    assert all(f"note {number}" in shown for number in range(1, 4))
    assert "published" in cli("post", "after the repair")


def test_salvage_names_a_record_with_no_readable_entry_as_damaged(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.publish(make_identity(3), Post("kept"))
    path = tmp_path / LOG_NAME
    record, before = planted(path, KIND_ENTRY, middle=False)
    log = LogFile(path, read_only=True)
    try:
        items = list(salvage_scan(log))
    finally:
        log.close()
    assert isinstance(items[0], Record) and len(items) == 2
    assert items[1] == Damaged(len(before), len(before) + len(record), items[1].problem)
    assert "entry" in items[1].problem
