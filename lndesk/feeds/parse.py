"""One fetched feed document, parsed by feedparser (RSS, Atom) or as JSON Feed, into a
bounded :class:`~lndesk.webfeeds.ParsedFeed`.

feedparser resolves relative links against ``xml:base`` and the document's address and
removes dangerous HTML; :mod:`lndesk.feeds.htmltext` then reduces what is left to
markdown. feedparser 6.0 does not read JSON Feed, whose format is plain JSON: it is
read here with the standard library, field by field, with every type checked.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

import feedparser

from lndesk.errors import FeedError
from lndesk.feeds.htmltext import html_to_markdown, plain_to_markdown
from lndesk.webfeeds import (
    MAX_DOCUMENT_BYTES,
    MAX_ENCLOSURES,
    MAX_ITEMS,
    MAX_TITLE_CHARS,
    Enclosure,
    FeedItem,
    ParsedFeed,
    cut,
    web_url,
)

log = logging.getLogger(__name__)

JSON_TYPES = ("application/feed+json", "application/json")


def _is_json(body: bytes, content_type: str) -> bool:
    if content_type.split(";", maxsplit=1)[0].strip().lower() in JSON_TYPES:
        return True
    return body.lstrip()[:1] == b"{"


def parse_feed(body: bytes, url: str, content_type: str = "") -> ParsedFeed:
    """The feed in ``body`` (fetched from ``url``); :class:`FeedError` if it is none."""
    if len(body) > MAX_DOCUMENT_BYTES:
        raise FeedError(
            f"the web feed at {url} is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB",
            "Ask its owner for a shorter web feed; lndesk does not read web feeds that large.",
        )
    if _is_json(body, content_type):
        return _parse_json(body, url)
    return _parse_xml(body, url, content_type)


# --- RSS and Atom ---------------------------------------------------------------------


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _ms(parsed: object) -> int | None:
    if parsed is None:
        return None
    try:
        return int(calendar.timegm(parsed)) * 1000  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None


def _duration(value: str) -> int | None:
    """An itunes:duration ("1:02:03", "62:03" or seconds) in seconds."""
    parts = value.strip().split(":")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() and len(p) <= 9 for p in parts):
        return None
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + int(part)
    return seconds


def _int(value: object) -> int | None:
    text = str(value).strip() if isinstance(value, str | int) else ""
    return int(text) if text.isdigit() and len(text) <= 15 else None


def _xml_item(entry: Mapping[str, Any], base: str) -> FeedItem:
    link = web_url(urljoin(base, _text(entry.get("link"))))
    html = ""
    contents = entry.get("content")
    if isinstance(contents, list) and contents and isinstance(contents[0], Mapping):
        html = _text(contents[0].get("value"))
    html = html or _text(entry.get("summary"))
    duration = _duration(_text(entry.get("itunes_duration")))
    enclosures: list[Enclosure] = []
    for found in entry.get("enclosures", [])[:MAX_ENCLOSURES]:
        href = web_url(urljoin(base, _text(found.get("href"))))
        if href:
            enclosures.append(
                Enclosure(
                    href,
                    cut(_text(found.get("type")), 100),
                    _int(found.get("length")),
                    duration if not enclosures else None,
                )
            )
    return FeedItem(
        guid=cut(_text(entry.get("id")), 1000),
        link=link,
        title=cut(_text(entry.get("title")), MAX_TITLE_CHARS),
        text=html_to_markdown(html, link or base),
        published_ms=_ms(entry.get("published_parsed") or entry.get("updated_parsed")),
        author=cut(_text(entry.get("author")), MAX_TITLE_CHARS),
        enclosures=tuple(enclosures),
    )


def _parse_xml(body: bytes, url: str, content_type: str) -> ParsedFeed:
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(
        body, response_headers=headers, sanitize_html=True, resolve_relative_uris=True
    )
    version = _text(parsed.get("version"))
    if not version or not parsed.get("feed"):
        reason = parsed.get("bozo_exception")
        log.info("not a feed at %s: %s", url, reason)
        raise FeedError(
            f"{url} is not a web feed (RSS, Atom or JSON Feed) lndesk can read"
            + (f" ({cut(str(reason), 200)})" if reason else ""),
            "Check the address: paste the web feed's address, or its site's to find the web feed.",
        )
    feed = parsed["feed"]
    site = web_url(_text(feed.get("link")))
    items = tuple(_xml_item(e, url) for e in parsed.get("entries", [])[:MAX_ITEMS])
    return ParsedFeed(
        kind="atom" if version.startswith("atom") else "rss",
        title=cut(_text(feed.get("title")), MAX_TITLE_CHARS),
        site=site,
        items=items,
    )


# --- JSON Feed ------------------------------------------------------------------------


def _iso_ms(text: str) -> int | None:
    """An RFC 3339 date (JSON Feed's dates) in ms since the epoch; UTC when no zone."""
    try:
        when = dt.datetime.fromisoformat(text.strip()[:40])
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp() * 1000)


