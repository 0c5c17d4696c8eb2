"""`lndesk nickname`: my own name for someone, shown instead of theirs by every command."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import Cli

from lndesk.app.service import Service


def carry(source: Path, target: Path) -> None:
    with Service(source) as one, Service(target) as other:
        other.store.ingest(one.public_key, list(one.store.feed_items(one.public_key)))


@pytest.fixture
def ann(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    cli = Cli(tmp_path / "ann", capsys)
    cli("init", "--name", "Ann")
    return cli


@pytest.fixture
def lea(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    cli = Cli(tmp_path / "lea", capsys)
    # a hostile chosen name, cleaned when shown: a bidi override, a label, and a key of
    # Cyrillic look-alikes with a combining mark
    cli("init", "--name", "Lea\u202e (you) \u04cfnd1\u0430bcd\u0301efgh")
    return cli


def test_set_show_and_clear_a_nickname(ann: Cli, lea: Cli) -> None:
    lea("post", "Paper strips for fractions.")
    carry(lea.data_dir, ann.data_dir)
    key = lea("id").splitlines()[0]
    ann("follow", key)
    assert "Lea (" in ann("log") and "(you)" not in ann("log")
    assert "\u04cfnd1" not in ann("log") and "efgh" not in ann("following")
    out = ann("nickname", key)
    assert "no nickname" in out and "their own name: Lea" in out
    given = f'lndesk nickname {key} "A name"'
    assert given in out
    out = ann("nickname", key, "Maths Lea")
    assert 'is "Maths Lea" on this device' in out and "the name they chose: Lea" in out
    assert "Maths Lea (" in ann("log")
    assert 'Maths Lea ("Lea")' in ann("following")
    assert '"Maths Lea"' in ann("nickname", key)
    out = ann("nickname", key, "--clear")
    assert "by their own name again: Lea" in out
    assert "Maths Lea" not in ann("log")


def test_a_nickname_is_cleaned_and_reaches_search_and_the_inbox(ann: Cli, lea: Cli) -> None:
    post = ann("post", "I teach fractions with paper.").split()[1]
    carry(ann.data_dir, lea.data_dir)
    lea("reply", post, "With paper strips.")
    carry(lea.data_dir, ann.data_dir)
    key = lea("id").splitlines()[0]
    ann("nickname", key, "  Strips\u202e (you) ")
    assert '"Strips"' in ann("nickname", key)
    assert "  Strips  " in ann("inbox", "--requests")
    assert "  Strips  " in ann("search", "strips")


def test_nickname_errors_say_what_to_do(ann: Cli, lea: Cli) -> None:
    key = lea("id").splitlines()[0]
    ann("nickname", key, "\u200b(you)", expect=1)
    assert "nothing to show once cleaned" in ann.err and "letters or digits" in ann.err
    ann("nickname", key, "Lea")  # the advice works
    own = ann("id").splitlines()[0]
    ann("nickname", own, "Me", expect=1)
    assert "lndesk profile --name" in ann.err
    ann("profile", "--name", "Ann Lee")  # and so does this advice
    ann("nickname", key, "X", "--clear", expect=1)
    assert "not both" in ann.err
    ann("nickname", "lnd1nope", "X", expect=1)
