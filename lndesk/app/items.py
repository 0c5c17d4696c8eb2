"""Plain values the desktop app shows: built on the node thread, read on the GUI thread.

They hold only what a view needs (text, names, counts), never store or libp2p objects,
so a view-model can keep thousands of them and a test can build them by hand.

``SearchQuery`` (:mod:`lndesk.search_query`, a core value that the store checks and runs)
is offered here beside the results it asks for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from lndesk.app.restore import RestoreStatus
from lndesk.content import Content, Edit, Post, ReadingList, Reply, Share, WebShare
from lndesk.entry_refs import PostKey, Ref, ref_of
from lndesk.feeds.htmltext import escape_markdown
from lndesk.keytext import short_key
from lndesk.names import display_name
from lndesk.pseudonyms import with_attribution
from lndesk.search_query import SearchQuery as SearchQuery  # noqa: PLC0414 (a re-export)
from lndesk.store.store import StoredEntry
from lndesk.versions import current_version


@dataclass(frozen=True, slots=True)
class Quoted:
    """The post a share points at, or the post a reply answers, as far as it is stored."""

    author: bytes
    author_name: str
    text: str
    id: bytes
    seq: int
    followed: bool = False
    """Whether I follow its author (a share offers to follow them in one click)."""


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One item of a reading list as shown: an entry (as far as it is stored) or a link."""

    title: str
    note: str = ""
    link: str | None = None
    ref: Ref | None = None
    """The entry recommended."""
    author_name: str = ""
    stored: bool = False


@dataclass(frozen=True, slots=True)
class PostItem:
    id: bytes
    author: bytes
    seq: int
    author_name: str
    """The author's profile name, or their short key if they never set one."""
    short_key: str
    kind: str
    """"post", "reply", "share" or "readinglist"."""
    text: str
    """Markdown as the author wrote it (a share's comment); empty when unreadable."""
    tags: tuple[str, ...]
    links: tuple[str, ...]
    claimed_ms: int
    cursor: tuple[int, int, int]
    mine: bool
    reply_count: int = 0
    unread: bool = False
    bookmarked: bool = False
    seen_by: int = 0
    """For my own posts: how many peers are known to hold it."""
    problem: str | None = None
    """Why the post cannot be shown (its payload is missing or malformed)."""
    quoted: Quoted | None = None
    root: Ref | None = None
    """The thread this entry belongs to: a reference to its first post."""
    avatar: bytes = field(default=b"", repr=False)
    """The author's profile picture (one shared bytes object per author), if any."""
    question: bool = False
    answered: bool = False
    """For a question: its author marked an answer as helpful (docs/protocol.md 10.12)."""
    replies_reported: int = 0
    """For a question: the most replies a peer said it shows under it at the latest
    thread fetch that reached one (0: never asked); see :mod:`lndesk.app.desk_threads`."""
    replies_known: int = 0
    """For a question: the replies held here in its whole thread, nested ones included,
    as ``replies_reported`` counts them (:func:`lndesk.app.desk_threads.thread_counts`)."""
    helpful: bool = False
    """For a reply: the author of the thread's question marked it as helpful."""
    markable: bool = False
    """For a reply by someone else in a thread I started (as myself or as one of my
    pseudonyms, which then signs the mark): I may mark it as helpful."""
    answers_mine: bool = False
    """For a reply by someone else: it answers a question I asked, as myself or as one of
    my pseudonyms (docs/protocol.md 32.5)."""
    edited: bool = False
    """The text shown is a later version (an edit) of the post."""
    version: int = 0
    """The seq of the edit whose text is shown (0: the post as first published)."""
    mentions: tuple[bytes, ...] = ()
    list_items: tuple[ListEntry, ...] = ()
    """For a reading list (its title is ``text``): its items, in order."""
    list_of: Ref | None = None
    """For a reading list: a reference to its first version, which names the list."""
    followed: bool = False
    """Whether I follow the author (posts of people I do not follow are marked so)."""
    chosen_name: str = ""
    """When ``author_name`` is my nickname for the author: the name they chose (cleaned)."""
    attribution: str = ""
    """For a pseudonym its owner revealed (``author_name`` is then the owner's): what is
    said of it, "as curious-fox", drawn apart from the name (docs/protocol.md 10.13)."""

    @property
    def post_key(self) -> PostKey:
        """``(author, seq)``: what names this post (``author`` alone is the public key)."""
        return (self.author, self.seq)

    @property
    def shown_name(self) -> str:
        """The author on one line of text (notifications, titles, tooltips, messages):
        ``author_name``, with a revealed pseudonym's attribution after it, as in "Ann (as
        curious-fox)", a form no cleaned name can take; within a shown name's length."""
        if not self.attribution:
            return self.author_name
        return with_attribution(self.author_name, self.attribution, self.short_key)

    @property
    def thread_root(self) -> Ref:
        return self.root if self.root is not None else Ref(self.author, self.seq, self.id)


