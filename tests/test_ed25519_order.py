"""The Ed25519 group order of protocol section 5.1, and the negative vector that shows a
malleated signature (S + L) is rejected for exactly one reason: S is not below L."""

from __future__ import annotations

import re
from pathlib import Path

import nacl.bindings
import nacl.signing
import pytest
from vector_reading import input_of, load

from lndesk import errors
from lndesk.entry import decode_entry
from lndesk.identity import Identity

# RFC 8032 section 5.1: the order of the base point.
L = 2**252 + 27742317777372353535851937790883648493
SEED_ADA = bytes(range(32))
SPEC = Path(__file__).resolve().parents[1] / "docs" / "protocol.md"
MALLEATED = "bad signature: S + L (non-canonical S, a malleated copy of a valid signature)"


def _reduce(value: int) -> int:
    """``value`` mod the group order, computed by libsodium (not by our constant)."""
    wide = value.to_bytes(64, "little")
    return int.from_bytes(nacl.bindings.crypto_core_ed25519_scalar_reduce(wide), "little")


def test_order_is_the_group_order() -> None:
    assert _reduce(L) == 0
    assert _reduce(L - 1) == L - 1
    assert _reduce(L + 5) == 5


def test_spec_states_the_order() -> None:
    (stated,) = re.findall(r"L = 2\^252 \+ (\d+)", SPEC.read_text(encoding="utf-8"))
    assert 2**252 + int(stated) == L


def test_generator_uses_the_order() -> None:
    text = (Path(__file__).parent / "vectors" / "vector_helpers.py").read_text(encoding="utf-8")
    (stated,) = re.findall(r"ED25519_L = 2\*\*252 \+ (\d+)", text)
    assert 2**252 + int(stated) == L


def test_s_plus_l_vector_is_a_malleated_valid_signature() -> None:
    (vector,) = [v for v in load("negative.json")["vectors"] if v["name"] == MALLEATED]
    assert vector["error"] == "SignatureError"
    entry = decode_entry(input_of(vector))
    ada = Identity(SEED_ADA)
    assert entry.author == ada.public_key
    honest = ada.sign(entry.signed_message())
    # The same R, and an S that differs by exactly L: [S']B = [S]B, so the cofactorless
    # equation of section 5.1 holds for the malleated copy as it does for the honest one.
    assert entry.signature[:32] == honest[:32]
    s_honest = int.from_bytes(honest[32:], "little")
    s_malleated = int.from_bytes(entry.signature[32:], "little")
    assert s_honest < L <= s_malleated
    assert s_malleated == s_honest + L
    assert _reduce(s_malleated) == s_honest
    nacl.signing.VerifyKey(entry.author).verify(entry.signed_message(), honest)
    # So the only rule it breaks is S < L, and lndesk rejects it.
    with pytest.raises(errors.SignatureError):
        entry.verify_signature()
