"""Where a node keeps its files, and the small local settings file.

Layout of a data directory::

    key            the key file (mode 0600)
    pseudonyms/NAME.key  the key file of each pseudonym (lndesk.pseudonyms), like ``key``
    config.json    network settings only (port, bootstrap peers, mDNS, relay)
    own-log.json   whether this identity may publish (lndesk.app.ownlog)
    peers.json     peers met before (addresses), so a restart can find them again
    node.sock      the running node's control socket (while `serve` or the app runs)
    local.sqlite3  this device's private state: bookmarks, mutes, read marks, follow sources
    ui.ini         the desktop app's preferences (window geometry, notifications, theme)
    entries.log    the append-only log (source of truth)
    index.sqlite3  the rebuildable index (``.new`` while `reindex` builds its replacement)
    feeds.sqlite3  followed web feeds and their items (kept apart: `reindex` never drops them)
    requests.jsonl the exactly-once journal of control-socket publishes (lndesk.app.requests)
    network.log    libp2p, multiaddr and zeroconf messages (lndesk.app.netlog)
    purge.journal  a payload purge in progress (lndesk.store.purge)
    store.lock     held by the process that has the directory open
    entries.log.cut-OFFSET   the bytes of a damaged last record cut off the log (``.seen``
                   once a cut entry of the own feed has paused publishing; OFFSET has a
                   leading zero more for each tail cut at that offset before)
    damaged-TIME.bin         damaged byte ranges moved out of the log by `lndesk repair`
                   (``damaged-TIME-N.bin`` after another repair in the same second)
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import platformdirs

from lndesk.app.addresses import MAX_ADDRESS_CHARS, MAX_BOOTSTRAP
from lndesk.app.ownlog import load_own_log, own_log_path
from lndesk.app.settings_file import read_settings
from lndesk.atomicfile import atomic_write

logger = logging.getLogger(__name__)

ENV_DATA_DIR = "LNDESK_DATA_DIR"
ENV_PASSPHRASE = "LNDESK_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret
KEY_NAME = "key"
CONFIG_NAME = "config.json"


def default_data_dir() -> Path:
    """``$LNDESK_DATA_DIR`` if set, else the platform's per-user data directory."""
    configured = os.environ.get(ENV_DATA_DIR)
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_data_dir("lndesk", appauthor=False))


PEERS_NAME = "peers.json"
SOCKET_NAME = "node.sock"
DEFAULT_PORT = 4747


@dataclass(slots=True)
class Config:
    """Network settings; never replicated, and nothing in them is needed to stay safe.

    Whether this identity may publish is kept in ``own-log.json`` (lndesk.app.ownlog);
    versions before kept it here as ``own_log``, which :meth:`load` moves over first.
    """

    port: int = DEFAULT_PORT
    """TCP port the node listens on; 0 lets the system choose one at each start."""
    bootstrap: list[str] = field(default_factory=list)
    """Multiaddrs of nodes to dial at start (e.g. a friend's always-on `lndesk serve`)."""
    mdns: bool = True
    """Find other lndesk nodes on the local network."""
    relay_hop: bool = False
    """Relay connections for nodes that cannot be dialled (turn on for a public server)."""

    @classmethod
    def load(cls, path: Path) -> Config:
        if not own_log_path(path.parent).exists():
            load_own_log(path.parent)  # moves an old own_log flag out before anything else
        raw = read_settings(path)
        config = cls()
        if not isinstance(raw, dict):
            return config
        port = raw.get("port")
        if type(port) is int and 0 <= port <= 65535:
            config.port = port
        bootstrap = raw.get("bootstrap")
        if isinstance(bootstrap, list):
            config.bootstrap = _bootstrap(bootstrap, path)
        for flag in ("mdns", "relay_hop"):
            if type(raw.get(flag)) is bool:
                setattr(config, flag, raw[flag])
        return config

    def save(self, path: Path) -> None:
        atomic_write(path, json.dumps(asdict(self), indent=2).encode() + b"\n", mode=0o600)


def _bootstrap(listed: list[object], path: Path) -> list[str]:
    """The first MAX_BOOTSTRAP addresses of a settings file, each of a length a peer
    address can have; the rest are left out, and a warning says so."""
    kept = [a for a in listed if isinstance(a, str) and len(a) <= MAX_ADDRESS_CHARS]
    if len(kept) < len(listed) or len(kept) > MAX_BOOTSTRAP:
        logger.warning(
            "%s lists %d bootstrap peers; using the first %d of at most %d characters "
            "(lndesk network lists them, --remove-bootstrap removes one)",
            path,
            len(listed),
            min(len(kept), MAX_BOOTSTRAP),
            MAX_ADDRESS_CHARS,
        )
    return kept[:MAX_BOOTSTRAP]
