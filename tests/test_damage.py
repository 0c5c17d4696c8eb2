"""Damaged files and a full disk, through the command line: every message names the
next step, and each test follows that step and checks that it works."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import Cli
from store_helpers import flip, record_offsets

from lndesk.store.index import Index
from lndesk.store.space import ENV_MIN_FREE
from lndesk.store.store import INDEX_NAME, LOG_NAME


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    cli = Cli(tmp_path / "ann", capsys)
    cli("init", "--name", "Ann")
    for number in range(1, 7):
        cli("post", f"note {number} about tidal pools " + "words " * 40)
    return cli


def test_a_flipped_byte_mid_log_keeps_the_user_in_control(cli: Cli, tmp_path: Path) -> None:
    log_path = cli.data_dir / LOG_NAME
    third = record_offsets(log_path)[3]  # the profile, then notes 1, 2, 3: entry 4
    flip(log_path, third + 20)

    out = cli("verify", expect=1)
    assert "log damaged from offset" in out
    assert "lndesk repair" in out
    # Nothing needs the index or a whole log to show the key, the words, or an export.
    assert cli("id").startswith("lnd1")
    assert "1." in cli("key", "backup")
    assert "6 entries" in cli("export", "--out", str(tmp_path / "backup.lndesk"))
    # A rebuild cannot cross the damage: it says what to do, and the old index stays.
    cli("reindex", expect=1)
    assert "lndesk repair" in cli.err
    assert (cli.data_dir / INDEX_NAME).exists()
    log = cli("log")  # every other entry is listed; the damaged one is named
    assert "note 6" in log and "note 2" in log and "note 3" not in log
    assert "the log record at offset" in cli.err and "lndesk repair" in cli.err

    out = cli("repair")  # the advice
    assert "lost here: your own log, entries 4" in out
    saved = next(cli.data_dir.glob("damaged-*.bin"))
    assert str(saved) in out and saved.stat().st_size > 0
    assert "everything verifies" in cli("verify")
    log = cli("log")
    assert "note 6" in log and "note 3" not in log
    # Entry 4 may live on at peers: publishing waits for them (never signs 4 again blind).
    cli("post", "after the repair", expect=1)
    assert "restore-status" in cli.err


def _damage_header(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(b"not sqlite at all" + data[17:])


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 100])


def _random(path: Path) -> None:
    path.write_bytes(os.urandom(path.stat().st_size))


def _damage_middle_page(path: Path) -> None:
    data = bytearray(path.read_bytes())
    page = 4096
    middle = (len(data) // page // 2) * page
    data[middle : middle + page] = os.urandom(page)
    path.write_bytes(bytes(data))


DAMAGE = {
    "bad header": _damage_header,
    "truncated": _truncate,
    "random bytes": _random,
    "a damaged page mid-file": _damage_middle_page,
}


@pytest.mark.parametrize("name", list(DAMAGE))
def test_a_damaged_index_gets_advice_that_works(cli: Cli, name: str) -> None:
    index = cli.data_dir / INDEX_NAME
    assert not (cli.data_dir / (INDEX_NAME + "-wal")).exists()  # folded in at close
    DAMAGE[name](index)

    for command in (("verify",), ("search", "tidal"), ("log",), ("id",)):
        cli(*command, expect=None)
        assert "Traceback" not in cli.err + cli.out
    out = cli("verify", expect=1)
    assert "lndesk reindex" in out
    assert "checked 7 log records" in out  # the log itself is still checked

    assert "rebuilt the index from the log: 7 entries" in cli("reindex")  # the advice
    assert "everything verifies" in cli("verify")
    assert "note 4" in cli("search", "tidal")
    cli("post", "the index is back")
    assert "the index is back" in cli("log")


def test_a_full_disk_is_said_plainly_and_publishing_resumes(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_MIN_FREE, str(10**9))  # more than any disk has free
    cli("post", "no room for this", expect=1)
    assert "the disk is full:" in cli.err and "MB free, lndesk needs" in cli.err
    assert "Traceback" not in cli.err
    assert "everything verifies" in cli("verify")  # reading still works
    monkeypatch.delenv(ENV_MIN_FREE)
    cli("post", "room again")
    assert "room again" in cli("log")
    assert "no room for this" not in cli("log", "--limit", "50")


@pytest.fixture
def read_only_media(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("remounting read-only needs root")
    mount = tmp_path / "media"
    mount.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)]
    if subprocess.run(command, check=False).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_read_commands_work_on_read_only_media(
    read_only_media: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli = Cli(read_only_media / "ann", capsys)
    cli("init", "--name", "Ann")
    cli("post", "kept on a read-only stick")
    subprocess.run(["mount", "-o", "remount,ro", str(read_only_media)], check=True)

    assert "kept on a read-only stick" in cli("log")
    assert "everything verifies" in cli("verify")
    assert "kept on a read-only **stick**" in cli("search", "stick")
    assert cli("id").startswith("lnd1")
    assert "2 entries" in cli("export", "--out", str(tmp_path / "backup.lndesk"))
    cli("post", "cannot be written", expect=1)
    assert "Traceback" not in cli.err


@pytest.mark.parametrize("path", ["publish", "index rebuilt at open", "reindex"])
def test_a_damaged_last_own_entry_is_never_signed_again(cli: Cli, path: str) -> None:
    """The last record, one of my posts, is damaged (a flipped byte in its payload). It
    may be at peers already: whichever way lndesk meets the damage, the next post must
    not take its position before peers have said how far my log goes."""
    log_path = cli.data_dir / LOG_NAME
    flip(log_path, log_path.stat().st_size - 5)
    if path == "publish":
        cli("post", "next", expect=1)
        assert "your latest entry (7) is damaged" in cli.err
        assert "lndesk repair" in cli.err
        out = cli("repair")  # the advice
        assert "lost here: your own log, entries 7" in out
        assert "restore-status" in out
    elif path == "index rebuilt at open":
        for name in (INDEX_NAME, INDEX_NAME + "-wal", INDEX_NAME + "-shm"):
            (cli.data_dir / name).unlink(missing_ok=True)
    else:
        cli("reindex")
    cli("post", "next", expect=1)
    assert "restore-status" in cli.err
    assert "note 6" not in cli("log")  # entry 7 is gone from here, and not re-signed
    if path != "publish":
        assert list(cli.data_dir.glob(f"{LOG_NAME}.cut-*.seen"))


def fill(path: Path) -> None:
    """Write ``path`` until the disk under it is full (unbuffered: closing the file must
    not try to write again what no longer fits)."""
    with path.open("wb", buffering=0) as file:
        try:
            while True:
                file.write(bytes(65536))
        except OSError:
            pass


def test_commands_on_a_really_full_disk_end_in_words(
    read_only_media: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """(``read_only_media`` is a 64 MB tmpfs; here it stays writable and is filled.)"""
    cli = Cli(read_only_media / "ann", capsys)
    cli("init", "--name", "Ann")
    cli("post", "written before the disk filled")
    fill(read_only_media / "filler")

    cli("post", "no room", expect=1)
    assert "the disk is full: 0.0 MB free, lndesk needs 20 MB" in cli.err
    assert "everything verifies" in cli("verify")
    assert "written before the disk filled" in cli("log")
    assert cli("id").startswith("lnd1")
    cli(
        "connect",
        "/ip4/127.0.0.1/tcp/9/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA",
        expect=None,
    )
    assert "Traceback" not in cli.err + cli.out
    assert "lndesk: error: the disk is full" in cli.err

    (read_only_media / "filler").unlink()
    cli("post", "room again")
    assert "room again" in cli("log")


def test_read_only_media_show_posts_the_index_had_not_caught_up_with(
    read_only_media: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cli = Cli(read_only_media / "ann", capsys)
    cli("init", "--name", "Ann")
    cli("post", "indexed")
    with monkeypatch.context() as patch:  # the index write fails after the append
        patch.setattr(Index, "add_entries", _index_full)
        cli("post", "only in the log")
    subprocess.run(["mount", "-o", "remount,ro", str(read_only_media)], check=True)

    log = cli("log")
    assert "only in the log" in log and "indexed" in log
    assert "everything verifies" in cli("verify")
    assert "only in the **log**" in cli("search", "log")


def _index_full(*_args: object, **_kwargs: object) -> None:
    raise sqlite3.OperationalError("database or disk is full")
