"""The passphrase is asked only where the secret key is needed, three times at a terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

import lndesk.cli.main as cli_main
from lndesk.app.datadir import ENV_PASSPHRASE
from lndesk.cli.main import main
from lndesk.cli.passphrase import TerminalPassphrase
from lndesk.keyfile import decode_key_file, encode_key_file

RIGHT = "correct horse"


class Answers:
    """Typed answers at the prompt, in order; running out fails the test."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked = 0

    def __call__(self, prompt: str) -> str:
        assert prompt == "Passphrase: "
        self.asked += 1
        if not self.answers:
            raise AssertionError("asked for a passphrase that is not needed")
        return self.answers.pop(0)


@pytest.fixture
def sealed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory whose key file is sealed (a fast KDF: these tests are about asking)."""
    data_dir = tmp_path / "ann"
    assert main(["--data-dir", str(data_dir), "init", "--name", "Ann"]) == 0
    identity = decode_key_file((data_dir / "key").read_bytes())  # plain, as made by init
    key = encode_key_file(identity, RIGHT, opslimit=1, memlimit=8192)
    (data_dir / "key").unlink()
    (data_dir / "key").write_bytes(key)
    (data_dir / "key").chmod(0o600)
    monkeypatch.delenv(ENV_PASSPHRASE, raising=False)
    return data_dir


def at_terminal(monkeypatch: pytest.MonkeyPatch, answers: Answers) -> None:
    monkeypatch.setattr(
        cli_main, "_passphrase_source", TerminalPassphrase(answers, interactive=lambda: True)
    )


@pytest.mark.parametrize(
    "argv", [["id"], ["log"], ["following"], ["search", "x"], ["inbox"], ["verify"]]
)
def test_reading_commands_never_ask(
    sealed: Path, argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = Answers()
    at_terminal(monkeypatch, answers)
    assert main(["--data-dir", str(sealed), *argv]) == 0
    assert answers.asked == 0


def test_three_tries_at_the_terminal(
    sealed: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = Answers("wrong", "also wrong", RIGHT)
    at_terminal(monkeypatch, answers)
    assert main(["--data-dir", str(sealed), "post", "third time lucky"]) == 0
    assert answers.asked == 3
    err = capsys.readouterr().err
    assert "(2 tries left)" in err and "(1 try left)" in err


def test_three_wrong_answers_give_up(
    sealed: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = Answers("a", "b", "c", RIGHT)
    at_terminal(monkeypatch, answers)
    assert main(["--data-dir", str(sealed), "key", "backup"]) == 1
    assert answers.asked == 3
    assert "wrong passphrase" in capsys.readouterr().err


def test_the_environment_is_asked_once(
    sealed: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(ENV_PASSPHRASE, "wrong")
    answers = Answers()
    at_terminal(monkeypatch, answers)
    assert main(["--data-dir", str(sealed), "post", "nope"]) == 1
    assert answers.asked == 0
    assert "wrong passphrase" in capsys.readouterr().err
    monkeypatch.setenv(ENV_PASSPHRASE, RIGHT)
    assert main(["--data-dir", str(sealed), "post", "yes"]) == 0
