"""A site's feed, found from the ``<link rel="alternate">`` elements of its page."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin

from lndesk.webfeeds import web_url

FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
)
MAX_PAGE_BYTES = 1024 * 1024
"""Only the start of a page is looked at: feed links are in its head."""


class _Links(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.found: list[tuple[int, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base" and not self.found:
            href = dict(attrs).get("href")
            if href and web_url(urljoin(self.base, href)):
                self.base = urljoin(self.base, href)
        if tag != "link":
            return
        values = {k: (v or "").strip() for k, v in attrs}
        rel = values.get("rel", "").lower().split()
        kind = values.get("type", "").lower().split(";")[0]
        if "alternate" in rel and kind in FEED_TYPES and values.get("href"):
            url = web_url(urljoin(self.base, values["href"]))
            if url:
                self.found.append((FEED_TYPES.index(kind), url))


def feed_links(page: bytes, url: str) -> list[str]:
    """The feeds a web page at ``url`` names, RSS and Atom before JSON, in page order."""
    parser = _Links(url)
    parser.feed(page[:MAX_PAGE_BYTES].decode("utf-8", "replace"))
    parser.close()
    ranked = sorted(enumerate(parser.found), key=lambda p: (min(p[1][0], 2), p[0]))
    seen: list[str] = []
    for _, (_, link) in ranked:
        if link not in seen:
            seen.append(link)
    return seen


def looks_like_html(body: bytes, content_type: str) -> bool:
    kind = content_type.split(";", maxsplit=1)[0].strip().lower()
    if kind in {"text/html", "application/xhtml+xml"}:
        return True
    start = body.lstrip()[:200].lower()
    return start.startswith((b"<!doctype html", b"<html"))
