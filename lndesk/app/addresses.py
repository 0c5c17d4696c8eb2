"""Peer addresses the user types (bootstrap peers, ``lndesk connect``), checked by the app.

Checking one needs libp2p's multiaddr and peer-ID parsers, which take about a second to
import, so they are loaded on the first check, not when a command starts.

Bootstrap peers are bounded (:data:`MAX_BOOTSTRAP`): each is dialled, and re-dialled,
by a task of its own for as long as the node runs, so a settings file written by
someone else must not start hundreds of thousands of them.
"""

from __future__ import annotations

from lndesk.errors import AddressError, UsageError

MAX_BOOTSTRAP = 200
"""Bootstrap peers kept: far more than anyone adds by hand (a few always-on peers are
enough; they introduce the rest)."""
MAX_ADDRESS_CHARS = 1000
"""The longest peer address taken: a multiaddr with a DNS name, a relay and two peer
IDs takes a few hundred characters."""


def check_peer_address(address: str) -> None:
    """Raise AddressError unless ``address`` is a multiaddr ending in /p2p/<peer id>."""
    if len(address) > MAX_ADDRESS_CHARS:
        raise AddressError(
            f"a peer address of {len(address)} characters is not one (at most "
            f"{MAX_ADDRESS_CHARS}): {address[:60]!r}..."
        )
    from lndesk.p2p.peering import parse_peer_address  # noqa: PLC0415 - loads libp2p

    parse_peer_address(address)


def check_bootstrap_count(count: int, hint: str) -> None:
    """Raise UsageError if ``count`` bootstrap peers are more than are kept."""
    if count > MAX_BOOTSTRAP:
        raise UsageError(
            f"{count} bootstrap peers are more than lndesk keeps (at most {MAX_BOOTSTRAP})",
            hint,
        )
