"""Content types: what a payload means, and the rules each known type follows.

Payloads are deterministic CBOR maps with text keys (docs/protocol.md, section
"Content types"). Readers ignore map keys they do not know, so newer versions can add
optional fields. Entries of unknown types are stored and passed on untouched; they
parse to ``Unknown``. Each field is read and checked by :mod:`lndesk.content_fields`
(text, tags, links, mentions, references), whose rules for tags, links and blank text
are named here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lndesk import canonical
from lndesk import content_fields as fields
from lndesk.content_fields import MAX_TAGS, is_valid_link, is_valid_tag, normalize_tag
from lndesk.entry import KEY_SIZE
from lndesk.entry_refs import Ref
from lndesk.errors import ContentError, DecodeError
from lndesk.identity import SIGNATURE_SIZE

MAX_NAME_CHARS = 64
MAX_BIO_CHARS = 1000
MAX_AVATAR_BYTES = 32_768
MAX_TITLE_CHARS = 200
MAX_LIST_ITEMS = 200
MAX_NOTE_CHARS = 1000
MAX_GUID_CHARS = 1000
MAX_MARKS_PER_FETCH = 16
"""Most ``helpful`` marks of a thread one thread fetch carries each way, the newest by seq
(docs/protocol.md 32.1, 32.6): the ids an asker lists of those it holds, and the marks a
server names of those it holds (the tombstones of the asked ones come on top)."""


POST = "post"
REPLY = "reply"
FOLLOW = "follow"
UNFOLLOW = "unfollow"
PROFILE = "profile"
SHARE = "share"
TOMBSTONE = "tombstone"
EDIT = "edit"
READING_LIST = "readinglist"
WEB_SHARE = "webshare"
HELPFUL = "helpful"
REVEAL = "reveal"
KNOWN_TYPES = (
    POST,
    REPLY,
    FOLLOW,
    UNFOLLOW,
    PROFILE,
    SHARE,
    TOMBSTONE,
    EDIT,
    READING_LIST,
    WEB_SHARE,
    HELPFUL,
    REVEAL,
)
TEXT_TYPES = (POST, REPLY, EDIT)
"""Types whose payload carries ``text``, ``tags``, ``links`` and ``mentions``."""


@dataclass(frozen=True, slots=True)
class Post:
    """A public note; ``question`` marks it as a question asked of the author's readers."""

    text: str
    tags: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    mentions: tuple[bytes, ...] = ()
    question: bool = False
    type: str = field(default=POST, init=False)


_new = object.__new__
_set_text, _set_tags, _set_links, _set_mentions, _set_question, _set_type = (
    Post.__dict__[name].__set__
    for name in ("text", "tags", "links", "mentions", "question", "type")
)
"""The slots' own setters: what a frozen dataclass's ``__init__`` reaches through
``object.__setattr__`` (a lookup of the attribute on the class at each call)."""


def post_of_checked(
    text: str,
    tags: tuple[str, ...],
    links: tuple[str, ...],
    mentions: tuple[bytes, ...],
    question: bool,
) -> Post:
    """``Post(text, tags, links, mentions, question)``, equal to it in every way, made
    for a reader that has checked each field of each type already (a synced batch's
    posts, :mod:`lndesk.batch_layout`): the slots are set directly, for less CPU than
    the dataclass's ``__init__`` (which checks nothing either: what makes a post valid
    is :func:`parse_content`'s and that reader's to check)."""
    post: Post = _new(Post)
    _set_text(post, text)
    _set_tags(post, tags)
    _set_links(post, links)
    _set_mentions(post, mentions)
    _set_question(post, question)
    _set_type(post, POST)
    return post


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    root: Ref
    parent: Ref
    tags: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    mentions: tuple[bytes, ...] = ()
    type: str = field(default=REPLY, init=False)


@dataclass(frozen=True, slots=True)
class Follow:
    feed: bytes
    type: str = field(default=FOLLOW, init=False)


