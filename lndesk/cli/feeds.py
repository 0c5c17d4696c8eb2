"""Commands for web feeds: ``lndesk feeds list|add|remove|refresh|resume|items|import|export``
and ``lndesk follow`` given a web address.

Web feeds live in their own file of the data directory (:mod:`lndesk.app.feeds_file`),
which SQLite lets this command and a running app share, so these commands work whether
or not the app or ``lndesk serve`` is running.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import textwrap
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

import trio

from lndesk.app.atomlog import ATOM_SETTING, write_own_atom
from lndesk.app.feeds_file import subscriptions_in
from lndesk.app.local import LocalState
from lndesk.app.service import Service
from lndesk.app.subscriptions import Outcome, Subscriptions
from lndesk.cli.argtypes import output_file, positive_int
from lndesk.cli.render import format_time, terminal_text
from lndesk.errors import LndeskError, NoIdentityError, UsageError
from lndesk.feeds.opml import MAX_OPML_BYTES, read_opml, write_opml
from lndesk.keytext import key_to_link
from lndesk.webfeeds import over_limit_text, web_address
from lndesk.wording import counted

Add = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]
Act = Callable[..., dict[str, Any]]
Following = Callable[[argparse.Namespace], list[tuple[bytes, str]]]


class FollowedFeed(Protocol):
    """What these commands read of a web feed the app says is followed."""

    @property
    def sub(self) -> int: ...
    @property
    def url(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def site(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def last_ok_ms(self) -> int | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def failures(self) -> int: ...
    @property
    def paused(self) -> str | None: ...


def _subscriptions(args: argparse.Namespace) -> AbstractContextManager[Subscriptions]:
    return subscriptions_in(Path(args.data_dir))


def _run(subs: Subscriptions, work: Callable[[], Any]) -> Any:
    async def main() -> Any:
        try:
            return await work()
        finally:
            await subs.aclose()

    return trio.run(main)


def _pick(subs: Subscriptions, which: str) -> FollowedFeed:
    """A feed by its number in lndesk feeds list, or by its address."""
    store = subs.store
    if which.isdigit():
        return store.subscription(int(which))
    found = store.find(which) or store.find(web_address(which) or which)
    if found is None:
        raise UsageError(
            f"you do not follow the web feed {which}",
            "See the web feeds you follow, with their numbers: lndesk feeds list",
        )
    return found


def _state(sub: FollowedFeed, unread: int) -> str:
    if sub.paused:
        return f"paused: {sub.paused}"
    if sub.error:
        return f"failing ({counted(sub.failures, 'try', 'tries')}): {sub.error}"
    if sub.last_ok_ms is None:
        return "not fetched yet"
    return f"fetched {format_time(sub.last_ok_ms)}, {counted(unread, 'unread item')}"


def describe_outcome(subs: Subscriptions, outcome: Outcome) -> str:
    sub = subs.store.subscription(outcome.sub)
    name = terminal_text(sub.name)
    if outcome.status == "new":
        return f"{name}: {counted(outcome.new, 'new item')}"
    if outcome.status == "unchanged":
        return f"{name}: nothing new"
    return f"{name}: {terminal_text(outcome.message)}"


def follow_web_feed(args: argparse.Namespace) -> int:
    """``lndesk feeds add URL``, and ``lndesk follow URL``."""
    with _subscriptions(args) as subs:
        sub, new = _run(subs, lambda: subs.follow(args.url))
    print(f"following the web feed {terminal_text(sub.name)} ({counted(new, 'item')})")
    print(f"  {terminal_text(sub.url)}; number {sub.sub} in lndesk feeds list")
    return 0


def register(
    add: Add,
    act: Act,
    following: Following,
    common: argparse.ArgumentParser,
    service: Callable[[argparse.Namespace], Service],
) -> None:
    """Add the commands (``act`` runs an action; ``following`` lists people followed;
    ``common`` holds the options every command takes; ``service`` opens the data
    directory for reading)."""

    def cmd_atom(args: argparse.Namespace) -> int:
        local = LocalState(Path(args.data_dir))
        try:
            if args.stop:
                local.set_text_setting(ATOM_SETTING, None)
                print("your Atom feed is no longer rewritten when you publish")
                return 0
            if args.out is None:
                kept = local.text_setting(ATOM_SETTING)
                print(
                    f"rewritten on every publish: {kept}"
                    if kept
                    else "Write your Atom feed with lndesk atom --out FILE "
                    "(add --keep to rewrite it on every publish)."
                )
                return 0
            with service(args) as opened:
                size = write_own_atom(opened, args.out)
            if args.keep:
                local.set_text_setting(ATOM_SETTING, str(args.out.resolve()))
        finally:
            local.close()
        kept = "; rewritten on every publish" if args.keep else ""
        print(f"wrote your Atom feed to {args.out} ({size:,} bytes){kept}")
        return 0

    atom = add("atom", cmd_atom, "write your public posts as an Atom feed for feed readers")
    atom.add_argument("--out", type=output_file, metavar="FILE")
    atom.add_argument("--keep", action="store_true", help="rewrite it on every publish")
    atom.add_argument("--stop", action="store_true", help="stop rewriting it")

    def cmd_list(args: argparse.Namespace) -> int:
        with _subscriptions(args) as subs:
            found = subs.store.subscriptions()
            unread = subs.store.unread_counts()
        if not found:
            print("You follow no web feed yet. Follow one with lndesk feeds add URL.")
        for sub in found:
            print(f"{sub.sub:>4}  {terminal_text(sub.name)}")
            print(f"      {terminal_text(sub.url)}")
            print(f"      {terminal_text(_state(sub, unread.get(sub.sub, 0)))}")
        return 0

    def cmd_remove(args: argparse.Namespace) -> int:
        with _subscriptions(args) as subs:
            sub = _pick(subs, args.feed)
            subs.store.remove(sub.sub)
        print(f"no longer following the web feed {terminal_text(sub.name)}; its items are gone")
        return 0

    def cmd_refresh(args: argparse.Namespace) -> int:
        with _subscriptions(args) as subs:
            if args.feed:
                sub = subs.store.subscription(_pick(subs, args.feed).sub)
                outcomes = [_run(subs, lambda: subs.refresh(sub))]
            else:
                outcomes = _run(subs, lambda: subs.refresh_due(everything=True))
            lines = [describe_outcome(subs, o) for o in outcomes]
        if not lines:
            print("No web feed to refresh (paused ones wait for lndesk feeds resume N).")
        print("\n".join(lines))
        return 0

    def cmd_resume(args: argparse.Namespace) -> int:
        with _subscriptions(args) as subs:
            sub = subs.store.resume(_pick(subs, args.feed).sub)
            outcome = _run(subs, lambda: subs.refresh(sub))
            print(describe_outcome(subs, outcome))
        return 0

    def cmd_items(args: argparse.Namespace) -> int:
        with _subscriptions(args) as subs:
            sub = _pick(subs, args.feed).sub if args.feed else None
            if args.search:
                items = subs.store.search(args.search, args.limit)
            else:
                items = subs.store.page(
                    limit=args.limit,
                    sub=sub,
                    unread=args.unread,
                    bookmarked=args.bookmarked,
                    tag=args.tag,
                )
            if args.mark_read:
                for item in items:
                    subs.store.set_read(item.item)
        if not items:
            print("No items. Refresh your web feeds with lndesk feeds refresh.")
        for item in items:
            mark = " " if item.read else "*"
            print(
                f"{mark} {item.item:>5}  {format_time(item.published_ms)}  "
                f"{terminal_text(item.feed_title)}"
            )
            print(f"  {terminal_text(item.title or '(untitled)')}")
            if item.link:
                print(f"  {terminal_text(item.link)}")
            for audio in item.enclosures:
                print(f"  audio: {terminal_text(audio.url)}")
            if args.text and item.text:
                print(textwrap.indent(terminal_text(item.text), "    "))
        return 0

    def cmd_bookmark(args: argparse.Namespace) -> int:
        with _subscriptions(args) as subs:
            item = subs.store.get(args.item)
            subs.store.set_bookmark(item.item, not args.undo, subs.clock_ms())
        done = "no longer bookmarked" if args.undo else "bookmarked"
        print(f"{done}: {terminal_text(item.title or item.link)}")
        return 0

    def cmd_tag(args: argparse.Namespace) -> int:
        with _subscriptions(args) as subs:
            tags = subs.store.set_tags(args.item, args.tags)
        print("tags: " + (" ".join(f"#{t}" for t in tags) if tags else "(none)"))
        return 0

    def cmd_share(args: argparse.Namespace) -> int:
        with _subscriptions(args) as subs:
            item = subs.store.get(args.item)
        if not item.link:
            raise UsageError(
                "that item has no link to share",
                "Reply to it instead: lndesk feeds reply N TEXT",
            )
        done = act(
            args,
            "webshare",
            link=item.link,
            title=item.title[:200],
            source=item.feed_url,
            guid=item.guid[:1000],
            comment=args.comment or "",
            tags=args.tag,
        )
        print(f"published {done['id'][:12]}: shared {terminal_text(item.title or item.link)}")
        return 0

    def cmd_reply(args: argparse.Namespace) -> int:
        with _subscriptions(args) as subs:
            item = subs.store.get(args.item)
        if not item.link:
            raise UsageError(
                "that item has no link to refer to",
                "Write a post about it instead: lndesk post TEXT",
            )
        done = act(args, "post", text=args.text, tags=args.tag, links=[item.link])
        print(f"published {done['id'][:12]} (entry {done['seq']} of your log), linking the item")
        return 0

    def cmd_import(args: argparse.Namespace) -> int:
        path = Path(args.file)
        try:
            with path.open("rb") as file:
                data = file.read(MAX_OPML_BYTES + 1)  # read_opml says what is too large
        except OSError as exc:
            raise UsageError(
                f"{path} cannot be read: {exc.strerror}", "Check the file's name."
            ) from exc
        contents = read_opml(data, str(path))
        with _subscriptions(args) as subs:
            feeds = ((o.url, o.title) for o in contents.feeds)
            added, over = subs.store.add_new(feeds, subs.clock_ms())
            outcomes = _run(subs, subs.refresh_due)
            failed = [describe_outcome(subs, o) for o in outcomes if o.status != "new"]
        people = 0
        for person in contents.people:
            try:
                people += bool(act(args, "follow", key=person.url)["changed"])
            except LndeskError as exc:
                print(f"lndesk: {person.title or person.url}: {exc.describe()}", file=sys.stderr)
        print(
            f"imported {counted(added, 'web feed')} and {counted(people, 'person', 'people')}"
            f" ({counted(len(contents.feeds) - added - over, 'web feed')} followed already"
            + (f", {counted(contents.skipped, 'outline')} neither" if contents.skipped else "")
            + ")"
        )
        if over:
            print(f"lndesk: {over_limit_text(over)}", file=sys.stderr)
        for line in failed:
            print(f"  {line}")
        return 0

    def cmd_export(args: argparse.Namespace) -> int:
        with _subscriptions(args) as subs:
            feeds = [(s.url, s.title, s.site) for s in subs.store.subscriptions()]
        try:
            people = [(key_to_link(key), name) for key, name in following(args)]
        except NoIdentityError:
            people = []
        data = write_opml(feeds, people, dt.datetime.now(dt.UTC))
        args.out.write_bytes(data)
        print(
            f"wrote {counted(len(feeds), 'web feed')} and "
            f"{counted(len(people), 'person', 'people')}"
            f" to {args.out}"
        )
        return 0

    feeds = add("feeds", cmd_list, "follow web feeds (RSS, Atom, JSON Feed) beside people")
    actions = feeds.add_subparsers(dest="feeds_command", metavar="ACTION")

    def action(
        name: str, handler: Callable[[argparse.Namespace], int], help_text: str
    ) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=help_text, description=help_text, parents=[common])
        parser.set_defaults(handler=handler)
        return parser

    action("list", cmd_list, "list the web feeds you follow, with their state")
    action("add", follow_web_feed, "follow a web feed, or the web feed a site names").add_argument(
        "url", metavar="URL"
    )
    action(
        "remove", cmd_remove, "stop following a web feed (N from the list, or its URL)"
    ).add_argument("feed", metavar="N_OR_URL")
    refresh = action("refresh", cmd_refresh, "fetch every web feed (or one) now")
    refresh.add_argument("feed", nargs="?", metavar="N_OR_URL")
    action(
        "resume", cmd_resume, "poll a paused web feed again, taking what paused it"
    ).add_argument("feed", metavar="N_OR_URL")
    items = action("items", cmd_items, "show items of your web feeds, newest first")
    items.add_argument("feed", nargs="?", metavar="N_OR_URL")
    items.add_argument("--unread", action="store_true", help="only unread items")
    items.add_argument("--search", metavar="WORDS", help="only items with these words")
    items.add_argument("--text", action="store_true", help="show each item's text")
    items.add_argument("--mark-read", action="store_true", help="mark the shown items read")
    items.add_argument("--bookmarked", action="store_true", help="only bookmarked items")
    items.add_argument("--tag", help="only items with this tag of yours")
    items.add_argument("--limit", type=positive_int, default=20)
    bookmark = action("bookmark", cmd_bookmark, "bookmark an item of a web feed (on this device)")
    bookmark.add_argument("item", type=positive_int, metavar="N")
    bookmark.add_argument("--undo", action="store_true", help="remove the bookmark")
    tag = action("tag", cmd_tag, "set your own tags on an item (never published; none clears)")
    tag.add_argument("item", type=positive_int, metavar="N")
    tag.add_argument("tags", nargs="*", metavar="TAG")
    share = action("share", cmd_share, "share an item of a web feed, with a comment, in your log")
    share.add_argument("item", type=positive_int, metavar="N")
    share.add_argument("--comment")
    share.add_argument("--tag", action="append", default=[], help="a tag (repeatable)")
    reply = action("reply", cmd_reply, "publish a post about an item of a web feed (it links it)")
    reply.add_argument("item", type=positive_int, metavar="N")
    reply.add_argument("text")
    reply.add_argument("--tag", action="append", default=[], help="a tag (repeatable)")
    action("import", cmd_import, "follow the web feeds and people of an OPML file").add_argument(
        "file", metavar="FILE"
    )
    action("export", cmd_export, "write the web feeds and people you follow as OPML").add_argument(
        "--out", type=output_file, required=True, metavar="FILE"
    )
