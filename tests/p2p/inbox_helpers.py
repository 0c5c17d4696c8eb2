"""Helpers for the inbox, catch-up and fetch tests: addressed entries, and a reference
answer to "which stored entries are addressed to this key?"."""

from __future__ import annotations

from lndesk.content import Content, addressed_keys, encode_content, parse_content
from lndesk.entry import Entry, create_entry, decode_entry
from lndesk.entry_refs import Ref
from lndesk.identity import Identity
from lndesk.store.store import Store

BASE_MS = 1_700_000_000_000


def signed(
    identity: Identity,
    seq: int,
    prev: bytes | None,
    content: Content,
    claimed_ms: int | None = None,
) -> tuple[Entry, bytes]:
    """One signed entry of ``identity`` with ``content``, and its payload."""
    payload = encode_content(content)
    entry = create_entry(
        identity,
        seq=seq,
        prev=prev,
        claimed_ms=BASE_MS + seq * 1000 if claimed_ms is None else claimed_ms,
        type=content.type,
        payload=payload,
    )
    return entry, payload


def reference_addressed_to(
    store: Store, key: bytes, *, since_ms: int = 0, limit: int = 500
) -> list[Ref]:
    """Every stored entry addressed to ``key`` (protocol 10.10) claimed at ``since_ms`` or
    later, newest first, at most ``limit``: slow, by reading every payload."""
    found: list[tuple[int, bytes, int, bytes]] = []
    for state in store.feeds():
        if state.key == key:
            continue
        for raw, payload in store.feed_items(state.key):
            entry = decode_entry(raw)
            if payload is None or entry.claimed_ms < since_ms:
                continue
            try:
                content = parse_content(entry.type, payload)
            except Exception:
                continue
            if key in addressed_keys(content, entry.author):
                found.append((entry.claimed_ms, entry.author, entry.seq, entry.id))
    found.sort(key=lambda item: (item[0], item[1], item[2]), reverse=True)
    return [(author, seq, entry_id) for _ms, author, seq, entry_id in found[:limit]]


def entry_ref(entry: Entry) -> Ref:
    return (entry.author, entry.seq, entry.id)


def held_ids(store: Store, key: bytes) -> set[bytes]:
    return {decode_entry(raw).id for raw, _payload in store.feed_items(key)}
