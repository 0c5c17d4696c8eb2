"""Whether this identity may publish: the own-log state, kept apart from the settings.

A restored identity must not append before it knows how far its own log goes, or its
next entry forks the feed (protocol §8) and freezes it for good. That state lives in
its own small file, ``own-log.json`` in the data directory, written atomically; the
settings file (``config.json``) holds only settings that can be thrown away.

The file says::

    {"state": "restored" | "confirmed",
     "seen_height": N,          # the highest own entry any peer reported
     "seen_on": ["<hex key>"],  # peers that reported entry N
     "sources": K,              # peers that reported anything about the own feed
     "surveyed": true|false,    # a bounded search of peers and the DHT has finished
     "confirmed_height": N|null}

A missing or unreadable file counts as "restored": losing or damaging it never
unlocks publishing, and the next search of peers (or ``lndesk import FILE --latest``)
writes it again. The one exception is a data directory of a version older than this
file, which kept the state in ``config.json`` as its ``own_log`` flag: that flag is
moved here (see :func:`_migrate` for why it can be told apart).
"""

from __future__ import annotations

import json
import logging
import os
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lndesk.app.settings_file import MAX_CONFIG_BYTES, read_settings
from lndesk.atomicfile import atomic_write, first_unused
from lndesk.errors import OwnLogUnknownError, StoreError
from lndesk.regularfile import read_small_json

logger = logging.getLogger(__name__)

OWN_LOG_NAME = "own-log.json"
OWN_LOG_CONFIRMED = "confirmed"
OWN_LOG_RESTORED = "restored"
_LEGACY_CONFIG = "config.json"
_KEY = "key"
MAX_OWN_LOG_BYTES = MAX_CONFIG_BYTES
"""The most of ``own-log.json`` read; it holds at most :data:`MAX_SEEN_ON` peers' keys."""
MAX_SEEN_ON = 1000
"""Peers kept in ``seen_on``: enough to say "seen on 1000 peers", and the file stays
far below :data:`MAX_OWN_LOG_BYTES` however many peers report."""


@dataclass(slots=True)
class OwnLog:
    """What is known of this identity's own log, and whether publishing is allowed."""

    state: str = OWN_LOG_CONFIRMED
    seen_height: int = 0
    """The highest entry of the own log that any peer reported holding (the max wins)."""
    seen_on: list[str] = field(default_factory=list)
    """Peers (hex keys) that reported holding ``seen_height``."""
    sources: int = 0
    """Peers that reported anything about the own log."""
    surveyed: bool = False
    """A search of the reachable peers and the DHT's providers has finished."""
    confirmed_height: int | None = None
    """The latest entry the user confirmed (None for a key that was never restored)."""
    problem: str = ""
    """Why the state is not known from the file ("PATH is missing", "PATH is unreadable
    (why)"); empty when the file says it. Not written to the file."""

    @property
    def confirmed(self) -> bool:
        return self.state == OWN_LOG_CONFIRMED

    def paused_error(self) -> OwnLogUnknownError:
        """What refuses a publish while paused: why it is paused, and what to do."""
        if not self.problem:
            return OwnLogUnknownError(
                "this identity was restored and lndesk does not yet know how far your own log goes"
            )
        return OwnLogUnknownError(
            f"publishing is paused: {self.problem}. That file says whether this device "
            "knows the end of your own log; without it lndesk cannot tell whether entries "
            "were published from here (or with a copy of your key) that this device "
            "no longer holds",
            "Publishing now could split your log in two. Run lndesk restore-status with "
            "peers online, then lndesk confirm-log N; or, if nothing was published after "
            "your latest export, run lndesk import FILE --latest with it. Either writes "
            f"{OWN_LOG_NAME} again.",
        )

    def summary(self) -> str:
        """What the user confirms: "your log: latest entry N, seen on K peers"."""
        peers = len(self.seen_on)
        return (
            f"your log: latest entry {self.seen_height}, seen on {peers} "
            f"{'peer' if peers == 1 else 'peers'}"
        )


def own_log_path(data_dir: Path) -> Path:
    return data_dir / OWN_LOG_NAME


