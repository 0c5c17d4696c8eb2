"""The inbox vectors of network.json (docs/protocol.md sections 28 and 29): inbox topics,
inbox notices with their message ids, catch-up frames, and inputs that must be rejected.

``inbox_doc`` returns the document stored under network.json's ``inbox`` key; it is
built from the same two feeds as every other vector (Ada and Ben), so Ben's reply to
Ada's lesson is addressed to Ada and Ada's share of Ben's post to Ben.
"""

from __future__ import annotations

import struct
from typing import Any

import cbor2
from vector_helpers import (
    SEED_ADA,
    SEED_BEN,
    SEED_RFC8032,
    SEED_ZERO,
    T0,
    Feed,
    flip_bit,
    h,
    to_desc,
    typed_input,
)

from lndesk import canonical
from lndesk.content import Post, Profile, Reply, Share, Unknown, encode_content
from lndesk.content_fields import MAX_MENTIONS
from lndesk.entry import Entry, create_entry
from lndesk.identity import Identity, blake2b_256
from lndesk.p2p.catchup import CATCHUP_PROTOCOL_ID, MAX_CATCHUP_FRAME, MAX_REFS
from lndesk.p2p.inbox_notice import INBOX_TOPIC_PREFIX, MAX_NOTICE_SIZE, inbox_topic
from lndesk.p2p.profiles import MAX_PROFILE_FRAME, PROFILE_PROTOCOL_ID

AddVector = Any


def first_of(feed: Feed, kind: type) -> tuple[Entry, bytes]:
    """The first entry of ``feed`` whose content is a ``kind``, with its payload."""
    entry, payload, _content = next(e for e in feed.entries if isinstance(e[2], kind))
    return entry, payload


def notice(to: bytes, entry: bytes, payload: bytes) -> bytes:
    return canonical.encode({"to": to, "entry": entry, "payload": payload})


def frame(doc: Any) -> bytes:
    body = canonical.encode(doc)
    return struct.pack(">I", len(body)) + body


def topics_json() -> list[dict[str, Any]]:
    out = []
    for seed in (SEED_ADA, SEED_BEN, SEED_ZERO, SEED_RFC8032):
        key = Identity(seed).public_key
        topic = inbox_topic(key)
        assert topic == INBOX_TOPIC_PREFIX + key.hex()
        out.append({"public_key": h(key), "topic": topic})
    return out


def not_topics(ada: Feed) -> list[dict[str, Any]]:
    key = ada.identity.public_key.hex()
    return [
        {"name": "upper-case hex", "topic": INBOX_TOPIC_PREFIX + key.upper()},
        {"name": "version 2 prefix", "topic": "lndesk/inbox/2/" + key},
        {"name": "leading slash", "topic": "/" + INBOX_TOPIC_PREFIX + key},
        {"name": "31-byte key", "topic": INBOX_TOPIC_PREFIX + key[:62]},
        {"name": "trailing slash", "topic": INBOX_TOPIC_PREFIX + key + "/"},
        {"name": "feed topic", "topic": "lndesk/feed/1/" + key},
    ]


def mention_of(ada: Feed, ben: Feed) -> tuple[Entry, bytes]:
    """A post by the RFC 8032 key mentioning Ada and Ben: addressed to both."""
    payload = encode_content(
        Post(
            "Ada and Ben: your lessons, side by side.",
            mentions=(ada.identity.public_key, ben.identity.public_key),
        )
    )
    assert MAX_MENTIONS >= 2
    entry = create_entry(
        Identity(SEED_RFC8032), seq=1, prev=None, claimed_ms=T0, type="post", payload=payload
    )
    return entry, payload


def notices_json(ada: Feed, ben: Feed) -> list[dict[str, Any]]:
    a, b = ada.identity.public_key, ben.identity.public_key
    reply, reply_payload = first_of(ben, Reply)
    share, share_payload = next(
        (e, p) for e, p, c in ada.entries if isinstance(c, Share) and c.ref.author == b
    )
    mention, mention_payload = mention_of(ada, ben)
    cases = [
        ("reply: Ben answers Ada's lesson", a, reply, reply_payload),
        ("share: Ada shares Ben's post", b, share, share_payload),
        ("mention: one post, to Ada's inbox", a, mention, mention_payload),
        ("mention: the same post, to Ben's inbox", b, mention, mention_payload),
    ]
    out = []
    for name, to, entry, payload in cases:
        out.append(
            {
                "name": name,
                "to": h(to),
                "entry": h(entry.raw),
                "payload": h(payload),
                "topic": inbox_topic(to),
                "message": h(notice(to, entry.raw, payload)),
                "message_id": h(b"\x01" + blake2b_256(to + blake2b_256(entry.raw))),
            }
        )
    return out


