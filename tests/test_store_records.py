"""A batch's index items made in one pass are those made one by one."""

from __future__ import annotations

from store_helpers import make_chain, make_identity

from lndesk.payloads import parse_payload
from lndesk.store.index import PAYLOAD_ABSENT, PAYLOAD_INVALID, PAYLOAD_PRESENT
from lndesk.store.records import index_item, new_items


def test_new_items_are_the_index_items_one_by_one() -> None:
    """With a payload parsed already, one to parse here, one not valid, and none."""
    chain = make_chain(make_identity(3), 4)
    batch = [
        chain[0],
        chain[1],
        (chain[2][0], b"\xa1\x64text\x60"),  # a post with blank text: not valid
        (chain[3][0], None),
    ]
    parsed = {chain[0][0].id: parse_payload(*chain[0])}
    made = new_items(1_700_000_000_000, batch, parsed)
    assert made == [
        index_item(0, 1_700_000_000_000, entry, payload, parsed=parsed.get(entry.id))
        for entry, payload in batch
    ]
    states = [PAYLOAD_PRESENT, PAYLOAD_PRESENT, PAYLOAD_INVALID, PAYLOAD_ABSENT]
    assert [item.payload_state for item in made] == states
