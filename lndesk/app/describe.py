"""Entries described in plain text, for commands that print them.

:class:`DescribedEntry` and :class:`DescribedFeed` are what the app's readers hand out
(the store's entries and feed states), as the front ends may read them: a front end
annotates with these and never imports the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from lndesk.content import (
    Content,
    Edit,
    Follow,
    Post,
    Profile,
    ReadingList,
    Reply,
    Reveal,
    Share,
    Tombstone,
    Unfollow,
    Unknown,
    WebShare,
)
from lndesk.entry import Entry
from lndesk.keytext import key_to_text, short_key
from lndesk.names import display_name
from lndesk.pseudonyms import reveal_holds
from lndesk.versions import current_version


class DescribedEntry(Protocol):
    """A stored entry, as a command prints it."""

    @property
    def entry(self) -> Entry: ...
    @property
    def payload(self) -> bytes | None: ...
    @property
    def content(self) -> Content | None: ...
    @property
    def content_error(self) -> str | None: ...
    @property
    def deleted(self) -> bool: ...
    @property
    def author_name(self) -> str | None: ...


class DescribedFeed(Protocol):
    """What is held of one author's log, as a command prints it."""

    @property
    def key(self) -> bytes: ...
    @property
    def name(self) -> str | None: ...
    @property
    def height(self) -> int: ...
    @property
    def max_seq(self) -> int: ...
    @property
    def forked_at(self) -> int | None: ...


def entry_fields(item: DescribedEntry, nicknames: Mapping[bytes, str]) -> dict[str, Any]:
    """An entry as a command's answer holds it (JSON, so it can cross the control
    socket); ``who`` is the name ``nicknames`` gives its author, else their own."""
    entry = item.entry
    return {
        "id": entry.id.hex(),
        "author": key_to_text(entry.author),
        "who": nicknames.get(entry.author) or display_name(item.author_name, entry.author),
        "claimed_ms": entry.claimed_ms,
        "type": entry.type,
        "body": entry_body(item),
    }


def entry_body(item: DescribedEntry, edit: Edit | None = None) -> str:
    """What an entry says, in a few plain lines (markdown left as written); with ``edit``,
    a post or reply says what its current version says."""
    if item.deleted:
        return "(deleted by its author)"
    if item.payload is None:
        return "(content not stored)"
    content = item.content if item.content is None else current_version(item.content, edit)
    match content:
        case None:
            return f"(unreadable {item.entry.type}: {item.content_error})"
        case Post(text, tags, links) | Reply(text, _, _, tags, links):
            extra = [" ".join(f"#{t}" for t in tags)] if tags else []
            extra += list(links)
            prefix = f"re {content.parent.id.hex()[:12]}: " if isinstance(content, Reply) else ""
            if isinstance(content, Post) and content.question:
                prefix = "question: "
            return "\n".join([prefix + text, *extra])
        case Edit(ref, text, tags, links):
            extra = [" ".join(f"#{t}" for t in tags)] if tags else []
            return "\n".join([f"edits {ref.id.hex()[:12]}: {text}", *extra, *links])
        case ReadingList(title, items, of):
            head = f"reading list: {title}" + (f" (update of {of.id.hex()[:12]})" if of else "")
            lines = [
                f"{n}. "
                + (item.link or (f"entry {item.ref.id.hex()[:12]}" if item.ref else ""))
                + (f" - {item.note}" if item.note else "")
                for n, item in enumerate(items, 1)
            ]
            return "\n".join([head, *lines])
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
        case WebShare(link, title, _, _, comment, tags):
            lines = [f"shares {title or 'a web page'}: {link}"]
            lines += [comment] if comment else []
            lines += [" ".join(f"#{t}" for t in tags)] if tags else []
            return "\n".join(lines)
        case Reveal(key, proof):
            holds = reveal_holds(item.entry.author, key, proof)
            return f"reveals the pseudonym {short_key(key)}" + (
                "" if holds else " (its proof does not verify: it says nothing)"
            )
        case Unknown(type_, _):
            return f"(an entry of type {type_!r}, which this version does not show)"
    return ""
