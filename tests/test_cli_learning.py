"""`lndesk search`, `inbox`, `accept`, `block`, `edit`, `readinglist` and questions, end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import Cli

from lndesk.app.service import Service


def carry(source: Path, target: Path) -> None:
    with Service(source) as one, Service(target) as other:
        other.store.ingest(one.public_key, list(one.store.feed_items(one.public_key)))


def first_id(out: str) -> str:
    return out.split()[2] if out.startswith("published reply") else out.split()[1]


@pytest.fixture
def ann(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    cli = Cli(tmp_path / "ann", capsys)
    cli("init", "--name", "Ann")
    return cli


@pytest.fixture
def lea(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    cli = Cli(tmp_path / "lea", capsys)
    cli("init", "--name", "Lea")
    return cli


def test_question_reply_inbox_accept_block(ann: Cli, lea: Cli) -> None:
    """Lea, whom Ann does not know, answers Ann's question (the inbox shows it) and
    replies to a note of Ann's (that waits in requests until Ann accepts her)."""
    question = first_id(ann("post", "How do you teach fractions?", "--question", "--tag", "maths"))
    note = first_id(ann("post", "Fractions are hard."))
    assert "question: How do you teach fractions?" in ann("log")
    carry(ann.data_dir, lea.data_dir)
    lea("reply", question, "With paper strips.")
    lea("reply", note, "They are.")
    carry(lea.data_dir, ann.data_dir)
    inbox = ann("inbox")
    assert "With paper strips." in inbox and "They are." not in inbox
    requests = ann("inbox", "--requests")
    assert "They are." in requests and "lndesk accept lnd1" in requests
    assert "With paper strips." not in requests
    lea_key = lea("id").splitlines()[0]
    assert "now show in your inbox" in ann("accept", lea_key)
    assert "They are." in ann("inbox")
    assert "No requests" in ann("inbox", "--requests")
    assert "blocked" in ann("block", lea_key)
    assert "Nothing yet" in ann("inbox")
    assert "unblocked" in ann("block", "--undo", lea_key)


def test_search_highlights_and_filters(ann: Cli) -> None:
    ann("post", "Spaced repetition for vocabulary", "--tag", "languages")
    ann("post", "Retrieval practice beats rereading", "--tag", "memory")
    out = ann("search", "repetition")
    assert "**repetition**" in out and "Retrieval" not in out
    assert "Retrieval" in ann("search", "", "--tag", "memory")
    assert "Nothing stored matches" in ann("search", "repetition", "--tag", "memory")
    assert "Nothing stored matches" in ann("search", "repetition", "--since", "2999-01-01")
    ann("search", "x", "--since", "yesterday", expect=1)
    assert "is not a date" in ann.err


def test_edit_and_reading_list(ann: Cli) -> None:
    post = first_id(ann("post", "Fractoins with strips"))
    assert "new version" in ann("edit", post, "Fractions with strips")
    log = ann("log")
    assert "(edited)" in log and "Fractions with strips" in log and "Fractoins" not in log
    out = ann("readinglist", "Fractions", "--item", post, "--link", "https://example.org/")
    first = out.split()[3]
    ann("readinglist", "Fractions for ages 8-10", "--update", first)
    log = ann("log")
    assert "reading list: Fractions for ages 8-10 (update of" in log
    assert "reading list: Fractions\n" not in log  # only a list's current state is shown
    ann("edit", "0" * 12, "nothing", expect=1)


def test_a_peers_escape_sequences_never_reach_the_terminal(ann: Cli, lea: Cli) -> None:
    post = first_id(ann("post", "I teach fractions with paper."))
    carry(ann.data_dir, lea.data_dir)
    hostile = "\x1b]52;c;ZXZpbA==\x07\x1b[2J\x1b]0;pwned\x07 strips \u202eeciluJ fractions"
    lea("reply", post, hostile)
    lea("post", f"fractions again {hostile}")
    carry(lea.data_dir, ann.data_dir)
    lea_key = lea("id").splitlines()[0]
    shown = [
        ann("inbox", "--requests"),
        ann("search", "fractions"),
        ann("search", "strips"),
        ann("log", "--author", lea_key),
    ]
    for out in shown:
        assert "strips" in out and "eciluJ" in out
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
