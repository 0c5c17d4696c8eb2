"""A repair killed after it replaced the log, while it rebuilds the index: entries of
my own feed it lost must already have paused publishing, or the next post signs a
position peers may hold (a fork). The kill is simulated by raising at the rebuild."""

from __future__ import annotations

from pathlib import Path

import pytest

import lndesk.store.repair
from lndesk.app.service import Service, create_identity
from lndesk.errors import OwnLogUnknownError
from lndesk.store.logfile import LogFile, ScanEnd
from lndesk.store.store import LOG_NAME


def damage_record(path: Path, number: int) -> None:
    """Flip a bit inside the ``number``-th record of the log (from 0)."""
    log = LogFile(path, read_only=True)
    try:
        offsets = [item.offset for item in log.scan() if not isinstance(item, ScanEnd)]
    finally:
        log.close()
    with path.open("r+b") as file:
        file.seek(offsets[number] + 20)
        byte = file.read(1)
        file.seek(offsets[number] + 20)
        file.write(bytes([byte[0] ^ 0x40]))


class Killed(BaseException):
    """The process dying at this step: nothing after it runs."""


def test_a_repair_killed_during_the_rebuild_has_paused_publishing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "ann"
    create_identity(data_dir)
    with Service(data_dir) as ann:
        for number in range(6):
            ann.post(f"field note {number}")
        ann_key = ann.public_key
    damage_record(data_dir / LOG_NAME, 2)  # entry 3 of my feed

    def kill(*args: object, **kwargs: object) -> None:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(lndesk.store.repair, "Store", kill)
        with Service(data_dir, lazy=True) as ann, pytest.raises(Killed):
            ann.repair()

    with Service(data_dir) as ann:
        assert 3 not in {e.entry.seq for e in ann.store.feed_entries(ann_key, 10)}
        assert not ann.own_log.confirmed
        with pytest.raises(OwnLogUnknownError):
            ann.post("a position that may be at peers already")
