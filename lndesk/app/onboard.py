"""First-run actions: make this data directory's identity, before any node runs.

The desktop app's onboarding wizard calls these (in a worker thread: sealing a key
costs about half a second of Argon2); they hold the flow, so the wizard holds only
widgets. Each writes the key file through the service's own functions (atomically,
never replacing a key); a failure before that leaves no key file behind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from lndesk.app.ownlog import OWN_LOG_CONFIRMED
from lndesk.app.service import Service, restore_identity
from lndesk.identity import Identity

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OnboardingResult:
    public_key: bytes
    name: str | None
    """The display name the user gave (or the one in a restored log)."""
    passphrase: str | None
    """The key file's passphrase, so the app can open it without asking again."""
    name_saved: bool = False
    """True when ``name`` is already in the log; else the app publishes it once it can."""
    can_publish: bool = True
    """False for a restored identity whose own log height is not known yet."""
    identity: Identity | None = field(default=None, repr=False, compare=False)
    """The unlocked identity (``NodeRuntime(identity=...)`` skips a second Argon2 run)."""


def install_new(
    data_dir: Path, identity: Identity, passphrase: str | None, name: str
) -> OnboardingResult:
    """Write a key generated earlier (its words already checked) and publish its name.

    A never-used key is exactly a fresh restore of its own words, so this writes what
    :func:`~lndesk.app.service.create_identity` would, for a seed chosen beforehand.
    """
    restore_identity(data_dir, identity.backup_words(), passphrase, fresh=True)
    logger.info("created a new identity %s", identity.key_text)
    saved = _publish_name(data_dir, identity, name)
    return OnboardingResult(identity.public_key, name or None, passphrase, saved, identity=identity)


def install_from_words(
    data_dir: Path, words: str, passphrase: str | None, *, fresh: bool, name: str
) -> OnboardingResult:
    """Restore from backup words; the name is published now only for a ``fresh`` key."""
    identity = restore_identity(data_dir, words, passphrase, fresh=fresh)
    logger.info("restored identity %s from backup words", identity.key_text)
    saved = fresh and _publish_name(data_dir, identity, name)
    return OnboardingResult(
        identity.public_key, name or None, passphrase, saved, fresh, identity=identity
    )


def install_from_backup(
    data_dir: Path, path: Path, passphrase: str | None, *, latest: bool
) -> OnboardingResult:
    """Restore key and log from a backup file (``Service.export``'s)."""
    with Service(data_dir, lambda: passphrase) as service:
        result = service.import_backup(path, latest=latest)
        identity = service.identity
        name = service.own_state().name
    logger.info("restored identity %s from a backup file", identity.key_text)
    return OnboardingResult(
        result.feed,
        name,
        passphrase,
        name is not None,
        result.own_log == OWN_LOG_CONFIRMED,
        identity=identity,
    )


def _publish_name(data_dir: Path, identity: Identity, name: str) -> bool:
    """Publish the first profile entry. A failure is not fatal: the app sets it later."""
    if not name:
        return False
    try:
        with Service(data_dir, identity=identity) as service:
            service.set_profile(name)
    except Exception:
        logger.exception("the display name could not be saved during onboarding")
        return False
    return True
