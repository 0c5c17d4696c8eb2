"""Content types: what a payload means, and the rules each known type follows.

Payloads are deterministic CBOR maps with text keys (docs/protocol.md, section
"Content types"). Readers ignore map keys they do not know, so newer versions can add
optional fields. Entries of unknown types are stored and passed on untouched; they
parse to ``Unknown``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from lndesk import canonical
from lndesk.entry import KEY_SIZE
from lndesk.entry_refs import Ref, parse_ref
from lndesk.errors import ContentError, DecodeError
from lndesk.identity import SIGNATURE_SIZE

MAX_TAGS = 16
MAX_TAG_CHARS = 64
MAX_LINKS = 16
MAX_LINK_CHARS = 2048
MAX_NAME_CHARS = 64
MAX_BIO_CHARS = 1000
MAX_AVATAR_BYTES = 32_768
MAX_MENTIONS = 16
MAX_TITLE_CHARS = 200
MAX_LIST_ITEMS = 200
MAX_NOTE_CHARS = 1000
MAX_GUID_CHARS = 1000
MAX_MARKS_PER_FETCH = 16
"""Most ``helpful`` marks of a thread one thread fetch carries each way, the newest by seq
(docs/protocol.md 32.1, 32.6): the ids an asker lists of those it holds, and the marks a
server names of those it holds (the tombstones of the asked ones come on top)."""

# Validity must not depend on the reader's Unicode database or URL library, so both rules
# name their code points explicitly (docs/protocol.md, section 10.1).
_TAG_FORBIDDEN = re.compile(
    r"[\x00-\x20\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)
"""C0 controls, DEL and the Unicode White_Space code points: none may be in a tag."""
_BLANK = re.compile(r"[\x00-\x20\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*")
"""Text made only of the code points tags forbid counts as empty."""
_LINK = re.compile(r"(?:https?|lndesk)://[^/\x00-\x20\x7f][^\x00-\x20\x7f]*")
"""A valid link, matched against the whole string."""

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


def normalize_tag(tag: str) -> str:
    """``#Pedagogy `` -> ``pedagogy``. Raises ContentError for tags that cannot be tags.

    Writers put tags in this form and the index compares tags in it. Readers do not
    require it: the result depends on the Unicode version of the runtime.
    """
    cleaned = tag.strip().lstrip("#")
    if cleaned.isascii():
        cleaned = cleaned.lower()
    else:
        # Case folding can undo NFC (and NFC can enable more folding): repeat to a fixpoint.
        for _ in range(4):
            folded = unicodedata.normalize("NFC", cleaned.casefold())
            if folded == cleaned:
                break
            cleaned = folded
    if not is_valid_tag(cleaned):
        raise ContentError(
            f"{tag!r} is not a usable tag",
            f"A tag is one word of at most {MAX_TAG_CHARS} characters, like 'pedagogy'.",
        )
    return cleaned


def is_valid_tag(tag: str) -> bool:
    """The readers' rule: 1 to 64 code points, no leading '#', no control or white space."""
    return (
        0 < len(tag) <= MAX_TAG_CHARS
        and not tag.startswith("#")
        and _TAG_FORBIDDEN.search(tag) is None
    )


def is_blank_text(text: str) -> bool:
    """True for text that counts as empty: only controls and white space, or nothing."""
    return _BLANK.fullmatch(text) is not None


