"""How lndesk names an entry of a feed.

* :class:`Ref`, ``(author, seq, id)``: a reference to one exact entry, as content
  (a reply's root and parent, a share, a tombstone, an edit, a reading list) and the
  inbox catch-up and profile protocols carry it: the CBOR array ``[author, seq, id]``
  (docs/protocol.md, section 10). The id pins the entry, so a reference never names
  another entry a forked author signed at the same seq.
* :data:`PostKey`, ``(author, seq)``: the author's public key and the entry's sequence
  number. It names an entry among those a node holds (a feed never holds two entries at
  one seq outside a fork proof), which is how the app, the UI and the index's views name
  posts, bookmarks and reading lists.

:func:`parse_ref` is the one check of a reference that came from outside; the content
parser and the network protocols each wrap its answer in their own error.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from lndesk.entry import HASH_SIZE, KEY_SIZE, MAX_SEQ, Entry

PostKey = tuple[bytes, int]
"""(author key, seq) of an entry: what names a post among those a node holds."""


class Ref(NamedTuple):
    """A reference to an entry: its author, sequence number and id (CBOR ``[author, seq, id]``).

    A tuple, so ``author, seq, entry_id = ref`` works; compare it only with other refs.
    """

    author: bytes
    seq: int
    id: bytes

    def to_cbor(self) -> list[Any]:
        return [self.author, self.seq, self.id]

    @property
    def post_key(self) -> PostKey:
        """``(author, seq)``: the entry it names among those a node holds."""
        return (self.author, self.seq)


def ref_of(entry: Entry) -> Ref:
    """A reference to ``entry``."""
    return Ref(entry.author, entry.seq, entry.id)


def parse_ref(value: object) -> Ref | None:
    """``value`` as a reference if it is exactly a valid one (a 3-element array: a 32-byte
    key, a seq from 1 to 2^53-1, a 32-byte id), else None."""
    if (
        type(value) is not list
        or len(value) != 3
        or type(value[0]) is not bytes
        or len(value[0]) != KEY_SIZE
        or type(value[1]) is not int
        or not 1 <= value[1] <= MAX_SEQ
        or type(value[2]) is not bytes
        or len(value[2]) != HASH_SIZE
    ):
        return None
    return Ref(value[0], value[1], value[2])
