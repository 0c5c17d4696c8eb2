"""Real libp2p hosts on 127.0.0.1 for the p2p tests."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from lndesk.p2p.config import NodeConfig

_seeds = itertools.count()


def make_seed(label: str = "") -> bytes:
    """A fresh deterministic 32-byte seed per call (peer IDs differ between hosts)."""
    return hashlib.blake2b(f"test-host/{label}/{next(_seeds)}".encode(), digest_size=32).digest()


def loopback_config(**changes: Any) -> NodeConfig:
    """A node configuration for tests: loopback only, any port, no mDNS, no DHT, and
    loopback addresses learned from the network dialled."""
    base: dict[str, Any] = {
        "listen_host": "127.0.0.1",
        "listen_port": 0,
        "mdns": False,
        "dht": False,
        "relay_client": False,
        # Every node of a test is on this machine: loopback addresses learned from the
        # network are dialled (a real node never does; test_dialable checks that).
        "dht_loopback": True,
    }
    base.update(changes)
    return NodeConfig(**base)


@asynccontextmanager
async def running_host(
    seed: bytes | None = None, config: NodeConfig | None = None
) -> AsyncIterator[Any]:
    """A started libp2p host listening on 127.0.0.1; stopped on exit."""
    from lndesk.p2p.host import build_host, serving

    config = config or loopback_config()
    host = build_host(seed or make_seed(), config)
    async with serving(host, config):
        yield host


@pytest.fixture
def seed() -> bytes:
    return make_seed("fixture")


async def wait_disconnected(host: Any, peer_id: Any, timeout: float = 10) -> None:
    """Return once ``host`` has no connection left to ``peer_id`` (event driven)."""
    import trio

    from lndesk.p2p.watch import watch_connections

    gone = trio.Event()

    def check(*_args: Any) -> None:
        if peer_id not in host.get_connected_peers():
            gone.set()

    watch_connections(host, lambda *_a: None, check)
    check()
    with trio.fail_after(timeout):
        await gone.wait()
