"""The key file at rest, and the atomic write under it."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Any

import nacl.pwhash
import pytest

from lndesk import canonical
from lndesk.atomicfile import atomic_write
from lndesk.errors import IdentityExistsError, KeyFileError, PassphraseError
from lndesk.identity import Identity
from lndesk.keyfile import (
    MAX_KEY_FILE,
    decode_key_file,
    encode_key_file,
    is_sealed,
    read_key_file,
    write_key_file,
)

FAST = {
    "opslimit": nacl.pwhash.argon2id.OPSLIMIT_MIN,
    "memlimit": nacl.pwhash.argon2id.MEMLIMIT_MIN,
}


def make_identity(label: str = "key file") -> Identity:
    return Identity(hashlib.sha256(label.encode()).digest())


def sealed_file(identity: Identity, passphrase: str = "correct horse") -> bytes:
    return encode_key_file(identity, passphrase, **FAST)


def reencode(data: bytes, **changes: Any) -> bytes:
    doc = canonical.decode(data)
    for name, value in changes.items():
        if value is None:
            doc.pop(name, None)
        else:
            doc[name] = value
    return canonical.encode(doc)


# --- plain and sealed round trips ----------------------------------------------


def test_plain_round_trip() -> None:
    identity = make_identity()
    data = encode_key_file(identity)
    assert not is_sealed(data)
    restored = decode_key_file(data)
    assert restored.seed == identity.seed
    assert restored.public_key == identity.public_key


def test_plain_file_layout() -> None:
    identity = make_identity()
    doc = canonical.decode(encode_key_file(identity))
    assert doc == {
        "format": "lndesk-key",
        "version": 1,
        "public": identity.public_key,
        "seed": identity.seed,
    }


def test_sealed_round_trip() -> None:
    identity = make_identity()
    data = sealed_file(identity)
    assert is_sealed(data)
    assert identity.seed not in data
    assert decode_key_file(data, "correct horse").seed == identity.seed


def test_sealed_file_records_its_parameters() -> None:
    identity = make_identity()
    doc = canonical.decode(sealed_file(identity))
    assert doc["kdf"] == "argon2id13"
    assert doc["opslimit"] == FAST["opslimit"]
    assert doc["memlimit"] == FAST["memlimit"]
    assert len(doc["salt"]) == nacl.pwhash.argon2id.SALTBYTES
    assert doc["public"] == identity.public_key
    assert "seed" not in doc


def test_sealing_twice_uses_fresh_salt() -> None:
    identity = make_identity()
    first, second = sealed_file(identity), sealed_file(identity)
    assert first != second
    assert decode_key_file(first, "correct horse").seed == identity.seed
    assert decode_key_file(second, "correct horse").seed == identity.seed


def test_non_ascii_passphrase() -> None:
    identity = make_identity()
    data = sealed_file(identity, "Grüße, мир 🌍")
    assert decode_key_file(data, "Grüße, мир 🌍").seed == identity.seed
    with pytest.raises(PassphraseError):
        decode_key_file(data, "Grusse, мир 🌍")


def test_wrong_passphrase() -> None:
    data = sealed_file(make_identity())
    with pytest.raises(PassphraseError, match="wrong passphrase") as info:
        decode_key_file(data, "correct horsE")
    assert info.value.hint


def test_missing_passphrase() -> None:
    data = sealed_file(make_identity())
    with pytest.raises(PassphraseError, match="protected by a passphrase") as info:
        decode_key_file(data)
    assert "LNDESK_PASSPHRASE" in info.value.hint


def test_empty_passphrase_is_refused() -> None:
    with pytest.raises(PassphraseError):
        encode_key_file(make_identity(), "", **FAST)


def test_altered_ciphertext_is_refused() -> None:
    data = sealed_file(make_identity())
    sealed = bytearray(canonical.decode(data)["sealed"])
    sealed[-1] ^= 1
    with pytest.raises(PassphraseError):
        decode_key_file(reencode(data, sealed=bytes(sealed)), "correct horse")


# --- damaged files -------------------------------------------------------------


def test_sealed_file_whose_public_key_was_swapped() -> None:
    data = reencode(sealed_file(make_identity()), public=make_identity("other").public_key)
    with pytest.raises(KeyFileError, match="does not match"):
        decode_key_file(data, "correct horse")


@pytest.mark.parametrize(
    "changes",
    [
        {"format": "other-key"},
        {"format": None},
        {"version": 2},
        {"version": None},
        {"version": "1"},
        {"public": None},
        {"public": "not bytes"},
        {"seed": None},
        {"seed": 42},
        {"seed": bytes(31)},
        {"seed": bytes(33)},
        {"public": bytes(32)},
    ],
    ids=lambda changes: ",".join(f"{k}={v!r}"[:20] for k, v in changes.items()),
)
def test_damaged_plain_file(changes: dict[str, Any]) -> None:
    data = reencode(encode_key_file(make_identity()), **changes)
    with pytest.raises(KeyFileError):
        decode_key_file(data)


@pytest.mark.parametrize(
    "changes",
    [{"kdf": "scrypt"}, {"kdf": None}, {"salt": None}, {"opslimit": "1"}, {"memlimit": None}],
    ids=lambda changes: ",".join(f"{k}={v!r}" for k, v in changes.items()),
)
def test_damaged_sealed_file(changes: dict[str, Any]) -> None:
    data = reencode(sealed_file(make_identity()), **changes)
    with pytest.raises(KeyFileError):
        decode_key_file(data, "correct horse")


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00", b"not cbor at all", canonical.encode(["lndesk-key", 1]), canonical.encode({})],
)
def test_not_a_key_file(data: bytes) -> None:
    with pytest.raises(KeyFileError):
        decode_key_file(data)
    with pytest.raises(KeyFileError):
        is_sealed(data)


def test_truncated_key_file() -> None:
    data = encode_key_file(make_identity())
    for length in range(len(data)):
        with pytest.raises(KeyFileError):
            decode_key_file(data[:length])


def test_key_file_with_trailing_bytes() -> None:
    with pytest.raises(KeyFileError):
        decode_key_file(encode_key_file(make_identity()) + b"\x00")


def test_damage_message_has_a_hint() -> None:
    with pytest.raises(KeyFileError) as info:
        decode_key_file(b"garbage")
    assert "backup words" in info.value.hint


# --- on disk -------------------------------------------------------------------


def test_write_and_read(tmp_path: Path) -> None:
    identity = make_identity()
    path = tmp_path / "sub" / "identity.key"
    write_key_file(path, encode_key_file(identity))
    assert decode_key_file(read_key_file(path)).seed == identity.seed
    assert sorted(p.name for p in path.parent.iterdir()) == ["identity.key"]


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_key_file_mode_is_0600(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "identity.key"
    old = os.umask(umask)
    try:
        write_key_file(path, encode_key_file(make_identity()))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_write_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "identity.key"
    first = encode_key_file(make_identity("first"))
    write_key_file(path, first)
    with pytest.raises(IdentityExistsError) as info:
        write_key_file(path, encode_key_file(make_identity("second")))
    assert info.value.hint
    assert path.read_bytes() == first


def test_write_overwrites_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "identity.key"
    write_key_file(path, encode_key_file(make_identity("first")))
    second = encode_key_file(make_identity("second"))
    write_key_file(path, second, overwrite=True)
    assert path.read_bytes() == second
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_read_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_key_file(tmp_path / "absent.key")


def test_read_refuses_oversized_file(tmp_path: Path) -> None:
    path = tmp_path / "identity.key"
    path.write_bytes(b"\x00" * (MAX_KEY_FILE + 1))
    with pytest.raises(KeyFileError, match="too large"):
        read_key_file(path)
    path.write_bytes(b"\x00" * MAX_KEY_FILE)
    assert len(read_key_file(path)) == MAX_KEY_FILE


def test_read_directory_is_a_key_file_error(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError):
        read_key_file(tmp_path)


# --- atomic write --------------------------------------------------------------


def test_atomic_write_replaces_content_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "file.bin"
    atomic_write(path, b"old")
    atomic_write(path, b"new" * 10_000, mode=0o640)
    assert path.read_bytes() == b"new" * 10_000
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]


def test_failed_atomic_write_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "identity.key"
    old = encode_key_file(make_identity("old"))
    atomic_write(path, old)

    def failing_fsync(fd: int) -> None:
        raise OSError(5, "simulated I/O error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="simulated"):
        write_key_file(path, encode_key_file(make_identity("new")), overwrite=True)
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["identity.key"]


def test_failed_first_atomic_write_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "identity.key"

    def failing_fsync(fd: int) -> None:
        raise OSError(28, "simulated disk full")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="simulated"):
        write_key_file(path, encode_key_file(make_identity()))
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "changes",
    [
        {"salt": bytes(15)},
        {"salt": b""},
        {"opslimit": 0},
        {"memlimit": 0},
        {"sealed": bytes(10)},
    ],
    ids=["short-salt", "empty-salt", "opslimit-0", "memlimit-0", "short-ciphertext"],
)
def test_structurally_damaged_sealed_file_is_a_key_file_error(changes: dict[str, Any]) -> None:
    data = reencode(sealed_file(make_identity()), **changes)
    with pytest.raises(KeyFileError):
        decode_key_file(data, "correct horse")
