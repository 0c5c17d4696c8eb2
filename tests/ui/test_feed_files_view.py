"""The app's OPML import and export (Following screen) and the Atom file kept up to date
(Settings), through the real window: what the CLI's lndesk feeds import/export and
lndesk atom --out FILE --keep do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import listparser
import pytest
from store_helpers import make_identity

import lndesk.store.feedstore
import lndesk.webfeeds
from lndesk.feeds.opml import read_opml
from lndesk.keytext import key_to_link
from lndesk.ui.main_window import MainWindow
from tests.feed_server import FeedServer


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def test_opml_import_and_export_from_the_following_screen(
    window: MainWindow, call: Any, qtbot: Any, server: FeedServer, tmp_path: Path
) -> None:
    bo = make_identity(31).public_key
    opml = tmp_path / "in.opml"
    opml.write_text(
        f"""<?xml version="1.0"?><opml version="2.0"><head><title>mine</title></head><body>
        <outline type="rss" text="Notes" xmlUrl="{server.url("/rss_guids.xml")}"/>
        <outline type="rss" text="Cast" xmlUrl="{server.url("/podcast.xml")}"/>
        <outline type="rss" text="Bad" xmlUrl="javascript:alert(1)"/>
        <outline text="Bo" xmlUrl="{key_to_link(bo)}"/>
        <outline text="Me" xmlUrl="{key_to_link(call(lambda desk: desk.own))}"/>
        </body></opml>""",
        encoding="utf-8",
    )
    panel = window.following.web_feeds
    with qtbot.waitSignal(panel.opml.done, timeout=10_000) as done:
        panel.opml.import_opml(opml)  # the file Import OPML… asks for
    assert done.args[0].startswith(
        "Imported 2 web feeds and 1 person (0 web feeds followed already, 1 outline neither)."
    )
    assert "Me: that is your own key" in done.args[0]
    assert panel.notice.isVisibleTo(panel) and panel.notice.text() == done.args[0]
    # The poller fetches the imported feeds at once; the list shows them.
    qtbot.waitUntil(
        lambda: (
            panel.model.rowCount() == 2
            and all(panel.model.row_at(panel.model.index(r)).last_ok_ms for r in range(2))
        ),
        timeout=10_000,
    )
    assert bo in call(lambda desk: desk.service.reader.following(desk.own))

    out = tmp_path / "out.opml"
    with qtbot.waitSignal(panel.opml.done, timeout=10_000) as done:
        panel.opml.export_opml(out)
    assert done.args[0] == "Saved 2 web feeds and 1 person to out.opml."
    parsed = listparser.parse(out.read_bytes())
    assert not parsed.bozo
    assert {f["url"] for f in parsed.feeds} == {
        server.url("/rss_guids.xml"),
        server.url("/podcast.xml"),
    }
    people = read_opml(out.read_bytes(), "out.opml").people
    assert [p.url for p in people] == [key_to_link(bo)]
    # Importing it again follows nothing twice (no follow entry appended); a missing file
    # says so.
    height = call(lambda desk: desk.service.own_state().height)
    with qtbot.waitSignal(panel.opml.done, timeout=10_000) as done:
        panel.opml.import_opml(out)
    assert call(lambda desk: desk.service.own_state().height) == height
    assert done.args[0].startswith("Imported 0 web feeds and 0 people (2 web feeds followed")
    with qtbot.waitSignal(panel.opml.done, timeout=10_000) as done:
        panel.opml.import_opml(tmp_path / "missing.opml")
    assert "missing.opml cannot be read" in done.args[0]


def test_an_import_beyond_the_limit_says_what_it_did_not_add(
    window: MainWindow, qtbot: Any, server: FeedServer, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setattr(lndesk.store.feedstore, "MAX_FEEDS", 1)
    monkeypatch.setattr(lndesk.webfeeds, "MAX_FEEDS", 1)
    opml = tmp_path / "in.opml"
    opml.write_text(
        f"""<?xml version="1.0"?><opml version="2.0"><body>
        <outline type="rss" text="Notes" xmlUrl="{server.url("/rss_guids.xml")}"/>
        <outline type="rss" text="Cast" xmlUrl="{server.url("/podcast.xml")}"/>
        </body></opml>""",
        encoding="utf-8",
    )
    panel = window.following.web_feeds
    with qtbot.waitSignal(panel.opml.done, timeout=10_000) as done:
        panel.opml.import_opml(opml)
    assert done.args[0] == (
        "Imported 1 web feed and 0 people (0 web feeds followed already).\n"
        "1 web feed not added: lndesk follows at most 1 web feeds. Remove web feeds you no "
        "longer read (lndesk feeds remove NUMBER, or Remove on the Following screen) and "
        "import the file again to add the rest."
    )


def test_the_atom_file_is_kept_up_to_date_from_settings(
    window: MainWindow, call: Any, qtbot: Any, tmp_path: Path
) -> None:
    box = window.atom_file
    assert box.file is None and not box.stop_button.isEnabled()
    target = tmp_path / "site" / "feed.xml"
    call(lambda desk: desk.posting.post("before the file was chosen"))
    with qtbot.waitSignal(box.changed, timeout=10_000):
        box.keep(target)
    assert box.file == str(target.resolve()) and box.stop_button.isEnabled()
    assert str(target.resolve()) in box.note.text()
    assert call(lambda desk: desk.feed_files.atom_file()) == str(target.resolve())
    first = feedparser.parse(target.read_bytes())
    assert [e.title for e in first.entries] == ["before the file was chosen"]
    # Every publish rewrites it.
    call(lambda desk: desk.posting.post("published after"))
    titles = [e.title for e in feedparser.parse(target.read_bytes()).entries]
    assert titles == ["published after", "before the file was chosen"]
    # Stopped: publishing leaves it as it was.
    with qtbot.waitSignal(box.changed, timeout=10_000):
        box.stop()
    assert box.file is None and not box.stop_button.isEnabled()
    call(lambda desk: desk.posting.post("not in the file"))
    assert len(feedparser.parse(target.read_bytes()).entries) == 2
    # A file that cannot be written is explained.
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with qtbot.waitSignal(box.changed, timeout=10_000):
        box.keep(blocker / "feed.xml")
    assert box.error.isVisibleTo(box) and "cannot be written" in box.error.text()
