"""The web feed commands, run as a person would (lndesk.cli.main.main), against a real
HTTP server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import listparser
import pytest

import lndesk.store.feedstore
import lndesk.webfeeds
from lndesk.cli.main import main
from lndesk.feeds.opml import MAX_OPML_BYTES
from tests.feed_server import DATA, Answer, FeedServer


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def run(capsys: pytest.CaptureFixture[str], data: Path, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--data-dir", str(data)])
    out, err = capsys.readouterr()
    return code, out, err


def test_follow_list_items_refresh_remove(
    server: FeedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, tmp_path, "follow", server.url("/site.html"))
    assert code == 0
    assert "following the web feed Teaching Notes (3 items)" in out
    code, out, _ = run(capsys, tmp_path, "feeds", "add", server.url("/podcast.xml"))
    assert "Learning Out Loud (2 items)" in out
    code, out, _ = run(capsys, tmp_path, "feeds", "list")
    assert "Teaching Notes" in out and "3 unread items" in out
    code, out, _ = run(capsys, tmp_path, "feeds", "items", "--text", "--limit", "2")
    assert "Retrieval practice works" in out
    assert "audio: https://cdn.podcast.example/e12.mp3" in out
    code, out, _ = run(capsys, tmp_path, "feeds", "items", "--search", "spacing")
    assert "Spacing" in out and "Welcome" not in out
    code, out, _ = run(capsys, tmp_path, "feeds", "bookmark", "2")
    assert "bookmarked: Spacing" in out
    code, out, _ = run(capsys, tmp_path, "feeds", "tag", "2", "#Memory", "study")
    assert "tags: #memory #study" in out
    _, out, _ = run(capsys, tmp_path, "feeds", "items", "--bookmarked")
    assert "Spacing" in out and "Welcome" not in out
    _, out, _ = run(capsys, tmp_path, "feeds", "items", "--tag", "memory")
    assert "Spacing" in out and "Welcome" not in out
    code, out, _ = run(capsys, tmp_path, "feeds", "refresh")
    assert "Teaching Notes: nothing new" in out or "Teaching Notes: 0 new items" in out
    code, out, err = run(capsys, tmp_path, "feeds", "remove", "1")
    assert code == 0 and "no longer following the web feed Teaching Notes" in out
    code, out, err = run(capsys, tmp_path, "feeds", "remove", "1")
    assert code == 1 and "lndesk feeds list" in err


def test_bad_input_gets_a_clear_error(
    server: FeedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, tmp_path, "feeds", "add", server.url("/malformed.xml"))
    assert code == 1
    assert "is not a web feed" in err
    code, _, err = run(capsys, tmp_path, "feeds", "add", "not an address")
    assert code == 1 and "is not a web address" in err
    code, _, err = run(capsys, tmp_path, "feeds", "import", str(tmp_path / "missing.opml"))
    assert code == 1 and "cannot be read" in err


def test_an_opml_file_is_read_only_up_to_its_cap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file that never ends (a pipe, a device given by mistake) is not read whole."""
    pipe = tmp_path / "endless.opml"
    os.mkfifo(pipe)
    written = {"bytes": 0}

    def write() -> None:
        with contextlib.suppress(BrokenPipeError), pipe.open("wb") as out:
            while written["bytes"] < 64 * 1024 * 1024:
                out.write(b" " * 65536)
                written["bytes"] += 65536

    writer = threading.Thread(target=write)
    writer.start()
    code, _, err = run(capsys, tmp_path, "feeds", "import", str(pipe))
    if writer.is_alive():  # the import did not read the pipe: let the writer end
        with pipe.open("rb"):
            pass
    writer.join()
    assert code == 1 and "larger than 10 MB" in err
    assert written["bytes"] < MAX_OPML_BYTES + 1024 * 1024


