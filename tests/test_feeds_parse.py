"""Parsing the real-world-shaped feeds of tests/data/feeds, and reducing hostile HTML."""

from __future__ import annotations

import pytest

from lndesk.errors import FeedError
from lndesk.feeds.discover import feed_links, looks_like_html
from lndesk.feeds.htmltext import html_to_markdown
from lndesk.feeds.opml import read_opml, sort_outlines
from lndesk.feeds.parse import parse_feed
from lndesk.feeds.policy import MIN_INTERVAL_S, next_poll_ms, poll_interval_s
from lndesk.webfeeds import MAX_DOCUMENT_BYTES, MAX_TEXT_CHARS
from tests.feed_server import DATA

BASE = "http://127.0.0.1:8000/"


def parse(name: str, content_type: str = "") -> object:
    return parse_feed((DATA / name).read_bytes(), BASE + name, content_type)


def test_rss_with_guids() -> None:
    feed = parse_feed((DATA / "rss_guids.xml").read_bytes(), BASE + "rss_guids.xml")
    assert (feed.kind, feed.title, feed.site) == (
        "rss",
        "Teaching Notes",
        "https://teaching.example/",
    )
    assert [i.guid for i in feed.items] == ["tn-3", "tn-2", "tn-1"]
    first = feed.items[0]
    assert first.link == "https://teaching.example/2026/retrieval"
    assert first.text == "Quiz **before** you teach. See [the quiz](https://teaching.example/quiz)."
    assert first.published_ms == 1_796_202_000_000


def test_rss_without_guids_is_matched_by_link_and_title() -> None:
    feed = parse_feed((DATA / "rss_noguid.xml").read_bytes(), BASE + "rss_noguid.xml")
    assert [i.guid for i in feed.items] == ["", ""]
    assert [i.match_key for i in feed.items] == [
        "https://noguid.example/2\nIssue 2",
        "https://noguid.example/1\nIssue 1",
    ]
    assert feed.items[0].published_ms is None


def test_atom_resolves_relative_links_against_xml_base() -> None:
    feed = parse_feed((DATA / "atom_base.xml").read_bytes(), BASE + "atom_base.xml")
    assert feed.kind == "atom"
    assert feed.site == "https://atom.example/blog/"
    one, two = feed.items
    assert one.link == "https://atom.example/blog/posts/relative.html"
    assert one.text == "Read [the first note](https://atom.example/notes/one.html)."
    assert two.link == "https://other.example/base/two.html"
    assert two.text == "Plain summary"


def test_json_feed() -> None:
    feed = parse_feed(
        (DATA / "feed.json").read_bytes(), BASE + "feed.json", "application/feed+json"
    )
    assert (feed.kind, feed.title, feed.site) == ("json", "JSON Learner", "https://json.example/")
    two, one, bad = feed.items  # "not an item" is skipped; a bad id and title are dropped
    assert two.text == "Some *emphasis* and ![pic](https://json.example/pic.png)"
    assert one.guid == "1"
    assert one.link == "http://127.0.0.1:8000/1"
    assert one.text == "Just \\*text\\* here."
    assert one.published_ms == 1_796_288_400_000
    assert one.enclosures[0].url == "https://json.example/1.mp3"
    assert (one.enclosures[0].length, one.enclosures[0].duration_s) == (1234, 61)
    assert (bad.guid, bad.title) == ("", "")


def test_json_that_is_not_a_json_feed_is_refused() -> None:
    with pytest.raises(FeedError, match="not a JSON Feed"):
        parse_feed(b'{"version": "1", "items": []}', BASE + "x.json", "application/json")
    with pytest.raises(FeedError, match="not a JSON web feed"):
        parse_feed(b"{" * 100_000, BASE + "x.json", "application/json")


def test_podcast_enclosures_and_durations() -> None:
    feed = parse_feed((DATA / "podcast.xml").read_bytes(), BASE + "podcast.xml")
    twelve, eleven = feed.items
    (audio,) = twelve.enclosures
    assert audio.url == "https://cdn.podcast.example/e12.mp3"
    assert (audio.mime, audio.length, audio.duration_s) == ("audio/mpeg", 48_123_456, 3723)
    assert eleven.enclosures[0].duration_s == 2703


def test_malformed_feed_is_refused_with_a_reason() -> None:
    with pytest.raises(FeedError, match="not a web feed") as caught:
        parse_feed((DATA / "malformed.xml").read_bytes(), BASE + "malformed.xml")
    assert "paste the web feed's address" in (caught.value.hint or "")


def test_a_document_over_the_cap_is_refused_before_parsing() -> None:
    with pytest.raises(FeedError, match="larger than 5 MB"):
        parse_feed(b" " * (MAX_DOCUMENT_BYTES + 1), BASE)


