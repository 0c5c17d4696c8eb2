"""Writing: posts, questions, replies, shares, edits and deletions of my own posts."""

from __future__ import annotations

from collections.abc import Sequence

from lndesk.app import pseudonyms
from lndesk.app.desk_items import PostItems
from lndesk.app.desk_publish import Publisher
from lndesk.content import Share, Tombstone
from lndesk.entry_refs import PostKey, ref_of
from lndesk.errors import ContentError


class Posting:
    """Publishes what I write; each action returns the seq of the entry it appended."""

    def __init__(self, publisher: Publisher, items: PostItems, own: bytes) -> None:
        self._publisher = publisher
        self._items = items
        self._own = own

    async def post(
        self,
        text: str,
        tags: Sequence[str] = (),
        links: Sequence[str] = (),
        *,
        question: bool = False,
    ) -> int:
        """Publish a post (a question if ``question``); ``@lnd1…`` keys in it are mentioned."""
        entry = await self._publisher.publish(
            lambda s: s.post(text, tags, links, question=question)
        )
        return entry.seq

    async def ask_as_pseudonym(
        self,
        name: str,
        text: str,
        tags: Sequence[str] = (),
        links: Sequence[str] = (),
        passphrase: str | None = None,
    ) -> tuple[int, str]:
        """Ask ``text`` as pseudonym ``name`` (made on first use, lndesk.app.pseudonyms):
        the seq of the question in the pseudonym's log and the pseudonym's share link."""
        found = await self._publisher.publish(
            lambda s: pseudonyms.ask(s, name, text, tags=tags, links=links, passphrase=passphrase)
        )
        identity, entry, _created = found
        return entry.seq, identity.share_link(name)

    async def reveal_pseudonym(self, name: str, passphrase: str | None = None) -> int:
        """Publish, as me, that pseudonym ``name`` is mine (lndesk.app.pseudonyms.reveal):
        the seq of the reveal in my log. It cannot be taken back."""
        _key, entry = await self._publisher.publish(
            lambda s: pseudonyms.reveal(s, name, passphrase)
        )
        return entry.seq

    async def reply(
        self,
        parent: PostKey,
        text: str,
        tags: Sequence[str] = (),
        links: Sequence[str] = (),
    ) -> int:
        target = self._items.find(parent)
        entry = await self._publisher.publish(lambda s: s.reply(target, text, tags, links))
        return entry.seq

    async def share(self, target: PostKey, comment: str = "") -> int:
        stored = self._items.find(target)
        entry = await self._publisher.publish(
            lambda s: s.publish(Share(ref_of(stored.entry), comment))
        )
        return entry.seq

    async def edit(
        self,
        post_key: PostKey,
        text: str,
        tags: Sequence[str] = (),
        links: Sequence[str] = (),
        *,
        question: bool = False,
    ) -> int:
        """Publish a new version of my post or reply ``post_key``."""
        target = self._items.find(post_key)
        entry = await self._publisher.publish(
            lambda s: s.edit(target, text, tags, links, question=question)
        )
        return entry.seq

    async def delete(self, target: PostKey) -> None:
        stored = self._items.find(target)
        if stored.entry.author != self._own:
            raise ContentError("you can only delete your own posts")
        await self._publisher.publish(lambda s: s.publish(Tombstone(ref_of(stored.entry))))
