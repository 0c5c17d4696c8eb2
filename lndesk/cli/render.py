"""Plain-text rendering of entries and feeds for the terminal."""

from __future__ import annotations

import datetime
import textwrap

from lndesk.content import Follow, Post, Profile, Reply, Share, Tombstone, Unfollow, Unknown
from lndesk.keytext import short_key
from lndesk.store.index import FeedState
from lndesk.store.store import StoredEntry

_WIDTH = 78


def format_time(ms: int) -> str:
    try:
        moment = datetime.datetime.fromtimestamp(ms / 1000).astimezone()
    except (OverflowError, OSError, ValueError):
        return "(bad time)"
    return moment.strftime("%Y-%m-%d %H:%M")


def _who(item: StoredEntry) -> str:
    key = short_key(item.entry.author)
    return f"{item.author_name} ({key})" if item.author_name else key


def describe_entry(item: StoredEntry) -> str:
    entry = item.entry
    header = f"{entry.id.hex()[:12]}  {_who(item)}  {format_time(entry.claimed_ms)}  {entry.type}"
    body = _body(item)
    lines = [header]
    lines.extend(
        textwrap.indent(textwrap.fill(p, _WIDTH - 4) if p else "", "    ")
        for p in body.splitlines()[:12]
    )
    return "\n".join(lines) + "\n"


def _body(item: StoredEntry) -> str:
    if item.deleted:
        return "(deleted by its author)"
    if item.payload is None:
        return "(content not stored)"
    content = item.content
    match content:
        case None:
            return f"(unreadable {item.entry.type}: {item.content_error})"
        case Post(text, tags, links) | Reply(text, _, _, tags, links):
            extra = [" ".join(f"#{t}" for t in tags)] if tags else []
            extra += list(links)
            prefix = f"re {content.parent.id.hex()[:12]}: " if isinstance(content, Reply) else ""
            return "\n".join([prefix + text, *extra])
        case Follow(feed):
            return f"follows {short_key(feed)}"
        case Unfollow(feed):
            return f"unfollows {short_key(feed)}"
        case Profile(name, bio, _):
            return f"profile: {name}" + (f" - {bio}" if bio else "")
        case Share(ref, comment):
            return f"shares {ref.id.hex()[:12]}" + (f": {comment}" if comment else "")
        case Tombstone(ref):
            return f"deletes {ref.id.hex()[:12]}"
        case Unknown(type_, _):
            return f"(an entry of type {type_!r}, which this version does not show)"
    return ""


def describe_feed(state: FeedState) -> str:
    name = state.name or "(no name yet)"
    status = f"{state.height} entries"
    if state.max_seq > state.height:
        status += f", some up to {state.max_seq}"
    if state.forked_at is not None:
        status += f", FORKED at {state.forked_at}"
    return f"{name}  {short_key(state.key)}  {status}"
