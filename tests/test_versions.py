"""One current version of an edited post, the same in the app's items and the command line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_helpers import Cli

from lndesk.content import Edit, Post, ReadingList, Reply
from lndesk.entry_refs import Ref
from lndesk.versions import current_version


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(tmp_path / "ann", capsys)


REF = Ref(bytes(32), 1, bytes(32))
MENTION = bytes(range(32))


def test_an_edit_replaces_text_tags_links_mentions_and_question_of_a_post() -> None:
    post = Post("Is P = NP?", ("cs",), ("https://a.example",), (), question=True)
    edit = Edit(REF, "P = NP is open.", ("complexity",), ("https://b.example",), (MENTION,))
    assert current_version(post, edit) == Post(
        "P = NP is open.", ("complexity",), ("https://b.example",), (MENTION,), question=False
    )
    asked = Edit(REF, "Now a question?", question=True)
    current = current_version(Post("a note"), asked)
    assert isinstance(current, Post) and current.question


def test_an_edit_of_a_reply_keeps_its_thread() -> None:
    reply = Reply("frist", REF, REF, ("x",))
    current = current_version(reply, Edit(REF, "first", (), (), (MENTION,)))
    assert current == Reply("first", REF, REF, (), (), (MENTION,))


def test_other_kinds_and_no_edit_are_unchanged() -> None:
    post = Post("as written")
    assert current_version(post, None) is post
    listing = ReadingList("Start here", ())
    assert current_version(listing, Edit(REF, "ignored")) is listing


def _ids(out: str) -> list[str]:
    return re.findall(r"^([0-9a-f]{12})  ", out, re.MULTILINE)


def test_a_withdrawn_question_is_not_a_question_in_the_log_or_the_app(cli: Cli) -> None:
    from lndesk.app.desk import Desk
    from lndesk.app.service import Service

    cli("init")
    cli("post", "Which book on CRDTs?", "--question", "--tag", "crdt")
    (post_id,) = _ids(cli("log"))
    assert "question: Which book on CRDTs?" in cli("log")
    cli("edit", post_id, "Found it: the Shapiro paper.", "--link", "https://example.org/s")
    log = cli("log")
    assert "Found it: the Shapiro paper." in log and "(edited)" in log
    assert "https://example.org/s" in log
    assert "question:" not in log and "#crdt" not in log
    with Service(cli.data_dir) as service:
        desk = Desk(service)
        try:
            (item,) = [i for i in desk.reading.page("mine", None, 10) if i.kind == "post"]
        finally:
            desk.close()
    assert item.edited and not item.question
    assert item.text == "Found it: the Shapiro paper."
    assert item.links == ("https://example.org/s",) and item.tags == ()


def test_the_log_shows_reading_list_links(cli: Cli) -> None:
    cli("init")
    cli("post", "a note to list")
    (note_id,) = _ids(cli("log"))
    cli(
        "readinglist",
        "Start here",
        "--link",
        "https://example.org/paper",
        "--item",
        note_id,
    )
    log = cli("log")
    assert "reading list: Start here" in log
    assert "2. https://example.org/paper" in log
    assert f"1. entry {note_id}" in log
