"""What a followed web feed (RSS, Atom, JSON Feed) holds, bounded: the shapes every format
is normalised into (:mod:`lndesk.feeds.parse`) and the store keeps
(:mod:`lndesk.store.feedstore`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
"""A feed document larger than this is refused while it is downloaded, never read whole."""
MAX_ITEMS = 500
"""At most this many items of one document are looked at (the first ones, newest first in
every feed seen in practice)."""
MAX_TITLE_CHARS = 300
MAX_TEXT_CHARS = 20_000
MAX_URL_CHARS = 2_000
MAX_ENCLOSURES = 4
MAX_FEEDS = 1000
"""Web feeds one data directory follows at most: each is polled, stored and listed, and a
few hundred is already more than most readers keep."""


@dataclass(frozen=True, slots=True)
class Enclosure:
    """A podcast episode's audio (or any attached file): never downloaded by lndesk."""

    url: str
    mime: str = ""
    length: int | None = None
    """Bytes, as the feed claims."""
    duration_s: int | None = None


@dataclass(frozen=True, slots=True)
class FeedItem:
    guid: str
    """The feed's own id for the item ("" when it gives none)."""
    link: str
    title: str
    text: str
    """Markdown reduced from the item's HTML (:mod:`lndesk.feeds.htmltext`)."""
    published_ms: int | None
    author: str = ""
    enclosures: tuple[Enclosure, ...] = ()

    @property
    def match_key(self) -> str:
        """What identifies the item when its guid changes: its link (or first
        enclosure) and its title."""
        where = self.link or (self.enclosures[0].url if self.enclosures else "")
        if not where and not self.title:
            return "\n#" + hashlib.blake2b(self.text.encode(), digest_size=16).hexdigest()
        return f"{where}\n{self.title}"


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    kind: str
    """"rss", "atom" or "json"."""
    title: str
    site: str
    """The web page the feed belongs to ("" when it names none)."""
    items: tuple[FeedItem, ...]


def cut(text: str, chars: int) -> str:
    """``text`` stripped and at most ``chars`` characters long."""
    text = text.strip()
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"


def web_url(url: str) -> str:
    """``url`` if it is an http(s) address of sane length, else ""."""
    url = url.strip()
    if len(url) > MAX_URL_CHARS or any(c.isspace() or ord(c) < 32 for c in url):
        return ""
    lowered = url.lower()
    return url if lowered.startswith(("http://", "https://")) else ""


def web_address(text: str) -> str | None:
    """``text`` as an http(s) address when it looks like one (a bare ``example.org/feed``
    gets https://), else None: it is then a key or share link."""
    text = text.strip()
    if text.lower().startswith(("http://", "https://")):
        return web_url(text) or None
    if "://" in text or ":" in text.split("/")[0] or " " in text:
        return None
    host = text.split("/")[0]
    if (
        "." in host
        and not host.startswith(".")
        and host.replace(".", "").replace("-", "").isalnum()
    ):
        return web_url("https://" + text) or None
    return None


def over_limit_text(count: int) -> str:
    """What an import says of the ``count`` web feeds it did not add for :data:`MAX_FEEDS`."""
    feeds = "1 web feed" if count == 1 else f"{count:,} web feeds"
    return (
        f"{feeds} not added: lndesk follows at most {MAX_FEEDS:,} web feeds. Remove web feeds "
        "you no longer read (lndesk feeds remove NUMBER, or Remove on the Following screen) "
        "and import the file again to add the rest."
    )
