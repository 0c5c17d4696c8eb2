"""The peers a node has met, kept in the data directory so a restart finds them again.

py-libp2p's persistent peerstore would also write this node's *private* key into its
database (the swarm stores its own key pair in the peerstore), which would defeat a
passphrase-sealed key file. So the node keeps its own small file instead: peer IDs,
their addresses and when each was last connected, written whole (temp file + rename).

The file is read back as any file on the disk: at most :data:`MAX_PEERBOOK_BYTES`,
never waited on when it is a named pipe (:mod:`lndesk.regularfile`), decoded without
a ``RecursionError`` escaping. It is only a cache, so one that cannot be read is
ignored with a warning (the node starts with no remembered peers) and replaced at the
next save; the node's own saves always fit the bound.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lndesk.atomicfile import atomic_write
from lndesk.regularfile import read_small_json

logger = logging.getLogger(__name__)

MAX_PEERS = 500
MAX_ADDRS = 8
MAX_ADDR_CHARS = 512
"""A longer address a peer announces is not kept (a multiaddr takes under 200)."""
MAX_PEERBOOK_BYTES = 1 << 20
"""The most of the file read: 500 peers of 8 addresses take about half of it."""


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
            raw = _read_bounded(path)
            for peer_id, item in raw.get("peers", {}).items():
                addrs = [str(a) for a in item.get("addrs", [])][:MAX_ADDRS]
                self.peers[str(peer_id)] = KnownPeer(str(peer_id), addrs, int(item["seen"]))
        except FileNotFoundError:
            return
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            # Only a cache of addresses: start afresh rather than refuse to start.
            logger.warning(
                "ignoring the unreadable peer list %s: %s; it is replaced when peers are next met",
                path,
                exc,
            )
            self.peers.clear()
        self._trim()

    def _trim(self) -> None:
        """Keep the :data:`MAX_PEERS` seen last."""
        if len(self.peers) > MAX_PEERS:
            oldest = sorted(self.peers.values(), key=lambda p: p.last_seen_ms)
            for peer in oldest[: len(self.peers) - MAX_PEERS]:
                del self.peers[peer.peer_id]

    def seen(self, peer_id: str, addrs: list[str]) -> None:
        now = time.time_ns() // 1_000_000
        known = self.peers.get(peer_id)
        fresh = [a for a in addrs if len(a) <= MAX_ADDR_CHARS]
        merged = list(dict.fromkeys([*fresh, *(known.addrs if known else [])]))[:MAX_ADDRS]
        self.peers[peer_id] = KnownPeer(peer_id, merged, now)
        self.dirty = True
        self._trim()

    def forget(self, peer_id: str) -> None:
        if self.peers.pop(peer_id, None) is not None:
            self.dirty = True

    def recent(self, count: int) -> list[KnownPeer]:
        return sorted(self.peers.values(), key=lambda p: -p.last_seen_ms)[:count]

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        newest = self.recent(len(self.peers))
        data = _encode(newest)
        while len(data) > MAX_PEERBOOK_BYTES:  # only if peer IDs or addresses run long
            newest = newest[: len(newest) * 9 // 10]
            data = _encode(newest)
        try:
            atomic_write(self.path, data)
            self.dirty = False
        except OSError as exc:
            logger.warning("could not save the peer list %s: %s", self.path, exc)


def _encode(peers: list[KnownPeer]) -> bytes:
    doc = {
        "version": 1,
        "peers": {p.peer_id: {"addrs": p.addrs, "seen": p.last_seen_ms} for p in peers},
    }
    return json.dumps(doc, indent=1).encode() + b"\n"


def _read_bounded(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``, read up to :data:`MAX_PEERBOOK_BYTES`.

    Raises FileNotFoundError if there is none, OSError if it cannot be read or is not
    a regular file, ValueError or TypeError (saying what is wrong) if it is too large,
    not UTF-8, not JSON, nested too deep or not an object."""
    raw = read_small_json(path, MAX_PEERBOOK_BYTES)
    if not isinstance(raw, dict):
        raise TypeError("it does not hold a JSON object")
    return raw
