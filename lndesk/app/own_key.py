"""My identity's key file in a data directory: made new, restored from its backup words
or from a backup file, and unlocked with its passphrase when it is sealed.

A key is installed only where none is (lndesk never overwrites a key), with the own
log's state written before it (:mod:`lndesk.app.ownlog`): a restored key publishes
nothing until its log's height is known, so no position of its feed is signed twice.
:class:`lndesk.app.service.Service` reads the key through these functions.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from lndesk.app.datadir import KEY_NAME
from lndesk.app.importing import check_backup_owner
from lndesk.app.ownlog import OWN_LOG_CONFIRMED, OWN_LOG_RESTORED, OwnLog, save_own_log
from lndesk.backup import Backup
from lndesk.errors import (
    IdentityError,
    IdentityExistsError,
    NoIdentityError,
    PassphraseError,
)
from lndesk.identity import Identity
from lndesk.keyfile import (
    decode_key_file,
    encode_key_file,
    is_sealed,
    public_key_of,
    read_key_file,
    write_key_file,
)

PassphraseSource = Callable[[], str | None]
"""Asked for the passphrase of a sealed key file; a ``tries`` attribute, if it has one,
says how many times it may be asked after a wrong one (three in a terminal)."""


def create_identity(data_dir: Path, passphrase: str | None = None) -> Identity:
    """Make a new identity in ``data_dir`` (refuses to replace an existing one)."""
    identity = Identity.generate()
    install_key(data_dir, encode_key_file(identity, passphrase), OWN_LOG_CONFIRMED)
    return identity


def restore_identity(
    data_dir: Path, words: str, passphrase: str | None = None, *, fresh: bool = False
) -> Identity:
    """Restore an identity from its backup words.

    Unless ``fresh`` says the key never published anything, publishing stays blocked
    until the own log's height is learned (import or sync), so the feed cannot fork.
    """
    identity = Identity.from_backup_words(words)
    state = OWN_LOG_CONFIRMED if fresh else OWN_LOG_RESTORED
    install_key(data_dir, encode_key_file(identity, passphrase), state)
    return identity


def install_key(data_dir: Path, key_file: bytes, own_log: str) -> None:
    """Write ``key_file`` as the identity of ``data_dir``, its own log in state
    ``own_log`` (refuses to replace an existing key). One install at a time: another one
    meanwhile would write its own log's state over this key's (a restored key marked
    confirmed signs its seqs again), or its key over this one."""
    key_path = data_dir / KEY_NAME
    if key_path.exists():
        raise IdentityExistsError(f"{data_dir} already has an identity")
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _installing(data_dir):
        if key_path.exists():
            raise IdentityExistsError(f"{data_dir} already has an identity")
        save_own_log(data_dir, OwnLog(state=own_log))
        write_key_file(key_path, key_file)


@contextlib.contextmanager
def _installing(data_dir: Path) -> Iterator[None]:
    """Hold the lock on ``data_dir`` itself that installs of a key take."""
    fd = os.open(data_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IdentityExistsError(
                f"another lndesk process is making or restoring an identity in {data_dir}",
                "Wait for it to finish, then use that identity (lndesk id shows its key).",
            ) from None
        yield
    finally:
        os.close(fd)


def install_backup_key(
    data_dir: Path, backup: Backup, passphrase: PassphraseSource
) -> Identity | None:
    """Install the key ``backup`` holds if ``data_dir`` has none, and return it unlocked
    (its own log waits to be confirmed); None when ``data_dir`` has a key, after checking
    that the backup is of that identity."""
    key_path = data_dir / KEY_NAME
    if key_path.exists():
        check_backup_owner(backup, public_key_of(read_key_file(key_path)))
        return None
    # Unlock the key before installing it: a damaged key file must not be installed.
    sealed = is_sealed(backup.key_file)
    identity = decode_key_file(backup.key_file, passphrase() if sealed else None)
    if identity.public_key != backup.feed:
        raise IdentityError("the backup's key does not match the log it holds")
    install_key(data_dir, backup.key_file, OWN_LOG_RESTORED)
    return identity


def own_key_file(data_dir: Path) -> bytes:
    """The key file of ``data_dir`` (NoIdentityError when it has none)."""
    try:
        return read_key_file(data_dir / KEY_NAME)
    except FileNotFoundError:
        raise NoIdentityError(f"no identity in {data_dir}") from None


def unlock(data: bytes, passphrase: PassphraseSource) -> Identity:
    """The identity of key file ``data``: a sealed one asks for its passphrase, as many
    times as the source allows (``tries``: three in a terminal)."""
    if not is_sealed(data):
        return decode_key_file(data, None)
    tries = max(1, int(getattr(passphrase, "tries", 1)))
    for attempt in range(1, tries + 1):
        try:
            return decode_key_file(data, passphrase())
        except PassphraseError as exc:
            if attempt == tries or "wrong passphrase" not in exc.message:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def check_passphrase(data_dir: Path, passphrase: str | None) -> None:
    """Raise PassphraseError unless ``passphrase`` opens the key file of ``data_dir``
    when it is sealed."""
    data = read_key_file(data_dir / KEY_NAME)
    if is_sealed(data):
        decode_key_file(data, passphrase)