@dataclass(frozen=True, slots=True)
class Unfollow:
    feed: bytes
    type: str = field(default=UNFOLLOW, init=False)


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    bio: str = ""
    avatar: bytes = b""
    type: str = field(default=PROFILE, init=False)


@dataclass(frozen=True, slots=True)
class Share:
    ref: Ref
    comment: str = ""
    type: str = field(default=SHARE, init=False)


@dataclass(frozen=True, slots=True)
class Tombstone:
    ref: Ref
    type: str = field(default=TOMBSTONE, init=False)


@dataclass(frozen=True, slots=True)
class Edit:
    """A new version of one of the author's own earlier posts or replies (``ref``).

    It replaces the text, tags, links, mentions and question mark of the entry it names;
    the edit with the highest seq is the current version (docs/protocol.md, 10.8).
    """

    ref: Ref
    text: str
    tags: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    mentions: tuple[bytes, ...] = ()
    question: bool = False
    type: str = field(default=EDIT, init=False)


@dataclass(frozen=True, slots=True)
class ListItem:
    """One item of a reading list: an entry or a link, with an optional note."""

    ref: Ref | None = None
    link: str | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class ReadingList:
    """A titled, ordered reading list. ``of`` names the list's first version; every
    update is a new entry, and the one with the highest seq is the list's state."""

    title: str
    items: tuple[ListItem, ...] = ()
    of: Ref | None = None
    type: str = field(default=READING_LIST, init=False)


@dataclass(frozen=True, slots=True)
class WebShare:
    """An item of a web feed (RSS, Atom, JSON Feed) shared with a comment (docs/protocol.md
    10.11): its link, and what identifies it in its feed."""

    link: str
    title: str = ""
    source: str = ""
    """The address of the web feed it came from."""
    guid: str = ""
    """The item's id in that feed."""
    comment: str = ""
    tags: tuple[str, ...] = ()
    type: str = field(default=WEB_SHARE, init=False)


@dataclass(frozen=True, slots=True)
class Helpful:
    """The asker's mark that an answer helped (docs/protocol.md 10.12): ``ref`` names the
    answer (a reply), ``root`` the question it answers. Only a mark by the question's
    author counts; a tombstone of the mark takes it back."""

    ref: Ref
    root: Ref
    type: str = field(default=HELPFUL, init=False)


@dataclass(frozen=True, slots=True)
class Reveal:
    """The author's statement that ``key`` is their pseudonym (docs/protocol.md 10.13).

    ``proof`` is the pseudonym's signature of the author's key (lndesk.pseudonyms); a
    reveal whose proof does not verify is valid content with no effect."""

    key: bytes
    proof: bytes
    type: str = field(default=REVEAL, init=False)


@dataclass(frozen=True, slots=True)
class Unknown:
    """A payload of a content type this version does not know; kept as it came."""

    type: str
    value: Any = None


Content = (
    Post
    | Reply
    | Follow
    | Unfollow
    | Profile
    | Share
    | Tombstone
    | Edit
    | ReadingList
    | WebShare
    | Helpful
    | Reveal
    | Unknown
)


def addressed_keys(content: Content, author: bytes) -> frozenset[bytes]:
    """The people an entry is addressed to: whose inbox it belongs in (protocol 10.10).

    A reply addresses the authors of its parent and root, a share the author of the
    shared entry, and a post, reply or edit everyone it mentions; never its own author.
    """
    keys: set[bytes] = set()
    match content:
        case Post(mentions=mentions) | Edit(mentions=mentions):
            keys.update(mentions)
        case Reply(root=root, parent=parent, mentions=mentions):
            keys.update((root.author, parent.author, *mentions))
        case Share(ref=ref):
            keys.add(ref.author)
    keys.discard(author)
    return frozenset(keys)


def named_refs(content: Content | None) -> tuple[Ref, ...]:
    """The entries ``content`` names for context (fetched with it, shown with it): what
    a share shares; a reply's parent, then its root."""
    if isinstance(content, Share):
        return (content.ref,)
    if isinstance(content, Reply):
        return (content.parent, content.root)
    return ()


