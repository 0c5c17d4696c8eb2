"""The network vectors: sync frames, an example sync session, DHT keys and peer IDs, and
network inputs that must be rejected. ``network_doc`` returns the document of
network.json, with the head announcements of announcement_vectors.py and the inbox, fork
proof and thread vectors of their own modules.

Frames are written from explicit messages here, not by running a node; the test checks
that the implementation's encoders give exactly these bytes and that its sync server and
client, run against the example session, send exactly its frames.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from typing import Any

import cbor2
from announcement_vectors import announcement_cases, announcements_json, not_topics, odd_message_ids
from fork_vectors import forks_doc
from inbox_vectors import inbox_doc
from thread_vectors import threads_doc
from vector_helpers import (
    SEED_ADA,
    SEED_BEN,
    SEED_RFC8032,
    SEED_ZERO,
    Feed,
    h,
    oversized_entry,
    to_desc,
    typed_input,
)

from lndesk import canonical
from lndesk.identity import Identity
from lndesk.p2p.announce import MAX_ANNOUNCEMENT_SIZE, TOPIC_PREFIX, feed_topic
from lndesk.p2p.config import NodeConfig
from lndesk.p2p.dht import FEED_KEY_DOMAIN, feed_dht_key
from lndesk.p2p.host import peer_id_of
from lndesk.p2p.wire import PROTOCOL_ID

# The example session uses small batches and a small window so that it shows them.
SESSION_LIMITS = {"batch_entries": 3, "window": 2}


def frame(doc: dict[str, Any]) -> bytes:
    """A sync frame: 4-byte big-endian length, then the map's deterministic CBOR."""
    body = canonical.encode(doc)
    return struct.pack(">I", len(body)) + body


