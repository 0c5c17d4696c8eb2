"""A backup file is any file a person may be tricked into importing: it is read as a
stream, every size bounded before its bytes are read, and a refused file installs no
key and stores nothing; the refusal's advice works when followed."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest
from cli_helpers import Cli

from lndesk import canonical
from lndesk.app.datadir import KEY_NAME
from lndesk.app.importing import IMPORT_BATCH_BYTES, read_backup
from lndesk.app.service import Service, create_identity
from lndesk.backup import MAX_BACKUP_ENTRIES, open_backup
from lndesk.entry import MAX_ENTRY_SIZE, MAX_PAYLOAD_SIZE
from lndesk.errors import BackupFileError, UsageError


@pytest.fixture
def ann(tmp_path: Path) -> Path:
    """An identity with a few posts."""
    create_identity(tmp_path / "ann")
    with Service(tmp_path / "ann") as service:
        for i in range(4):
            service.post(f"post {i}")
    return tmp_path / "ann"


def exported(ann: Path, path: Path) -> bytes:
    with Service(ann) as service:
        service.export(path)
    return path.read_bytes()


def prefix(key: bytes, feed: bytes) -> bytes:
    """A backup map up to the head of ``entries``."""
    return (
        b"\xa5"
        + canonical.encode("key")
        + canonical.encode(key)
        + canonical.encode("feed")
        + canonical.encode(feed)
        + canonical.encode("format")
        + canonical.encode("lndesk-backup")
        + canonical.encode("entries")
    )


def head(major: int, argument: int) -> bytes:
    """A shortest head of ``major`` with ``argument`` (up to 32 bits)."""
    if argument < 24:
        return bytes([major << 5 | argument])
    for info, size in ((24, 1), (25, 2), (26, 4)):
        if argument < 1 << (8 * size):
            return bytes([major << 5 | info]) + argument.to_bytes(size, "big")
    raise ValueError(argument)


def feed_of(ann: Path) -> bytes:
    with Service(ann) as service:
        return service.public_key


def test_a_large_unknown_file_is_refused_without_being_read(ann: Path, tmp_path: Path) -> None:
    video = tmp_path / "holiday.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    os.truncate(video, 64 << 20)  # sparse: no disk is used
    tracemalloc.start()
    try:
        with pytest.raises(BackupFileError, match="not an lndesk backup"):
            read_backup(video)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak


@pytest.mark.parametrize(
    ("case", "problem"),
    [
        ("nested", "not an lndesk backup"),
        ("countless", "more than its size leaves room for"),
        ("over the cap", f"over {MAX_BACKUP_ENTRIES}"),
        ("long entry", f"over the {MAX_ENTRY_SIZE}"),
        ("long payload", f"over the {MAX_PAYLOAD_SIZE}"),
        ("long key", "the key file holds"),
        ("longer head", "longer head than needed"),
        ("indefinite", "not deterministic CBOR"),
        ("truncated", "ends inside"),
        ("trailing", "bytes follow the backup"),
        ("newer", "Upgrade lndesk"),
    ],
)
def test_a_hostile_backup_is_refused_before_anything_is_installed_or_stored(
    ann: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, problem: str
) -> None:
    good = exported(ann, tmp_path / "good.backup")
    key, feed = (ann / KEY_NAME).read_bytes(), feed_of(ann)
    start = prefix(key, feed)
    pair = b"\x82" + head(2, 100) + bytes(100) + b"\xf6"
    planted = tmp_path / "planted.backup"
    planted.write_bytes(
        {
            "nested": b"\x81" * 100_000,
            "countless": start + head(4, MAX_BACKUP_ENTRIES),
            "over the cap": start + b"\x9a" + (MAX_BACKUP_ENTRIES + 1).to_bytes(4, "big"),
            "long entry": start + b"\x81\x82" + head(2, MAX_ENTRY_SIZE + 1),
            "long payload": start + b"\x81\x82\x41\x00" + head(2, MAX_PAYLOAD_SIZE + 1),
            "long key": b"\xa5" + canonical.encode("key") + head(2, 1 << 24),
            "longer head": start + b"\x98\x01" + pair,
            "indefinite": start + b"\x9f" + pair + b"\xff",
            "truncated": good[:-3],
            "trailing": good + b"\x00",
            "newer": good[:-1] + b"\x02",
        }[case]
    )
    if case == "over the cap":  # room enough for that many entries, none of them read
        os.truncate(planted, planted.stat().st_size + 3 * (MAX_BACKUP_ENTRIES + 1))
    laptop = tmp_path / "laptop"
    cli = Cli(laptop, capsys)
    cli("import", str(planted), expect=1)
    assert problem in cli.err
    assert "Traceback" not in cli.err
    assert not (laptop / KEY_NAME).exists()
    # The advice: a file lndesk export --out FILE wrote, and that one is imported.
    assert "lndesk export --out FILE" in cli.err or "Upgrade lndesk" in cli.err
    out = cli("import", str(tmp_path / "good.backup"))
    assert "imported 4 entries" in out


def test_entries_are_stored_in_batches_bounded_in_bytes(
    ann: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Entries of the largest size a backup can hold: what is read at once stays near
    one batch, whatever the file's size (they are not valid entries: the first batch is
    refused, and nothing of it is stored)."""
    key, feed = (ann / KEY_NAME).read_bytes(), feed_of(ann)
    count = 4 * IMPORT_BATCH_BYTES // MAX_PAYLOAD_SIZE
    pair = b"\x82" + head(2, MAX_ENTRY_SIZE) + b"\x01" * MAX_ENTRY_SIZE
    pair += head(2, MAX_PAYLOAD_SIZE) + b"\x02" * MAX_PAYLOAD_SIZE
    planted = tmp_path / "large.backup"
    with planted.open("wb") as file:
        file.write(prefix(key, feed) + head(4, count))
        for _ in range(count):
            file.write(pair)
        file.write(canonical.encode("version") + b"\x01")
    assert len(open_backup(planted).entries) == count
    with Service(ann) as service:
        before = service.store.feed_state(feed).height
    cli = Cli(ann, capsys)
    tracemalloc.start()
    try:
        cli("import", str(planted), expect=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * IMPORT_BATCH_BYTES, peak
    with Service(ann) as service:
        assert service.store.feed_state(feed).height == before


def test_a_backup_changed_while_imported_says_so_and_a_second_import_completes(
    ann: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "good.backup"
    good = exported(ann, path)
    backup = read_backup(path)
    path.write_bytes(good + b"\x00")  # a copy still being written, say
    with pytest.raises(BackupFileError, match="changed while it was imported") as changed:
        list(backup.entries)
    assert "run lndesk import again" in changed.value.hint
    path.write_bytes(good)
    assert "imported 4 entries" in Cli(tmp_path / "laptop", capsys)("import", str(path))


def test_a_pipe_is_not_read_as_a_backup(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    held = os.open(pipe, os.O_RDWR)  # a writer, so that opening it to read never waits
    try:
        os.write(held, b"\xa5" * 100)
        with pytest.raises(UsageError, match="is not a file"):
            read_backup(pipe)
    finally:
        os.close(held)
