"""The files of web feeds the app reads and writes, as the CLI does: OPML of the feeds and
people I follow (``lndesk feeds import`` / ``export``) and my log as an Atom file kept up
to date on every publish (``lndesk atom --out FILE --keep``).

Files come from outside: an OPML file is read only up to its cap (:mod:`lndesk.feeds.opml`
checks what it holds); one person who cannot be followed is reported, not fatal.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import trio

from lndesk.app.atomlog import ATOM_SETTING, write_own_atom
from lndesk.app.desk_people import People
from lndesk.app.feed_reader import FeedReader
from lndesk.app.service import Service
from lndesk.atomicfile import atomic_write
from lndesk.errors import LndeskError, UsageError
from lndesk.feeds.opml import MAX_OPML_BYTES, read_opml, write_opml
from lndesk.keytext import key_to_link, parse_key_or_link
from lndesk.store.reading import now_ms

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OpmlImported:
    """What an OPML import did."""

    feeds: int
    """Web feeds followed now (fetched by the poller at once)."""
    known: int
    """Web feeds followed already."""
    people: int
    """People followed now."""
    skipped: int
    """Outlines that were neither a web feed nor a person."""
    problems: tuple[str, ...] = ()
    """A line per person who could not be followed."""
    over_limit: int = 0
    """Web feeds not added because :data:`~lndesk.webfeeds.MAX_FEEDS` are followed
    (:func:`~lndesk.webfeeds.over_limit_text` says so)."""


def _read_bounded(path: Path) -> bytes:
    try:
        with path.open("rb") as file:
            return file.read(MAX_OPML_BYTES + 1)  # read_opml says what is too large
    except OSError as exc:
        raise UsageError(
            f"{path} cannot be read: {exc.strerror}", "Check the file's name and try again."
        ) from exc


class FeedFiles:
    """OPML import and export, and the kept Atom file (see the module)."""

    def __init__(self, service: Service, reader: FeedReader, people: People) -> None:
        self._service = service
        self._reader = reader
        self._people = people

    async def import_opml(self, path: Path) -> OpmlImported:
        """Follow the web feeds and people (``lndesk:`` links) an OPML file lists."""
        # Reading and parsing up to 10 MB takes seconds: not on the node's thread.
        data = await trio.to_thread.run_sync(_read_bounded, path)
        contents = await trio.to_thread.run_sync(read_opml, data, path.name)
        added, over = self._reader.store.add_new(
            ((o.url, o.title) for o in contents.feeds), now_ms()
        )
        if added:
            self._reader.refresh_now()  # the poller fetches them now
        people = 0
        problems = []
        following = set(self._service.reader.following(self._service.public_key))
        for person in contents.people:
            try:
                key, _name = parse_key_or_link(person.url)
                if key in following:
                    continue  # following again would append a follow entry for nothing
                await self._people.follow(person.url, "OPML file")
            except LndeskError as exc:
                problems.append(f"{person.title or person.url}: {exc.describe()}")
                continue
            people += 1
        return OpmlImported(
            added,
            len(contents.feeds) - added - over,
            people,
            contents.skipped,
            tuple(problems),
            over,
        )

    def export_opml(self, path: Path) -> tuple[int, int]:
        """Write the web feeds and people I follow to ``path``; (feeds, people)."""
        feeds = [(s.url, s.title, s.site) for s in self._reader.store.subscriptions()]
        people = [(key_to_link(a.key), a.name) for a in self._people.following()]
        data = write_opml(feeds, people, dt.datetime.now(dt.UTC))
        try:
            atomic_write(path, data, 0o644)
        except OSError as exc:
            raise UsageError(
                f"{path} cannot be written: {exc.strerror}", "Choose another folder or name."
            ) from exc
        return len(feeds), len(people)

    def atom_file(self) -> str | None:
        """The Atom file rewritten on every publish, or None."""
        return self._service.local.text_setting(ATOM_SETTING)

    def keep_atom(self, path: Path | None) -> int:
        """Write my Atom feed to ``path`` now and on every publish (None: stop); the
        bytes written."""
        if path is None:
            self._service.local.set_text_setting(ATOM_SETTING, None)
            return 0
        try:
            size = write_own_atom(self._service, path)
        except OSError as exc:
            raise UsageError(
                f"{path} cannot be written: {exc.strerror}", "Choose another folder or name."
            ) from exc
        self._service.local.set_text_setting(ATOM_SETTING, str(path.resolve()))
        return size
