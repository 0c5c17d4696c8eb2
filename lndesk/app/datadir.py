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
                   once a cut entry of the own feed has paused publishing)
    damaged-TIME.bin         damaged byte ranges moved out of the log by `lndesk repair`
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import platformdirs

from lndesk.app.ownlog import load_own_log, own_log_path
from lndesk.atomicfile import atomic_write
from lndesk.errors import StoreError

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


MAX_CONFIG_BYTES = 1 << 20
"""The most of the settings file read: its settings take a few hundred bytes."""
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
        try:
            with path.open("rb") as file:
                data = file.read(MAX_CONFIG_BYTES + 1)
            if len(data) > MAX_CONFIG_BYTES:
                raise ValueError(f"it holds over {MAX_CONFIG_BYTES} bytes, not settings")
            raw = json.loads(data.decode("utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError, RecursionError) as exc:
            problem = "it is nested too deep" if isinstance(exc, RecursionError) else exc
            raise StoreError(
                f"the settings file {path} is unreadable: {problem}",
                f"Fix it, or move it aside (mv {path} {path}.bad): it holds only network "
                "settings (port, bootstrap peers, LAN discovery, relay), which then return to "
                "their defaults. Your key, your posts and whether you may publish are kept "
                "elsewhere.",
            ) from exc
        config = cls()
        if not isinstance(raw, dict):
            return config
        port = raw.get("port")
        if type(port) is int and 0 <= port <= 65535:
            config.port = port
        bootstrap = raw.get("bootstrap")
        if isinstance(bootstrap, list):
            config.bootstrap = [a for a in bootstrap if isinstance(a, str)]
        for flag in ("mdns", "relay_hop"):
            if type(raw.get(flag)) is bool:
                setattr(config, flag, raw[flag])
        return config

    def save(self, path: Path) -> None:
        atomic_write(path, json.dumps(asdict(self), indent=2).encode() + b"\n", mode=0o600)
