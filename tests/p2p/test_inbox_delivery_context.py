"""Context fetching is bounded: references are deduplicated, not retried within
``RETRY_SECONDS``, never of blocked authors, and tried on a few peers in a set order."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import trio
from inbox_helpers import entry_ref, signed
from store_helpers import make_chain, make_identity

from lndesk.app.feeds import StoreFeeds
from lndesk.batch import check_batch, check_decoded
from lndesk.content import Post, Reply, Share
from lndesk.entry_refs import Ref, ref_of
from lndesk.p2p.fetch import FetchReport
from lndesk.p2p.inbox_delivery import FETCH_PEERS, InboxDelivery, context_refs
from lndesk.store.store import Store

ANN, BOB, CY, ME = (make_identity(n) for n in (81, 82, 83, 84))
POST = make_chain(ANN, 1)[0][0]
REPLY = signed(BOB, 1, None, Reply("a", ref_of(POST), ref_of(POST)))
SHARE = signed(CY, 1, None, Share(ref_of(POST)))


class FakeFetcher:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, list[Ref]]] = []

    async def fetch_from(self, peer: Any, refs: Sequence[Ref], **_options: Any) -> FetchReport:
        self.calls.append((peer, list(refs)))
        return FetchReport()


def test_context_refs_names_shared_entries_and_reply_parents_and_roots() -> None:
    deep = signed(CY, 2, SHARE[0].id, Reply("b", ref_of(POST), ref_of(REPLY[0])))
    post = signed(CY, 3, deep[0].id, Post("c"))
    items: list[tuple[bytes, bytes | None]] = [(e.raw, p) for e, p in (REPLY, SHARE, deep, post)]
    items += [(REPLY[0].raw, None), (deep[0].raw, b"\xff")]  # no payload, a bad payload
    assert context_refs(items) == [
        entry_ref(POST),
        entry_ref(POST),
        entry_ref(POST),
        entry_ref(REPLY[0]),
        entry_ref(POST),
    ]


async def test_references_are_fetched_once_in_order_and_never_of_blocked_authors(
    tmp_path: Path,
) -> None:
    blocked: set[bytes] = set()
    connected = [f"peer{n}" for n in range(FETCH_PEERS + 4)]
    with Store(tmp_path / "s") as store:
        feeds = StoreFeeds(store, ME.public_key, lambda: frozenset(blocked))
        fetcher = FakeFetcher()
        delivery = InboxDelivery(
            feeds,
            None,  # type: ignore[arg-type]  # no gossip is needed for context
            fetcher,  # type: ignore[arg-type]
            None,  # type: ignore[arg-type]
            emit=lambda _event: None,
            penalise=lambda _peer, _reason: None,
            is_penalised=lambda peer: peer == "peer1",
            key_of=lambda _peer: None,
            peer_of=lambda key: "ann-node" if key == ANN.public_key else "other",
            connected=lambda: [*connected, "ann-node"],
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(delivery.run)
            items = [(REPLY[0].raw, REPLY[1]), (REPLY[0].raw, REPLY[1])]
            delivery.note_stored("peer3", BOB.public_key, items)
            await delivery.wait_idle(5)
            peers = [peer for peer, _refs in fetcher.calls]
            # The delivering peer, the author's own node, then the others (not peer1,
            # which is penalised), FETCH_PEERS in all; one reference (parent = root).
            assert peers[:3] == ["peer3", "ann-node", "peer0"]
            assert "peer1" not in peers and len(peers) == FETCH_PEERS
            assert all(refs == [entry_ref(POST)] for _peer, refs in fetcher.calls)

            fetcher.calls.clear()
            delivery.note_stored("peer3", BOB.public_key, items)  # tried just now
            other = signed(BOB, 2, REPLY[0].id, Share(ref_of(SHARE[0])))
            blocked.add(CY.public_key)
            delivery.note_stored("peer3", BOB.public_key, [(other[0].raw, other[1])])
            await delivery.wait_idle(5)
            assert fetcher.calls == []
            nursery.cancel_scope.cancel()


def test_a_checked_batch_names_what_its_items_name() -> None:
    deep = signed(BOB, 2, REPLY[0].id, Share(ref_of(SHARE[0])))
    post = signed(BOB, 3, deep[0].id, Post("c"))
    items: list[tuple[bytes, bytes | None]] = [(e.raw, p) for e, p in (REPLY, deep, post)]
    checked = check_batch(BOB.public_key, items)
    assert checked.named == context_refs(items) == context_refs(list(checked))
    assert context_refs(checked) == [entry_ref(POST), entry_ref(POST), entry_ref(SHARE[0])]
    decoded = check_decoded(BOB.public_key, [(post[0], post[1])])
    assert context_refs(decoded) == [] == context_refs([(post[0].raw, post[1])])


async def test_a_checked_batch_s_references_are_fetched(tmp_path: Path) -> None:
    with Store(tmp_path / "s") as store:
        feeds = StoreFeeds(store, ME.public_key, frozenset)
        fetcher = FakeFetcher()
        delivery = InboxDelivery(
            feeds,
            None,  # type: ignore[arg-type]  # no gossip is needed for context
            fetcher,  # type: ignore[arg-type]
            None,  # type: ignore[arg-type]
            emit=lambda _event: None,
            penalise=lambda _peer, _reason: None,
            is_penalised=lambda _peer: False,
            key_of=lambda _peer: None,
            peer_of=lambda _key: "other",
            connected=lambda: ["peer0"],
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(delivery.run)
            posts = [(entry.raw, payload) for entry, payload in make_chain(BOB, 2)]
            delivery.note_stored("peer0", BOB.public_key, check_batch(BOB.public_key, posts))
            await delivery.wait_idle(5)
            assert fetcher.calls == []  # posts name nothing
            deep = signed(BOB, 2, REPLY[0].id, Share(ref_of(SHARE[0])))
            items = [(REPLY[0].raw, REPLY[1]), (deep[0].raw, deep[1])]
            delivery.note_stored("peer0", BOB.public_key, check_batch(BOB.public_key, items))
            await delivery.wait_idle(5)
            assert fetcher.calls == [("peer0", [entry_ref(POST), entry_ref(SHARE[0])])]
            nursery.cancel_scope.cancel()
