"""The peers a node has met, kept in the data directory so a restart finds them again.

py-libp2p's persistent peerstore would also write this node's *private* key into its
database (the swarm stores its own key pair in the peerstore), which would defeat a
passphrase-sealed key file. So the node keeps its own small file instead: peer IDs,
their addresses and when each was last connected, written whole (temp file + rename).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from lndesk.atomicfile import atomic_write

logger = logging.getLogger(__name__)

MAX_PEERS = 500
MAX_ADDRS = 8


@dataclass(slots=True)
class KnownPeer:
    peer_id: str
    addrs: list[str]
    last_seen_ms: int


class PeerBook:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.peers: dict[str, KnownPeer] = {}
        self.dirty = False
        if path is not None:
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            for peer_id, item in raw.get("peers", {}).items():
                addrs = [str(a) for a in item.get("addrs", [])][:MAX_ADDRS]
                self.peers[str(peer_id)] = KnownPeer(str(peer_id), addrs, int(item["seen"]))
        except FileNotFoundError:
            return
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            # Only a cache of addresses: start afresh rather than refuse to start.
            logger.warning("ignoring the unreadable peer list %s: %s", path, exc)
            self.peers.clear()

    def seen(self, peer_id: str, addrs: list[str]) -> None:
        now = time.time_ns() // 1_000_000
        known = self.peers.get(peer_id)
        merged = list(dict.fromkeys([*addrs, *(known.addrs if known else [])]))[:MAX_ADDRS]
        self.peers[peer_id] = KnownPeer(peer_id, merged, now)
        self.dirty = True
        if len(self.peers) > MAX_PEERS:
            oldest = sorted(self.peers.values(), key=lambda p: p.last_seen_ms)
            for peer in oldest[: len(self.peers) - MAX_PEERS]:
                del self.peers[peer.peer_id]

    def forget(self, peer_id: str) -> None:
        if self.peers.pop(peer_id, None) is not None:
            self.dirty = True

    def recent(self, count: int) -> list[KnownPeer]:
        return sorted(self.peers.values(), key=lambda p: -p.last_seen_ms)[:count]

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        doc = {
            "version": 1,
            "peers": {
                p.peer_id: {"addrs": p.addrs, "seen": p.last_seen_ms} for p in self.peers.values()
            },
        }
        try:
            atomic_write(self.path, json.dumps(doc, indent=1).encode() + b"\n")
            self.dirty = False
        except OSError as exc:
            logger.warning("could not save the peer list %s: %s", self.path, exc)
