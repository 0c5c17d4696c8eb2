"""Commands of the learning network: search, inbox and requests, blocks, edits, lists.

Each runs as an action (:mod:`lndesk.app.actions`): here, or in the node process that
holds the data directory while the app or `lndesk serve` runs.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import textwrap
from collections.abc import Callable
from typing import Any

from lndesk.cli.argtypes import positive_int
from lndesk.cli.render import format_time, terminal_text
from lndesk.content import POST, READING_LIST, REPLY, SHARE
from lndesk.errors import UsageError
from lndesk.wording import counted

Add = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]
Act = Callable[..., dict[str, Any]]
SEARCH_TYPES = (POST, REPLY, SHARE, READING_LIST)
_WIDTH = 78
_BOLD, _PLAIN = "\x1b[1m", "\x1b[0m"


def register(add: Add, act: Act, read_text: Callable[[str], str]) -> None:
    """Add the commands to the parser (``act`` runs an action, ``read_text`` reads - as stdin)."""

    def cmd_search(args: argparse.Namespace) -> int:
        if args.limit < 1:
            raise UsageError("--limit must be at least 1")
        done = act(
            args,
            "search",
            query=args.query,
            author=args.author,
            tag=args.tag,
            type=args.type,
            since_ms=_day_ms(args.since, "--since"),
            until_ms=_day_ms(args.until, "--until", end=True),
            limit=args.limit,
        )
        hits = done["hits"]
        pending = done.get("pending", 0)
        if pending:  # text stored while the search ran (the backlog was indexed first)
            print(
                f"(still indexing {counted(pending, 'post')}: they are not searched yet)",
                file=sys.stderr,
            )
        if not hits:
            print("Nothing stored matches. Try fewer or shorter words, or fewer filters.")
        bold = sys.stdout.isatty()
        for hit in hits:
            print(_header(hit))
            print(textwrap.indent(_highlight(hit["snippet"], hit["spans"], bold), "    "))
        return 0

    def cmd_inbox(args: argparse.Namespace) -> int:
        done = act(args, "inbox", requests=args.requests, limit=args.limit)
        entries = done["entries"]
        if not entries:
            print(
                "No requests: replies and mentions from people you don't know land here."
                if args.requests
                else "Nothing yet: replies to you, shares of your posts and mentions of you "
                "appear here. Others' first replies wait in lndesk inbox --requests."
            )
        for item in entries:
            print(_header(item))
            print(textwrap.indent(_fill(item["body"]), "    "))
            if args.requests:
                print(f"    accept: lndesk accept {item['author']}")
                print(f"    block:  lndesk block {item['author']}")
        return 0

    def cmd_block(args: argparse.Namespace) -> int:
        if args.undo:
            done = act(args, "unblock", key=args.key)
            print(f"unblocked {done['key']}; their posts are stored and passed on again")
            return 0
        done = act(args, "block", key=args.key)
        note = " and unfollowed them" if done["changed"] else ""
        print(f"blocked {done['key']}{note}: nothing of theirs is stored, served or shown now")
        return 0

    def cmd_accept(args: argparse.Namespace) -> int:
        done = act(args, "accept", key=args.key, undo=args.undo)
        if args.undo:
            print(f"replies from {done['key']} go to requests again (unless within two hops)")
        else:
            print(f"replies and mentions from {done['key']} now show in your inbox")
        return 0

    def cmd_nickname(args: argparse.Namespace) -> int:
        if args.clear and args.name is not None:
            raise UsageError("give a nickname or --clear, not both")
        done = act(args, "nickname", key=args.key, nickname=args.name, clear=args.clear)
        if done["nickname"]:
            print(f'{done["key"]} is "{done["nickname"]}" on this device')
            print(f"  (the name they chose: {done['name']})")
        elif args.clear:
            print(f"{done['key']} is called by their own name again: {done['name']}")
        else:
            print(f"no nickname for {done['key']} (their own name: {done['name']})")
            print(f'  give one: lndesk nickname {done["key"]} "A name"')
        return 0

    def cmd_edit(args: argparse.Namespace) -> int:
        done = act(
            args,
            "edit",
            entry_id=args.entry_id,
            text=read_text(args.text),
            tags=args.tag,
            links=args.link,
            mentions=args.mention,
            question=args.question,
        )
        print(f"published edit {done['id'][:12]}; readers now see the new version")
        return 0

    def cmd_reading_list(args: argparse.Namespace) -> int:
        done = act(
            args,
            "readinglist",
            title=args.title,
            items=args.item,
            links=args.link,
            update=args.update,
        )
        what = "updated reading list" if args.update else "published reading list"
        print(f"{what} {done['id'][:12]} (entry {done['seq']} of your log)")
        return 0

    search = add("search", cmd_search, 'search everything stored (words, "a phrase", prefix*)')
    search.add_argument("query", help='words to find; "" with filters lists all that match')
    search.add_argument("--author", metavar="KEY_OR_LINK", help="only posts by this person")
    search.add_argument("--tag", help="only posts with this tag")
    search.add_argument("--type", choices=SEARCH_TYPES, help="only entries of this kind")
    search.add_argument("--since", metavar="YYYY-MM-DD", help="only posts from this day on")
    search.add_argument("--until", metavar="YYYY-MM-DD", help="only posts up to this day")
    search.add_argument("--limit", type=int, default=20)
    inbox = add("inbox", cmd_inbox, "replies to you, shares of your posts and mentions of you")
    inbox.add_argument(
        "--requests", action="store_true", help="from people beyond two follow hops instead"
    )
    inbox.add_argument("--limit", type=positive_int, default=20)
    block = add("block", cmd_block, "block someone: never store, pass on or show their posts")
    block.add_argument("key", metavar="KEY_OR_LINK")
    block.add_argument("--undo", action="store_true", help="unblock")
    accept = add("accept", cmd_accept, "show someone's replies to you in your inbox")
    accept.add_argument("key", metavar="KEY_OR_LINK")
    accept.add_argument("--undo", action="store_true", help="send them to requests again")
    nickname = add(
        "nickname", cmd_nickname, "call someone by a name of your choice, on this device only"
    )
    nickname.add_argument("key", metavar="KEY_OR_LINK")
    nickname.add_argument("name", nargs="?", help="the nickname (leave out to see it)")
    nickname.add_argument("--clear", action="store_true", help="use their own name again")
    edit = add("edit", cmd_edit, "publish a new version of one of your posts")
    edit.add_argument("entry_id", metavar="ENTRY_ID")
    edit.add_argument("text")
    edit.add_argument("--tag", action="append", default=[], help="a tag (repeatable)")
    edit.add_argument("--link", action="append", default=[], help="a URL (repeatable)")
    edit.add_argument("--mention", action="append", default=[], metavar="KEY_OR_LINK")
    edit.add_argument("--question", action="store_true", help="mark the post as a question")
    lists = add("readinglist", cmd_reading_list, "publish or update a reading list")
    lists.add_argument("title")
    lists.add_argument("--item", action="append", default=[], metavar="ENTRY_ID")
    lists.add_argument("--link", action="append", default=[], metavar="URL")
    lists.add_argument("--update", metavar="LIST_ID", help="the list to update (its first id)")


def _header(item: dict[str, Any]) -> str:
    when = format_time(int(item["claimed_ms"]))
    return f"{item['id'][:12]}  {item['who']}  {when}  {item['type']}"


def _fill(text: str) -> str:
    text = terminal_text(text)
    return "\n".join(textwrap.fill(p, _WIDTH - 4) if p else "" for p in text.splitlines()[:12])


def _highlight(snippet: str, spans: list[list[int]], bold: bool) -> str:
    """The snippet with its matched words in bold on a terminal, or **marked** in a pipe."""
    start, end = (_BOLD, _PLAIN) if bold else ("**", "**")
    out, last = [], 0
    for first, stop in sorted(spans):
        if first < last:
            continue
        out += [terminal_text(snippet[last:first]), start, terminal_text(snippet[first:stop]), end]
        last = stop
    out.append(terminal_text(snippet[last:]))
    return "".join(out)


def _day_ms(text: str | None, option: str, *, end: bool = False) -> int | None:
    """Milliseconds at the start (or end) of a local calendar day given as YYYY-MM-DD."""
    if text is None:
        return None
    try:
        day = datetime.date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{option} {text!r} is not a date", "Write it as 2026-12-01.") from None
    moment = datetime.datetime.combine(day, datetime.time.max if end else datetime.time.min)
    return int(moment.astimezone().timestamp() * 1000)