@dataclass(frozen=True, slots=True)
class AuthorItem:
    key: bytes
    name: str
    key_text: str
    height: int
    max_seq: int
    last_post_ms: int | None
    last_synced_ms: int | None
    source: str
    muted: bool
    forked_at: int | None = None
    unread: int = 0
    """Posts of this author claimed after the read marks (capped)."""
    blocked: bool = False
    chosen_name: str = ""
    """When ``name`` is my nickname for them: the name they chose (cleaned)."""
    avatar: bytes = field(default=b"", repr=False)
    """Their profile picture's bytes as published (b"": none; their fingerprint is shown)."""
    pseudonyms: tuple[tuple[bytes, str], ...] = ()
    """The pseudonyms they revealed (docs/protocol.md 10.13): each one's key and own name."""


@dataclass(frozen=True, slots=True)
class SearchResult:
    """A post found by search, with the matching text around the hit.

    ``spans`` are (start, end) character offsets into ``snippet`` of the matched words;
    the text itself holds no markup (the view decides how to highlight)."""

    item: PostItem
    snippet: str
    spans: tuple[tuple[int, int], ...]


class SearchResults(list[SearchResult]):
    """A page of search results; ``pending`` posts were not searched because they are
    still being indexed (a big sync just arrived), so the page may miss some."""

    def __init__(self, results: Iterable[SearchResult] = (), pending: int = 0) -> None:
        super().__init__(results)
        self.pending = pending


@dataclass(frozen=True, slots=True)
class PeerItem:
    key: bytes
    name: str
    peer_id: str
    address: str
    latency_ms: float | None
    syncing: bool
    avatar: bytes = field(default=b"", repr=False)
    """Their profile picture's bytes as published (b"": none, or the peer is unknown)."""


@dataclass(frozen=True, slots=True)
class NetworkInfo:
    online: bool
    """The network part of the node is running (it may still have no peers)."""
    peer_id: str
    addresses: tuple[str, ...]
    port: int
    bootstrap: tuple[str, ...]
    mdns: bool
    problem: str | None = None
    port_note: str = ""
    """Why the node listens on another port than the configured one, if it does."""


@dataclass(frozen=True, slots=True)
class IdentityInfo:
    key: bytes
    key_text: str
    link: str
    name: str
    bio: str
    avatar: bytes
    sealed: bool
    can_publish: bool
    """False while a restored identity waits to learn its own log's height."""
    restore: RestoreStatus | None = None
    """For a restored identity that may not publish yet: what peers said of its log."""


