"""Where a node keeps its files, and the small local settings file.

Layout of a data directory::

    key            the key file (mode 0600)
    config.json    local settings, e.g. whether my own log height is known
    entries.log    the append-only log (source of truth)
    index.sqlite3  the rebuildable index
    store.lock     held by the process that has the directory open
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import platformdirs

from lndesk.atomicfile import atomic_write
from lndesk.errors import StoreError

ENV_DATA_DIR = "LNDESK_DATA_DIR"
KEY_NAME = "key"
CONFIG_NAME = "config.json"

OWN_LOG_CONFIRMED = "confirmed"
OWN_LOG_RESTORED = "restored"


def default_data_dir() -> Path:
    """``$LNDESK_DATA_DIR`` if set, else the platform's per-user data directory."""
    configured = os.environ.get(ENV_DATA_DIR)
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_data_dir("lndesk", appauthor=False))


@dataclass(slots=True)
class Config:
    """Local settings; never replicated."""

    own_log: str = OWN_LOG_CONFIRMED

    @classmethod
    def load(cls, path: Path) -> Config:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            raise StoreError(
                f"the settings file {path} is unreadable: {exc}",
                "Fix or delete it; it holds only local settings.",
            ) from exc
        config = cls()
        if isinstance(raw, dict) and raw.get("own_log") in (OWN_LOG_CONFIRMED, OWN_LOG_RESTORED):
            config.own_log = raw["own_log"]
        return config

    def save(self, path: Path) -> None:
        atomic_write(path, json.dumps(asdict(self), indent=2).encode() + b"\n", mode=0o600)