def _json_item(item: object, base: str) -> FeedItem | None:
    if not isinstance(item, dict):
        return None
    guid = item.get("id")
    guid = str(guid) if isinstance(guid, str | int) and not isinstance(guid, bool) else ""
    link = web_url(urljoin(base, _text(item.get("url"))))
    html = _text(item.get("content_html"))
    text = (
        html_to_markdown(html, link or base)
        if html
        else plain_to_markdown(_text(item.get("content_text")) or _text(item.get("summary")))
    )
    published = _text(item.get("date_published")) or _text(item.get("date_modified"))
    enclosures = []
    attachments = item.get("attachments")
    for found in attachments[:MAX_ENCLOSURES] if isinstance(attachments, list) else []:
        if isinstance(found, dict) and (href := web_url(urljoin(base, _text(found.get("url"))))):
            size = found.get("size_in_bytes")
            seconds = found.get("duration_in_seconds")
            enclosures.append(
                Enclosure(
                    href,
                    cut(_text(found.get("mime_type")), 100),
                    size
                    if isinstance(size, int) and not isinstance(size, bool) and size >= 0
                    else None,
                    int(seconds)
                    if isinstance(seconds, int | float)
                    and not isinstance(seconds, bool)
                    and 0 <= seconds < 10**9
                    else None,
                )
            )
    authors = item.get("authors")
    author = ""
    if isinstance(authors, list) and authors and isinstance(authors[0], dict):
        author = _text(authors[0].get("name"))
    return FeedItem(
        guid=cut(guid, 1000),
        link=link,
        title=cut(_text(item.get("title")), MAX_TITLE_CHARS),
        text=text,
        published_ms=_iso_ms(published),
        author=cut(author, MAX_TITLE_CHARS),
        enclosures=tuple(enclosures),
    )


def _parse_json(body: bytes, url: str) -> ParsedFeed:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise FeedError(
            f"{url} is not a JSON web feed lndesk can read ({cut(str(exc), 200)})",
            "Check the address: paste the web feed's address, or its site's to find the web feed.",
        ) from exc
    if not isinstance(document, dict) or not _text(document.get("version")).startswith(
        "https://jsonfeed.org/version/"
    ):
        raise FeedError(
            f"{url} is JSON but not a JSON Feed (its version is not https://jsonfeed.org/...)",
            "Check the address: paste the web feed's address, or its site's to find the web feed.",
        )
    raw_items = document.get("items")
    found = raw_items[:MAX_ITEMS] if isinstance(raw_items, list) else []
    items = tuple(i for i in (_json_item(x, url) for x in found) if i is not None)
    return ParsedFeed(
        kind="json",
        title=cut(_text(document.get("title")), MAX_TITLE_CHARS),
        site=web_url(_text(document.get("home_page_url"))),
        items=items,
    )
