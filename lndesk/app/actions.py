"""Publishing actions by name, so a command can run them in the process that owns the store.

While a node runs, the data directory is locked by its process; `lndesk post` and the
other publishing commands then send the action's name and arguments (JSON) over the
control socket, and the node runs it, announcing the new entry at once. Without a
running node the same function runs in the command's own process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lndesk.app import answers, pseudonym_marks, pseudonyms
from lndesk.app.action_args import (
    flag_arg,
    int_arg,
    optional_text_arg,
    text_arg,
    text_list_arg,
)
from lndesk.app.describe import entry_fields
from lndesk.app.service import Service
from lndesk.content import ListItem, ReadingList, WebShare
from lndesk.entry import Entry
from lndesk.entry_refs import ref_of
from lndesk.errors import UsageError
from lndesk.keytext import key_to_text, parse_key_or_link
from lndesk.names import display_name
from lndesk.search_query import SearchQuery

SEARCH_INDEX_CHUNK = 5000
"""Documents per transaction when `lndesk search` indexes the backlog first."""


def _entry(entry: Entry) -> dict[str, Any]:
    return {"id": entry.id.hex(), "seq": entry.seq}


def _followed(result: tuple[bytes, Entry | None]) -> dict[str, Any]:
    key, entry = result
    return {"key": key_to_text(key), "changed": entry is not None}


def _mentions(args: dict[str, Any]) -> list[bytes]:
    return [parse_key_or_link(k)[0] for k in text_list_arg(args, "mentions")]


def _search(service: Service, args: dict[str, Any]) -> dict[str, Any]:
    author = args.get("author")
    query = SearchQuery(
        text_arg(args, "query"),
        parse_key_or_link(author)[0] if isinstance(author, str) else None,
        args.get("tag") if isinstance(args.get("tag"), str) else None,
        args.get("type") if isinstance(args.get("type"), str) else None,
        int_arg(args, "since_ms"),
        int_arg(args, "until_ms"),
        frozenset(),
    )
    # A command can wait for the whole backlog of text to index (the background indexer
    # or a search in the app only does it bit by bit), so it finds everything stored.
    store = service.store
    indexed = store.text_pending()
    while store.index_text(SEARCH_INDEX_CHUNK) > 0:
        pass
    nicknames = service.local.nicknames()
    hits = service.search(query, int_arg(args, "limit", 20) or 20, int_arg(args, "offset", 0) or 0)
    return {
        "hits": [
            entry_fields(hit.entry, nicknames)
            | {"snippet": hit.snippet, "spans": [list(s) for s in hit.spans]}
            for hit in hits
        ],
        "indexed": indexed,
        "pending": store.text_pending(),
    }


def _inbox(service: Service, args: dict[str, Any]) -> dict[str, Any]:
    entries = service.inbox(
        requests=flag_arg(args, "requests"), limit=int_arg(args, "limit", 20) or 20
    )
    nicknames = service.local.nicknames()
    return {"entries": [entry_fields(e, nicknames) for e in entries]}


def _nickname(service: Service, args: dict[str, Any]) -> dict[str, Any]:
    """Set (``nickname``), clear (``clear``) or just tell someone's nickname."""
    key = parse_key_or_link(text_arg(args, "key"))[0]
    name = optional_text_arg(args, "nickname")
    if flag_arg(args, "clear") or name is not None:
        service.set_nickname(key_to_text(key), None if flag_arg(args, "clear") else name)
    return {
        "key": key_to_text(key),
        "nickname": service.local.nicknames().get(key),
        "name": display_name(service.store.feed_state(key).name, key),
    }


def _reading_list(service: Service, args: dict[str, Any]) -> dict[str, Any]:
    ids = text_list_arg(args, "items")
    items = [ListItem(ref=ref_of(service.resolve(i).entry)) for i in ids]
    items += [ListItem(link=link) for link in text_list_arg(args, "links")]
    update = args.get("update")
    of = service.resolve(update) if isinstance(update, str) else None
    if of is not None and not items and isinstance(of.content, ReadingList):
        items = list(of.content.items)  # a new title only
    return _entry(service.publish_list(text_arg(args, "title"), items, of))


ACTIONS: dict[str, Callable[[Service, dict[str, Any]], dict[str, Any]]] = {
    "post": lambda s, a: _entry(
        s.post(
            text_arg(a, "text"),
            text_list_arg(a, "tags"),
            text_list_arg(a, "links"),
            mentions=_mentions(a),
            question=flag_arg(a, "question"),
        )
    ),
    "reply": lambda s, a: _entry(
        s.reply(
            text_arg(a, "entry_id"),
            text_arg(a, "text"),
            text_list_arg(a, "tags"),
            text_list_arg(a, "links"),
            mentions=_mentions(a),
        )
    ),
    "edit": lambda s, a: _entry(
        s.edit(
            text_arg(a, "entry_id"),
            text_arg(a, "text"),
            text_list_arg(a, "tags"),
            text_list_arg(a, "links"),
            mentions=_mentions(a),
            question=flag_arg(a, "question"),
        )
    ),
    "readinglist": _reading_list,
    "webshare": lambda s, a: _entry(
        s.publish(
            WebShare(
                text_arg(a, "link"),
                str(a.get("title") or ""),
                str(a.get("source") or ""),
                str(a.get("guid") or ""),
                str(a.get("comment") or ""),
                tuple(text_list_arg(a, "tags")),
            )
        )
    ),
    "block": lambda s, a: _followed(s.block(text_arg(a, "key"))),
    "unblock": lambda s, a: {"key": key_to_text(s.unblock(text_arg(a, "key")))},
    "accept": lambda s, a: {
        "key": key_to_text(s.accept(text_arg(a, "key"), not flag_arg(a, "undo")))
    },
    "search": _search,
    "nickname": _nickname,
    "inbox": _inbox,
    "share": lambda s, a: _entry(s.share(text_arg(a, "entry_id"), str(a.get("comment") or ""))),
    "delete": lambda s, a: _entry(s.delete(text_arg(a, "entry_id"))),
    "follow": lambda s, a: _followed(s.follow(text_arg(a, "key"))),
    "unfollow": lambda s, a: _followed(s.unfollow(text_arg(a, "key"))),
    "profile": lambda s, a: _entry(s.set_profile(text_arg(a, "name"), str(a.get("bio") or ""))),
    "helpful": lambda s, a: answers.mark(s, text_arg(a, "entry_id"), undo=flag_arg(a, "undo")),
    "questions": answers.list_questions,
    "thread": answers.show_thread,
    "ask_pseudonym": pseudonyms.act_ask,
    "pseudonym_reveal": pseudonyms.act_reveal,
    "pseudonyms": pseudonyms.act_list,
    "helpful_signer": pseudonym_marks.act_signer,
    "helpful_pseudonym": pseudonym_marks.act_mark,
}


PUBLISHING = frozenset(
    {
        "post",
        "reply",
        "edit",
        "readinglist",
        "share",
        "webshare",
        "delete",
        "follow",
        "unfollow",
        "profile",
        "helpful",
        "pseudonym_reveal",
        "ask_pseudonym",
        "helpful_pseudonym",
    }
)
"""Actions that append an entry to the own log or to a pseudonym's (a retry must not
append it twice)."""


def run_action(service: Service, name: str, args: dict[str, Any]) -> dict[str, Any]:
    action = ACTIONS.get(name)
    if action is None:
        raise UsageError(f"unknown action {name!r}")
    return action(service, args)
