"""Known-answer vectors of anti-entropy visits ``/lndesk/visit/1`` (docs/protocol.md
section 20.16).

``refs_digests`` gives sets of entry references (``[author, seq, id]``) and their
digest, ``frames`` each
message's exact frame (the frames section 20.16 shows are among them), and
``negative`` the frames a reader or a server MUST reject, each with its decoder:
``visit-frame`` reads one frame from a stream holding exactly ``input``.
"""

from __future__ import annotations

import struct
from typing import Any

from vector_helpers import h, to_desc, typed_input

from lndesk import canonical
from lndesk.entry_refs import Ref
from lndesk.p2p.digest import vector_digest
from lndesk.p2p.frame_caps import MAX_FORKED, MAX_REFS, MAX_VISIT_INBOXES
from lndesk.p2p.visit_frames import MAX_VISIT_FRAME, VISIT_PROTOCOL_ID, refs_digest

AddVector = Any

ADA = bytes(range(32))
"""The inbox key and the feed of section 20.16's example: 00 01 … 1f."""
BEN = bytes(range(32, 64))
REPLY = [bytes([0xAA]) * 32, 2, bytes([0xBB]) * 32]
MENTION = [bytes([0xCC]) * 32, 7, bytes([0xDD]) * 32]
HEIGHTS = vector_digest([(ADA, 8)])
"""The digest of section 20.15's example vector, ``[[ada, 8]]``."""


def frame(doc: Any) -> bytes:
    body = canonical.encode(doc)
    return struct.pack(">I", len(body)) + body


def digest_of(refs: list[list[Any]]) -> bytes:
    return refs_digest(Ref(*ref) for ref in refs)


def refs_digests_json() -> list[dict[str, Any]]:
    sets = [("none", []), ("one reply", [REPLY]), ("a mention and a reply", [MENTION, REPLY])]
    out = [
        {"name": name, "refs": [[h(a), n, h(i)] for a, n, i in refs], "digest": h(digest_of(refs))}
        for name, refs in sets
    ]
    reordered = digest_of([REPLY, MENTION])
    assert reordered == digest_of([MENTION, REPLY])  # a set: the order does not count
    return out


def frames_json() -> list[dict[str, Any]]:
    seen = digest_of([REPLY])
    docs: list[tuple[str, dict[str, Any]]] = [
        (
            "visit: heights, one inbox",
            {"t": "visit", "heights": HEIGHTS, "inbox": [[ADA, 0, seen]]},
        ),
        ("visit: heights, no inbox", {"t": "visit", "heights": HEIGHTS, "inbox": []}),
        (
            "visited: nothing changed",
            {"t": "visited", "heights": True, "inbox": [None], "forked": []},
        ),
        (
            "visited: more to serve, a new mention, a fork",
            {"t": "visited", "heights": False, "inbox": [[MENTION, REPLY]], "forked": [BEN]},
        ),
        (
            "visited: the vector is not known",
            {"t": "visited", "heights": False, "inbox": [], "forked": None},
        ),
        ("error: busy", {"t": "error", "code": "busy", "message": "later"}),
    ]
    return [{"name": name, "message": to_desc(doc), "frame": h(frame(doc))} for name, doc in docs]


def refs_of(count: int) -> list[list[Any]]:
    """``count`` distinct entry references."""
    return [[n.to_bytes(32, "big"), 1, n.to_bytes(32, "big")] for n in range(1, count + 1)]


def negative_cases(add: AddVector) -> None:
    def bad(name: str, doc: Any) -> None:
        add(name, "ProtocolError", input=h(frame(doc)))

    seen = digest_of([])
    add(
        f"length prefix over {MAX_VISIT_FRAME} (body not sent)",
        "ProtocolError",
        input=h(struct.pack(">I", MAX_VISIT_FRAME + 1)),
    )
    add(
        "stream ends inside the body",
        "StreamGone",
        input=h(frame({"t": "visit", "heights": HEIGHTS, "inbox": []})[:-1]),
    )
    bad("unknown message type", {"t": "digest", "vector": HEIGHTS})
    bad("visit: heights of 31 bytes", {"t": "visit", "heights": HEIGHTS[:31], "inbox": []})
    bad("visit: no inbox field", {"t": "visit", "heights": HEIGHTS})
    bad(
        f"visit: {MAX_VISIT_INBOXES + 1} inbox keys",
        {
            "t": "visit",
            "heights": HEIGHTS,
            "inbox": [[r[0], 0, seen] for r in refs_of(MAX_VISIT_INBOXES + 1)],
        },
    )
    bad(
        "visit: an inbox key twice",
        {"t": "visit", "heights": HEIGHTS, "inbox": [[ADA, 0, seen], [ADA, 5, seen]]},
    )
    bad(
        "visit: since over 2^53-1",
        {"t": "visit", "heights": HEIGHTS, "inbox": [[ADA, 2**53, seen]]},
    )
    bad(
        "visit: an inbox item of two fields",
        {"t": "visit", "heights": HEIGHTS, "inbox": [[ADA, 0]]},
    )
    bad("visited: heights 1", {"t": "visited", "heights": 1, "inbox": [], "forked": []})
    bad(
        "visited: heights true, vector not known",
        {"t": "visited", "heights": True, "inbox": [], "forked": None},
    )
    bad(
        "visited: an entry named twice",
        {"t": "visited", "heights": False, "inbox": [[REPLY, REPLY]], "forked": []},
    )
    bad(
        f"visited: {MAX_REFS + 1} references for one key",
        {"t": "visited", "heights": False, "inbox": [refs_of(MAX_REFS + 1)], "forked": []},
    )
    bad(
        f"visited: {MAX_FORKED + 1} forked feeds",
        {
            "t": "visited",
            "heights": False,
            "inbox": [],
            "forked": [r[0] for r in refs_of(MAX_FORKED + 1)],
        },
    )
    bad(
        "visited: a forked feed twice",
        {"t": "visited", "heights": False, "inbox": [], "forked": [BEN, BEN]},
    )
    bad(
        "visited: a forked feed of 31 bytes",
        {"t": "visited", "heights": False, "inbox": [], "forked": [BEN[:31]]},
    )


def visits_doc() -> dict[str, Any]:
    vectors: list[dict[str, Any]] = []

    def add(name: str, error: str, **fields: Any) -> None:
        fields = typed_input("visit-frame", fields)
        vectors.append({"name": name, "decoder": "visit-frame", "error": error, **fields})

    negative_cases(add)
    return {
        "description": __doc__.split("\n\n", 1)[1].replace("\n", " ").strip(),
        "visit_protocol": VISIT_PROTOCOL_ID,
        "limits": {
            "max_visit_frame": MAX_VISIT_FRAME,
            "max_visit_inboxes": MAX_VISIT_INBOXES,
            "max_forked": MAX_FORKED,
            "max_refs": MAX_REFS,
        },
        "refs_digests": refs_digests_json(),
        "frames": frames_json(),
        "negative": vectors,
    }