def frames_json(ada: Feed, ben: Feed) -> list[dict[str, Any]]:
    a = ada.identity.public_key
    reply = first_of(ben, Reply)[0]
    mention = mention_of(ada, ben)[0]
    refs = [[e.author, e.seq, e.id] for e in (reply, mention)]
    docs: list[tuple[str, dict[str, Any]]] = [
        ("ask: everything", {"t": "ask", "to": a, "since": 0, "limit": MAX_REFS}),
        ("ask: since a time, a few", {"t": "ask", "to": a, "since": T0, "limit": 20}),
        ("refs: two entries", {"t": "refs", "refs": refs}),
        ("refs: none", {"t": "refs", "refs": []}),
        ("error: busy", {"t": "error", "code": "busy", "message": "later"}),
    ]
    out = []
    for name, doc in docs:
        out.append({"name": name, "message": to_desc(doc), "frame": h(frame(doc))})
    return out


def notice_cases(add: AddVector, ada: Feed, ben: Feed) -> None:
    a, b = ada.identity.public_key, ben.identity.public_key
    reply, payload = first_of(ben, Reply)
    lesson, lesson_payload = first_of(ada, Post)
    own_reply, own_payload = first_of(ada, Reply)  # Ada answering her own lesson
    unknown, unknown_payload = first_of(ada, Unknown)
    good = {"to": a, "entry": reply.raw, "payload": payload}
    topic = inbox_topic(a)

    def bad(name: str, error: str, data: bytes, on: str | None = topic) -> None:
        add(name, "notice", error, input=h(data), topic=on)

    bad("over 16384 bytes", "SizeError", notice(a, reply.raw, bytes(MAX_NOTICE_SIZE)))
    bad("empty", "DecodeError", b"")
    unordered = {"payload": payload, "entry": reply.raw, "to": a}
    bad("keys out of order", "DecodeError", cbor2.dumps(unordered))
    bad("trailing bytes", "DecodeError", notice(a, reply.raw, payload) + b"\x00")
    bad("not a map", "DecodeError", canonical.encode([a, reply.raw, payload]))
    bad("no payload", "DecodeError", canonical.encode({"to": a, "entry": reply.raw}))
    bad("payload is null", "DecodeError", canonical.encode({**good, "payload": None}))
    bad("extra key", "DecodeError", canonical.encode({**good, "author": b}))
    bad("to of 31 bytes", "DecodeError", canonical.encode({**good, "to": a[:31]}), None)
    bad("entry of 513 bytes", "DecodeError", canonical.encode({**good, "entry": bytes(513)}))
    bad("entry is not an entry", "DecodeError", notice(a, b"\x89" + bytes(70), payload))
    bad(
        "sent on another person's inbox topic",
        "DecodeError",
        notice(a, reply.raw, payload),
        inbox_topic(b),
    )
    bad("addressed to its own author", "DecodeError", notice(b, reply.raw, payload), inbox_topic(b))
    bad("payload does not match", "PayloadError", notice(a, reply.raw, payload + b"\x00"))
    bad(
        "signature does not verify",
        "SignatureError",
        notice(a, flip_bit(reply.raw, len(reply.raw) - 1), payload),
    )
    bad(
        "a post that addresses no one",
        "ContentError",
        notice(b, lesson.raw, lesson_payload),
        inbox_topic(b),
    )
    bad(
        "a reply to one's own post",
        "ContentError",
        notice(b, own_reply.raw, own_payload),
        inbox_topic(b),
    )
    bad(
        "unknown content type (not penalised)",
        "ContentError",
        notice(b, unknown.raw, unknown_payload),
        inbox_topic(b),
    )


def profile_frames_json(ada: Feed) -> list[dict[str, Any]]:
    a = ada.identity.public_key
    profile = first_of(ada, Profile)[0]
    docs: list[tuple[str, dict[str, Any]]] = [
        ("profile: of a key", {"t": "profile", "of": a}),
        ("refs: the profile entry", {"t": "refs", "refs": [[a, profile.seq, profile.id]]}),
        ("refs: none held", {"t": "refs", "refs": []}),
        ("error: busy", {"t": "error", "code": "busy", "message": "later"}),
    ]
    return [{"name": name, "message": to_desc(doc), "frame": h(frame(doc))} for name, doc in docs]


