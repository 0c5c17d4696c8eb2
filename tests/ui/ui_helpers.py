"""Helpers for the desktop app's tests: a screen on its own, a post as the desk describes
it, other people's signed entries stored as a sync would store them, and a search on the
Search screen.

Test modules import this as ``ui_helpers`` (as the store tests import ``store_helpers``).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from PySide6.QtWidgets import QWidget
from store_helpers import make_entry, wire

from lndesk.app.events import EntriesStored
from lndesk.app.items import PostItem
from lndesk.content import encode_content
from lndesk.entry import Entry
from lndesk.identity import Identity
from lndesk.keytext import key_to_text

KEY_WORK_MS = 120_000
"""How long a test waits for key work (Argon2 sealing or opening a key, about half a second
alone, several on a loaded machine) to report: the test waits for its event; this only
bounds a hang, it is no guess of how fast the machine is."""

Call = Callable[..., Any]
Link = tuple[Entry, bytes]
W = TypeVar("W", bound=QWidget)


def awaited(function: Callable[[Any], Any]) -> Callable[[Any], Awaitable[Any]]:
    """``function`` as an async desk function for ``Bridge.request_async``: a test's
    question may be a plain one or an action that publishes; either is answered."""

    async def run(desk: Any) -> Any:
        result = function(desk)
        return await result if inspect.isawaitable(result) else result

    return run


def shown(qtbot: Any, widget: W) -> W:
    """``widget`` shown (offscreen) at 900 by 600, and closed after the test."""
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    widget.show()
    return widget


def post_item(**fields: Any) -> PostItem:
    """A post by Bo (not me) as the desk describes it, with ``fields`` instead."""
    defaults: dict[str, Any] = {
        "id": b"\x03" * 32,
        "author": b"\x04" * 32,
        "seq": 1,
        "author_name": "Bo",
        "short_key": "lnd1abcd",
        "kind": "post",
        "text": "",
        "tags": (),
        "links": (),
        "claimed_ms": 1,
        "cursor": (1, 1, 1),
        "mine": False,
    }
    return PostItem(**(defaults | fields))


def signed_chain(
    identity: Identity, contents: Sequence[Any], claimed_ms: Sequence[int]
) -> list[Link]:
    """``identity``'s log from seq 1: an entry for each of ``contents`` (content objects
    such as ``Post``), dated by ``claimed_ms``, each linked to the one before."""
    chain: list[Link] = []
    prev = None
    for seq, (content, ms) in enumerate(zip(contents, claimed_ms, strict=True), start=1):
        entry, payload = make_entry(
            identity, seq, prev, type=content.type, payload=encode_content(content), claimed_ms=ms
        )
        chain.append((entry, payload))
        prev = entry.id
    return chain


def ingest(call: Call, identity: Identity, links: Sequence[Link], *, follow: bool = False) -> None:
    """Store a run of ``identity``'s signed entries, as a sync would, and say so; then, if
    ``follow``, follow them."""
    key = identity.public_key
    last = links[-1][0].seq

    def run(desk: Any) -> Any:
        desk.service.store.ingest(key, wire(links))
        desk._emit(EntriesStored(key, len(links), last, last, "sync", None))
        return desk.people.follow(key_to_text(key)) if follow else None  # a coroutine: awaited

    call(run)


def search(view: Any, qtbot: Any, text: str) -> None:
    """Type ``text`` into the Search screen ``view`` and search; wait for the answer."""
    with qtbot.waitSignal(view.searched, timeout=10_000):
        view.query.setText(text)
        view.search_now()
