"""Publishing actions by name, so a command can run them in the process that owns the store.

While a node runs, the data directory is locked by its process; `lndesk post` and the
other publishing commands then send the action's name and arguments (JSON) over the
control socket, and the node runs it, announcing the new entry at once. Without a
running node the same function runs in the command's own process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lndesk.app.service import Service
from lndesk.entry import Entry
from lndesk.errors import UsageError
from lndesk.keytext import key_to_text


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


ACTIONS: dict[str, Callable[[Service, dict[str, Any]], dict[str, Any]]] = {
    "post": lambda s, a: _entry(
        s.post(
            _text(a, "text"), _texts(a.get("tags", []), "tags"), _texts(a.get("links", []), "links")
        )
    ),
    "reply": lambda s, a: _entry(
        s.reply(
            _text(a, "entry_id"),
            _text(a, "text"),
            _texts(a.get("tags", []), "tags"),
            _texts(a.get("links", []), "links"),
        )
    ),
    "share": lambda s, a: _entry(s.share(_text(a, "entry_id"), str(a.get("comment") or ""))),
    "delete": lambda s, a: _entry(s.delete(_text(a, "entry_id"))),
    "follow": lambda s, a: _followed(s.follow(_text(a, "key"))),
    "unfollow": lambda s, a: _followed(s.unfollow(_text(a, "key"))),
    "profile": lambda s, a: _entry(s.set_profile(_text(a, "name"), str(a.get("bio") or ""))),
}


def run_action(service: Service, name: str, args: dict[str, Any]) -> dict[str, Any]:
    action = ACTIONS.get(name)
    if action is None:
        raise UsageError(f"unknown action {name!r}")
    return action(service, args)