def encode_content(content: Content) -> bytes:
    """The canonical payload bytes for ``content`` (validated first)."""
    doc: dict[str, Any]
    match content:
        case Post(text, tags, links, mentions, question):
            doc = _text_doc(text, tags, links, mentions, question)
        case Reply(text, root, parent, tags, links, mentions):
            doc = _text_doc(text, tags, links, mentions, False)
            doc.update(root=root.to_cbor(), parent=parent.to_cbor())
        case Edit(ref, text, tags, links, mentions, question):
            doc = _text_doc(text, tags, links, mentions, question)
            doc["ref"] = ref.to_cbor()
        case ReadingList(title, items, of):
            doc = {"title": title, "items": [_item_doc(item) for item in items]}
            if of is not None:
                doc["of"] = of.to_cbor()
        case Follow(feed) | Unfollow(feed):
            doc = {"feed": feed}
        case Profile(name, bio, avatar):
            doc = {"name": name}
            if bio:
                doc["bio"] = bio
            if avatar:
                doc["avatar"] = avatar
        case Share(ref, comment):
            doc = {"ref": ref.to_cbor()}
            if comment:
                doc["comment"] = comment
        case Tombstone(ref):
            doc = {"ref": ref.to_cbor()}
        case WebShare(link, title, source, guid, comment, tags):
            doc = {"link": link}
            optional = {"title": title, "source": source, "guid": guid, "comment": comment}
            doc.update({name: value for name, value in optional.items() if value})
            if tags:
                doc["tags"] = [normalize_tag(tag) for tag in tags]
        case Helpful(ref, root):
            doc = {"ref": ref.to_cbor(), "root": root.to_cbor()}
        case Reveal(key, proof):
            doc = {"key": key, "proof": proof}
        case Unknown(_, value):
            return canonical.encode(value)
    payload = canonical.encode(doc)
    parse_content(content.type, payload)  # one set of rules for what we write and read
    return payload


def parse_content(type_: str, payload: bytes) -> Content:
    """Decode and validate a payload of content type ``type_``."""
    try:
        value = canonical.decode(payload)
    except DecodeError as exc:
        raise ContentError(f"the content of a {type_} is not valid CBOR: {exc}") from exc
    if type_ not in KNOWN_TYPES:
        return Unknown(type_, value)
    if type(value) is not dict:
        raise ContentError(f"the content of a {type_} must be a CBOR map")
    doc: dict[str, Any] = value
    if type_ == POST:
        text, tags, links, mentions = fields.text_fields(doc)
        return Post(text, tags, links, mentions, fields.flag(doc, "question"))
    if type_ == REPLY:
        text, tags, links, mentions = fields.text_fields(doc)
        return Reply(
            text, fields.ref(doc, "root"), fields.ref(doc, "parent"), tags, links, mentions
        )
    if type_ == EDIT:
        text, tags, links, mentions = fields.text_fields(doc)
        return Edit(
            fields.ref(doc, "ref"), text, tags, links, mentions, fields.flag(doc, "question")
        )
    if type_ == READING_LIST:
        return _reading_list(doc)
    if type_ in (FOLLOW, UNFOLLOW):
        feed = fields.field(doc, "feed", bytes)
        if len(feed) != KEY_SIZE:
            raise ContentError(f"a {type_} must name a 32-byte public key")
        return Follow(feed) if type_ == FOLLOW else Unfollow(feed)
    if type_ == PROFILE:
        name = fields.text(doc, "name", MAX_NAME_CHARS, allow_empty=False)
        bio = fields.text(doc, "bio", MAX_BIO_CHARS, optional=True)
        avatar = fields.field(doc, "avatar", bytes, optional=True) or b""
        if len(avatar) > MAX_AVATAR_BYTES:
            raise ContentError(f"a profile avatar is at most {MAX_AVATAR_BYTES} bytes")
        return Profile(name, bio, avatar)
    if type_ == SHARE:
        return Share(fields.ref(doc, "ref"), fields.text(doc, "comment", None, optional=True))
    if type_ == WEB_SHARE:
        return _web_share(doc)
    if type_ == HELPFUL:
        return _helpful(doc)
    if type_ == REVEAL:
        return _reveal(doc)
    return Tombstone(fields.ref(doc, "ref"))