def test_hostile_feed_is_reduced_to_safe_markdown() -> None:
    feed = parse_feed((DATA / "hostile.xml").read_bytes(), BASE + "hostile.xml")
    assert feed.site == ""  # a javascript: link is no address
    (item,) = feed.items
    assert item.link == ""
    assert item.title == "Click <script>alert(1)</script>"  # a title is plain text
    text = item.text
    for gone in (
        "alert",
        "script",
        "<style",
        "display",
        "iframe",
        "onclick",
        "<object",
        "<img",
        "<p",
        "file:",
        "javascript",
        "passwd",
        "<",
    ):
        assert gone not in text, gone
    assert "![](https://tracker.example/pixel.gif)" in text  # shown as text, never loaded
    assert "js link" in text and "file link" in text  # their text stays, unlinked
    assert "\\[md link\\](https://evil.example/)" in text  # markdown in text stays text
    assert "\\| a \\| b \\|" in text


@pytest.mark.parametrize(
    ("html", "markdown"),
    [
        ("<ul><li>a</li><li>b</li></ul>", "- a\n- b"),
        ("<ol><li>a</li><li>b</li></ol>", "1. a\n2. b"),
        ("<blockquote>q</blockquote>", "> q"),
        ("<pre>x = 1\ny = 2</pre>", "```\nx = 1\ny = 2\n```"),
        ("a<br>b", "a\nb"),
        ("<h2>Title</h2>text", "**Title**\n\ntext"),
        ("# not a heading", "\\# not a heading"),
        ('<a href="/rel">x</a>', "[x](https://site.example/rel)"),
        ('<a href="https://e.example/a(b)">x</a>', "[x](https://e.example/a%28b%29)"),
        ('<a href="https://e.example/a b">x</a>', "x"),
        ("<ul><li>a<ul><li>b</li></ul></li></ul>", "- a\n  - b"),
        ("<p>\n   spaced</p>", "spaced"),
        ("<script>x</script><p>kept</p>", "kept"),
        ("<svg><text>drawn</text></svg>ok", "ok"),
    ],
)
def test_html_reduction(html: str, markdown: str) -> None:
    assert html_to_markdown(html, "https://site.example/post") == markdown


def test_html_reduction_is_bounded() -> None:
    assert len(html_to_markdown("<p>word </p>" * 100_000)) <= MAX_TEXT_CHARS


def test_site_page_names_its_feeds_rss_first() -> None:
    page = (DATA / "site.html").read_bytes()
    assert looks_like_html(page, "text/html")
    assert not looks_like_html((DATA / "rss_guids.xml").read_bytes(), "application/xml")
    assert feed_links(page, "https://blog.example/about") == [
        "https://blog.example/rss_guids.xml",
        "https://blog.example/feed.json",
    ]


def test_polling_is_at_most_hourly_with_jitter() -> None:
    assert poll_interval_s() == MIN_INTERVAL_S
    assert poll_interval_s(max_age_s=60) == MIN_INTERVAL_S
    assert poll_interval_s(max_age_s=7200) == 7200
    assert poll_interval_s(retry_after_s=90_000) == 90_000
    assert poll_interval_s(failures=3) == 4 * 3600
    assert poll_interval_s(failures=30) == 24 * 3600
    assert next_poll_ms(1000, lambda: 0.0) == 1000 + 3_600_000
    assert next_poll_ms(1000, lambda: 0.999) == 1000 + 3_959_640


class Uncomparable(dict[str, str]):
    """An outline that fails the test when it is compared with another."""

    def __eq__(self, other: object) -> bool:
        raise AssertionError("two outlines were compared")

    __hash__ = None  # type: ignore[assignment]


def test_opml_outlines_are_each_looked_at_once_never_compared() -> None:
    """Telling feeds from other outlines compares none of them: 200,000 outlines of a
    10 MB file would otherwise cost some 10^10 comparisons."""
    feeds = [Uncomparable(url=f"https://a.example/{n}", title=f"F{n}") for n in range(3)]
    feeds.append(Uncomparable(url="https://a.example/0", title="again"))
    lists = [
        Uncomparable(url="https://b.example/list.opml"),
        Uncomparable(url="lndesk:ann", title="Ann"),
    ]
    contents = sort_outlines(feeds, lists)
    assert [(o.url, o.title) for o in contents.feeds] == [
        (f"https://a.example/{n}", f"F{n}") for n in range(3)
    ]
    assert [o.title for o in contents.people] == ["Ann"]
    assert contents.skipped == 1


def test_a_large_opml_file_keeps_every_feed() -> None:
    outlines = "".join(
        f'<outline type="rss" text="F{n}" xmlUrl="https://a.example/{n}"/>' for n in range(2000)
    )
    document = f'<?xml version="1.0"?><opml version="2.0"><head/><body>{outlines}</body></opml>'
    contents = read_opml(document.encode(), "big.opml")
    assert [o.url for o in contents.feeds] == [f"https://a.example/{n}" for n in range(2000)]
