"""Your own log as an Atom feed (:mod:`lndesk.feeds.atom`): public posts and questions,
shares and reading lists, newest first, each at its current version.

``lndesk atom --out FILE`` writes it once; ``--keep`` also remembers the file in this
device's settings, and every publish then rewrites it (a failure to write it is logged,
never a failed publish: the entry is already in the log).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from lndesk.atomicfile import atomic_write
from lndesk.content import Edit, Post, ReadingList, Share, WebShare
from lndesk.errors import LndeskError
from lndesk.feeds.atom import AtomEntry, entry_id, write_atom
from lndesk.keytext import key_to_link, key_to_text
from lndesk.store import views
from lndesk.store.reading import StoredEntry, now_ms
from lndesk.versions import current_version

if TYPE_CHECKING:
    from lndesk.app.service import Service

log = logging.getLogger(__name__)

ATOM_SETTING = "atom_out"
MAX_ATOM_ENTRIES = 200
_TITLE_CHARS = 80


def _title(text: str, fallback: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#>*-+ ").strip()  # noqa: PLW2901
        if line:
            return line if len(line) <= _TITLE_CHARS else line[: _TITLE_CHARS - 1] + "…"
    return fallback


def _shared_text(service: Service, share: Share) -> str:
    rows = service.store.index.entry_rows(
        "f.key = ? AND e.seq = ?", (share.ref.author, share.ref.seq)
    )
    if not rows:
        return ""
    found = service.store.load(rows[0])
    edited = views.current_versions(service.store, [found]).get(
        (found.entry.author, found.entry.seq), found
    )
    content = found.content
    if content is not None and edited is not found and isinstance(edited.content, Edit):
        content = current_version(content, edited.content)
    return getattr(content, "text", "") if content is not None else ""


def _entry(service: Service, item: StoredEntry, current: StoredEntry | None) -> AtomEntry | None:
    edit = current.content if current is not None else None
    content = item.content
    if content is not None and isinstance(edit, Edit):
        content = current_version(content, edit)
    published = item.entry.claimed_ms
    updated = (current or item).entry.claimed_ms
    ident = entry_id(item.entry.id)
    if isinstance(content, Post):
        prefix = "Question: " if content.question else ""
        return AtomEntry(
            ident,
            prefix + _title(content.text, "A post"),
            content.text,
            published,
            updated,
            content.links,
            content.tags,
        )
    if isinstance(content, Share):
        quoted = _shared_text(service, content)
        title = "Shared: " + _title(quoted, "a post") if quoted else "Shared a post"
        text = content.comment
        if quoted:
            text += "\n\n" + "\n".join("> " + line for line in quoted.splitlines())
        link = key_to_link(content.ref.author)
        return AtomEntry(ident, title, text.strip(), published, updated, (link,))
    if isinstance(content, WebShare):
        title = "Shared: " + (_title(content.title, "") or content.link)
        return AtomEntry(
            ident, title, content.comment, published, updated, (content.link,), content.tags
        )
    return None


def _list_entry(item: StoredEntry) -> AtomEntry | None:
    content = item.content
    if not isinstance(content, ReadingList):
        return None
    first = content.of.id if content.of is not None else item.entry.id
    lines = []
    links = []
    for part in content.items:
        if part.link:
            links.append(part.link)
        where = part.link or "a post on lndesk"
        lines.append(f"- {where}" + (f": {part.note}" if part.note else ""))
    return AtomEntry(
        entry_id(first),
        "Reading list: " + _title(content.title, "untitled"),
        "\n".join(lines),
        item.entry.claimed_ms,
        item.entry.claimed_ms,
        tuple(links[:20]),
    )


def own_atom(service: Service, *, limit: int = MAX_ATOM_ENTRIES) -> bytes:
    """The Atom document of the newest ``limit`` public entries of my log."""
    key = service.public_key
    store = service.store
    found: list[StoredEntry] = []
    before: int | None = None
    while len(found) < limit:
        page = store.feed_entries(key, 200, before)
        if not page:
            break
        found += [
            e for e in page if not e.deleted and isinstance(e.content, Post | Share | WebShare)
        ]
        before = page[-1].entry.seq
    found = found[:limit]
    current = views.current_versions(store, found)
    entries = [
        e
        for item in found
        if (e := _entry(service, item, current.get((item.entry.author, item.entry.seq))))
    ]
    entries += [e for item in views.reading_lists(store, [key]) if (e := _list_entry(item))]
    entries.sort(key=lambda e: e.updated_ms, reverse=True)
    name = service.own_state().name or key_to_text(key)[:16]
    return write_atom(
        feed_id="urn:lndesk:log:" + key_to_text(key),
        title=f"{name} on lndesk",
        author=name,
        author_uri=key_to_link(key),
        entries=entries[:limit],
        now_ms=now_ms(),
    )


def write_own_atom(service: Service, path: Path) -> int:
    """Write my Atom feed to ``path`` (atomically); returns its size."""
    data = own_atom(service)
    atomic_write(path, data, mode=0o644)
    return len(data)


def keep_atom_file(service: Service) -> None:
    """After a publish: rewrite the Atom file the settings name, if any."""
    target = service.local.text_setting(ATOM_SETTING)
    if not target:
        return
    try:
        write_own_atom(service, Path(target))
    except (OSError, LndeskError) as exc:
        log.warning("could not rewrite the Atom feed %s: %s", target, exc)
