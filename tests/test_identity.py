"""Identity: key pair from a seed, signatures, backup words."""

from __future__ import annotations

import hashlib

import nacl.signing
import pytest

from lndesk.errors import BackupWordsError, SignatureError
from lndesk.identity import SEED_SIZE, Identity, blake2b_256, verify_signature
from lndesk.keytext import key_from_text, parse_key_or_link

# RFC 8032, section 7.1, TEST 1.
RFC8032_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC8032_EMPTY_SIGNATURE = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)

# BIP-39 English reference vectors for 256-bit entropy.
BIP39_VECTORS = [
    (bytes(32), " ".join(["abandon"] * 23 + ["art"])),
    (
        bytes([0x7F] * 32),
        "legal winner thank year wave sausage worth useful legal winner thank year wave "
        "sausage worth useful legal winner thank year wave sausage worth title",
    ),
    (bytes([0xFF] * 32), " ".join(["zoo"] * 23 + ["vote"])),
]


def make_seed(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


# --- key pair ----------------------------------------------------------------


def test_public_key_matches_rfc8032_vector() -> None:
    identity = Identity(RFC8032_SEED)
    assert identity.public_key == RFC8032_PUBLIC
    assert identity.seed == RFC8032_SEED


def test_signature_matches_rfc8032_vector() -> None:
    assert Identity(RFC8032_SEED).sign(b"") == RFC8032_EMPTY_SIGNATURE


def test_same_seed_gives_same_keys_and_signatures() -> None:
    seed = make_seed("deterministic")
    first, second = Identity(seed), Identity(seed)
    assert first.public_key == second.public_key
    assert first.sign(b"hello") == second.sign(b"hello")
    assert first.key_text == second.key_text


def test_different_seeds_give_different_keys() -> None:
    assert Identity(make_seed("a")).public_key != Identity(make_seed("b")).public_key


def test_generate_makes_fresh_identities() -> None:
    first, second = Identity.generate(), Identity.generate()
    assert len(first.seed) == SEED_SIZE
    assert first.seed != second.seed
    assert Identity(first.seed).public_key == first.public_key


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_seed_of_wrong_size_is_refused(size: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Identity(bytes(size))


def test_key_text_and_share_link_name_the_public_key() -> None:
    identity = Identity(make_seed("text"))
    assert key_from_text(identity.key_text) == identity.public_key
    assert parse_key_or_link(identity.share_link()) == (identity.public_key, None)
    assert parse_key_or_link(identity.share_link("Ada")) == (identity.public_key, "Ada")


# --- signatures --------------------------------------------------------------


def test_sign_and_verify() -> None:
    identity = Identity(make_seed("sign"))
    signature = identity.sign(b"message")
    assert len(signature) == 64
    verify_signature(identity.public_key, b"message", signature)
    # Cross-check with PyNaCl directly: the signature is plain Ed25519.
    nacl.signing.VerifyKey(identity.public_key).verify(b"message", signature)


def test_verify_rejects_other_message() -> None:
    identity = Identity(make_seed("sign"))
    signature = identity.sign(b"message")
    with pytest.raises(SignatureError):
        verify_signature(identity.public_key, b"messagE", signature)


def test_verify_rejects_other_key() -> None:
    signer, other = Identity(make_seed("signer")), Identity(make_seed("other"))
    signature = signer.sign(b"message")
    with pytest.raises(SignatureError):
        verify_signature(other.public_key, b"message", signature)


def test_verify_rejects_every_single_bit_flip_of_the_signature() -> None:
    identity = Identity(make_seed("flip"))
    signature = identity.sign(b"message")
    for index in range(len(signature)):
        for bit in range(8):
            damaged = bytearray(signature)
            damaged[index] ^= 1 << bit
            with pytest.raises(SignatureError):
                verify_signature(identity.public_key, b"message", bytes(damaged))


@pytest.mark.parametrize(
    ("public_key", "signature"),
    [
        (bytes(31), bytes(64)),
        (bytes(33), bytes(64)),
        (RFC8032_PUBLIC, bytes(63)),
        (RFC8032_PUBLIC, bytes(65)),
        (RFC8032_PUBLIC, b""),
    ],
)
def test_verify_rejects_malformed_key_or_signature(public_key: bytes, signature: bytes) -> None:
    with pytest.raises(SignatureError):
        verify_signature(public_key, b"", signature)


def test_blake2b_256() -> None:
    assert blake2b_256(b"abc") == hashlib.blake2b(b"abc", digest_size=32).digest()
    assert len(blake2b_256(b"")) == 32


# --- the seed never shows ----------------------------------------------------


def test_repr_and_str_never_contain_the_seed() -> None:
    identity = Identity(make_seed("secret"))
    seed = identity.seed
    for shown in (repr(identity), str(identity), f"{identity}", repr([identity])):
        assert seed.hex() not in shown
        assert seed.hex().upper() not in shown
        assert repr(seed) not in shown
    assert identity.key_text in repr(identity)


# --- backup words --------------------------------------------------------------


@pytest.mark.parametrize(("seed", "words"), BIP39_VECTORS)
def test_backup_words_match_bip39_vectors(seed: bytes, words: str) -> None:
    assert Identity(seed).backup_words() == words
    assert Identity.from_backup_words(words).seed == seed


@pytest.mark.parametrize("label", ["one", "two", "three", "four"])
def test_backup_words_round_trip(label: str) -> None:
    identity = Identity(make_seed(label))
    words = identity.backup_words()
    assert len(words.split()) == 24
    restored = Identity.from_backup_words(words)
    assert restored.seed == identity.seed
    assert restored.public_key == identity.public_key


def test_backup_words_forgive_case_and_white_space() -> None:
    identity = Identity(make_seed("messy"))
    words = identity.backup_words().split()
    messy = (
        "  "
        + "\n".join(word.upper() if i % 2 else word.title() for i, word in enumerate(words))
        + "\t "
    )
    assert Identity.from_backup_words(messy).seed == identity.seed
    assert Identity.from_backup_words("   ".join(words)).seed == identity.seed


@pytest.mark.parametrize("count", [0, 1, 12, 23, 25, 48])
def test_wrong_word_count_is_explained(count: int) -> None:
    words = Identity(make_seed("count")).backup_words().split()
    given = (words * 2)[:count]
    with pytest.raises(BackupWordsError) as info:
        Identity.from_backup_words(" ".join(given))
    assert "24" in info.value.message
    assert str(count) in info.value.message
    assert info.value.hint


def test_unknown_word_is_named() -> None:
    words = Identity(make_seed("unknown")).backup_words().split()
    words[5] = "lndeskish"
    with pytest.raises(BackupWordsError) as info:
        Identity.from_backup_words(" ".join(words))
    assert "lndeskish" in info.value.message
    assert "BIP-39" in info.value.hint


def test_checksum_mismatch_is_explained() -> None:
    with pytest.raises(BackupWordsError) as info:
        Identity.from_backup_words(" ".join(["abandon"] * 24))
    assert "checksum" in info.value.message
    assert info.value.hint


def test_swapped_words_are_caught() -> None:
    words = BIP39_VECTORS[1][1].split()
    # "legal winner thank year ...": swap two different words near the end.
    words[21], words[22] = words[22], words[21]
    assert words[21] != words[22]
    with pytest.raises(BackupWordsError, match="checksum"):
        Identity.from_backup_words(" ".join(words))


def test_libp2p_key_pair_from_the_same_seed_has_the_same_public_key() -> None:
    import libp2p

    seed = make_seed("libp2p")
    key_pair = libp2p.create_identity_from_seed(seed)
    assert key_pair.public_key.to_bytes() == Identity(seed).public_key
    message = b"peer id and public key are one"
    # A libp2p signature is the same Ed25519 signature.
    assert key_pair.private_key.sign(message) == Identity(seed).sign(message)