def profile_frame_cases(add: AddVector, ada: Feed) -> None:
    a = ada.identity.public_key

    def bad(name: str, doc: Any) -> None:
        add(name, "profile-frame", "ProtocolError", input=h(frame(doc)))

    add(
        "length prefix over 1024 (body not sent)",
        "profile-frame",
        "ProtocolError",
        input=h(struct.pack(">I", MAX_PROFILE_FRAME + 1)),
    )
    bad("a catch-up ask", {"t": "ask", "to": a, "since": 0, "limit": 5})
    bad("profile: key of 31 bytes", {"t": "profile", "of": a[:31]})
    bad("profile: no key", {"t": "profile"})
    bad("profile: extra field", {"t": "profile", "of": a, "x": 1})
    bad("refs: two references", {"t": "refs", "refs": [[a, 1, bytes(32)], [a, 2, bytes(32)]]})
    bad("refs: seq 0", {"t": "refs", "refs": [[a, 0, bytes(32)]]})


def frame_cases(add: AddVector, ada: Feed) -> None:
    a = ada.identity.public_key

    def bad(name: str, doc: Any) -> None:
        add(name, "inbox-frame", "ProtocolError", input=h(frame(doc)))

    add(
        "length prefix over 65536 (body not sent)",
        "inbox-frame",
        "ProtocolError",
        input=h(struct.pack(">I", MAX_CATCHUP_FRAME + 1)),
    )
    add(
        "stream ends inside the body",
        "inbox-frame",
        "StreamGone",
        input=h(frame({"t": "refs", "refs": []})[:-1]),
    )
    bad("unknown message type", {"t": "want", "feeds": []})
    bad("ask: limit 0", {"t": "ask", "to": a, "since": 0, "limit": 0})
    bad("ask: limit over 500", {"t": "ask", "to": a, "since": 0, "limit": MAX_REFS + 1})
    bad("ask: negative since", {"t": "ask", "to": a, "since": -1, "limit": 5})
    bad("ask: since over 2^53-1", {"t": "ask", "to": a, "since": 2**53, "limit": 5})
    bad("ask: key of 31 bytes", {"t": "ask", "to": a[:31], "since": 0, "limit": 5})
    bad("ask: no limit", {"t": "ask", "to": a, "since": 0})
    bad("ask: extra field", {"t": "ask", "to": a, "since": 0, "limit": 5, "x": 1})
    bad("refs: item of two elements", {"t": "refs", "refs": [[a, 1]]})
    bad("refs: seq 0", {"t": "refs", "refs": [[a, 0, bytes(32)]]})
    bad("refs: id of 31 bytes", {"t": "refs", "refs": [[a, 1, bytes(31)]]})
    bad("refs: an entry twice", {"t": "refs", "refs": [[a, 1, bytes(32)], [a, 1, bytes(32)]]})
    bad("refs: 501 references", {"t": "refs", "refs": [[a, n, bytes(32)] for n in range(1, 502)]})


def inbox_doc(ada: Feed, ben: Feed) -> dict[str, Any]:
    vectors: list[dict[str, Any]] = []

    def add(name: str, decoder: str, error: str, **fields: Any) -> None:
        fields = typed_input(decoder, fields)
        vectors.append({"name": name, "decoder": decoder, "error": error, **fields})

    notice_cases(add, ada, ben)
    frame_cases(add, ada)
    profile_frame_cases(add, ada)
    return {
        "description": (
            "Inboxes (sections 28 to 30). 'topics': public key -> inbox topic. 'notices':"
            " inbox notices -> message bytes, topic and message id (01 || BLAKE2b-256(to ||"
            " entry id)). 'frames': inbox catch-up messages -> frames. 'negative': inputs"
            " that must be rejected: 'notice' decode and validate on 'topic' (null: none"
            " given); 'inbox-frame' read one catch-up frame from a stream holding exactly"
            " 'input'; 'profile-frame' the same for a profile lookup frame (section 31)."
            " 'profile_frames': profile lookup messages -> frames."
        ),
        "catchup_protocol": CATCHUP_PROTOCOL_ID,
        "profile_protocol": PROFILE_PROTOCOL_ID,
        "limits": {
            "max_notice": MAX_NOTICE_SIZE,
            "max_refs": MAX_REFS,
            "max_catchup_frame": MAX_CATCHUP_FRAME,
            "max_profile_frame": MAX_PROFILE_FRAME,
        },
        "topics": topics_json(),
        "not_topics": not_topics(ada),
        "notices": notices_json(ada, ben),
        "frames": frames_json(ada, ben),
        "profile_frames": profile_frames_json(ada),
        "negative": vectors,
    }
