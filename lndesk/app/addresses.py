"""Peer addresses the user types (bootstrap peers, ``lndesk connect``), checked by the app.

Checking one needs libp2p's multiaddr and peer-ID parsers, which take about a second to
import, so they are loaded on the first check, not when a command starts.
"""

from __future__ import annotations


def check_peer_address(address: str) -> None:
    """Raise AddressError unless ``address`` is a multiaddr ending in /p2p/<peer id>."""
    from lndesk.p2p.peering import parse_peer_address  # noqa: PLC0415 - loads libp2p

    parse_peer_address(address)