def test_opml_round_trip(
    server: FeedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    opml = tmp_path / "in.opml"
    opml.write_text(
        f"""<?xml version="1.0"?><opml version="2.0"><head><title>mine</title></head><body>
        <outline text="Blogs">
          <outline type="rss" text="Notes" xmlUrl="{server.url("/rss_guids.xml")}"/>
          <outline type="rss" text="Atom" xmlUrl="{server.url("/atom_base.xml")}"/>
        </outline>
        <outline type="rss" text="Gone" xmlUrl="{server.url("/missing.xml")}"/>
        <outline type="rss" text="Bad" xmlUrl="javascript:alert(1)"/>
        </body></opml>""",
        encoding="utf-8",
    )
    data = tmp_path / "data"
    data.mkdir()
    code, out, _ = run(capsys, data, "feeds", "import", str(opml))
    assert code == 0
    assert "imported 3 web feeds and 0 people" in out
    assert "(0 web feeds followed already, 1 outline neither)" in out
    assert "HTTP 404" in out
    out_file = tmp_path / "out.opml"
    code, out, _ = run(capsys, data, "feeds", "export", "--out", str(out_file))
    assert "wrote 3 web feeds and 0 people" in out
    parsed = listparser.parse(out_file.read_bytes())
    assert not parsed.bozo
    assert {f["url"] for f in parsed.feeds} == {
        server.url("/rss_guids.xml"),
        server.url("/atom_base.xml"),
        server.url("/missing.xml"),
    }
    assert {f["title"] for f in parsed.feeds} >= {"Teaching Notes", "Atom Learner"}
    code, out, _ = run(capsys, data, "feeds", "import", str(out_file))
    assert "imported 0 web feeds and 0 people (3 web feeds followed already)" in out


def test_importing_beyond_the_limit_says_how_many_were_not_added_and_what_to_do(
    server: FeedServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lndesk.store.feedstore, "MAX_FEEDS", 2)
    monkeypatch.setattr(lndesk.webfeeds, "MAX_FEEDS", 2)
    opml = tmp_path / "in.opml"
    outlines = "".join(
        f'<outline type="rss" text="{name}" xmlUrl="{server.url("/" + name)}"/>'
        for name in ("rss_guids.xml", "atom_base.xml", "podcast.xml")
    )
    opml.write_text(
        f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>',
        encoding="utf-8",
    )
    data = tmp_path / "data"
    data.mkdir()
    assert run(capsys, data, "feeds", "add", server.url("/feed.json"))[0] == 0
    code, out, err = run(capsys, data, "feeds", "import", str(opml))
    assert code == 0, err
    assert "imported 1 web feed and 0 people (0 web feeds followed already)" in out
    assert (
        "2 web feeds not added: lndesk follows at most 2 web feeds. Remove web feeds you no "
        "longer read (lndesk feeds remove NUMBER, or Remove on the Following screen) and "
        "import the file again to add the rest." in err
    )
    code, _, err = run(capsys, data, "feeds", "add", server.url("/podcast.xml"))
    assert code == 1 and "you follow 2 web feeds, the most one data directory can follow" in err
    assert "lndesk feeds remove NUMBER" in err
    assert run(capsys, data, "feeds", "remove", "1")[0] == 0  # as both say
    code, out, err = run(capsys, data, "feeds", "import", str(opml))
    assert "imported 1 web feed and 0 people (1 web feed followed already)" in out
    assert "1 web feed not added" in err
    _, out, _ = run(capsys, data, "feeds", "list")
    assert "Teaching Notes" in out and "Atom Learner" in out


def test_a_paused_feed_is_shown_and_resumed(
    server: FeedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.routes["/m"] = lambda r: Answer(
        200, {"Content-Type": "application/xml"}, (DATA / "rss_guids.xml").read_bytes()
    )
    run(capsys, tmp_path, "feeds", "add", server.url("/m"))
    other = f"http://localhost:{server.port}/podcast.xml"
    server.routes["/m"] = lambda r: Answer(301, {"Location": other})
    code, out, _ = run(capsys, tmp_path, "feeds", "bookmark", "2")
    assert "bookmarked: Spacing" in out
    code, out, _ = run(capsys, tmp_path, "feeds", "tag", "2", "#Memory", "study")
    assert "tags: #memory #study" in out
    _, out, _ = run(capsys, tmp_path, "feeds", "items", "--bookmarked")
    assert "Spacing" in out and "Welcome" not in out
    _, out, _ = run(capsys, tmp_path, "feeds", "items", "--tag", "memory")
    assert "Spacing" in out and "Welcome" not in out
    code, out, _ = run(capsys, tmp_path, "feeds", "refresh")
    assert "moved to another site" in out
    code, out, _ = run(capsys, tmp_path, "feeds", "list")
    assert "paused: the web feed at" in out
    code, out, _ = run(capsys, tmp_path, "feeds", "resume", "1")
    assert code == 0 and "2 new items" in out


def test_share_and_reply_to_an_item_in_your_own_log(
    server: FeedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "ann"
    assert run(capsys, data, "init", "--name", "Ann")[0] == 0
    run(capsys, data, "feeds", "add", server.url("/rss_guids.xml"))
    _, out, _ = run(capsys, data, "feeds", "items", "--limit", "1")
    assert "*     1  " in out  # unread, number 1
    code, out, _ = run(capsys, data, "feeds", "share", "1", "--comment", "read this", "--tag", "x")
    assert code == 0 and "shared Retrieval practice works" in out
    code, out, _ = run(capsys, data, "feeds", "reply", "1", "I tried it: it works.")
    assert code == 0 and "linking the item" in out
    _, out, _ = run(capsys, data, "log", "--limit", "2")
    assert "shares Retrieval practice works: https://teaching.example/2026/retrieval" in out
    assert "read this" in out
    assert "I tried it: it works." in out and "https://teaching.example/2026/retrieval" in out
    atom = tmp_path / "ann.xml"
    run(capsys, data, "atom", "--out", str(atom))
    parsed = listparser_free_parse(atom.read_bytes())
    shared = next(e for e in parsed.entries if e.title == "Shared: Retrieval practice works")
    assert shared.link == "https://teaching.example/2026/retrieval"
    assert shared.content[0].value == "read this"
    code, _, err = run(capsys, data, "feeds", "share", "99")
    assert code == 1 and "no longer stored" in err


def listparser_free_parse(data: bytes) -> object:
    import feedparser

    parsed = feedparser.parse(data)
    assert not parsed.bozo
    return parsed


def test_a_shared_items_title_is_text_on_its_card() -> None:
    from lndesk.app.items import web_share_text
    from lndesk.content import WebShare

    share = WebShare("https://a.example/x", "[click](javascript:alert(1)) <b>", comment="mine")
    assert web_share_text(share) == (
        "mine\n\n> *shared from a web feed:* \\[click\\](javascript:alert(1)) \\<b\\>"
    )
    assert web_share_text(WebShare("https://a.example/x")) == ""
