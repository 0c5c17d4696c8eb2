"""Your log as an Atom 1.0 feed (RFC 4287), for anyone's feed reader, from a static host.

Every required element is written: the feed's ``id``, ``title``, ``updated`` and
``author``; each entry's ``id``, ``title``, ``updated`` and ``content``. Ids are stable:
``urn:lndesk:entry:`` and the hex of the entry's id (a reading list keeps the id of its
first version), so a reader that sees a post again after an edit updates it in place.
Text is written as ``type="text"`` (the markdown as written: no HTML for a reader to
trust).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

ATOM_NS = "http://www.w3.org/2005/Atom"
GENERATOR = "lndesk"


@dataclass(frozen=True, slots=True)
class AtomEntry:
    id: str
    title: str
    text: str
    published_ms: int
    updated_ms: int
    links: tuple[str, ...] = ()
    """The first is the entry's alternate link, the rest are related."""
    tags: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)


def _time(ms: int) -> str:
    moment = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _clean(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry."""
    return "".join(
        c
        for c in text
        if c in "\t\n\r"
        or (" " <= c <= "\ud7ff")
        or ("\ue000" <= c <= "\ufffd")
        or c >= "\U00010000"
    )


def entry_id(entry_id_bytes: bytes) -> str:
    return "urn:lndesk:entry:" + entry_id_bytes.hex()


def write_atom(
    *,
    feed_id: str,
    title: str,
    author: str,
    author_uri: str,
    entries: list[AtomEntry],
    now_ms: int,
) -> bytes:
    """The Atom document; ``updated`` is the newest entry's (``now_ms`` when empty)."""
    ET.register_namespace("", ATOM_NS)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            element.text = _clean(text)
        return element

    root = ET.Element(f"{{{ATOM_NS}}}feed")
    sub(root, "id", feed_id)
    sub(root, "title", title)
    updated = max((e.updated_ms for e in entries), default=now_ms)
    sub(root, "updated", _time(updated))
    who = sub(root, "author")
    sub(who, "name", author)
    sub(who, "uri", author_uri)
    sub(root, "generator", GENERATOR)
    for item in entries:
        entry = sub(root, "entry")
        sub(entry, "id", item.id)
        sub(entry, "title", item.title)
        sub(entry, "published", _time(item.published_ms))
        sub(entry, "updated", _time(item.updated_ms))
        for number, link in enumerate(item.links):
            sub(entry, "link", href=link, rel="alternate" if number == 0 else "related")
        for tag in item.tags:
            sub(entry, "category", term=tag)
        sub(entry, "content", item.text, type="text")
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"
