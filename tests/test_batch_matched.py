"""A gossiped head's payload, checked against its entry on arrival, is not hashed again
when the entry is stored, and no other payload gets through for it (lndesk.batch)."""

from __future__ import annotations

import pytest
from store_helpers import make_entry, make_identity

from lndesk import identity
from lndesk.batch import check_decoded
from lndesk.entry import Entry
from lndesk.errors import PayloadError
from lndesk.p2p.announce import decode_announcement, encode_announcement, feed_topic
from lndesk.store.store import Store

BOB = make_identity(2)
KEY = BOB.public_key


def arrived(text: str = "entry 1") -> tuple[Entry, bytes]:
    """A head and its payload as the gossip validator hands them on (both checked)."""
    entry, payload = make_entry(BOB, 1, None, text=text)
    head = decode_announcement(encode_announcement(entry.raw, payload), topic=feed_topic(KEY))
    assert head.payload is not None
    return head.entry, head.payload


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """What lndesk.entry hashes from now on."""
    calls: list[bytes] = []
    real = identity.blake2b_256

    def counted(data: bytes) -> bytes:
        calls.append(data)
        return real(data)

    monkeypatch.setattr("lndesk.entry.blake2b_256", counted)
    return calls


def test_the_payload_checked_on_arrival_is_not_hashed_again(
    store: Store, hashed: list[bytes]
) -> None:
    entry, payload = arrived()
    hashed.clear()
    assert store.ingest(KEY, check_decoded(KEY, [(entry, payload)])).stored == 1
    assert hashed == []


def test_another_payload_than_the_one_checked_on_arrival_is_refused() -> None:
    entry, payload = arrived("entry 1")
    _, other = make_entry(BOB, 1, None, text="entry 2")  # as long, not the same
    assert len(other) == len(payload) and other != payload

    with pytest.raises(PayloadError, match="does not match"):
        check_decoded(KEY, [(entry, other)])


def test_an_equal_copy_of_the_checked_payload_is_checked_again(hashed: list[bytes]) -> None:
    entry, payload = arrived()
    copy = bytes(bytearray(payload))
    assert copy == payload and copy is not payload
    hashed.clear()

    check_decoded(KEY, [(entry, copy)])

    assert hashed == [copy]


def test_a_bytearray_changed_after_its_check_is_refused() -> None:
    entry, payload = make_entry(BOB, 1, None)
    changing = bytearray(payload)
    entry.check_payload(changing)  # type: ignore[arg-type]  # a caller's mistake
    changing[-1] ^= 0x01

    with pytest.raises(PayloadError, match="does not match"):
        check_decoded(KEY, [(entry, changing)])  # type: ignore[list-item]
