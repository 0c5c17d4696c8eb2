"""The fields of a payload as readers read them: text, tags, links, mentions, flags and
references of other entries, each checked and bounded, and what a reader is told when
one is wrong (docs/protocol.md, section 10.1). :mod:`lndesk.content` reads each content
type's map with these.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

from lndesk.entry import KEY_SIZE
from lndesk.entry_refs import Ref, parse_ref
from lndesk.errors import ContentError

MAX_TAGS = 16
MAX_TAG_CHARS = 64
MAX_LINKS = 16
MAX_LINK_CHARS = 2048
MAX_MENTIONS = 16

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


@functools.lru_cache(maxsize=1024)
def is_valid_tag(tag: str) -> bool:
    """The readers' rule: 1 to 64 code points, no leading '#', no control or white space.
    (Cached: a feed's posts use a few tags over and over, and a lookup costs a third of
    the test.)"""
    return (
        0 < len(tag) <= MAX_TAG_CHARS
        and not tag.startswith("#")
        and _TAG_FORBIDDEN.search(tag) is None
    )


def is_blank_text(text: str) -> bool:
    """True for text that counts as empty: only controls and white space, or nothing."""
    if "!" <= text[:1] <= "~":
        return False  # starts with a printable ASCII character: the common text, at once
    return _BLANK.fullmatch(text) is not None


def is_valid_link(link: str) -> bool:
    """An http, https or lndesk link of at most 2048 code points (no URL parsing)."""
    return len(link) <= MAX_LINK_CHARS and _LINK.fullmatch(link) is not None


def flag(doc: dict[str, Any], name: str) -> bool:
    """The true-or-false field ``name`` (absent: false)."""
    value = doc.get(name)
    if value is None:
        return False
    if type(value) is not bool:
        raise ContentError(f"{what(name)} must be true or false")
    return value


def mentions(doc: dict[str, Any]) -> tuple[bytes, ...]:
    """The people a text mentions: distinct 32-byte keys, at most :data:`MAX_MENTIONS`."""
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


def text_fields(
    doc: dict[str, Any],
) -> tuple[str, tuple[str, ...], tuple[str, ...], tuple[bytes, ...]]:
    """The text, tags, links and mentions a post, reply or edit carries."""
    body = text(doc, "text", None, allow_empty=False)
    tags = str_list(doc, "tags", MAX_TAGS)
    for tag in tags:
        if not is_valid_tag(tag):
            raise ContentError(
                f"tag {tag[:100]!r} is not valid (1 to {MAX_TAG_CHARS} characters, "
                "no leading '#', no white space or control characters)"
            )
    links = str_list(doc, "links", MAX_LINKS)
    for link in links:
        check_link(link)
    return body, tags, links, mentions(doc)


def check_link(link: str) -> None:
    """``ContentError`` unless ``link`` is one lndesk carries (:func:`is_valid_link`)."""
    if not is_valid_link(link):
        raise ContentError(
            f"{link[:100]!r} is not a link lndesk can carry",
            "Links start with http://, https:// or lndesk:// and are at most 2048 characters.",
        )


def ref(doc: dict[str, Any], name: str) -> Ref:
    """The entry the field ``name`` names (author, seq and id)."""
    named = parse_ref(doc.get(name))
    if named is None:
        raise ContentError(f"{what(name)} must name a post by its author, number and id")
    return named


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


def what(name: str) -> str:
    """A field named in words a reader knows ("the text", "the post replied to")."""
    return _WHAT.get(name, f"the {name}")


def field(doc: dict[str, Any], name: str, kind: type, *, optional: bool = False) -> Any:
    """The field ``name``, of exactly the type ``kind`` (None if ``optional`` and absent)."""
    value = doc.get(name)
    if value is None and optional:
        return None
    if type(value) is not kind:
        raise ContentError(f"{what(name)} is missing or is not {_KINDS.get(kind, kind.__name__)}")
    return value


def text(
    doc: dict[str, Any],
    name: str,
    limit: int | None,
    *,
    optional: bool = False,
    allow_empty: bool = True,
) -> str:
    """The text field ``name``, at most ``limit`` characters ("" if ``optional`` and
    absent); blank text is refused unless ``allow_empty``."""
    value = field(doc, name, str, optional=optional)
    if value is None:
        return ""
    if not allow_empty and is_blank_text(value):
        raise ContentError(f"{what(name)} must not be empty")
    if limit is not None and len(value) > limit:
        raise ContentError(f"{what(name)} is longer than {limit:,} characters")
    return str(value)


def str_list(doc: dict[str, Any], name: str, limit: int) -> tuple[str, ...]:
    """The list of text ``name`` (tags, links), at most ``limit`` items (absent: none)."""
    value = doc.get(name)
    if value is None:
        return ()
    if type(value) is not list:
        raise ContentError(f"{what(name)} must be a list of words")
    for item in value:
        if type(item) is not str:
            raise ContentError(f"{what(name)} must be a list of words")
    if len(value) > limit:
        raise ContentError(f"a post has at most {limit} {name}")
    return tuple(value)