def raw_frame(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


def items(feed: Feed, first: int, last: int, absent: frozenset[int] = frozenset()) -> list[Any]:
    """[entry, payload] pairs of ``feed`` first..last, payloads of ``absent`` seqs null."""
    return [
        [entry.raw, None if entry.seq in absent else payload]
        for entry, payload, _ in feed.entries[first - 1 : last]
    ]


# --- identities, topics, DHT keys ------------------------------------------------


def identities_json() -> list[dict[str, Any]]:
    out = []
    for name, seed in [
        ("bytes 0..31", SEED_ADA),
        ("32 bytes of 0x42", SEED_BEN),
        ("32 zero bytes", SEED_ZERO),
        ("RFC 8032 section 7.1 test 1 secret key", SEED_RFC8032),
    ]:
        key = Identity(seed).public_key
        peer = peer_id_of(key)
        topic = feed_topic(key)
        assert topic == TOPIC_PREFIX + key.hex()
        dht = feed_dht_key(key)
        assert dht[2:] == hashlib.sha256(FEED_KEY_DOMAIN + key).digest()
        out.append(
            {
                "name": name,
                "seed": h(seed),
                "public_key": h(key),
                "peer_id": peer.to_base58(),
                "peer_id_bytes": h(peer.to_bytes()),
                "topic": topic,
                "dht_key": h(dht),
            }
        )
    return out


# --- sync frames ---------------------------------------------------------------------


def frames_json(ada: Feed, ben: Feed) -> list[dict[str, Any]]:
    a, b = ada.identity.public_key, ben.identity.public_key
    docs: list[tuple[str, dict[str, Any]]] = [
        ("want: two feeds, one not held at all", {"t": "want", "feeds": [[a, 0], [b, 2]]}),
        ("want: one feed", {"t": "want", "feeds": [[a, 5]]}),
        ("have: two feeds, complete", {"t": "have", "feeds": [[a, 8, 8], [b, 2, 2]]}),
        ("have: a gap below the newest entries", {"t": "have", "feeds": [[a, 3, 8]]}),
        ("have: none of the wanted feeds", {"t": "have", "feeds": []}),
        ("get: a range", {"t": "get", "feed": a, "first": 1, "last": 8}),
        ("get: one entry", {"t": "get", "feed": a, "first": 4, "last": 4}),
        (
            "batch: entries 1 to 3 with payloads",
            {"t": "batch", "feed": a, "items": items(ada, 1, 3)},
        ),
        (
            "batch: entries 4 to 6, payload of 4 absent",
            {"t": "batch", "feed": a, "items": items(ada, 4, 6, frozenset({4}))},
        ),
        ("batch: one entry of another feed", {"t": "batch", "feed": b, "items": items(ben, 1, 1)}),
        ("ack", {"t": "ack", "height": 3}),
        ("ack: height 0", {"t": "ack", "height": 0}),
        ("ack: largest height", {"t": "ack", "height": 2**53 - 1}),
        ("done", {"t": "done"}),
        ("error: busy", {"t": "error", "code": "busy", "message": "too many sync sessions"}),
        ("error: empty message", {"t": "error", "code": "bad-request", "message": ""}),
        ("digest", {"t": "digest", "vector": height_digest([(a, 8), (b, 2)])}),
        ("same", {"t": "same"}),
        ("differs", {"t": "differs"}),
    ]
    return [{"name": name, "message": to_desc(doc), "frame": h(frame(doc))} for name, doc in docs]


def session_json(ada: Feed) -> dict[str, Any]:
    """The example session of docs/protocol.md: a reader holding nothing of Ada's feed
    fetches it oldest first from a server holding entries 1 to 8 (payload 4 absent)."""
    a = ada.identity.public_key
    absent = frozenset({4})
    steps: list[tuple[str, dict[str, Any]]] = [
        ("reader", {"t": "want", "feeds": [[a, 0]]}),
        ("server", {"t": "have", "feeds": [[a, 8, 8]]}),
        ("reader", {"t": "get", "feed": a, "first": 1, "last": 8}),
        ("server", {"t": "batch", "feed": a, "items": items(ada, 1, 3, absent)}),
        ("server", {"t": "batch", "feed": a, "items": items(ada, 4, 6, absent)}),
        ("reader", {"t": "ack", "height": 3}),
        ("server", {"t": "batch", "feed": a, "items": items(ada, 7, 8, absent)}),
        ("server", {"t": "done"}),
        ("reader", {"t": "ack", "height": 6}),
        ("reader", {"t": "ack", "height": 8}),
    ]
    return {
        "description": (
            "Oldest-first sync of Ada's feed with batch_entries 3 and window 2 (other limits"
            " at their defaults). The server holds entries 1 to 8, entry 4 without its"
            " payload; the reader holds nothing and closes the stream after the last ack."
            " Frames are listed in one possible order of arrival."
        ),
        "limits": SESSION_LIMITS,
        "feed": h(a),
        "held": [
            {"entry": h(e), "payload": None if p is None else h(p)}
            for e, p in items(ada, 1, 8, absent)
        ],
        "steps": [
            {"sender": sender, "message": to_desc(doc), "frame": h(frame(doc))}
            for sender, doc in steps
        ],
    }


PIPELINED_LIMITS = {"batch_entries": 3, "request_entries": 3, "pipeline_window": 2}


def pipelined_session_json(ada: Feed) -> dict[str, Any]:
    """The pipelined example of docs/protocol.md section 20.14: the session of
    ``session_json`` on ``/lndesk/sync/2``, the reader asking three ranges at once."""
    a = ada.identity.public_key
    absent = frozenset({4})
    steps: list[tuple[str, dict[str, Any]]] = [
        ("reader", {"t": "want", "feeds": [[a, 0]]}),
        ("server", {"t": "have", "feeds": [[a, 8, 8]]}),
        ("reader", {"t": "get", "feed": a, "first": 1, "last": 3}),
        ("reader", {"t": "get", "feed": a, "first": 4, "last": 6}),
        ("reader", {"t": "get", "feed": a, "first": 7, "last": 8}),
        ("server", {"t": "batch", "feed": a, "items": items(ada, 1, 3, absent)}),
        ("server", {"t": "done"}),
        ("server", {"t": "batch", "feed": a, "items": items(ada, 4, 6, absent)}),
        ("reader", {"t": "ack", "height": 3}),
        ("server", {"t": "done"}),
        ("server", {"t": "batch", "feed": a, "items": items(ada, 7, 8, absent)}),
        ("reader", {"t": "ack", "height": 6}),
        ("server", {"t": "done"}),
        ("reader", {"t": "ack", "height": 8}),
    ]
    return {
        "description": (
            "The example session on /lndesk/sync/2, with batch_entries 3, request_entries 3"
            " and pipeline_window 2 (other limits at their defaults): the reader sends its"
            " three gets at once; the server answers them in order, waiting for an ack"
            " while two batches are unacknowledged. Frames are listed in one possible"
            " order of arrival."
        ),
        "sync_protocol": "/lndesk/sync/2",
        "limits": PIPELINED_LIMITS,
        "feed": h(a),
        "held": [
            {"entry": h(e), "payload": None if p is None else h(p)}
            for e, p in items(ada, 1, 8, absent)
        ],
        "steps": [
            {"sender": sender, "message": to_desc(doc), "frame": h(frame(doc))}
            for sender, doc in steps
        ],
    }


def height_digest(pairs: list[tuple[bytes, int]]) -> bytes:
    """Section 20.15: BLAKE2b-256, personalised "lndesk-heights" (zero-padded to 16
    bytes), of the records key (32 bytes) || height (u64 big-endian) sorted by key."""
    records = b"".join(key + struct.pack(">Q", height) for key, height in sorted(pairs))
    return hashlib.blake2b(records, digest_size=32, person=b"lndesk-heights").digest()


def height_digests_json(ada: Feed, ben: Feed) -> list[dict[str, Any]]:
    a, b = ada.identity.public_key, ben.identity.public_key
    cases: list[tuple[str, list[tuple[bytes, int]]]] = [
        ("no feeds", []),
        ("one feed not held", [(a, 0)]),
        ("two feeds, listed out of key order", sorted([(a, 8), (b, 2)], reverse=True)),
        ("largest height", [(a, 2**53 - 1)]),
    ]
    return [
        {
            "name": name,
            "heights": [[h(key), height] for key, height in pairs],
            "records": h(b"".join(k + struct.pack(">Q", n) for k, n in sorted(pairs))),
            "digest": h(height_digest(pairs)),
        }
        for name, pairs in cases
    ]


def digest_session_json(ada: Feed) -> dict[str, Any]:
    """Section 20.15: on ``/lndesk/sync/3``, a reader that ended its last session with
    Ada at 8 asks again; the server holds 8 of Ada, and answers ``same``."""
    a = ada.identity.public_key
    steps: list[tuple[str, dict[str, Any]]] = [
        ("reader", {"t": "digest", "vector": height_digest([(a, 8)])}),
        ("server", {"t": "same"}),
    ]
    return {
        "description": (
            "A round on /lndesk/sync/3 in which nothing changed: the reader ended its last"
            " session with the server at height 8 of 'feed' and holds the same now; the"
            " server holds 1..8 of it, remembers that vector for this reader, and answers"
            " same. The reader then closes the stream."
        ),
        "sync_protocol": "/lndesk/sync/3",
        "feed": h(a),
        "steps": [
            {"sender": sender, "message": to_desc(doc), "frame": h(frame(doc))}
            for sender, doc in steps
        ],
    }


# --- negative vectors ----------------------------------------------------------------------

AddNetVector = Callable[..., None]


def frame_cases(add: AddNetVector, ada: Feed, ben: Feed) -> None:
    a = ada.identity.public_key
    entry1, payload1 = ada.entries[0][0].raw, ada.entries[0][1]

    def bad(name: str, body: bytes, error: str = "ProtocolError") -> None:
        add(name, "frame", error, input=h(raw_frame(body)))

    def bad_doc(name: str, doc: Any) -> None:
        # Deterministic CBOR (keys sorted, shortest forms), so that the one fault the
        # name gives is the only one; cbor2 also writes what lndesk cannot (floats).
        bad(name, cbor2.dumps(doc, canonical=True))

    max_frame = NodeConfig().limits.max_frame
    add(
        "length prefix over max_frame (body not sent)",
        "frame",
        "ProtocolError",
        input=h(struct.pack(">I", max_frame + 1)),
    )
    add("stream ends inside the length prefix", "frame", "StreamGone", input="0000")
    add(
        "stream ends inside the body",
        "frame",
        "StreamGone",
        input=h(raw_frame(canonical.encode({"t": "ack", "height": 3}))[:-1]),
    )
    bad("empty body", b"")
    bad("body is not CBOR", b"\xff")
    bad("body has trailing bytes", canonical.encode({"t": "done"}) + b"\x00")
    bad("map keys out of order", bytes.fromhex("a2 66 686569676874 03 61 74 63 61636b"))
    bad("non-shortest integer", bytes.fromhex("a2 61 74 63 61636b 66 686569676874 18 03"))
    bad("indefinite-length map", bytes.fromhex("bf 61 74 64 64 6f 6e 65 ff"))
    bad_doc("ack height is a float", {"t": "ack", "height": 3.0})
    bad_doc("body is an array", ["done"])
    bad_doc("body is a text string", "done")
    bad_doc("no t", {"height": 3})
    bad_doc("t is not text", {"t": 1})
    bad_doc("unknown message type", {"t": "hello"})
    bad_doc("message type in upper case", {"t": "DONE"})
    bad_doc("done with an extra field", {"t": "done", "x": 1})
    bad_doc("digest of 31 bytes", {"t": "digest", "vector": bytes(31)})
    bad_doc("digest vector is text", {"t": "digest", "vector": "00" * 32})
    bad_doc("same with an extra field", {"t": "same", "x": 1})
    bad_doc("get without last", {"t": "get", "feed": a, "first": 1})
    bad_doc("ack without height", {"t": "ack"})
    bad_doc("want: feeds is a map", {"t": "want", "feeds": {"a": 1}})
    bad_doc("want: item is not a pair", {"t": "want", "feeds": [[a]]})
    bad_doc("want: key of 31 bytes", {"t": "want", "feeds": [[a[:31], 0]]})
    bad_doc("want: key as text", {"t": "want", "feeds": [[a.hex(), 0]]})
    bad_doc("want: negative height", {"t": "want", "feeds": [[a, -1]]})
    bad_doc("want: height over 2^53-1", {"t": "want", "feeds": [[a, 2**53]]})
    bad_doc("want: height is a bool", {"t": "want", "feeds": [[a, True]]})
    bad_doc("have: item of two elements", {"t": "have", "feeds": [[a, 3]]})
    bad_doc("have: max_seq below height", {"t": "have", "feeds": [[a, 3, 2]]})
    bad_doc("want: a feed named twice", {"t": "want", "feeds": [[a, 0], [a, 1]]})
    bad_doc("have: a feed named twice", {"t": "have", "feeds": [[a, 3, 3], [a, 3, 4]]})
    bad_doc("get: first is 0", {"t": "get", "feed": a, "first": 0, "last": 3})
    bad_doc("get: last below first", {"t": "get", "feed": a, "first": 4, "last": 3})
    bad_doc("get: last over 2^53-1", {"t": "get", "feed": a, "first": 1, "last": 2**53})
    bad_doc("get: feed of 33 bytes", {"t": "get", "feed": a + b"\x00", "first": 1, "last": 3})
    bad_doc("batch: no items", {"t": "batch", "feed": a, "items": []})
    bad_doc(
        "batch: item of three elements",
        {"t": "batch", "feed": a, "items": [[entry1, payload1, None]]},
    )
    bad_doc("batch: entry as text", {"t": "batch", "feed": a, "items": [[entry1.hex(), None]]})
    bad_doc("batch: entry of 513 bytes", {"t": "batch", "feed": a, "items": [[bytes(513), None]]})
    bad_doc("batch: payload is an integer", {"t": "batch", "feed": a, "items": [[entry1, 0]]})
    bad_doc(
        "batch: payload of 65537 bytes",
        {"t": "batch", "feed": a, "items": [[entry1, bytes(65537)]]},
    )
    bad_doc("batch: feed missing", {"t": "batch", "items": [[entry1, payload1]]})
    bad_doc("ack: negative height", {"t": "ack", "height": -1})
    bad_doc("error: code is not text", {"t": "error", "code": 1, "message": ""})
    bad_doc(
        "error: message over 1000 characters", {"t": "error", "code": "busy", "message": "x" * 1001}
    )
    bad_doc("error: no message", {"t": "error", "code": "busy"})
    # Caps checked before decoding (section 20.8): each is also malformed otherwise,
    # since every well-formed message of these types is within its caps.
    bad(
        "want: feeds claims 2^31-1 items, 64 bytes follow",
        bytes.fromhex("a2 61 74 64 77616e74 65 6665656473 9a 7fffffff") + b"\x80" * 64,
    )
    bad_doc("done padded past its 256-byte cap", {"t": "done", "x": "a" * 300})
    bad_doc(
        "get holding more than 32 data items", {"t": "get", "feed": [0] * 40, "first": 1, "last": 1}
    )


def batch_cases(add: AddNetVector, ada: Feed, ben: Feed) -> None:
    """Frames that decode, but whose batch does not authenticate (nothing stored)."""
    a = ada.identity.public_key

    def bad(name: str, error: str, pairs: list[Any], feed: bytes = a) -> None:
        add(name, "batch", error, input=h(frame({"t": "batch", "feed": feed, "items": pairs})))

    run = items(ada, 1, 3)
    last = run[-1][0]
    forged = last[:-1] + bytes([last[-1] ^ 1])
    bad("last entry's signature does not verify", "SignatureError", [*run[:2], [forged, run[2][1]]])
    bad("entries do not link (1 then 3)", "ChainError", [run[0], run[2]])
    bad("entries in descending order", "ChainError", [run[1], run[0]])
    bad("entry of another author than the batch's feed", "ChainError", items(ben, 1, 1))
    bad("payload does not match its entry", "PayloadError", [[run[0][0], run[1][1]]])
    bad("entry is not an entry", "DecodeError", [[b"\x89" + bytes(70), None]])
    bad("entry with its signature cut off", "DecodeError", [[run[0][0][:-1], None]])
    big = oversized_entry(ada)
    bad("entry commits to a payload of 65537 bytes", "SizeError", [[big, None]])


def negative_json(ada: Feed, ben: Feed) -> tuple[list[dict[str, Any]], dict[str, int]]:
    vectors: list[dict[str, Any]] = []

    def add(name: str, decoder: str, error: str, **fields: Any) -> None:
        fields = typed_input(decoder, fields)
        vectors.append({"name": name, "decoder": decoder, "error": error, **fields})

    frame_cases(add, ada, ben)
    batch_cases(add, ada, ben)
    announcement_cases(add, ada, ben)
    counts: dict[str, int] = {}
    for vector in vectors:
        counts[vector["decoder"]] = counts.get(vector["decoder"], 0) + 1
    return vectors, counts


def network_doc(ada: Feed, ben: Feed) -> dict[str, Any]:
    limits = NodeConfig().limits
    negative, counts = negative_json(ada, ben)
    return {
        "suite": "network",
        "description": (
            "The network protocols. 'identities': public key -> libp2p peer ID (text and"
            " bytes), gossip topic, DHT provider key. 'frames': sync messages -> frames"
            " (4-byte big-endian length || deterministic CBOR map). 'session': an example"
            " sync session; 'pipelined_session' one on /lndesk/sync/2. 'height_digests': height"
            " vectors -> their sorted records and digest (section 20.15); 'digest_session'"
            " a round on /lndesk/sync/3 that ends at same. 'announcements': head"
            " announcements -> message bytes and"
            " message id. 'message_ids': ids of data that is not an announcement"
            " (0x00 || BLAKE2b-256 of at most 8193 bytes). 'not_topics': topic names that"
            " stand for no feed. 'negative': inputs that must be rejected: 'frame' read one"
            " frame from a stream holding exactly 'input' (max_frame at its default);"
            " 'batch' read the frame, then authenticate its items as one run of 'feed'"
            " with nothing stored; 'announcement' decode and verify, with 'topic' (null:"
            " none given)."
        ),
        "sync_protocol": PROTOCOL_ID,
        "limits": {
            "max_frame": limits.max_frame,
            "batch_entries": limits.batch_entries,
            "batch_bytes": limits.batch_bytes,
            "request_entries": limits.request_entries,
            "want_feeds": limits.want_feeds,
            "window": limits.window,
            "streams_per_peer": limits.streams_per_peer,
            "session_timeout": limits.session_timeout,
            "gossip_payload": limits.gossip_payload,
            "max_announcement": MAX_ANNOUNCEMENT_SIZE,
            "penalty_seconds": NodeConfig().penalty_seconds,
        },
        "identities": identities_json(),
        "frames": frames_json(ada, ben),
        "session": session_json(ada),
        "pipelined_session": pipelined_session_json(ada),
        "height_digests": height_digests_json(ada, ben),
        "digest_session": digest_session_json(ada),
        "announcements": announcements_json(ada, ben),
        "message_ids": odd_message_ids(),
        "not_topics": not_topics(ada),
        "counts": counts,
        "negative": negative,
        "inbox": inbox_doc(ada, ben),
        "forks": forks_doc(ada, ben),
        "threads": threads_doc(),
    }
