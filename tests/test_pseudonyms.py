"""Pseudonyms in the core: names, where their keys live, and the reveal's proof
(docs/protocol.md 10.13)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lndesk import canonical
from lndesk.content import Reveal, encode_content, parse_content
from lndesk.errors import ContentError, UsageError
from lndesk.identity import Identity
from lndesk.keyfile import encode_key_file, write_key_file
from lndesk.pseudonyms import (
    PseudonymKeys,
    check_name,
    key_path,
    names_in,
    reveal_holds,
    reveal_message,
    reveal_proof,
)

ROOT = Path(__file__).resolve().parent.parent
MAIN = Identity(b"\x42" * 32)
PSEUDONYM = Identity(b"\x50" * 32)


def test_a_name_names_one_file_whatever_its_case(tmp_path: Path) -> None:
    assert key_path(tmp_path, "Curious-Fox") == tmp_path / "pseudonyms" / "curious-fox.key"
    assert check_name("a.b_c-9") == "a.b_c-9"
    for bad in ("", ".hidden", "../key", "a/b", "x" * 33, "with space", "é"):
        with pytest.raises(UsageError, match="cannot name a pseudonym"):
            check_name(bad)


def test_names_in_lists_only_key_files_of_valid_names(tmp_path: Path) -> None:
    assert names_in(tmp_path) == []
    folder = tmp_path / "pseudonyms"
    folder.mkdir()
    for name in ("fox.key", "owl.key", "notes.txt", ".x.key"):
        (folder / name).write_bytes(b"")
    assert names_in(tmp_path) == ["fox", "owl"]


def test_a_key_file_that_cannot_be_read_leaves_the_others_listed(tmp_path: Path) -> None:
    # A damaged file in the pseudonyms' folder (here a link to itself, which cannot even
    # be looked at) is left out, and the keys of the others are read: the node starts,
    # and every list that asks for my pseudonyms' keys is shown.
    folder = tmp_path / "pseudonyms"
    folder.mkdir()
    write_key_file(folder / "fox.key", encode_key_file(PSEUDONYM))
    (folder / "loop.key").symlink_to("loop.key")
    keys = PseudonymKeys(tmp_path)
    assert keys() == keys.current() == {PSEUDONYM.public_key}
    (folder / "loop.key").unlink()
    write_key_file(folder / "loop.key", encode_key_file(MAIN))
    assert keys.current() == {PSEUDONYM.public_key, MAIN.public_key}


def test_a_proof_counts_only_for_the_author_it_names() -> None:
    proof = reveal_proof(PSEUDONYM, MAIN.public_key)
    assert reveal_holds(MAIN.public_key, PSEUDONYM.public_key, proof)
    other = Identity(b"\x43" * 32).public_key
    assert not reveal_holds(other, PSEUDONYM.public_key, proof)
    # Without the pseudonym's signature, a main key cannot claim a pseudonym.
    forged = MAIN.sign(reveal_message(MAIN.public_key))
    assert not reveal_holds(MAIN.public_key, PSEUDONYM.public_key, forged)
    # A signature of the bare main key (no context) does not count either.
    bare = PSEUDONYM.sign(MAIN.public_key)
    assert not reveal_holds(MAIN.public_key, PSEUDONYM.public_key, bare)
    # Revealing oneself says nothing.
    own = reveal_proof(MAIN, MAIN.public_key)
    assert not reveal_holds(MAIN.public_key, MAIN.public_key, own)


def test_reveal_content_round_trip_and_bounds() -> None:
    proof = reveal_proof(PSEUDONYM, MAIN.public_key)
    payload = encode_content(Reveal(PSEUDONYM.public_key, proof))
    assert canonical.decode(payload) == {"key": PSEUDONYM.public_key, "proof": proof}
    assert parse_content("reveal", payload) == Reveal(PSEUDONYM.public_key, proof)
    for bad in (
        {"key": PSEUDONYM.public_key},
        {"proof": proof},
        {"key": PSEUDONYM.public_key[:31], "proof": proof},
        {"key": PSEUDONYM.public_key, "proof": proof[:63]},
        {"key": "text", "proof": proof},
    ):
        with pytest.raises(ContentError):
            parse_content("reveal", canonical.encode(bad))


def test_the_reveal_example_in_the_protocol_is_the_vector_byte_for_byte() -> None:
    doc = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    section = doc[doc.index("### 10.13 `reveal`") : doc.index("## 11. ")]
    shown = bytes.fromhex(re.sub(r"\s+", "", section.split("```")[1]))
    vectors = json.loads((ROOT / "tests" / "vectors" / "content.json").read_text())
    (vector,) = [v for v in vectors["vectors"] if v["name"] == "reveal"]
    assert shown == bytes.fromhex(vector["payload"])
    parsed = parse_content("reveal", shown)
    assert isinstance(parsed, Reveal)
    assert parsed.key == PSEUDONYM.public_key
    assert reveal_holds(MAIN.public_key, parsed.key, parsed.proof)
    context = bytes.fromhex(re.search(r"bytes `([0-9a-f]+)`", section).group(1))  # type: ignore[union-attr]
    assert reveal_message(b"") == context
