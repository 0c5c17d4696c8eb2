"""The stateful vectors of sections 7 and 8: entries already stored of a feed, then one
received batch, then what a receiver must do with it (store it, count duplicates, keep a
fork proof, or reject it with an error class), and the feed's state afterwards.
``ingest_doc`` returns the document of ingest.json."""

from __future__ import annotations

from typing import Any

import cbor2
from vector_helpers import T0, Feed, assemble, fields8, h

from lndesk.content import Post, encode_content
from lndesk.entry import Entry, create_entry, decode_entry

Item = tuple[Entry, bytes | None]


def _items(run: list[Item]) -> list[list[str | None]]:
    return [[h(entry.raw), None if payload is None else h(payload)] for entry, payload in run]


def _post(feed: Feed, seq: int, prev: bytes | None, text: str) -> Item:
    payload = encode_content(Post(text))
    entry = create_entry(
        feed.identity, seq=seq, prev=prev, claimed_ms=T0 + seq, type="post", payload=payload
    )
    return entry, payload


def ingest_doc(ada: Feed, ben: Feed) -> dict[str, Any]:
    chain: list[Item] = [(entry, payload) for entry, payload, _ in ada.entries]

    def run(first: int, last: int) -> list[Item]:
        return chain[first - 1 : last]

    def signed_by_ben(seq: int, text: str) -> Item:
        """Ada's entry ``seq`` with other content, linking to her entry seq - 1, signed
        by Ben: the links hold, only the signature can tell it is not hers."""
        payload = encode_content(Post(text))
        fields = fields8(ada.identity, seq, chain[seq - 2][0].id, T0, "post", payload)
        return decode_entry(assemble(ben.identity, cbor2.dumps(fields))), payload

    # Another branch of Ada's feed from entry 3 on, validly signed by her: a fork.
    branch3 = _post(ada, 3, chain[1][0].id, "another entry 3")
    branch4 = _post(ada, 4, branch3[0].id, "another entry 4")
    # A validly signed entry 4 that links to entry 3, but is not the one entry 5 names.
    other4 = _post(ada, 4, chain[2][0].id, "another entry 4 after the real 3")
    # A validly signed run 3..4 whose first entry does not link to entry 2.
    loose3 = _post(ada, 3, b"\x01" * 32, "an entry 3 after no entry 2")
    loose4 = _post(ada, 4, loose3[0].id, "its successor")
    with_bad_payload = (chain[3][0], chain[4][1])

    vectors: list[dict[str, Any]] = []

    def case(
        name: str,
        stored: list[list[Item]],
        batch: list[Item],
        outcome: str,
        *,
        new: int = 0,
        duplicates: int = 0,
        height: int,
        max_seq: int,
        forked_at: int | None = None,
    ) -> None:
        vectors.append(
            {
                "name": name,
                "stored": [_items(part) for part in stored],
                "batch": _items(batch),
                "outcome": outcome,
                "new": new,
                "duplicates": duplicates,
                "height": height,
                "max_seq": max_seq,
                "forked_at": forked_at,
            }
        )

    case(
        "nothing stored: a run anchored by its last signature",
        [],
        run(1, 3),
        "stored",
        new=3,
        height=3,
        max_seq=3,
    )
    case(
        "a run that links to the stored prefix",
        [run(1, 2)],
        run(3, 5),
        "stored",
        new=3,
        height=5,
        max_seq=5,
    )
    case(
        "a run without payloads",
        [run(1, 2)],
        [(e, None) for e, _ in run(3, 4)],
        "stored",
        new=2,
        height=4,
        max_seq=4,
    )
    case(
        "the stored run again: duplicates, not an error",
        [run(1, 3)],
        run(1, 3),
        "stored",
        duplicates=3,
        height=3,
        max_seq=3,
    )
    case(
        "a run starting at a stored entry",
        [run(1, 2)],
        run(2, 4),
        "stored",
        new=2,
        duplicates=1,
        height=4,
        max_seq=4,
    )
    case(
        "a run starting at a stored entry and ending in a forgery: its last signature is"
        " checked (being stored vouches only for the stored entry itself)",
        [run(1, 2)],
        [*run(2, 3), signed_by_ben(4, "forged")],
        "SignatureError",
        height=2,
        max_seq=2,
    )
    case(
        "a run ending in a forgery, nothing stored",
        [],
        [*run(1, 2), signed_by_ben(3, "x")],
        "SignatureError",
        height=0,
        max_seq=0,
    )
    case(
        "a run ending at a stored entry is anchored by it",
        [run(1, 4)],
        run(3, 4),
        "stored",
        duplicates=2,
        height=4,
        max_seq=4,
    )
    case(
        "above a gap: stored, the height stays at the gap",
        [run(1, 2)],
        run(5, 6),
        "stored",
        new=2,
        height=2,
        max_seq=6,
    )
    case(
        "filling a gap up to a stored successor that names the last entry",
        [run(1, 2), run(5, 6)],
        run(3, 4),
        "stored",
        new=2,
        height=6,
        max_seq=6,
    )
    case(
        "filling a gap with a validly signed entry that the stored successor does not name",
        [run(1, 2), run(5, 6)],
        [chain[2], other4],
        "ChainError",
        height=2,
        max_seq=6,
    )
    case(
        "a run whose first entry does not link to the stored entry before it",
        [run(1, 2)],
        [loose3, loose4],
        "ChainError",
        height=2,
        max_seq=2,
    )
    case(
        "links are checked before the last signature: a broken run ending in a forgery",
        [run(1, 2)],
        [chain[2], signed_by_ben(5, "forged")],
        "ChainError",
        height=2,
        max_seq=2,
    )
    case(
        "a run with a gap (entries 3 and 5)",
        [run(1, 2)],
        [chain[2], chain[4]],
        "ChainError",
        height=2,
        max_seq=2,
    )
    case(
        "a run of another author than the feed",
        [],
        [(e, p) for e, p, _ in ben.entries],
        "ChainError",
        height=0,
        max_seq=0,
    )
    case(
        "a payload that does not match its entry",
        [run(1, 3)],
        [with_bad_payload],
        "PayloadError",
        height=3,
        max_seq=3,
    )
    case(
        "a validly signed other entry at a stored seq: a fork, kept as proof, feed frozen",
        [run(1, 3)],
        [branch3, branch4],
        "fork",
        height=3,
        max_seq=3,
        forked_at=3,
    )
    case(
        "an other entry at a stored seq with a bad signature: no fork, rejected",
        [run(1, 3)],
        [signed_by_ben(3, "not Ada's")],
        "SignatureError",
        height=3,
        max_seq=3,
    )
    case(
        "a fork below the end of a run is found whatever the rest holds",
        [run(1, 4)],
        [chain[1], branch3, branch4],
        "fork",
        height=4,
        max_seq=4,
        forked_at=3,
    )
    case(
        "any batch of a frozen feed",
        [run(1, 3), [branch3]],
        run(4, 5),
        "ForkedFeedError",
        height=3,
        max_seq=3,
        forked_at=3,
    )
    return {
        "suite": "ingest",
        "description": (
            "What a receiver does with a batch of one feed (sections 7 and 8), given what "
            "it holds: 'stored' are the batches stored first, in order, each accepted; "
            "'batch' is then received as one batch of the feed of its entries (items "
            "[entry, payload or null]); 'outcome' is 'stored' (accepted: 'new' entries "
            "stored, 'duplicates' already held), 'fork' (a fork proof kept, the feed frozen "
            "at 'forked_at', nothing of the batch stored) or the error class it is "
            "rejected with (nothing stored). 'height', 'max_seq' and 'forked_at' are the "
            "feed's state afterwards: the contiguous height, the highest seq held, the "
            "frozen seq or null. The feed is Ada's of entries.json."
        ),
        "feed": h(ada.identity.public_key),
        "vectors": vectors,
    }
