"""What mypy accepts and refuses at the bridge (checked by ``mypy``, never run).

``Bridge.request(function, done)`` gives ``done`` exactly the type ``function`` returns;
``Bridge.request_async`` the type its coroutine returns. Each refused call below carries
the error code mypy must report for it: with ``warn_unused_ignores``, a bridge that let
it through (a result typed ``Any`` again) fails the type check, and so does one whose
results lost their types (``assert_type``).
"""

from __future__ import annotations

from typing import assert_type

from lndesk.app.items import AuthorItem, IdentityInfo, PostItem
from lndesk.ui.bridge import Bridge


def takes_text(_value: str) -> None:
    """A callback for a text answer."""


def typed_results(bridge: Bridge) -> None:
    """A result arrives with the type of what was asked."""
    bridge.request(lambda desk: desk.reading.unread_count(), lambda n: assert_type(n, int))
    bridge.request(lambda desk: desk.account.identity(), lambda i: assert_type(i, IdentityInfo))
    bridge.request(
        lambda desk: desk.reading.page("timeline", None, 5),
        lambda p: assert_type(p, list[PostItem]),
    )
    bridge.request(
        lambda desk: (desk.reading.unread_count(), desk.account.identity()),
        lambda both: assert_type(both, tuple[int, IdentityInfo]),
    )
    bridge.request_async(
        lambda desk: desk.people.follow("lnd1x"), lambda a: assert_type(a, AuthorItem)
    )
    bridge.request_async(lambda desk: desk.posting.post("hello"), lambda seq: assert_type(seq, int))


def refused(bridge: Bridge) -> None:
    """A callback that expects something else than the answer is an error."""
    bridge.request(lambda desk: desk.reading.unread_count(), takes_text)  # type: ignore[misc]
    bridge.request_async(lambda desk: desk.posting.post("hello"), takes_text)  # type: ignore[misc]
    # An action that publishes is awaited: through request, its result would be a coroutine.
    bridge.request(lambda desk: desk.posting.post("hello"), lambda seq: seq + 1)  # type: ignore[operator]
    # A question is not awaitable.
    bridge.request_async(lambda desk: desk.reading.unread_count())  # type: ignore[arg-type,return-value]
    bridge.request(lambda desk: desk.no_such_question())  # type: ignore[attr-defined]
    bridge.request(lambda desk: desk.reading.unread_count(), lambda n: n.upper())  # type: ignore[attr-defined]
