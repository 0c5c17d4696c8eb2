"""lndesk atom: your public posts as Atom 1.0, read back by a real parser (feedparser)."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree as ET

import feedparser
import pytest

from lndesk.feeds.atom import ATOM_NS, AtomEntry, write_atom
from tests.cli_helpers import Cli

A = f"{{{ATOM_NS}}}"


def published_id(out: str) -> str:
    match = re.search(r"published ([0-9a-f]{12})", out)
    assert match, out
    return match.group(1)


def test_the_atom_feed_has_every_required_element_and_reads_back_losslessly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli = Cli(tmp_path / "ann", capsys)
    cli("init", "--name", "Ann")
    first = published_id(
        cli(
            "post",
            "Retrieval practice\n\nQuiz *before* you teach & <learn>.",
            "--tag",
            "pedagogy",
            "--link",
            "https://teaching.example/q",
        )
    )
    cli("post", "What helps you remember?", "--question")
    cli("reply", first, "a reply stays out of the feed")
    cli("share", first, "--comment", "worth reading")
    cli("readinglist", "Start here", "--link", "https://teaching.example/start")
    deleted = published_id(cli("post", "soon gone"))
    cli("delete", deleted)
    out_file = tmp_path / "feed.xml"
    assert "wrote your Atom feed to" in cli("atom", "--out", str(out_file))

    root = ET.fromstring(out_file.read_bytes())
    assert root.tag == A + "feed"
    for required in ("id", "title", "updated", "author"):
        assert root.find(A + required) is not None, required
    entries = root.findall(A + "entry")
    assert len(entries) == 4  # post, question, share, reading list: no reply, no deleted post
    for entry in entries:
        for required in ("id", "title", "updated", "content"):
            assert entry.find(A + required) is not None, required

    parsed = feedparser.parse(out_file.read_bytes())
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10"
    assert parsed.feed.title == "Ann on lndesk"
    assert parsed.feed.author_detail.href.startswith("lndesk://feed/")
    by_title = {e.title: e for e in parsed.entries}
    assert set(by_title) == {
        "Retrieval practice",
        "Question: What helps you remember?",
        "Shared: Retrieval practice",
        "Reading list: Start here",
    }
    post = by_title["Retrieval practice"]
    assert post.content[0].value == "Retrieval practice\n\nQuiz *before* you teach & <learn>."
    assert post.content[0].type == "text/plain"
    assert post.id.startswith("urn:lndesk:entry:" + first)
    assert post.link == "https://teaching.example/q"
    assert [t.term for t in post.tags] == ["pedagogy"]
    share = by_title["Shared: Retrieval practice"]
    assert share.content[0].value.startswith("worth reading\n\n> Retrieval practice")

    # An edit keeps the entry's id; --keep rewrites the file on every publish.
    cli("atom", "--out", str(out_file), "--keep")
    cli("edit", first, "Retrieval practice, revised")
    again = feedparser.parse(out_file.read_bytes())
    revised = next(e for e in again.entries if e.id == post.id)
    assert revised.title == "Retrieval practice, revised"
    cli("post", "one more")
    assert len(feedparser.parse(out_file.read_bytes()).entries) == 5
    assert "rewritten on every publish" in cli("atom")
    cli("atom", "--stop")
    cli("post", "not in the file")
    assert len(feedparser.parse(out_file.read_bytes()).entries) == 5


def test_the_writer_drops_what_xml_cannot_carry() -> None:
    document = write_atom(
        feed_id="urn:x",
        title="t\x00",
        author="a",
        author_uri="lndesk://feed/x",
        entries=[AtomEntry("urn:e", "bell\x07", "text\x1b[31m", 0, 0)],
        now_ms=0,
    )
    parsed = feedparser.parse(document)
    assert not parsed.bozo
    assert parsed.entries[0].title == "bell"
    assert parsed.feed.updated == "1970-01-01T00:00:00Z"
