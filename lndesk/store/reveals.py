"""Pseudonyms revealed by their owners (docs/protocol.md 10.13): whose a key is shown as.

The ``reveals`` table holds every counting reveal the index has seen: its proof was
checked when it was indexed (:func:`lndesk.pseudonyms.reveal_holds`), and a tombstone does
not remove it. Entries arrive in any order, so whether a reveal is *shown* is decided
here, when asked, from every row held:

* a pseudonym is shown as its revealer's only when exactly one author holds a counting
  reveal of it: a key that signed proofs for two people is nobody's pseudonym;
* a key that published a counting reveal itself is a main identity, never shown as
  someone else's pseudonym (so attribution is one step, never a chain).

Nothing here follows anyone: a reveal names who wrote what is already held.
"""

from __future__ import annotations

from lndesk.store.reading import StoreReader
from lndesk.store.shown import feed_id

MAX_LISTED = 100
"""Most pseudonyms listed for one person (anyone may reveal as many keys as they make)."""


def revealer(store: StoreReader, key: bytes) -> bytes | None:
    """The main identity ``key`` is shown as a pseudonym of, or None."""
    rows = store.index.conn.execute(
        "SELECT DISTINCT f.key FROM reveals r JOIN feeds f ON f.feed = r.feed "
        "WHERE r.key = ? LIMIT 2",
        (key,),
    ).fetchall()
    if len(rows) != 1:
        return None  # not revealed, or claimed by two people with proofs from the key
    if _reveals_any(store, key):
        return None  # a main identity, whoever claims it
    return bytes(rows[0][0])


def revealed_by(store: StoreReader, author: bytes, limit: int = MAX_LISTED) -> list[bytes]:
    """The pseudonyms ``author`` revealed that are shown as theirs (at most ``limit``,
    by key)."""
    author_feed = feed_id(store, author)
    if author_feed < 0:
        return []
    rows = store.index.conn.execute(
        "SELECT DISTINCT key FROM reveals WHERE feed = ? ORDER BY key LIMIT ?",
        (author_feed, 4 * limit),  # a few claimed by others too do not hide the rest
    )
    found: list[bytes] = []
    for (key,) in rows:
        if len(found) >= limit:
            break
        if revealer(store, bytes(key)) == author:
            found.append(bytes(key))
    return found


def _reveals_any(store: StoreReader, key: bytes) -> bool:
    own_feed = feed_id(store, key)
    if own_feed < 0:
        return False
    row = store.index.conn.execute("SELECT 1 FROM reveals WHERE feed = ? LIMIT 1", (own_feed,))
    return row.fetchone() is not None
