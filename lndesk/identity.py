"""Your identity: an Ed25519 key pair made from a 32-byte seed.

The seed is the only secret. The same seed gives the libp2p host key
(``libp2p.create_identity_from_seed``), so a node's peer ID is its user's public key.
Backup words are the BIP-39 encoding of the seed (24 English words with a checksum),
made with the maintained ``mnemonic`` package.
"""

from __future__ import annotations

import hashlib

import nacl.exceptions
import nacl.signing
from mnemonic import Mnemonic

from lndesk.errors import BackupWordsError, SignatureError
from lndesk.keytext import key_to_link, key_to_text

SEED_SIZE = 32
SIGNATURE_SIZE = 64
_WORDS = Mnemonic("english")


class Identity:
    """A secret seed and the key pair derived from it. ``repr`` never shows the seed."""

    __slots__ = ("_signing_key", "public_key")

    def __init__(self, seed: bytes) -> None:
        if len(seed) != SEED_SIZE:
            raise ValueError(f"an identity seed is {SEED_SIZE} bytes")
        self._signing_key = nacl.signing.SigningKey(seed)
        self.public_key: bytes = bytes(self._signing_key.verify_key)

    @classmethod
    def generate(cls) -> Identity:
        return cls(bytes(nacl.signing.SigningKey.generate()))

    @property
    def seed(self) -> bytes:
        """The secret seed. Handle with care: never log it."""
        return bytes(self._signing_key)

    def sign(self, message: bytes) -> bytes:
        return bytes(self._signing_key.sign(message).signature)

    @property
    def key_text(self) -> str:
        return key_to_text(self.public_key)

    def share_link(self, name: str | None = None) -> str:
        return key_to_link(self.public_key, name)

    def backup_words(self) -> str:
        """The seed as 24 words a person can write down."""
        return str(_WORDS.to_mnemonic(self.seed))

    @classmethod
    def from_backup_words(cls, words: str) -> Identity:
        normalized = " ".join(words.lower().split())
        count = len(normalized.split())
        if count != 24:
            raise BackupWordsError(f"a key backup has 24 words, you gave {count}")
        unknown = [w for w in normalized.split() if w not in _WORDS.wordlist]
        if unknown:
            raise BackupWordsError(f"not in the backup word list: {', '.join(unknown[:5])}")
        if not _WORDS.check(normalized):
            raise BackupWordsError(
                "the words do not form a valid backup (checksum mismatch): "
                "a word is wrong or two words are swapped"
            )
        return cls(bytes(_WORDS.to_entropy(normalized)))

    def __repr__(self) -> str:
        return f"Identity({self.key_text})"


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Raise SignatureError unless ``signature`` is ``public_key``'s signature of ``message``."""
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, ValueError) as exc:
        raise SignatureError("signature does not verify") from exc
    except (TypeError, nacl.exceptions.TypeError) as exc:
        raise SignatureError("malformed public key or signature") from exc


def blake2b_256(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()