def post_item(
    stored: StoredEntry,
    own: bytes,
    *,
    reply_count: int = 0,
    unread: bool = False,
    bookmarked: bool = False,
    seen_by: int = 0,
    quoted: Quoted | None = None,
    avatar: bytes = b"",
    edit: StoredEntry | None = None,
    list_items: tuple[ListEntry, ...] = (),
    followed: bool = False,
    nickname: str | None = None,
    chosen_name: str | None = None,
    attribution: str = "",
) -> PostItem:
    """The item for ``stored``; ``edit`` is its current version (protocol 10.8), if edited.
    ``nickname`` is the name shown instead of the author's own (mine for them, or their
    owner's for a revealed pseudonym); ``chosen_name`` what is shown beside it (by
    default the author's own name, when there is a nickname); ``attribution`` what is
    said of a revealed pseudonym beside its owner's name ("as curious-fox")."""
    entry = stored.entry
    edited = edit is not None and isinstance(edit.content, Edit)
    content = _current(stored, edit)
    text = _text(content)
    tags: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    mentions: tuple[bytes, ...] = ()
    question = False
    root: Ref | None = None
    problem = None
    list_of: Ref | None = None
    if isinstance(content, Post):
        tags, links = content.tags, content.links
        mentions, question = content.mentions, content.question
    elif isinstance(content, Reply):
        tags, links, mentions, root = content.tags, content.links, content.mentions, content.root
    elif isinstance(content, WebShare):
        links, tags = (content.link,), content.tags
    elif isinstance(content, ReadingList):
        first = content.of
        list_of = ref_of(entry) if first is None else first
    elif isinstance(content, Share):
        problem = None  # a share's comment is its text: nothing more to take from it
    elif stored.payload is None:
        problem = "This post has not arrived yet (only its signed header is stored)."
    else:
        problem = f"This post could not be read: {stored.content_error or 'unknown format'}."
    own_name = display_name(stored.author_name, entry.author)
    return PostItem(
        id=entry.id,
        author=entry.author,
        seq=entry.seq,
        author_name=nickname or own_name,
        short_key=short_key(entry.author),
        kind=entry.type,
        text=text,
        tags=tuple(tags),
        links=tuple(links),
        claimed_ms=entry.claimed_ms,
        cursor=stored.cursor,
        mine=entry.author == own,
        reply_count=reply_count,
        unread=unread,
        bookmarked=bookmarked,
        seen_by=seen_by,
        problem=problem,
        quoted=quoted,
        root=root,
        avatar=avatar,
        question=question,
        edited=edited,
        version=edit.entry.seq if edit is not None and edited else 0,
        mentions=mentions,
        list_items=list_items,
        list_of=list_of,
        followed=followed,
        chosen_name=chosen_name if chosen_name is not None else own_name if nickname else "",
        attribution=attribution,
    )


def text_of(stored: StoredEntry, edit: StoredEntry | None = None) -> str:
    """The text a post shows now: its current version's, a share's comment, a list's title."""
    return _text(_current(stored, edit))


def _current(stored: StoredEntry, edit: StoredEntry | None) -> Content | None:
    """The content of ``stored`` as its current version ``edit`` (if any) makes it."""
    content = stored.content
    if content is not None and edit is not None and isinstance(edit.content, Edit):
        content = current_version(content, edit.content)
    return content


def _text(content: Content | None) -> str:
    """The text a card shows of ``content``: a post's or reply's, a share's comment, a
    web share's comment and title, a reading list's title ("" for anything else)."""
    if isinstance(content, Post | Reply):
        return content.text
    if isinstance(content, Share):
        return content.comment
    if isinstance(content, WebShare):
        return web_share_text(content)
    if isinstance(content, ReadingList):
        return content.title
    return ""


def web_share_text(share: WebShare) -> str:
    """A shared web feed item as a card shows it: the comment, then the item's title as
    text (it comes from a web page: escaped, never markup); its link is the card's link."""
    title = f"> *shared from a web feed:* {escape_markdown(share.title)}" if share.title else ""
    return "\n\n".join(part for part in (share.comment, title) if part)


def quoted_of(
    stored: StoredEntry,
    edit: StoredEntry | None = None,
    *,
    followed: bool = False,
    nickname: str | None = None,
) -> Quoted:
    return Quoted(
        stored.entry.author,
        nickname or display_name(stored.author_name, stored.entry.author),
        text_of(stored, edit),
        stored.entry.id,
        stored.entry.seq,
        followed,
    )
