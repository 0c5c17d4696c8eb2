"""A named pipe, a directory or a device where lndesk reads a file back
(lndesk.regularfile): refused at once with advice that works, never waited on.

A plain ``open`` of a named pipe waits for a writer: the settings file as a pipe hung
every command and the app at start, saying nothing. Each pipe below has a writer that
answers a plain open (tests/planted_pipes.py), so with the refusal taken away its
test fails on what was read, instead of hanging.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from cli_helpers import Cli
from planted_pipes import planted_pipe
from store_helpers import make_identity

from lndesk.app.datadir import CONFIG_NAME, Config
from lndesk.app.ownlog import OWN_LOG_NAME, OWN_LOG_RESTORED, load_own_log
from lndesk.app.requests import JOURNAL_NAME as REQUESTS_NAME
from lndesk.app.requests import RequestJournal
from lndesk.app.service import create_identity
from lndesk.backup import encode_backup, open_backup
from lndesk.content import Post
from lndesk.errors import LndeskError, StoreCorruptError, StoreError
from lndesk.regularfile import NotRegularFileError, open_regular
from lndesk.store.purge import JOURNAL_NAME as PURGE_NAME
from lndesk.store.store import Store

PIPE = "named pipe"


def follow_the_advice(text: str) -> None:
    """Run the command the advice gives in brackets (mv FROM TO), as a person would."""
    command = re.search(r"\((mv [^)]+)\)", text)
    assert command is not None, text
    words = shlex.split(command.group(1))
    assert len(words) == 3, words
    subprocess.run([shutil.which("mv") or "mv", *words[1:]], check=True)


def test_a_settings_file_that_is_a_pipe_is_refused_with_advice_that_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "ann"
    create_identity(data_dir)
    cli = Cli(data_dir, capsys)
    with planted_pipe(data_dir / CONFIG_NAME, b'{"port": 4800}'):
        cli("network", expect=1)
        assert PIPE in cli.err and "Traceback" not in cli.err, cli.err
        follow_the_advice(cli.err)
    assert "port: 4747" in cli("network")


@pytest.mark.parametrize("planted", ["directory", "device"])
def test_a_settings_file_that_is_a_directory_or_a_device_gets_advice_that_works(
    tmp_path: Path, planted: str
) -> None:
    path = tmp_path / CONFIG_NAME
    if planted == "directory":
        path.mkdir()
    else:
        path.symlink_to("/dev/zero")  # endless zeros, read as a file
    with pytest.raises(StoreError) as refused:
        Config.load(path)
    assert "regular file" in refused.value.message
    follow_the_advice(refused.value.hint)
    assert Config.load(path) == Config()


def test_an_own_log_file_that_is_a_pipe_keeps_publishing_paused(tmp_path: Path) -> None:
    data_dir = tmp_path / "ann"
    create_identity(data_dir)
    (data_dir / OWN_LOG_NAME).unlink()
    with planted_pipe(data_dir / OWN_LOG_NAME, b'{"state": "confirmed"}'):
        assert load_own_log(data_dir).state == OWN_LOG_RESTORED


def test_a_request_journal_that_is_a_pipe_is_refused_with_advice_that_works(
    tmp_path: Path,
) -> None:
    journal = RequestJournal(tmp_path)
    line = b'{"id":"request0001","result":{"n":1}}\n'
    with planted_pipe(tmp_path / REQUESTS_NAME, line):
        with pytest.raises(StoreError) as refused:
            journal.records()
        assert PIPE in refused.value.message
        follow_the_advice(refused.value.hint)
    assert journal.records() == {}
    journal.intent("request0002", bytes(32), 0, Post("after the pipe was moved aside"))
    assert list(journal.records()) == ["request0002"]


def test_a_backup_that_is_a_pipe_is_refused_unread(tmp_path: Path) -> None:
    backup = encode_backup(b"k" * 10, bytes(32), [])
    with planted_pipe(tmp_path / "backup.lndesk", backup) as path:
        with pytest.raises(OSError, match=PIPE):
            open_backup(path)


def test_a_purge_journal_that_is_a_pipe_is_refused_with_advice_that_works(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "ann"
    with Store(data_dir) as store:
        store.publish(make_identity(7), Post("kept"))
    with planted_pipe(data_dir / PURGE_NAME, b"LNDPURG\x01" + bytes(40)):
        with pytest.raises(StoreCorruptError) as refused:
            Store(data_dir)
        assert PIPE in refused.value.message
        follow_the_advice(refused.value.hint)
    with Store(data_dir) as store:
        assert store.index.count_entries() == 1


@pytest.mark.parametrize("kind", ["directory", "pipe"])
def test_open_regular_says_what_it_found(tmp_path: Path, kind: str) -> None:
    with planted_pipe(tmp_path / "pipe", b"") as pipe:
        path = tmp_path if kind == "directory" else pipe
        with pytest.raises(NotRegularFileError) as refused:
            open_regular(path)
    found = "a directory" if kind == "directory" else "a named pipe (FIFO)"
    assert str(refused.value) == f"it is {found}, not a regular file"
    assert isinstance(refused.value, OSError) and not isinstance(refused.value, LndeskError)


def test_open_regular_reads_a_file_and_a_link_to_one(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"held")
    (tmp_path / "link").symlink_to(tmp_path / "file")
    for name in ("file", "link"):
        with open_regular(tmp_path / name) as file:
            assert file.read() == b"held"


def test_an_own_log_file_that_is_a_directory_gets_advice_that_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Publishing pauses, and the advice it gives (import the latest export) writes the
    file again: the directory is moved aside whole, not replaced or emptied."""
    data_dir = tmp_path / "ann"
    create_identity(data_dir)
    cli = Cli(data_dir, capsys)
    cli("post", "before the export")
    export = tmp_path / "ann.lndesk"
    cli("export", "--out", str(export))
    path = data_dir / OWN_LOG_NAME
    path.unlink()
    path.mkdir()
    (path / "kept").write_bytes(b"someone's file")
    cli("post", "while the state cannot be read", expect=1)
    assert "lndesk import FILE --latest" in cli.err and "Traceback" not in cli.err
    cli("import", str(export), "--latest")
    assert "published" in cli("post", "after the advice was followed")
    assert load_own_log(data_dir).confirmed
    aside = data_dir / f"{OWN_LOG_NAME}.not-a-file-1"
    assert (aside / "kept").read_bytes() == b"someone's file"
