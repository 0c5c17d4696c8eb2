"""The owner's circle for inbox quotas: one look-up agrees with the whole set."""

from __future__ import annotations

from store_helpers import make_entry, make_identity

from lndesk.content import Follow, Unfollow, encode_content
from lndesk.identity import Identity
from lndesk.store.learning import is_within_two_hops, within_two_hops
from lndesk.store.store import Store

PEOPLE = [make_identity(70 + n) for n in range(8)]


def follows(store: Store, who: Identity, *contents: Follow | Unfollow) -> None:
    prev = None
    items = []
    for seq, content in enumerate(contents, 1):
        entry, payload = make_entry(
            who, seq, prev, type=content.type, payload=encode_content(content)
        )
        items.append((entry.raw, payload))
        prev = entry.id
    store.ingest(who.public_key, items)


def test_one_look_up_agrees_with_the_two_hop_set(store: Store) -> None:
    me, a, b, c, d, e, f, g = PEOPLE
    follows(store, me, Follow(a.public_key), Follow(b.public_key), Unfollow(b.public_key))
    follows(
        store,
        a,
        Follow(c.public_key),
        Follow(me.public_key),
        Follow(d.public_key),
        Follow(g.public_key),
        Unfollow(g.public_key),  # no longer: g is not within two hops
    )
    follows(store, b, Follow(e.public_key))  # b is unfollowed: e is not within two hops
    follows(store, c, Follow(f.public_key))  # three hops away
    circle = within_two_hops(store, me.public_key)
    assert circle == {a.public_key, c.public_key, d.public_key}
    for person in PEOPLE:
        key = person.public_key
        assert is_within_two_hops(store, me.public_key, key) == (key in circle), person
    assert not is_within_two_hops(store, me.public_key, make_identity(99).public_key)
