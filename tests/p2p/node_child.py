"""One whole lndesk node for the network-namespace tests, run inside a namespace.

The tests start it as ``node_child.py <data dir> <config json>``: the data
dir already holds an identity, the JSON object holds :class:`NodeConfig` fields (a
``bootstrap`` list becomes a tuple). It runs :class:`lndesk.app.node.AppNode` (store,
sync, gossip, relay) exactly as the application does and talks to the test over stdio.

Printed lines (one event each, words separated by single spaces):

* ``READY <peer id> <key text> <address>...`` once the node listens;
* ``CIRCUIT <address>...`` whenever its addresses change and some go through a relay;
* ``HEIGHT <key text> <height>`` whenever entries of a feed are stored;
* ``PEER <key text>`` and ``LOST <key text>`` when a peer connects and goes away;
* ``POSTED <height>``, ``FOLLOWING <key text>`` after those commands;
* ``CONNECTED <peer id> <relayed|direct>`` or ``DIALFAIL <seconds> <error>`` after a
  ``connect``; ``LINK <peer id> <relayed|direct|none>`` after a ``link`` command;
* ``STOPPED`` once the node has stopped.

Commands on stdin: ``post <text>``, ``follow <key text>``, ``connect <multiaddr>``,
``link <peer id>`` and ``quit`` (closing stdin also stops the node).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import trio
from libp2p.peer.id import ID
from netns import stdin_lines

from lndesk.app.node import AppNode
from lndesk.app.service import Service
from lndesk.keytext import key_to_text
from lndesk.p2p.config import NodeConfig
from lndesk.p2p.events import AddressesChanged, EntriesStored, Event, PeerConnected, PeerLost


def say(*words: object) -> None:
    sys.stdout.write(" ".join(str(w) for w in words) + "\n")
    sys.stdout.flush()


def on_event(event: Event) -> None:
    if isinstance(event, AddressesChanged):
        circuits = [a for a in event.addresses if "/p2p-circuit/" in a]
        if circuits:
            say("CIRCUIT", *circuits)
    elif isinstance(event, EntriesStored):
        say("HEIGHT", key_to_text(event.feed), event.height)
    elif isinstance(event, PeerConnected):
        say("PEER", key_to_text(event.peer))
    elif isinstance(event, PeerLost):
        say("LOST", key_to_text(event.peer))


def link_kind(app: AppNode, peer: str) -> str:
    conns: Any = app.node.host.get_network().connections.get(ID.from_base58(peer))
    if not conns:
        return "none"
    conns = conns if isinstance(conns, list) else [conns]
    relayed = [any("/p2p-circuit" in str(a) for a in c.get_transport_addresses()) for c in conns]
    return "relayed" if all(relayed) else "direct"


async def command(app: AppNode, line: str) -> None:
    verb, _, arg = line.partition(" ")
    if verb == "post":
        await app.publish(lambda s: s.post(arg))
        say("POSTED", app.service.own_state().height)
    elif verb == "follow":
        await app.publish(lambda s: s.follow(arg))
        say("FOLLOWING", arg)
    elif verb == "connect":
        started = time.monotonic()
        try:
            await app.node.connect(arg)
        except Exception as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            say("DIALFAIL", f"{time.monotonic() - started:.2f}", reason)
        else:
            peer = arg.rsplit("/p2p/", 1)[1]
            say("CONNECTED", peer, link_kind(app, peer))
    elif verb == "link":
        say("LINK", arg, link_kind(app, arg))
    else:
        say("UNKNOWN", line)


async def main(data_dir: Path, config: NodeConfig) -> None:
    with Service(data_dir) as service:
        app = AppNode(service, config, on_event)
        async with trio.open_nursery() as nursery:
            await nursery.start(app.run)
            key = key_to_text(service.public_key)
            say("READY", app.node.peer_id, key, *app.node.addresses())
            async for line in stdin_lines():
                await command(app, line)
            app.stop()
    say("STOPPED")


if __name__ == "__main__":
    fields = json.loads(sys.argv[2])
    if "bootstrap" in fields:
        fields["bootstrap"] = tuple(fields["bootstrap"])
    trio.run(main, Path(sys.argv[1]), NodeConfig(**fields))