def _text_doc(
    text: str,
    tags: tuple[str, ...],
    links: tuple[str, ...],
    mentions: tuple[bytes, ...],
    question: bool,
) -> dict[str, Any]:
    doc: dict[str, Any] = {"text": text}
    if tags:
        doc["tags"] = [normalize_tag(tag) for tag in tags]
    if links:
        doc["links"] = list(links)
    if mentions:
        doc["mentions"] = list(dict.fromkeys(mentions))
    if question:
        doc["question"] = True
    return doc


def _item_doc(item: ListItem) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if item.ref is not None:
        doc["ref"] = item.ref.to_cbor()
    if item.link is not None:
        doc["link"] = item.link
    if item.note:
        doc["note"] = item.note
    return doc


def _reading_list(doc: dict[str, Any]) -> ReadingList:
    title = fields.text(doc, "title", MAX_TITLE_CHARS, allow_empty=False)
    raw_items = doc.get("items")
    if type(raw_items) is not list:
        raise ContentError("the items of a reading list must be a list")
    if len(raw_items) > MAX_LIST_ITEMS:
        raise ContentError(f"a reading list has at most {MAX_LIST_ITEMS} items")
    items = []
    for raw in raw_items:
        if type(raw) is not dict:
            raise ContentError("each reading list item must be a map")
        ref = fields.ref(raw, "ref") if raw.get("ref") is not None else None
        link = fields.field(raw, "link", str, optional=True)
        if (ref is None) == (link is None):
            raise ContentError("each reading list item has exactly one of 'ref' and 'link'")
        if link is not None:
            fields.check_link(link)
        items.append(ListItem(ref, link, fields.text(raw, "note", MAX_NOTE_CHARS, optional=True)))
    of = fields.ref(doc, "of") if doc.get("of") is not None else None
    return ReadingList(title, tuple(items), of)


def _web_share(doc: dict[str, Any]) -> WebShare:
    link = fields.field(doc, "link", str)
    source = fields.text(doc, "source", None, optional=True)
    for address in (link, source) if source else (link,):
        if not is_valid_link(address) or not address.startswith(("http://", "https://")):
            raise ContentError(
                f"{address[:100]!r} is not a web address",
                "A shared item of a web feed names its link and the web feed by http:// or "
                "https:// addresses of at most 2048 characters.",
            )
    tags = fields.str_list(doc, "tags", MAX_TAGS)
    for tag in tags:
        if not is_valid_tag(tag):
            raise ContentError(f"tag {tag[:100]!r} is not valid")
    return WebShare(
        link,
        fields.text(doc, "title", MAX_TITLE_CHARS, optional=True),
        source,
        fields.text(doc, "guid", MAX_GUID_CHARS, optional=True),
        fields.text(doc, "comment", None, optional=True),
        tags,
    )


def _helpful(doc: dict[str, Any]) -> Helpful:
    answer, root = fields.ref(doc, "ref"), fields.ref(doc, "root")
    if answer.id == root.id:
        raise ContentError(
            "a helpful mark names an answer to the question, not the question itself"
        )
    return Helpful(answer, root)


def _reveal(doc: dict[str, Any]) -> Reveal:
    key, proof = fields.field(doc, "key", bytes), fields.field(doc, "proof", bytes)
    if len(key) != KEY_SIZE:
        raise ContentError("a reveal must name the pseudonym's 32-byte public key")
    if len(proof) != SIGNATURE_SIZE:
        raise ContentError("a reveal's proof must be a 64-byte signature")
    return Reveal(key, proof)
