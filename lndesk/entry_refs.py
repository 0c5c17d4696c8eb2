"""How lndesk names an entry of a feed.

* :data:`PostKey`, ``(author, seq)``: the author's public key and the entry's sequence
  number. It names an entry among those a node holds (a feed never holds two entries at
  one seq outside a fork proof), which is how the app, the UI and the index's views name
  posts, bookmarks and reading lists.
"""

from __future__ import annotations

PostKey = tuple[bytes, int]
"""(author key, seq) of an entry: what names a post among those a node holds."""
