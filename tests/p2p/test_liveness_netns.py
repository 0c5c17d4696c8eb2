"""A peer that vanishes without a word (a closed laptop, a lost Wi-Fi) is dropped soon.

Two namespaces on one veth link, a whole node in each (``node_child.py``). B connects to
A; then B's end of the link goes down, so nothing B's socket sent ever arrives and no
FIN or RST reaches A: TCP alone would keep the connection "established" for many
minutes. A hears nothing, its pings go unanswered and A reports B lost. It needs root and ``ip``;
elsewhere it is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
from netns import Lan, ip, two_namespace_lan, whole_node_in

PORT = 4747
LIVENESS = 2.0


@pytest.fixture
def lan() -> Iterator[Lan]:
    with two_namespace_lan("lv", 234) as built:
        yield built


async def test_a_peer_that_vanishes_is_dropped(lan: Lan, tmp_path: Path) -> None:
    config = {
        "listen_host": "0.0.0.0",
        "listen_port": PORT,
        "mdns": False,
        "dht": False,
        "relay_client": False,
        "liveness_interval": LIVENESS,
        "liveness_timeout": 3 * LIVENESS,
    }
    async with (
        whole_node_in(lan.a, tmp_path / "a", **config) as a,
        whole_node_in(lan.b, tmp_path / "b", **config) as b,
    ):
        _, a_id, _a_key, *_ = await a.ready()
        _, _b_id, b_key, *_ = await b.ready()
        await b.send(f"connect /ip4/{lan.address(1)}/tcp/{PORT}/p2p/{a_id}")
        await b.wait_for("CONNECTED")
        await a.wait_for(f"PEER {b_key}")

        down = ip("-n", lan.b, "link", "set", lan.b_link, "down")
        assert down.returncode == 0, down.stderr
        gone = trio.current_time()
        await a.wait_for(f"LOST {b_key}", timeout=10 * LIVENESS)
        print(f"A dropped the vanished peer {trio.current_time() - gone:.1f} s after it went")

        for child in (a, b):
            await child.send("quit")
        for child in (a, b):
            await child.wait_for("STOPPED")
            with trio.fail_after(30):
                assert await child.process.wait() == 0
