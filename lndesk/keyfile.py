"""The key file: the identity seed at rest, optionally sealed with a passphrase.

Format (deterministic CBOR map, see docs/protocol.md "Key file"):

* plain:     ``{"format": "lndesk-key", "version": 1, "public": bstr32, "seed": bstr32}``
* sealed:    ``{"format": "lndesk-key", "version": 1, "public": bstr32, "kdf": "argon2id13",
  "salt": bstr16, "opslimit": uint, "memlimit": uint, "sealed": bstr}`` where ``sealed`` is
  ``nacl.secret.SecretBox(argon2id(passphrase, salt)).encrypt(seed)`` (nonce included).

The file is written atomically with mode 0600, so a crash never leaves half a key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils

from lndesk import canonical
from lndesk.atomicfile import atomic_write
from lndesk.errors import IdentityExistsError, KeyFileError, PassphraseError
from lndesk.identity import Identity
from lndesk.regularfile import NotRegularFileError, open_regular

FORMAT = "lndesk-key"
VERSION = 1
KDF = "argon2id13"
OPSLIMIT = nacl.pwhash.argon2id.OPSLIMIT_MODERATE
MEMLIMIT = nacl.pwhash.argon2id.MEMLIMIT_MODERATE
MAX_KEY_FILE = 4096
MAX_OPSLIMIT = 16
MAX_MEMLIMIT = 1 << 30
_SEALED_SIZE = nacl.secret.SecretBox.NONCE_SIZE + nacl.secret.SecretBox.MACBYTES + 32


def encode_key_file(
    identity: Identity,
    passphrase: str | None = None,
    *,
    opslimit: int = OPSLIMIT,
    memlimit: int = MEMLIMIT,
) -> bytes:
    """The key file's bytes; sealed with ``passphrase`` when one is given."""
    doc: dict[str, Any] = {"format": FORMAT, "version": VERSION, "public": identity.public_key}
    if passphrase is None:
        doc["seed"] = identity.seed
    else:
        if not passphrase:
            raise PassphraseError("an empty passphrase protects nothing", "Choose a passphrase.")
        salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
        box = nacl.secret.SecretBox(_derive(passphrase, salt, opslimit, memlimit))
        doc.update(
            kdf=KDF,
            salt=salt,
            opslimit=opslimit,
            memlimit=memlimit,
            sealed=bytes(box.encrypt(identity.seed)),
        )
    return canonical.encode(doc)


def is_sealed(data: bytes) -> bool:
    return "sealed" in _parse(data)


def public_key_of(data: bytes) -> bytes:
    """The public key a key file names; needs no passphrase."""
    return bytes(_parse(data)["public"])


def decode_key_file(data: bytes, passphrase: str | None = None) -> Identity:
    doc = _parse(data)
    if "sealed" in doc:
        if passphrase is None:
            raise PassphraseError(
                "the key file is protected by a passphrase",
                "Enter the passphrase (or set LNDESK_PASSPHRASE for scripts).",
            )
        try:
            key = _derive(passphrase, doc["salt"], doc["opslimit"], doc["memlimit"])
            seed = nacl.secret.SecretBox(key).decrypt(doc["sealed"])
        except nacl.exceptions.CryptoError as exc:
            raise PassphraseError("wrong passphrase for this key file") from exc
    else:
        seed = doc["seed"]
    try:
        identity = Identity(bytes(seed))
    except ValueError as exc:
        raise KeyFileError("the key file holds a seed of the wrong size") from exc
    if identity.public_key != doc["public"]:
        raise KeyFileError("the key file is damaged: its seed does not match its public key")
    return identity


def write_key_file(path: Path, data: bytes, *, overwrite: bool = False) -> None:
    if path.exists() and not overwrite:
        raise IdentityExistsError(f"an identity already exists at {path}")
    atomic_write(path, data, mode=0o600)


def read_key_file(path: Path) -> bytes:
    """The bytes of the key file ``path``, at most :data:`MAX_KEY_FILE` of them.

    Raises FileNotFoundError if there is none, KeyFileError if it cannot be read, is
    too large, or is not a regular file (a named pipe is refused, never waited on)."""
    try:
        with open_regular(path) as handle:
            data = handle.read(MAX_KEY_FILE + 1)
    except FileNotFoundError:
        raise
    except NotRegularFileError as exc:
        raise KeyFileError(
            f"cannot read the key file {path}: {exc}",
            f"Move it aside (mv {path} {path}.not-a-file), then restore your key: "
            "lndesk key restore (with your backup words), or lndesk import FILE (with "
            "your export).",
        ) from exc
    except OSError as exc:
        raise KeyFileError(f"cannot read the key file {path}: {exc.strerror}") from exc
    if len(data) > MAX_KEY_FILE:
        raise KeyFileError(f"{path} is too large to be an lndesk key file")
    return data


def _derive(passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    return bytes(
        nacl.pwhash.argon2id.kdf(
            nacl.secret.SecretBox.KEY_SIZE,
            passphrase.encode("utf-8"),
            salt,
            opslimit=opslimit,
            memlimit=memlimit,
        )
    )


def _parse(data: bytes) -> dict[str, Any]:
    doc = canonical.decode_document(data, FORMAT, VERSION, KeyFileError, "key file")
    sealed_fields = {"kdf": str, "salt": bytes, "opslimit": int, "memlimit": int, "sealed": bytes}
    needed: dict[str, type] = {"public": bytes}
    needed.update(sealed_fields if "sealed" in doc else {"seed": bytes})
    for name, kind in needed.items():
        if type(doc.get(name)) is not kind:
            raise KeyFileError(f"the key file is damaged: field {name!r} is missing or invalid")
    if "sealed" in doc:
        if doc["kdf"] != KDF:
            raise KeyFileError(f"unknown key derivation {doc['kdf']!r} in the key file")
        # Damage (or tampering) must not pass for a wrong passphrase or cost gigabytes.
        if (
            len(doc["salt"]) != nacl.pwhash.argon2id.SALTBYTES
            or not nacl.pwhash.argon2id.OPSLIMIT_MIN <= doc["opslimit"] <= MAX_OPSLIMIT
            or not nacl.pwhash.argon2id.MEMLIMIT_MIN <= doc["memlimit"] <= MAX_MEMLIMIT
            or len(doc["sealed"]) != _SEALED_SIZE
        ):
            raise KeyFileError("the key file is damaged: its sealing parameters are impossible")
    elif len(doc["seed"]) != 32:
        raise KeyFileError("the key file holds a seed of the wrong size")
    return doc
