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


def _texts(value: object, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{what} must be a list of text")
    return value


def _text(args: dict[str, Any], name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str):
        raise UsageError(f"{name} must be text")
    return value


def _flag(args: dict[str, Any], name: str) -> bool:
    value = args.get(name, False)
    if not isinstance(value, bool):
        raise UsageError(f"{name} must be true or false")
    return value


def _int(args: dict[str, Any], name: str, default: int | None = None) -> int | None:
    value = args.get(name, default)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise UsageError(f"{name} must be a whole number")
    return value


def _mentions(args: dict[str, Any]) -> list[bytes]:
    return [parse_key_or_link(k)[0] for k in _texts(args.get("mentions", []), "mentions")]


def _search(service: Service, args: dict[str, Any]) -> dict[str, Any]:
    author = args.get("author")
    query = SearchQuery(
        _text(args, "query"),
        parse_key_or_link(author)[0] if isinstance(author, str) else None,
        args.get("tag") if isinstance(args.get("tag"), str) else None,
        args.get("type") if isinstance(args.get("type"), str) else None,
        _int(args, "since_ms"),
        _int(args, "until_ms"),
        frozenset(),
    )
    # A command can wait for the whole backlog of text to index (the background indexer
    # or a search in the app only does it bit by bit), so it finds everything stored.
    store = service.store
    indexed = store.text_pending()
    while store.index_text(SEARCH_INDEX_CHUNK) > 0:
        pass
    nicknames = service.local.nicknames()
    hits = service.search(query, _int(args, "limit", 20) or 20, _int(args, "offset", 0) or 0)
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
    entries = service.inbox(requests=_flag(args, "requests"), limit=_int(args, "limit", 20) or 20)
    nicknames = service.local.nicknames()
    return {"entries": [entry_fields(e, nicknames) for e in entries]}


def _nickname(service: Service, args: dict[str, Any]) -> dict[str, Any]:
    """Set (``nickname``), clear (``clear``) or just tell someone's nickname."""
    key = parse_key_or_link(_text(args, "key"))[0]
    name = args.get("nickname")
    if name is not None and not isinstance(name, str):
        raise UsageError("nickname must be text")
    if _flag(args, "clear") or name is not None:
        service.set_nickname(key_to_text(key), None if _flag(args, "clear") else name)
    return {
        "key": key_to_text(key),
        "nickname": service.local.nicknames().get(key),
        "name": display_name(service.store.feed_state(key).name, key),
    }


def _reading_list(service: Service, args: dict[str, Any]) -> dict[str, Any]:
    ids = _texts(args.get("items", []), "items")
    items = [ListItem(ref=ref_of(service.resolve(i).entry)) for i in ids]
    items += [ListItem(link=link) for link in _texts(args.get("links", []), "links")]
    update = args.get("update")
    of = service.resolve(update) if isinstance(update, str) else None
    if of is not None and not items and isinstance(of.content, ReadingList):
        items = list(of.content.items)  # a new title only
    return _entry(service.publish_list(_text(args, "title"), items, of))


ACTIONS: dict[str, Callable[[Service, dict[str, Any]], dict[str, Any]]] = {
    "post": lambda s, a: _entry(
        s.post(
            _text(a, "text"),
            _texts(a.get("tags", []), "tags"),
            _texts(a.get("links", []), "links"),
            mentions=_mentions(a),
            question=_flag(a, "question"),
        )
    ),
    "reply": lambda s, a: _entry(
        s.reply(
            _text(a, "entry_id"),
            _text(a, "text"),
            _texts(a.get("tags", []), "tags"),
            _texts(a.get("links", []), "links"),
            mentions=_mentions(a),
        )
    ),
    "edit": lambda s, a: _entry(
        s.edit(
            _text(a, "entry_id"),
            _text(a, "text"),
            _texts(a.get("tags", []), "tags"),
            _texts(a.get("links", []), "links"),
            mentions=_mentions(a),
            question=_flag(a, "question"),
        )
    ),
    "readinglist": _reading_list,
    "webshare": lambda s, a: _entry(
        s.publish(
            WebShare(
                _text(a, "link"),
                str(a.get("title") or ""),
                str(a.get("source") or ""),
                str(a.get("guid") or ""),
                str(a.get("comment") or ""),
                tuple(_texts(a.get("tags", []), "tags")),
            )
        )
    ),
    "block": lambda s, a: _followed(s.block(_text(a, "key"))),
    "unblock": lambda s, a: {"key": key_to_text(s.unblock(_text(a, "key")))},
    "accept": lambda s, a: {"key": key_to_text(s.accept(_text(a, "key"), not _flag(a, "undo")))},
    "search": _search,
    "nickname": _nickname,
    "inbox": _inbox,
    "share": lambda s, a: _entry(s.share(_text(a, "entry_id"), str(a.get("comment") or ""))),
    "delete": lambda s, a: _entry(s.delete(_text(a, "entry_id"))),
    "follow": lambda s, a: _followed(s.follow(_text(a, "key"))),
    "unfollow": lambda s, a: _followed(s.unfollow(_text(a, "key"))),
    "profile": lambda s, a: _entry(s.set_profile(_text(a, "name"), str(a.get("bio") or ""))),
    "helpful": lambda s, a: answers.mark(s, _text(a, "entry_id"), undo=_flag(a, "undo")),
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
    }
)
"""Actions that append an entry to the own log (a retry must not append it twice)."""


def run_action(service: Service, name: str, args: dict[str, Any]) -> dict[str, Any]:
    action = ACTIONS.get(name)
    if action is None:
        raise UsageError(f"unknown action {name!r}")
    return action(service, args)
