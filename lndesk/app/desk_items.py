"""Stored entries as the items a window shows: counts, marks, quoted posts, list entries.

Every list of the desk (timeline, threads, bookmarks, search results, reading lists)
turns stored entries into :class:`~lndesk.app.items.PostItem` here, so a post looks the
same wherever it appears.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from lndesk.app.desk_naming import Naming
from lndesk.app.desk_threads import ThreadCounts, thread_counts
from lndesk.app.items import ListEntry, PostItem, Quoted, post_item, quoted_of, text_of
from lndesk.app.local import LocalState
from lndesk.content import ReadingList, Reply, Share
from lndesk.entry_refs import PostKey, Ref, ref_of
from lndesk.errors import UsageError
from lndesk.names import display_name
from lndesk.store import views
from lndesk.store.helpful import answered, helpful_answers
from lndesk.store.reading import StoredEntry, StoreReader
from lndesk.store.threads import is_question

READ_MARK = "read_mark_ms"
"""The local setting below which every post counts as read."""

NO_COUNTS = ThreadCounts(0, 0)
"""The thread counts of a post that is not a question (its card shows none)."""


def _quoted_ref(content: object) -> Ref | None:
    """The post a share points at or a reply answers (None: neither)."""
    if isinstance(content, Share):
        return content.ref
    if isinstance(content, Reply):
        return content.parent
    return None


_Names = tuple[str | None, str, str, bytes]
"""(the name given an author here or None, their own beside it, a revealed pseudonym's
attribution, their avatar): :meth:`PostItems._names`."""


@dataclass(frozen=True, slots=True)
class _PageMarks:
    """What every item of one call asks of the local state, read once per call: whether
    it is unread, bookmarked, followed, and how many peers hold it if it is mine."""

    own: bytes
    unread: Callable[[bytes, int], bool]
    holders: list[int]
    following: set[bytes]
    bookmarked: set[PostKey]

    def is_unread(self, author: bytes, claimed_ms: int) -> bool:
        return author != self.own and self.unread(author, claimed_ms)

    def seen_by(self, author: bytes, seq: int) -> int:
        return sum(1 for h in self.holders if h >= seq) if author == self.own else 0


class PostItems:
    """Builds post items from stored entries for one identity (``own``).

    It reads the index through the store's read side (``StoreReader``), not through
    :class:`~lndesk.app.service.Service`: these are bounded lookups (a page's rows, their
    counts and versions) with no invariant for the service to keep, done once per page
    rather than once per row; the read-only type keeps every write on the service.
    """

    def __init__(
        self,
        reader: StoreReader,
        local: LocalState,
        naming: Naming,
        own: bytes,
        pseudonyms: Callable[[], frozenset[bytes]] = frozenset,
    ):
        """``pseudonyms`` gives the keys of my pseudonyms (answers to their questions are
        answers to mine)."""
        self._reader = reader
        self._local = local
        self._naming = naming
        self._own = own
        self._pseudonyms = pseudonyms

    def find(self, post_key: PostKey) -> StoredEntry:
        """The stored post ``post_key``; a clear error if it is not (or no longer) stored."""
        found = views.load_keys(self._reader, [post_key])
        if not found or found[0].deleted:
            raise UsageError("that post is no longer stored here")
        return found[0]

    def following(self) -> set[bytes]:
        """Whose posts count as followed: mine and those of everyone I follow."""
        return {self._own, *self._reader.following(self._own)}

    def items(self, stored: Sequence[StoredEntry]) -> list[PostItem]:
        """The items of ``stored``. What every row asks (who is followed or blocked, the
        bookmarks, an author's avatar, the posts shares and replies point at and their
        current versions) is read once per call, not once per row: this runs on the node
        thread, and while it holds the GIL the GUI thread waits."""
        marks = self._page_marks()
        edits = views.current_versions(self._reader, stored)
        quoted = self._quoted_all([entry.content for entry in stored], marks.following)
        names: dict[bytes, _Names] = {}
        items = []
        for entry in stored:
            e = entry.entry
            content = entry.content
            if e.author not in names:
                names[e.author] = self._names(e.author, entry.author_name)
            given, chosen, attributed, avatar = names[e.author]
            items.append(
                post_item(
                    entry,
                    self._own,
                    reply_count=views.reply_count(self._reader, e.id),
                    unread=marks.is_unread(e.author, e.claimed_ms),
                    bookmarked=(e.author, e.seq) in marks.bookmarked,
                    seen_by=marks.seen_by(e.author, e.seq),
                    quoted=quoted.get(_quoted_ref(content) or Ref(b"", -1, b"")),
                    avatar=avatar,
                    edit=edits.get((e.author, e.seq)),
                    list_items=self._list_entries(content),
                    followed=e.author in marks.following,
                    nickname=given,
                    chosen_name=chosen,
                    attribution=attributed,
                )
            )
        return self._with_answers(items)

    def _with_answers(self, items: list[PostItem]) -> list[PostItem]:
        """``items`` with their question marks: which questions are answered (and how
        many replies their threads hold here and peers reported, counted as a thread's
        heading counts them) and which replies their asker marked as
        helpful (one lookup per question and per thread)."""
        asked = [item.thread_root for item in items if item.question and item.root is None]
        done = answered(self._reader, asked)
        marked: dict[bytes, set[PostKey]] = {}
        for item in items:
            if item.kind == "reply" and item.root is not None and item.root.id not in marked:
                marked[item.root.id] = helpful_answers(self._reader, item.root)
        mine = {self._own}
        if any(item.root is not None and not item.mine for item in items):
            mine |= self._pseudonyms()
        shown = []
        for item in items:
            question = item.question and item.root is None
            is_answered = question and item.id in done
            counts = thread_counts(self._reader, self._local, item.id) if question else NO_COUNTS
            is_helpful = item.root is not None and item.post_key in marked.get(item.root.id, ())
            answers_mine = markable = False
            root = item.root
            if root is not None and root.author in mine and item.author not in mine:
                # The asker marks: me, or my pseudonym in its own log (never an answer
                # of mine, which a mark would link to the pseudonym).
                markable = True
                answers_mine = is_question(self._reader, root)
            marks = (is_answered, is_helpful, markable, counts, answers_mine)
            if marks != (
                item.answered,
                item.helpful,
                item.markable,
                ThreadCounts(item.replies_known, item.replies_reported),
                item.answers_mine,
            ):
                shown.append(
                    replace(
                        item,
                        answered=is_answered,
                        helpful=is_helpful,
                        markable=markable,
                        replies_reported=counts.reported,
                        replies_known=counts.known,
                        answers_mine=answers_mine,
                    )
                )
            else:
                shown.append(item)
        return shown

    def _quoted_all(self, contents: Sequence[object], following: set[bytes]) -> dict[Ref, Quoted]:
        """The posts these shares point at and replies answer, in their current versions,
        by their reference: one load and one version lookup for all."""
        blocked = self._local.blocked()
        refs = {
            ref
            for ref in (_quoted_ref(content) for content in contents)
            if ref is not None and ref.author not in blocked
        }
        if not refs:
            return {}
        keys = list(dict.fromkeys(ref.post_key for ref in refs))
        found = [s for s in views.load_keys(self._reader, keys) if not s.deleted]
        edits = views.current_versions(self._reader, found)
        shown = {}
        for stored in found:
            e = stored.entry
            ref = ref_of(e)
            if ref in refs:
                edit = edits.get((e.author, e.seq))
                shown[ref] = quoted_of(
                    stored,
                    edit,
                    followed=e.author in following,
                    nickname=self._naming.given(e.author, stored.author_name),
                )
        return shown

    def _list_entries(self, content: object) -> tuple[ListEntry, ...]:
        """A reading list's items, each entry resolved as far as it is stored here."""
        if not isinstance(content, ReadingList):
            return ()
        keys = [(i.ref.author, i.ref.seq) for i in content.items if i.ref is not None]
        stored = {
            (s.entry.author, s.entry.seq): s
            for s in views.load_keys(self._reader, keys)
            if not s.deleted
        }
        edits = views.current_versions(self._reader, list(stored.values()))
        shown = []
        for item in content.items:
            if item.ref is None:
                shown.append(ListEntry(item.link or "", item.note, link=item.link))
                continue
            ref = item.ref
            found = stored.get((ref.author, ref.seq))
            if found is None or found.entry.id != ref.id:
                name = self._naming.name(ref.author, self._reader.feed_state(ref.author).name)
                title = f"A post by {name} (not stored here yet)"
                shown.append(ListEntry(title, item.note, ref=ref, author_name=name))
                continue
            name = self._naming.name(ref.author, found.author_name)
            text = text_of(found, edits.get((ref.author, ref.seq)))
            title = text.strip().splitlines()[0][:200] if text.strip() else "(no text)"
            shown.append(
                ListEntry(
                    title,
                    item.note,
                    ref=ref,
                    author_name=name,
                    stored=True,
                )
            )
        return tuple(shown)

    def _names(self, key: bytes, chosen: str | None) -> _Names:
        """How the items of ``key``, whose own name is ``chosen``, name and picture them:
        the name given them here (None: their own), their own beside it, a revealed
        pseudonym's attribution, and their avatar."""
        given, attributed = self._naming.given_parts(key, chosen)
        return given, self._naming.chosen(key, chosen), attributed, self._naming.avatar_of(key)

    def _page_marks(self) -> _PageMarks:
        """What the items of one call ask of the local state, read once."""
        return _PageMarks(
            self._own,
            self.unread_test(),
            self._local.holder_heights(self._own),
            self.following(),
            set(self._local.bookmarks()),
        )

    def unread_test(self) -> Callable[[bytes, int], bool]:
        """Whether a post by an author, claimed at a time, is unread: after the overall
        read mark and after that author's own mark."""
        mark = self._local.get(READ_MARK)
        marks = self._local.read_marks()
        return lambda author, claimed: claimed > max(mark, marks.get(author, 0))

    def marks_changed(self, items: Sequence[PostItem]) -> list[PostItem]:
        """Known items with fresh counts and marks; an item edited since it was loaded is
        loaded again (only then is a payload read). Whether I follow the author of a post a
        share quotes is a mark too: it changes without the share being read again."""
        versions = views.edit_seqs(self._reader, [item.post_key for item in items])
        stale = [item.post_key for item in items if item.version != versions.get(item.post_key, 0)]
        changed = self.items(views.load_keys(self._reader, stale)) if stale else []
        marks = self._page_marks()
        following = marks.following
        names: dict[bytes, tuple[str, _Names]] = {}
        skip = set(stale)
        for item in items:
            if item.post_key in skip:
                continue
            if item.author not in names:
                own = self._reader.feed_state(item.author).name
                shown = self._names(item.author, own)
                names[item.author] = (shown[0] or display_name(own, item.author), shown)
            name, (_, chosen, attributed, avatar) = names[item.author]
            quoted = item.quoted
            if quoted is not None and quoted.followed != (quoted.author in following):
                quoted = replace(quoted, followed=quoted.author in following)
            fresh = replace(
                item,
                author_name=name,
                chosen_name=chosen,
                attribution=attributed,
                avatar=avatar,
                reply_count=views.reply_count(self._reader, item.id),
                followed=item.author in following,
                unread=marks.is_unread(item.author, item.claimed_ms),
                bookmarked=item.post_key in marks.bookmarked,
                seen_by=marks.seen_by(item.author, item.seq),
                quoted=quoted,
            )
            (fresh,) = self._with_answers([fresh])
            if fresh != item:
                changed.append(fresh)
        return changed
