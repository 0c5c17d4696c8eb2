"""One check of an entry reference: content (shares, replies, edits, tombstones, reading
lists) and the inbox catch-up and profile ``refs`` message accept exactly the same ones."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from lndesk import canonical
from lndesk.content import Share, parse_content
from lndesk.entry import MAX_SEQ, create_entry
from lndesk.entry_refs import Ref, parse_ref, ref_of
from lndesk.errors import ContentError, ProtocolError
from lndesk.identity import Identity
from lndesk.p2p.catchup import clean_refs, parse_refs

KEY = hashlib.sha256(b"author").digest()
ENTRY_ID = hashlib.sha256(b"entry").digest()

BAD = [
    None,
    b"",
    [],
    [KEY, 3],
    [KEY, 3, ENTRY_ID, 0],
    [KEY[:31], 3, ENTRY_ID],
    [KEY + b"\x00", 3, ENTRY_ID],
    ["key", 3, ENTRY_ID],
    [KEY, 0, ENTRY_ID],
    [KEY, -1, ENTRY_ID],
    [KEY, MAX_SEQ + 1, ENTRY_ID],
    [KEY, "3", ENTRY_ID],
    [KEY, True, ENTRY_ID],
    [KEY, 3, ENTRY_ID[:31]],
    [KEY, 3, ENTRY_ID + b"\x00"],
    [KEY, 3, None],
    {"author": KEY, "seq": 3, "id": ENTRY_ID},
]


@pytest.mark.parametrize("bad", BAD, ids=range(len(BAD)))
def test_a_bad_reference_is_refused_by_content_and_by_the_network(bad: Any) -> None:
    assert parse_ref(bad) is None
    with pytest.raises(ContentError, match="by its author, number and id"):
        parse_content("share", canonical.encode({"ref": bad}))
    with pytest.raises(ProtocolError, match=r"entry references \[author, seq, id\]"):
        parse_refs({"refs": [bad]})


@pytest.mark.parametrize("seq", [1, 3, MAX_SEQ])
def test_a_good_reference_is_taken_by_both(seq: int) -> None:
    value = [KEY, seq, ENTRY_ID]
    ref = parse_ref(value)
    assert ref == Ref(KEY, seq, ENTRY_ID) and ref.to_cbor() == value
    assert parse_content("share", canonical.encode({"ref": value})) == Share(
        Ref(KEY, seq, ENTRY_ID)
    )
    assert parse_refs({"refs": [value]}).refs == (Ref(KEY, seq, ENTRY_ID),)


def test_only_a_decoded_cbor_array_is_a_reference() -> None:
    """Decoded CBOR gives lists, bytes and ints: a tuple, bytearray or float is not one."""
    assert parse_ref((KEY, 3, ENTRY_ID)) is None
    assert parse_ref([bytearray(KEY), 3, ENTRY_ID]) is None
    assert parse_ref([KEY, 3.0, ENTRY_ID]) is None


def test_a_reference_names_its_entry_and_unpacks() -> None:
    identity = Identity.generate()
    entry = create_entry(identity, seq=1, prev=None, claimed_ms=1000, type="post", payload=b"\xa0")
    ref = ref_of(entry)
    author, seq, entry_id = ref
    assert (author, seq, entry_id) == (identity.public_key, 1, entry.id)
    assert ref.post_key == (identity.public_key, 1)


def test_a_server_sends_only_what_its_peer_accepts() -> None:
    """clean_refs, on what the store gave: bad references, the asker's own entries and a
    second reference to one entry are dropped, and no more than the limit is sent."""
    to = hashlib.sha256(b"asker").digest()
    good = [Ref(KEY, seq, ENTRY_ID) for seq in (1, 2, 3)]
    held = [
        good[0],
        Ref(KEY[:31], 1, ENTRY_ID),
        Ref(KEY, 0, ENTRY_ID),
        Ref(KEY, 2, ENTRY_ID[:31]),
        Ref(to, 4, ENTRY_ID),
        Ref(KEY, 1, hashlib.sha256(b"other").digest()),
        good[1],
        good[2],
    ]
    assert clean_refs(held, to, 10) == tuple(good)
    assert clean_refs(held, to, 2) == tuple(good[:2])
    assert parse_refs({"refs": [ref.to_cbor() for ref in clean_refs(held, to, 10)]}).refs
