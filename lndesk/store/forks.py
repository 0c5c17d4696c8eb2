"""Fork proofs received from peers, and the proof this store can show others (§8, §20.12).

A node that detected a fork holds two validly signed entries of one author at one seq:
the entry of its feed and the fork proof record (log record kind 2), or two fork proof
records. :func:`fork_pair` reads such a pair back so that the node can serve it;
:func:`record_fork` keeps a pair a peer sent, after checking it here again, so that a
follower that never saw either branch freezes the feed too.
"""

from __future__ import annotations

import logging

from lndesk.entry import Entry, decode_entry
from lndesk.errors import ChainError
from lndesk.keytext import short_key
from lndesk.store.store import Store

logger = logging.getLogger(__name__)


def check_fork(author: bytes, first: Entry, second: Entry) -> int:
    """The seq at which ``first`` and ``second`` prove that ``author`` forked the feed.

    Raises ChainError unless both are ``author``'s, at one seq, with different ids, and
    SignatureError unless both signatures verify.
    """
    if first.author != author or second.author != author:
        raise ChainError("a fork proof holds an entry of another author")
    if first.seq != second.seq:
        raise ChainError(f"a fork proof's entries are at {first.seq} and {second.seq}")
    if first.id == second.id:
        raise ChainError("a fork proof holds the same entry twice")
    first.verify_signature()
    second.verify_signature()
    return first.seq


def record_fork(store: Store, author: bytes, first: bytes, second: bytes) -> int:
    """Keep the two entries as proof that ``author`` forked the feed; returns the seq.

    Entries already held at that seq (in the feed, or as proofs) are not kept twice.
    Raises an EntryError (nothing is kept) unless the two prove a fork.
    """
    entries = [decode_entry(first), decode_entry(second)]
    seq = check_fork(author, *entries)
    held = {entry_id for at, entry_id, _ in store.index.fork_proofs(author) if at == seq}
    chain = store.index.stored_ids(author, seq, seq)
    if seq in chain:
        held.add(chain[seq][0])
    new = [entry for entry in entries if entry.id not in held]
    if new:
        store.keep_fork_proofs(new)
        logger.warning(
            "the feed %s is forked at entry %d (proof from a peer)", short_key(author), seq
        )
    return seq


def fork_pair(store: Store, author: bytes) -> tuple[bytes, bytes] | None:
    """Two entries of ``author`` at the lowest forked seq, ordered by id (None: no fork)."""
    proofs = store.index.fork_proofs(author)
    if not proofs:
        return None
    seq = proofs[0][0]
    offsets = {entry_id: offset for at, entry_id, offset in proofs if at == seq}
    chain = store.index.stored_ids(author, seq, seq)
    if seq in chain:
        offsets.setdefault(chain[seq][0], chain[seq][1])
    if len(offsets) < 2:
        return None
    (_, low), (_, high) = sorted(offsets.items())[:2]
    return store.log.read(low).entry, store.log.read(high).entry
