"""OPML: the file feed readers exchange their subscriptions in.

Import reads it with listparser (bounded before parsing); export writes OPML 2.0 with
one ``<outline type="rss">`` per web feed and one ``<outline type="link">`` per person
followed, whose ``url`` is their ``lndesk://`` share link: another lndesk reads those
back as people, a feed reader shows them as links.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree as ET

import listparser

from lndesk.errors import FeedError
from lndesk.webfeeds import MAX_TITLE_CHARS, cut, web_url

MAX_OPML_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Outline:
    url: str
    title: str


@dataclass(frozen=True, slots=True)
class OpmlContents:
    feeds: tuple[Outline, ...]
    """Web feeds (http and https addresses only)."""
    people: tuple[Outline, ...]
    """lndesk share links."""
    skipped: int
    """Outlines that were neither."""


def read_opml(data: bytes, name: str) -> OpmlContents:
    """The feeds and people an OPML document lists; :class:`FeedError` if it is none."""
    if len(data) > MAX_OPML_BYTES:
        raise FeedError(
            f"{name} is larger than {MAX_OPML_BYTES // (1024 * 1024)} MB",
            "An OPML file of subscriptions is much smaller; check that it is the right file.",
        )
    parsed = listparser.parse(data)
    if parsed.bozo and not parsed.feeds and not parsed.lists:
        raise FeedError(
            f"{name} is not an OPML file lndesk can read ({cut(str(parsed.bozo_exception), 200)})",
            "Export your subscriptions from your feed reader as OPML and import that file.",
        )
    return sort_outlines(parsed.feeds, parsed.lists)


def sort_outlines(
    feeds: Sequence[Mapping[str, Any]], lists: Sequence[Mapping[str, Any]]
) -> OpmlContents:
    """The web feeds and people among listparser's outlines: ``feeds`` (outlines of web
    feeds) and ``lists`` (other outlines with an address). Each outline is looked at once,
    and never compared with the others: a 10 MB file lists some 200,000 of them."""
    found: dict[str, Outline] = {}
    people: dict[str, Outline] = {}
    skipped = 0
    for outline, is_feed in [*((o, True) for o in feeds), *((o, False) for o in lists)]:
        url = str(outline.get("url", "")).strip()
        title = cut(str(outline.get("title", "")), MAX_TITLE_CHARS)
        if url.lower().startswith("lndesk:"):
            people.setdefault(url, Outline(url, title))
        elif web_url(url) and is_feed:
            found.setdefault(url, Outline(url, title))
        else:
            skipped += 1
    return OpmlContents(tuple(found.values()), tuple(people.values()), skipped)


def write_opml(
    feeds: list[tuple[str, str, str]], people: list[tuple[str, str]], now: dt.datetime
) -> bytes:
    """OPML 2.0 of ``feeds`` (url, title, site) and ``people`` (share link, name)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = "lndesk subscriptions"
    ET.SubElement(head, "dateCreated").text = now.strftime("%a, %d %b %Y %H:%M:%S GMT")
    body = ET.SubElement(root, "body")
    if feeds:
        group = ET.SubElement(body, "outline", text="Web feeds")
        for url, title, site in feeds:
            attrs = {"type": "rss", "text": title or url, "title": title or url, "xmlUrl": url}
            if site:
                attrs["htmlUrl"] = site
            ET.SubElement(group, "outline", attrs)
    if people:
        group = ET.SubElement(body, "outline", text="People on lndesk")
        for link, name in people:
            ET.SubElement(group, "outline", type="link", text=name or link, url=link)
    ET.indent(root)
    text: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return text + b"\n"
