"""Known-answer vectors of fork proofs ``/lndesk/forks/1`` (docs/protocol.md section 20.12).

Ada's feed forks at entry 3: her second branch signs a different entry 3 (same prev,
another text). ``frames`` gives each message's exact frame; ``proofs`` gives the pair a
server sends for that fork; ``negative`` the frames and proofs an asker MUST reject, each
with its decoder: ``forks-frame`` reads one frame from a stream holding exactly
``input``; ``fork-proof`` checks the pair ``first``/``second`` as an answer to a
``forks`` that asked about ``asked`` (section 20.12, "What the asker checks").
"""

from __future__ import annotations

import struct
from typing import Any

from vector_helpers import T0, Feed, flip_bit, h, to_desc, typed_input

from lndesk import canonical
from lndesk.content import Post, encode_content
from lndesk.entry import Entry, create_entry
from lndesk.p2p.forks import FORKS_PROTOCOL_ID, MAX_FEEDS, MAX_FORKS_FRAME, MAX_PROOFS

AddVector = Any


def frame(doc: Any) -> bytes:
    body = canonical.encode(doc)
    return struct.pack(">I", len(body)) + body


def other_branch(ada: Feed, seq: int) -> Entry:
    """A second, validly signed entry at ``seq`` of Ada's feed (the same prev)."""
    first = ada.entries[seq - 1][0]
    return create_entry(
        ada.identity,
        seq=seq,
        prev=first.prev,
        claimed_ms=T0 + 86_400_000,
        type="post",
        payload=encode_content(Post("written on a restored laptop")),
    )


def fork_pair(ada: Feed) -> tuple[bytes, bytes]:
    one, two = ada.entries[2][0], other_branch(ada, 3)
    low, high = sorted([one, two], key=lambda entry: entry.id)
    return low.raw, high.raw


def frames_json(ada: Feed, ben: Feed) -> list[dict[str, Any]]:
    a, b = ada.identity.public_key, ben.identity.public_key
    first, second = fork_pair(ada)
    docs: list[tuple[str, dict[str, Any]]] = [
        ("forks: two feeds", {"t": "forks", "feeds": [a, b]}),
        ("proofs: Ada forked at 3", {"t": "proofs", "proofs": [[first, second]]}),
        ("proofs: none", {"t": "proofs", "proofs": []}),
        ("error: busy", {"t": "error", "code": "busy", "message": "later"}),
    ]
    return [{"name": name, "message": to_desc(doc), "frame": h(frame(doc))} for name, doc in docs]


def frame_cases(add: AddVector, ada: Feed) -> None:
    a = ada.identity.public_key
    first, second = fork_pair(ada)

    def bad(name: str, doc: Any) -> None:
        add(name, "forks-frame", "ProtocolError", input=h(frame(doc)))

    add(
        f"length prefix over {MAX_FORKS_FRAME} (body not sent)",
        "forks-frame",
        "ProtocolError",
        input=h(struct.pack(">I", MAX_FORKS_FRAME + 1)),
    )
    add(
        "stream ends inside the body",
        "forks-frame",
        "StreamGone",
        input=h(frame({"t": "proofs", "proofs": []})[:-1]),
    )
    bad("unknown message type", {"t": "want", "feeds": []})
    bad("forks: no feed", {"t": "forks", "feeds": []})
    bad("forks: key of 31 bytes", {"t": "forks", "feeds": [a[:31]]})
    bad("forks: a feed twice", {"t": "forks", "feeds": [a, a]})
    bad("forks: extra field", {"t": "forks", "feeds": [a], "x": 1})
    bad(
        f"forks: {MAX_FEEDS + 1} feeds",
        {"t": "forks", "feeds": [n.to_bytes(32, "big") for n in range(MAX_FEEDS + 1)]},
    )
    bad("proofs: item of one entry", {"t": "proofs", "proofs": [[first]]})
    bad("proofs: entry of 513 bytes", {"t": "proofs", "proofs": [[first, bytes(513)]]})
    bad("proofs: entry not a byte string", {"t": "proofs", "proofs": [[first, 3]]})
    bad(
        f"proofs: {MAX_PROOFS + 1} proofs",
        {"t": "proofs", "proofs": [[first, second]] * (MAX_PROOFS + 1)},
    )


def proof_cases(add: AddVector, ada: Feed, ben: Feed) -> None:
    a, b = ada.identity.public_key, ben.identity.public_key
    first, second = fork_pair(ada)
    later = ada.entries[3][0].raw

    def bad(name: str, error: str, one: bytes, two: bytes, asked: list[bytes]) -> None:
        add(name, "fork-proof", error, first=h(one), second=h(two), asked=[h(k) for k in asked])

    bad("entries in the wrong order", "ProtocolError", second, first, [a])
    bad("the same entry twice", "ProtocolError", first, first, [a])
    bad("entries at two seqs", "ChainError", *sorted([first, later]), [a])
    bad("a feed that was not asked about", "ProtocolError", first, second, [b])
    forged = flip_bit(second, len(second) - 50)  # the signature's R: decodes, fails to verify
    bad("a signature that does not verify", "SignatureError", *_ordered(first, forged), [a])
    bad("an entry that does not decode", "DecodeError", first, second[:-1], [a])


def _ordered(one: bytes, two: bytes) -> tuple[bytes, bytes]:
    from lndesk.entry import decode_entry

    low, high = sorted([one, two], key=lambda raw: decode_entry(raw).id)
    return low, high


def forks_doc(ada: Feed, ben: Feed) -> dict[str, Any]:
    vectors: list[dict[str, Any]] = []

    def add(name: str, decoder: str, error: str, **fields: Any) -> None:
        fields = typed_input(decoder, fields)
        vectors.append({"name": name, "decoder": decoder, "error": error, **fields})

    frame_cases(add, ada)
    proof_cases(add, ada, ben)
    first, second = fork_pair(ada)
    return {
        "description": __doc__.split("\n\n", 1)[1].replace("\n", " ").strip(),
        "forks_protocol": FORKS_PROTOCOL_ID,
        "limits": {
            "max_feeds": MAX_FEEDS,
            "max_proofs": MAX_PROOFS,
            "max_forks_frame": MAX_FORKS_FRAME,
        },
        "frames": frames_json(ada, ben),
        "proof": {
            "feed": h(ada.identity.public_key),
            "seq": 3,
            "first": h(first),
            "second": h(second),
        },
        "negative": vectors,
    }
