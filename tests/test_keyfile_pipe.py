"""A named pipe where the key file goes (lndesk.keyfile): refused at once with advice
that works when followed, never waited on. The pipe's writer answers a plain open with
the real key file, so with the refusal taken away the test fails instead of hanging."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from cli_helpers import Cli
from planted_pipes import planted_pipe
from test_not_regular_files import follow_the_advice

from lndesk.errors import KeyFileError
from lndesk.identity import Identity
from lndesk.keyfile import decode_key_file, encode_key_file, read_key_file


def test_a_key_file_that_is_a_pipe_is_refused_unread(tmp_path: Path) -> None:
    key_file = encode_key_file(Identity(bytes([7]) * 32))
    (tmp_path / "data").mkdir()
    with planted_pipe(tmp_path / "data" / "key", key_file) as path:
        with pytest.raises(KeyFileError, match="named pipe"):
            read_key_file(path)


def test_a_key_file_that_is_a_pipe_is_refused_with_advice_that_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The advice: move it aside, then restore the key from the backup words."""
    cli = Cli(tmp_path / "ann", capsys)
    cli("init", "--name", "Ann")
    ann = cli("id").splitlines()[0]
    key_path = cli.data_dir / "key"
    key_file = key_path.read_bytes()
    words = decode_key_file(key_file).backup_words()
    key_path.unlink()
    with planted_pipe(key_path, key_file):
        cli("id", expect=1)
        assert "named pipe" in cli.err and "Traceback" not in cli.err, cli.err
        follow_the_advice(cli.err)
    monkeypatch.setattr(sys, "stdin", io.StringIO(words))
    assert ann in cli("key", "restore")
    assert cli("id").splitlines()[0] == ann
