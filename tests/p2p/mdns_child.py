"""One node for the mDNS test, run inside a network namespace by ``test_mdns_netns``.

Listens on 0.0.0.0 with mDNS on and the DHT off, and talks to the test over stdio:

* prints ``READY <peer id>`` once discovery runs;
* prints ``FOUND <peer id> <source> <seconds since READY> <address>...`` for every
  ``on_peer`` call;
* on a ``readdress`` line, tells discovery that our addresses changed (mDNS restarts
  and advertises the new ones) and prints ``READDRESSED``;
* on a ``dial`` line, dials every peer found so far and prints ``CONNECTED <peer id>``
  (not earlier: a node connected to by a peer does not report that peer again, so
  dialling at once would hide whether the other side's mDNS works);
* stops when stdin closes or on a ``quit`` line, and prints ``STOPPED`` once zeroconf
  is closed.
"""

from __future__ import annotations

import sys
import time

import trio
from libp2p.peer.peerinfo import PeerInfo
from netns import stdin_lines

from lndesk.p2p.config import NodeConfig
from lndesk.p2p.discovery import Discovery
from lndesk.p2p.host import build_host, serving


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main(seed: bytes) -> None:
    config = NodeConfig(listen_host="0.0.0.0", listen_port=0, mdns=True, dht=False)
    host = build_host(seed, config)
    started = time.monotonic()
    found: dict[str, PeerInfo] = {}

    def on_peer(peer: PeerInfo, source: str) -> None:
        addrs = " ".join(str(a) for a in peer.addrs)
        say(f"FOUND {peer.peer_id} {source} {time.monotonic() - started:.2f} {addrs}")
        found[str(peer.peer_id)] = peer

    async def dial_all() -> None:
        for peer in list(found.values()):
            try:
                await host.connect(peer)
            except Exception as exc:
                say(f"DIALFAIL {peer.peer_id} {exc}")
            else:
                say(f"CONNECTED {peer.peer_id}")

    async with serving(host, config), trio.open_nursery() as nursery:
        discovery = Discovery(host, config, on_peer=on_peer, held_feeds=list, wanted_feeds=list)
        await nursery.start(discovery.run)
        started = time.monotonic()
        say(f"READY {host.get_id()}")
        async for command in stdin_lines():
            if command == "dial":
                await dial_all()
            elif command == "readdress":
                discovery.addresses_changed()
                say("READDRESSED")
        nursery.cancel_scope.cancel()
    say("STOPPED")


if __name__ == "__main__":
    trio.run(main, bytes.fromhex(sys.argv[1]))