def is_valid_link(link: str) -> bool:
    """An http, https or lndesk link of at most 2048 code points (no URL parsing)."""
    return len(link) <= MAX_LINK_CHARS and _LINK.fullmatch(link) is not None


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
        text, tags, links, mentions = _text_fields(doc)
        return Post(text, tags, links, mentions, _flag(doc, "question"))
    if type_ == REPLY:
        text, tags, links, mentions = _text_fields(doc)
        return Reply(text, _ref(doc, "root"), _ref(doc, "parent"), tags, links, mentions)
    if type_ == EDIT:
        text, tags, links, mentions = _text_fields(doc)
        return Edit(_ref(doc, "ref"), text, tags, links, mentions, _flag(doc, "question"))
    if type_ == READING_LIST:
        return _reading_list(doc)
    if type_ in (FOLLOW, UNFOLLOW):
        feed = _field(doc, "feed", bytes)
        if len(feed) != KEY_SIZE:
            raise ContentError(f"a {type_} must name a 32-byte public key")
        return Follow(feed) if type_ == FOLLOW else Unfollow(feed)
    if type_ == PROFILE:
        name = _text(doc, "name", MAX_NAME_CHARS, allow_empty=False)
        bio = _text(doc, "bio", MAX_BIO_CHARS, optional=True)
        avatar = _field(doc, "avatar", bytes, optional=True) or b""
        if len(avatar) > MAX_AVATAR_BYTES:
            raise ContentError(f"a profile avatar is at most {MAX_AVATAR_BYTES} bytes")
        return Profile(name, bio, avatar)
    if type_ == SHARE:
        return Share(_ref(doc, "ref"), _text(doc, "comment", None, optional=True))
    if type_ == WEB_SHARE:
        return _web_share(doc)
    if type_ == HELPFUL:
        return _helpful(doc)
    if type_ == REVEAL:
        return _reveal(doc)
    return Tombstone(_ref(doc, "ref"))


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
    title = _text(doc, "title", MAX_TITLE_CHARS, allow_empty=False)
    raw_items = doc.get("items")
    if type(raw_items) is not list:
        raise ContentError("the items of a reading list must be a list")
    if len(raw_items) > MAX_LIST_ITEMS:
        raise ContentError(f"a reading list has at most {MAX_LIST_ITEMS} items")
    items = []
    for raw in raw_items:
        if type(raw) is not dict:
            raise ContentError("each reading list item must be a map")
        ref = _ref(raw, "ref") if raw.get("ref") is not None else None
        link = _field(raw, "link", str, optional=True)
        if (ref is None) == (link is None):
            raise ContentError("each reading list item has exactly one of 'ref' and 'link'")
        if link is not None:
            _check_link(link)
        items.append(ListItem(ref, link, _text(raw, "note", MAX_NOTE_CHARS, optional=True)))
    of = _ref(doc, "of") if doc.get("of") is not None else None
    return ReadingList(title, tuple(items), of)


def _web_share(doc: dict[str, Any]) -> WebShare:
    link = _field(doc, "link", str)
    source = _text(doc, "source", None, optional=True)
    for address in (link, source) if source else (link,):
        if not is_valid_link(address) or not address.startswith(("http://", "https://")):
            raise ContentError(
                f"{address[:100]!r} is not a web address",
                "A shared item of a web feed names its link and the web feed by http:// or "
                "https:// addresses of at most 2048 characters.",
            )
    tags = _str_list(doc, "tags", MAX_TAGS)
    for tag in tags:
        if not is_valid_tag(tag):
            raise ContentError(f"tag {tag[:100]!r} is not valid")
    return WebShare(
        link,
        _text(doc, "title", MAX_TITLE_CHARS, optional=True),
        source,
        _text(doc, "guid", MAX_GUID_CHARS, optional=True),
        _text(doc, "comment", None, optional=True),
        tags,
    )


def _helpful(doc: dict[str, Any]) -> Helpful:
    answer, root = _ref(doc, "ref"), _ref(doc, "root")
    if answer.id == root.id:
        raise ContentError(
            "a helpful mark names an answer to the question, not the question itself"
        )
    return Helpful(answer, root)


def _reveal(doc: dict[str, Any]) -> Reveal:
    key, proof = _field(doc, "key", bytes), _field(doc, "proof", bytes)
    if len(key) != KEY_SIZE:
        raise ContentError("a reveal must name the pseudonym's 32-byte public key")
    if len(proof) != SIGNATURE_SIZE:
        raise ContentError("a reveal's proof must be a 64-byte signature")
    return Reveal(key, proof)


