"""Known-answer vectors of thread fetch ``/lndesk/thread/1`` and ``/lndesk/thread/2``
(docs/protocol.md section 32.1).

``frames`` gives each message's exact frame and the ``version`` of the streams it is
sent on (a message of one version is refused on the other); the frames section 32.1
shows are among them. ``negative`` the frames an asker or a server MUST reject, each
with its decoder: ``thread-frame`` reads one frame from a stream of ``version``
holding exactly ``input``.
"""

from __future__ import annotations

import struct
from typing import Any

from vector_helpers import h, to_desc, typed_input

from lndesk import canonical
from lndesk.content import MAX_MARKS_PER_FETCH
from lndesk.p2p.frame_caps import MAX_THREAD_MARKS, MAX_THREAD_REPLIES
from lndesk.p2p.thread_frames import (
    MAX_THREAD_FRAME,
    THREAD_MARKS_PROTOCOL_ID,
    THREAD_PROTOCOL_ID,
)

AddVector = Any

ROOT = [bytes(range(32)), 7, bytes(range(32, 64))]
"""The root of section 32.1's vectors: [00 01 … 1f, 7, 20 21 … 3f]."""
REPLY = [bytes([0xAA]) * 32, 2, bytes([0xBB]) * 32]
HELD = bytes([0xCC]) * 32
"""The id of a mark the asker holds (version 2)."""
MARK = [bytes(range(32)), 9, bytes([0xDD]) * 32]
"""A mark by the root's author (version 2)."""


def frame(doc: Any) -> bytes:
    body = canonical.encode(doc)
    return struct.pack(">I", len(body)) + body


def frames_json() -> list[dict[str, Any]]:
    docs: list[tuple[str, int, dict[str, Any]]] = [
        ("thread: limit 100", 1, {"t": "thread", "root": ROOT, "limit": 100}),
        ("replies: total 3, one named", 1, {"t": "replies", "refs": [REPLY], "total": 3}),
        ("replies: none", 1, {"t": "replies", "refs": [], "total": 0}),
        ("error: busy", 1, {"t": "error", "code": "busy", "message": "later"}),
        (
            "thread: limit 100, one mark held",
            2,
            {"t": "thread", "root": ROOT, "limit": 100, "marks": [HELD]},
        ),
        (
            "replies: total 3, one named, one mark",
            2,
            {"t": "replies", "refs": [REPLY], "marks": [MARK], "total": 3},
        ),
        ("error: busy (version 2)", 2, {"t": "error", "code": "busy", "message": "later"}),
    ]
    return [
        {"name": name, "version": version, "message": to_desc(doc), "frame": h(frame(doc))}
        for name, version, doc in docs
    ]


def refs_of(count: int) -> list[list[Any]]:
    """``count`` distinct entry references."""
    return [[n.to_bytes(32, "big"), 1, n.to_bytes(32, "big")] for n in range(1, count + 1)]


def version_1_cases(add: AddVector) -> None:
    def bad(name: str, doc: Any) -> None:
        add(name, "ProtocolError", 1, input=h(frame(doc)))

    add(
        f"length prefix over {MAX_THREAD_FRAME} (body not sent)",
        "ProtocolError",
        1,
        input=h(struct.pack(">I", MAX_THREAD_FRAME + 1)),
    )
    add(
        "stream ends inside the body",
        "StreamGone",
        1,
        input=h(frame({"t": "replies", "refs": [], "total": 0})[:-1]),
    )
    bad("unknown message type", {"t": "want", "feeds": []})
    bad("thread: limit 0", {"t": "thread", "root": ROOT, "limit": 0})
    bad(
        f"thread: limit {MAX_THREAD_REPLIES + 1}",
        {"t": "thread", "root": ROOT, "limit": MAX_THREAD_REPLIES + 1},
    )
    bad("thread: root at seq 0", {"t": "thread", "root": [ROOT[0], 0, ROOT[2]], "limit": 1})
    bad("thread: marks on version 1", {"t": "thread", "root": ROOT, "limit": 1, "marks": []})
    bad("replies: total below the replies named", {"t": "replies", "refs": [REPLY], "total": 0})
    bad("replies: an entry named twice", {"t": "replies", "refs": [REPLY] * 2, "total": 2})
    bad("replies: negative total", {"t": "replies", "refs": [], "total": -1})
    bad("replies: total over 2^53-1", {"t": "replies", "refs": [], "total": 2**53})
    bad(
        f"replies: {MAX_THREAD_REPLIES + 1} named",
        {"t": "replies", "refs": refs_of(MAX_THREAD_REPLIES + 1), "total": 200},
    )


def version_2_cases(add: AddVector) -> None:
    def bad(name: str, doc: Any) -> None:
        add(name, "ProtocolError", 2, input=h(frame(doc)))

    bad("thread: no marks on version 2", {"t": "thread", "root": ROOT, "limit": 1})
    bad(
        f"thread: {MAX_MARKS_PER_FETCH + 1} marks held",
        {
            "t": "thread",
            "root": ROOT,
            "limit": 1,
            "marks": [r[2] for r in refs_of(MAX_MARKS_PER_FETCH + 1)],
        },
    )
    bad("thread: a mark id twice", {"t": "thread", "root": ROOT, "limit": 1, "marks": [HELD] * 2})
    bad(
        "thread: a mark id of 31 bytes",
        {"t": "thread", "root": ROOT, "limit": 1, "marks": [HELD[:31]]},
    )
    bad("replies: no marks on version 2", {"t": "replies", "refs": [], "total": 0})
    bad(
        f"replies: {MAX_THREAD_MARKS + 1} marks",
        {"t": "replies", "refs": [], "marks": refs_of(MAX_THREAD_MARKS + 1), "total": 0},
    )
    bad(
        "replies: an entry as a reply and as a mark",
        {"t": "replies", "refs": [REPLY], "marks": [REPLY], "total": 1},
    )


def threads_doc() -> dict[str, Any]:
    vectors: list[dict[str, Any]] = []

    def add(name: str, error: str, version: int, **fields: Any) -> None:
        fields = typed_input("thread-frame", fields)
        vector = {"name": name, "decoder": "thread-frame", "error": error, "version": version}
        vectors.append({**vector, **fields})

    version_1_cases(add)
    version_2_cases(add)
    return {
        "description": __doc__.split("\n\n", 1)[1].replace("\n", " ").strip(),
        "thread_protocol": THREAD_PROTOCOL_ID,
        "thread_marks_protocol": THREAD_MARKS_PROTOCOL_ID,
        "limits": {
            "max_thread_frame": MAX_THREAD_FRAME,
            "max_replies": MAX_THREAD_REPLIES,
            "max_asked_marks": MAX_MARKS_PER_FETCH,
            "max_marks": MAX_THREAD_MARKS,
        },
        "frames": frames_json(),
        "negative": vectors,
    }