def load_own_log(data_dir: Path) -> OwnLog:
    """The own-log state of ``data_dir``; created from the old settings flag if missing."""
    path = own_log_path(data_dir)
    try:
        raw = read_small_json(path, MAX_OWN_LOG_BYTES)
    except FileNotFoundError:
        return _migrate(data_dir)
    except (OSError, ValueError) as exc:
        logger.warning(
            "%s is unreadable (%s); publishing stays paused until it is written again "
            "(lndesk restore-status, then lndesk confirm-log N; or lndesk import FILE "
            "--latest with your latest export)",
            path,
            exc,
        )
        return OwnLog(state=OWN_LOG_RESTORED, problem=f"{path} is unreadable ({exc})")
    own_log = _parse(raw)
    if not isinstance(raw, dict):
        own_log.problem = f"{path} is unreadable (it does not hold a JSON object)"
    return own_log


def save_own_log(data_dir: Path, own_log: OwnLog) -> None:
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fields = asdict(own_log)
    del fields["problem"]
    data = json.dumps(fields, indent=2).encode() + b"\n"
    path = own_log_path(data_dir)
    _move_directory_aside(path)
    atomic_write(path, data, mode=0o600)


def _move_directory_aside(path: Path) -> None:
    """Move a directory found where ``own-log.json`` goes out of its way, kept whole.

    An unreadable file pauses publishing until the restore flow writes the file again,
    and a file is written by renaming a new one over it, which works over any file but
    not over a directory: without this, the advice that pauses publishing (confirm-log,
    import --latest) would fail every time it is followed."""
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            return
    except FileNotFoundError:
        return
    aside = first_unused(path.with_name(f"{path.name}.not-a-file-{n}") for n in range(1, 1000))
    if aside is None:
        raise StoreError(
            f"{path} is a directory, and so are {path.name}.not-a-file-1 to -999 beside it",
            f"Move them out of {path.parent}, then run the command again.",
        )
    path.rename(aside)
    logger.warning("%s was a directory, not a file; it was moved to %s", path, aside)


def _parse(raw: object) -> OwnLog:
    if not isinstance(raw, dict):
        return OwnLog(state=OWN_LOG_RESTORED)
    state = raw.get("state")
    own_log = OwnLog(state=state if state == OWN_LOG_CONFIRMED else OWN_LOG_RESTORED)
    seen = raw.get("seen_height")
    if type(seen) is int and seen >= 0:
        own_log.seen_height = seen
    seen_on = raw.get("seen_on")
    if isinstance(seen_on, list):
        own_log.seen_on = [p for p in seen_on[:MAX_SEEN_ON] if isinstance(p, str)]
    sources = raw.get("sources")
    if type(sources) is int and sources >= 0:
        own_log.sources = sources
    own_log.surveyed = raw.get("surveyed") is True
    confirmed = raw.get("confirmed_height")
    if type(confirmed) is int and confirmed >= 0:
        own_log.confirmed_height = confirmed
    return own_log


def _migrate(data_dir: Path) -> OwnLog:
    """The state of a data directory with no ``own-log.json``: paused, unless an older
    version's ``config.json`` says otherwise.

    Every version that has this file writes it before it writes a key (installing a
    key, :func:`lndesk.app.own_key.install_key`), and every version before it wrote
    ``config.json`` with its ``own_log`` flag ("restored" or "confirmed") before it wrote
    a key. So a key with neither file beside it means the state was lost, not that it
    was never kept: deleting ``own-log.json`` (or both files) must not let a restored
    identity sign positions its peers may hold. Only the old flag is moved over; a
    settings file this version wrote holds none, and a missing one, one without the
    flag or one that cannot be read leaves publishing paused with the reason.

    Without a key there is nothing to protect yet (installing a key writes the file).
    """
    if not (data_dir / _KEY).exists():
        return OwnLog()
    path = own_log_path(data_dir)
    try:
        raw = read_settings(data_dir / _LEGACY_CONFIG)
    except StoreError:  # reading the settings again says what is wrong, and what to do
        raw = None
    flag = raw.get("own_log") if isinstance(raw, dict) else None
    if flag not in (OWN_LOG_CONFIRMED, OWN_LOG_RESTORED):
        logger.warning("%s is missing; publishing stays paused until it is written again", path)
        return OwnLog(state=OWN_LOG_RESTORED, problem=f"{path} is missing")
    own_log = OwnLog(state=flag)
    try:
        save_own_log(data_dir, own_log)
    except OSError as exc:  # a read-only data directory: the answer is still right
        logger.info("could not write %s: %s", path, exc)
    return own_log