def _flag(doc: dict[str, Any], name: str) -> bool:
    value = doc.get(name)
    if value is None:
        return False
    if type(value) is not bool:
        raise ContentError(f"{_what(name)} must be true or false")
    return value


def _mentions(doc: dict[str, Any]) -> tuple[bytes, ...]:
    value = doc.get("mentions")
    if value is None:
        return ()
    if type(value) is not list or any(
        type(item) is not bytes or len(item) != KEY_SIZE for item in value
    ):
        raise ContentError("the mentions must be a list of 32-byte public keys")
    if len(value) > MAX_MENTIONS:
        raise ContentError(f"a post mentions at most {MAX_MENTIONS} people")
    if len(set(value)) != len(value):
        raise ContentError("a post mentions the same person twice")
    return tuple(value)


def _text_fields(
    doc: dict[str, Any],
) -> tuple[str, tuple[str, ...], tuple[str, ...], tuple[bytes, ...]]:
    text = _text(doc, "text", None, allow_empty=False)
    tags = _str_list(doc, "tags", MAX_TAGS)
    for tag in tags:
        if not is_valid_tag(tag):
            raise ContentError(
                f"tag {tag[:100]!r} is not valid (1 to {MAX_TAG_CHARS} characters, "
                "no leading '#', no white space or control characters)"
            )
    links = _str_list(doc, "links", MAX_LINKS)
    for link in links:
        _check_link(link)
    return text, tags, links, _mentions(doc)


def _check_link(link: str) -> None:
    if not is_valid_link(link):
        raise ContentError(
            f"{link[:100]!r} is not a link lndesk can carry",
            "Links start with http://, https:// or lndesk:// and are at most 2048 characters.",
        )


def _ref(doc: dict[str, Any], name: str) -> Ref:
    ref = parse_ref(doc.get(name))
    if ref is None:
        raise ContentError(f"{_what(name)} must name a post by its author, number and id")
    return ref


_WHAT = {
    "feed": "the key of the person",
    "avatar": "the picture",
    "ref": "the post it refers to",
    "root": "the post the thread starts with",
    "parent": "the post replied to",
    "of": "the reading list it updates",
    "question": "the question marker",
    "key": "the pseudonym's key",
    "proof": "the pseudonym's signature",
}
_KINDS: dict[type, str] = {str: "text", bytes: "binary data"}


def _what(name: str) -> str:
    """A field named in words a reader knows ("the text", "the post replied to")."""
    return _WHAT.get(name, f"the {name}")


def _field(doc: dict[str, Any], name: str, kind: type, *, optional: bool = False) -> Any:
    value = doc.get(name)
    if value is None and optional:
        return None
    if type(value) is not kind:
        raise ContentError(f"{_what(name)} is missing or is not {_KINDS.get(kind, kind.__name__)}")
    return value


def _text(
    doc: dict[str, Any],
    name: str,
    limit: int | None,
    *,
    optional: bool = False,
    allow_empty: bool = True,
) -> str:
    value = _field(doc, name, str, optional=optional)
    if value is None:
        return ""
    if not allow_empty and is_blank_text(value):
        raise ContentError(f"{_what(name)} must not be empty")
    if limit is not None and len(value) > limit:
        raise ContentError(f"{_what(name)} is longer than {limit:,} characters")
    return str(value)


def _str_list(doc: dict[str, Any], name: str, limit: int) -> tuple[str, ...]:
    value = doc.get(name)
    if value is None:
        return ()
    if type(value) is not list:
        raise ContentError(f"{_what(name)} must be a list of words")
    for item in value:
        if type(item) is not str:
            raise ContentError(f"{_what(name)} must be a list of words")
    if len(value) > limit:
        raise ContentError(f"a post has at most {limit} {name}")
    return tuple(value)
