"""Content types: encoding, parsing and the rules of each known type."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lndesk import canonical
from lndesk.content import (
    KNOWN_TYPES,
    MAX_NAME_CHARS,
    Edit,
    Follow,
    Helpful,
    Post,
    Profile,
    ReadingList,
    Reply,
    Reveal,
    Share,
    Tombstone,
    Unfollow,
    Unknown,
    WebShare,
    encode_content,
    named_refs,
    parse_content,
    post_of_checked,
)
from lndesk.content_fields import (
    MAX_LINK_CHARS,
    MAX_LINKS,
    MAX_TAG_CHARS,
    MAX_TAGS,
    is_blank_text,
    is_valid_link,
    is_valid_tag,
    normalize_tag,
)
from lndesk.entry import MAX_SEQ
from lndesk.entry_refs import Ref
from lndesk.errors import ContentError, EntryError

STABLE = settings(derandomize=True, database=None, deadline=None, max_examples=200)
KEY = hashlib.sha256(b"feed").digest()
ENTRY_ID = hashlib.sha256(b"entry").digest()
REF = Ref(KEY, 3, ENTRY_ID)
OTHER_REF = Ref(hashlib.sha256(b"other").digest(), 1, hashlib.sha256(b"id").digest())


def payload(doc: Any) -> bytes:
    return canonical.encode(doc)


def round_trip(content: Any) -> Any:
    data = encode_content(content)
    parsed = parse_content(content.type, data)
    assert parsed == content
    assert encode_content(parsed) == data
    return canonical.decode(data)


# --- every type encodes and parses back ------------------------------------------------


def test_post() -> None:
    assert round_trip(Post("Hello, world")) == {"text": "Hello, world"}


def test_a_post_made_from_checked_fields_is_the_post_init_makes() -> None:
    fields = ("hi", ("a", "b"), ("https://x.org/",), (b"k" * 32,), True)
    fast, slow = post_of_checked(*fields), Post(*fields)
    assert type(fast) is Post and fast == slow and hash(fast) == hash(slow)
    assert repr(fast) == repr(slow) and fast.type == "post"
    assert fast != post_of_checked("hi", ("a", "b"), ("https://x.org/",), (b"k" * 32,), False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.text = "changed"  # type: ignore[misc]
    assert not hasattr(fast, "__dict__")


def test_named_refs_are_what_a_share_shares_and_what_a_reply_answers() -> None:
    root, parent = (Ref(b"a" * 32, seq, bytes([seq]) * 32) for seq in (1, 2))
    assert named_refs(Share(root, "see")) == (root,)
    assert named_refs(Reply("x", root, parent)) == (parent, root)
    assert named_refs(Post("x")) == named_refs(None) == ()


def test_post_with_tags_and_links() -> None:
    post = Post("Read this", ("pedagogy", "math"), ("https://example.org/a", "lndesk://feed/x"))
    assert round_trip(post) == {
        "text": "Read this",
        "tags": ["pedagogy", "math"],
        "links": ["https://example.org/a", "lndesk://feed/x"],
    }


def test_reply() -> None:
    reply = Reply("Agreed", root=REF, parent=OTHER_REF, tags=("x",), links=("http://a.b",))
    doc = round_trip(reply)
    assert doc["root"] == [KEY, 3, ENTRY_ID]
    assert doc["parent"] == OTHER_REF.to_cbor()


def test_follow_and_unfollow() -> None:
    assert round_trip(Follow(KEY)) == {"feed": KEY}
    assert round_trip(Unfollow(KEY)) == {"feed": KEY}
    data = encode_content(Follow(KEY))
    assert parse_content("unfollow", data) == Unfollow(KEY)


def test_profile() -> None:
    assert round_trip(Profile("Ada")) == {"name": "Ada"}
    full = Profile("Ada", "Counts things.", b"\x89PNG...")
    assert round_trip(full) == {"name": "Ada", "bio": "Counts things.", "avatar": b"\x89PNG..."}


def test_share() -> None:
    assert round_trip(Share(REF)) == {"ref": REF.to_cbor()}
    assert round_trip(Share(REF, "worth a read")) == {
        "ref": REF.to_cbor(),
        "comment": "worth a read",
    }


def test_tombstone() -> None:
    assert round_trip(Tombstone(REF)) == {"ref": REF.to_cbor()}


def test_type_names() -> None:
    assert KNOWN_TYPES == (
        "post",
        "reply",
        "follow",
        "unfollow",
        "profile",
        "share",
        "tombstone",
        "edit",
        "readinglist",
        "webshare",
        "helpful",
        "reveal",
    )
    samples = [Post("t"), Reply("t", REF, REF), Follow(KEY), Unfollow(KEY), Profile("n")]
    samples += [Share(REF), Tombstone(REF), Edit(REF, "t"), ReadingList("r")]
    samples += [WebShare("https://example.org/a"), Helpful(REF, QUESTION)]
    samples += [Reveal(KEY, bytes(64))]
    assert tuple(s.type for s in samples) == KNOWN_TYPES


@STABLE
@given(
    text=st.text(min_size=1).filter(lambda text: not is_blank_text(text)),
    tags=st.lists(st.from_regex(r"[a-z0-9_\-]{1,20}", fullmatch=True), max_size=MAX_TAGS),
    links=st.lists(
        st.from_regex(r"https?://[a-z0-9.]{1,30}(/[a-zA-Z0-9._~%/-]{0,40})?", fullmatch=True),
        max_size=MAX_LINKS,
    ),
)
def test_post_round_trip_property(text: str, tags: list[str], links: list[str]) -> None:
    round_trip(Post(text, tuple(tags), tuple(links)))


@STABLE
@given(
    name=st.text(min_size=1, max_size=MAX_NAME_CHARS).filter(lambda name: not is_blank_text(name)),
    bio=st.text(max_size=60),
    avatar=st.binary(max_size=100),
)
def test_profile_round_trip_property(name: str, bio: str, avatar: bytes) -> None:
    round_trip(Profile(name, bio, avatar))


# --- unknown types and extra keys ----------------------------------------------------


@pytest.mark.parametrize("value", [{"a": 1}, [1, 2], "text", 5, None, b"\x00"])
def test_unknown_type_is_kept_as_it_came(value: Any) -> None:
    data = payload(value)
    parsed = parse_content("x-poll", data)
    assert parsed == Unknown("x-poll", value)
    assert encode_content(parsed) == data


def test_unknown_type_still_needs_canonical_cbor() -> None:
    with pytest.raises(ContentError):
        parse_content("x-poll", b"\xf9\x3c\x00")
    with pytest.raises(ContentError):
        parse_content("x-poll", b"\x18\x01")


@pytest.mark.parametrize(
    ("type_", "doc", "expected"),
    [
        ("post", {"text": "t", "mood": "happy"}, Post("t")),
        ("reply", {"text": "t", "root": REF.to_cbor(), "parent": REF.to_cbor(), "x": []}, None),
        ("follow", {"feed": KEY, "since": 5}, Follow(KEY)),
        ("profile", {"name": "n", "pronouns": "they"}, Profile("n")),
        ("share", {"ref": REF.to_cbor(), "v": {"a": 1}}, Share(REF)),
        ("tombstone", {"ref": REF.to_cbor(), "reason": "typo"}, Tombstone(REF)),
    ],
)
def test_unknown_extra_keys_are_ignored(type_: str, doc: dict[str, Any], expected: Any) -> None:
    parsed = parse_content(type_, payload(doc))
    if expected is None:
        expected = Reply("t", REF, REF)
    assert parsed == expected


# --- tags ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "normal"),
    [
        ("pedagogy", "pedagogy"),
        ("#Pedagogy ", "pedagogy"),
        ("  ##MATH", "math"),
        ("Straße", "strasse"),
        ("ÉCOLE", "école"),
        ("e\u0301cole", "\u00e9cole"),
        ("c++", "c++"),
        ("a#b", "a#b"),
        ("日本語", "日本語"),
    ],
)
def test_tag_normalisation(tag: str, normal: str) -> None:
    assert normalize_tag(tag) == normal
    assert normalize_tag(normal) == normal


@pytest.mark.parametrize(
    "tag",
    [
        "",
        "   ",
        "#",
        "##",
        "two words",
        "tab\there",
        "no\u00a0break",
        "ideographic\u3000space",
        "bell\u0007",
        "delete\u007f",
        "a" * (MAX_TAG_CHARS + 1),
    ],
)
def test_unusable_tags(tag: str) -> None:
    with pytest.raises(ContentError) as info:
        normalize_tag(tag)
    assert info.value.hint


def test_tag_length_limit_counts_after_normalisation() -> None:
    assert normalize_tag("a" * MAX_TAG_CHARS) == "a" * MAX_TAG_CHARS
    assert normalize_tag("#" + "A" * MAX_TAG_CHARS) == "a" * MAX_TAG_CHARS
    with pytest.raises(ContentError):
        normalize_tag("ß" * MAX_TAG_CHARS)  # casefolds to twice as many characters


def test_post_tags_are_normalised_on_encode() -> None:
    data = encode_content(Post("t", ("#Pedagogy", " Math ")))
    assert canonical.decode(data)["tags"] == ["pedagogy", "math"]
    assert parse_content("post", data) == Post("t", ("pedagogy", "math"))


# The readers' rule names its code points, so it cannot change with the Unicode version.
TAG_FORBIDDEN = {
    *range(0x00, 0x20),
    0x7F,
    *range(0x09, 0x0E),
    0x20,
    0x85,
    0xA0,
    0x1680,
    *range(0x2000, 0x200B),
    0x2028,
    0x2029,
    0x202F,
    0x205F,
    0x3000,
}


@pytest.mark.parametrize(
    "tag",
    [
        "Pedagogy",
        "ÉCOLE",
        "e\u0301cole",
        "Straße",
        "ß" * MAX_TAG_CHARS,  # valid although its normal form is too long
        "\ufb01\u0301",
        "a#b",
        "c#",
        "zero\u200bwidth",  # format characters are not white space
        "\u180e",  # white space in old Unicode versions, not since 6.3
        "\U000e0fff",  # unassigned
        "\U0010fffd",
        "a" * MAX_TAG_CHARS,
    ],
)
def test_valid_tags_need_not_be_in_normal_form(tag: str) -> None:
    assert is_valid_tag(tag)
    assert parse_content("post", payload({"text": "t", "tags": [tag]})) == Post("t", (tag,))


@pytest.mark.parametrize(
    "tag",
    [
        "",
        "#",
        "#math",
        "##math",
        " x",
        "x ",
        "two words",
        "two\twords",
        "two\u3000words",
        "line\u2028break",
        "no\u00a0break",
        "next\u0085line",
        "nul\u0000",
        "escape\u001b",
        "delete\u007f",
        "a" * (MAX_TAG_CHARS + 1),
    ],
)
def test_invalid_tags_are_rejected_on_parse(tag: str) -> None:
    assert not is_valid_tag(tag)
    with pytest.raises(ContentError):
        parse_content("post", payload({"text": "t", "tags": [tag]}))


def test_tag_rule_forbids_exactly_the_listed_code_points() -> None:
    forbidden = {c for c in range(0x110000) if not is_valid_tag("a" + chr(c))}
    assert forbidden == TAG_FORBIDDEN
    # Every code point Python counts as white space is among them, so a normalised tag
    # never holds white space whatever the runtime's Unicode version.
    assert {c for c in range(0x110000) if chr(c).isspace()} <= TAG_FORBIDDEN


def test_tag_length_counts_code_points() -> None:
    combining = "e" + "\u0301" * (MAX_TAG_CHARS - 1)  # one grapheme, 64 code points
    assert is_valid_tag(combining)
    assert not is_valid_tag(combining + "\u0301")
    assert is_valid_tag("\U0001f600" * MAX_TAG_CHARS)  # outside the BMP: one each


@STABLE
@given(st.text(max_size=MAX_TAG_CHARS + 4))
def test_normalised_tags_are_valid_for_readers(tag: str) -> None:
    try:
        normal = normalize_tag(tag)
    except ContentError:
        return
    assert is_valid_tag(normal)
    assert parse_content("post", encode_content(Post("t", (tag,)))) == Post("t", (normal,))


@STABLE
@given(
    st.text(
        alphabet=st.characters(categories=("Lu", "Ll", "Nd"), max_codepoint=0x24F),
        min_size=1,
        max_size=MAX_TAG_CHARS // 2,
    )
)
def test_normalised_tags_round_trip(tag: str) -> None:
    normal = normalize_tag(tag)
    assert normalize_tag(normal) == normal
    assert parse_content("post", encode_content(Post("t", (tag,)))) == Post("t", (normal,))


def test_normalize_tag_is_idempotent_for_ligature_with_accent() -> None:
    normal = normalize_tag("\ufb01\u0301")
    assert normalize_tag(normal) == normal
    encode_content(Post("t", ("\ufb01\u0301",)))


# --- malformed payloads ----------------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "ftp://example.org/file",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "example.org",
        "//example.org/x",
        "http:example.org",
        "https://",
        "https:///x",
        "lndesk:///feed",
        "mailto:someone@example.org",
        "",
        "HTTP://example.org",
        "Https://example.org",
        "LNDESK://feed/x",
        " https://example.org",
        "https://example.org ",
        "https://example.org/a b",
        "https://example.org/\t",
        "https://example.org/\n",
        "https://example.org/\u0000",
        "https://example.org/\u007f",
        "https://\u0001",
        "https//example.org",
        "https:/example.org",
    ],
)
def test_bad_links_are_rejected(link: str) -> None:
    with pytest.raises(ContentError):
        encode_content(Post("t", links=(link,)))
    with pytest.raises(ContentError):
        parse_content("post", payload({"text": "t", "links": [link]}))


@pytest.mark.parametrize(
    "link",
    [
        "http://[",
        "https://[::1/x",
        "https://[::1]:8080/x",
        "http://a\uff03b/",
        "https://caf\u00e9.example/\u65e5\u672c",
        "https://example.org/\u00a0",  # only U+0000..U+0020 and U+007F are refused
        "https://example.org/\u3000",
        "https://?q",
        "https://#f",
        "lndesk://x",
        "http://a//b",
        "http://user:pass@host:99999/%zz",
    ],
)
def test_links_are_not_parsed_as_uris(link: str) -> None:
    assert is_valid_link(link)
    post = Post("t", links=(link,))
    assert parse_content("post", payload({"text": "t", "links": [link]})) == post
    round_trip(post)


def test_link_rule_forbids_exactly_c0_space_and_delete() -> None:
    forbidden = {c for c in range(0x110000) if not is_valid_link("https://a/" + chr(c))}
    assert forbidden == {*range(0x21), 0x7F}
    first = {c for c in range(0x110000) if not is_valid_link("https://" + chr(c))}
    assert first == {*range(0x21), 0x2F, 0x7F}


def test_link_length_counts_code_points() -> None:
    prefix = "https://example.org/"
    longest = prefix + "\U0001f600" * (MAX_LINK_CHARS - len(prefix))
    assert is_valid_link(longest)
    assert not is_valid_link(longest + "a")


BAD_REFS: list[Any] = [
    None,
    "ref",
    [],
    [KEY, 3],
    [KEY, 3, ENTRY_ID, 0],
    [KEY[:31], 3, ENTRY_ID],
    [KEY + b"\x00", 3, ENTRY_ID],
    ["key", 3, ENTRY_ID],
    [KEY, 0, ENTRY_ID],
    [KEY, -1, ENTRY_ID],
    [KEY, MAX_SEQ + 1, ENTRY_ID],
    [KEY, "3", ENTRY_ID],
    [KEY, True, ENTRY_ID],
    [KEY, 3, ENTRY_ID[:31]],
    [KEY, 3, None],
    {"author": KEY, "seq": 3, "id": ENTRY_ID},
]


@pytest.mark.parametrize("bad", BAD_REFS, ids=range(len(BAD_REFS)))
def test_bad_refs_are_rejected(bad: Any) -> None:
    good = REF.to_cbor()
    docs = {
        "share": {"ref": bad},
        "tombstone": {"ref": bad},
        "reply": {"text": "t", "root": bad, "parent": good},
    }
    for type_, doc in docs.items():
        present = {k: v for k, v in doc.items() if v is not None}  # None: field missing
        with pytest.raises(ContentError, match="by its author, number and id"):
            parse_content(type_, payload(present))
    with pytest.raises(ContentError):
        parse_content("reply", payload({"text": "t", "root": good, "parent": bad}))


def test_ref_at_sequence_limit_is_accepted() -> None:
    ref = Ref(KEY, MAX_SEQ, ENTRY_ID)
    round_trip(Share(ref))


def test_encode_refuses_bad_ref() -> None:
    with pytest.raises(ContentError):
        encode_content(Share(Ref(KEY, 0, ENTRY_ID)))
    with pytest.raises(ContentError):
        encode_content(Tombstone(Ref(KEY[:5], 1, ENTRY_ID)))


@pytest.mark.parametrize("feed", [b"", KEY[:31], KEY + b"\x00"])
def test_follow_needs_a_32_byte_key(feed: bytes) -> None:
    with pytest.raises(ContentError, match="32-byte"):
        encode_content(Follow(feed))
    with pytest.raises(ContentError):
        parse_content("unfollow", payload({"feed": feed}))


@pytest.mark.parametrize(
    ("type_", "doc"),
    [
        ("post", {}),
        ("post", {"text": 5}),
        ("post", {"text": b"bytes"}),
        ("post", {"text": "t", "tags": "one"}),
        ("post", {"text": "t", "tags": [1]}),
        ("post", {"text": "t", "links": {"a": "b"}}),
        ("post", {"text": "t", "links": [None]}),
        ("post", ["text"]),
        ("post", "text"),
        ("follow", {}),
        ("follow", {"feed": KEY.hex()}),
        ("profile", {}),
        ("profile", {"name": 1}),
        ("profile", {"name": "n", "bio": 5}),
        ("profile", {"name": "n", "avatar": "png"}),
        ("share", {"ref": REF.to_cbor(), "comment": 1}),
        ("reply", {"text": "t", "root": REF.to_cbor()}),
        ("tombstone", {}),
    ],
)
def test_malformed_payloads_are_rejected(type_: str, doc: Any) -> None:
    with pytest.raises(ContentError):
        parse_content(type_, payload(doc))


@pytest.mark.parametrize("type_", KNOWN_TYPES)
@pytest.mark.parametrize(
    "data",
    [b"", b"\xf9\x3c\x00", b"\xa1\x61a\x01\x00", b"\xa2\x61b\x01\x61a\x02", b"\x9f\xff"],
)
def test_payloads_that_are_not_canonical_cbor(type_: str, data: bytes) -> None:
    with pytest.raises(ContentError, match="not valid CBOR"):
        parse_content(type_, data)


def test_content_error_is_an_entry_error() -> None:
    with pytest.raises(EntryError):
        parse_content("post", payload({}))


QUESTION = Ref(KEY, 3, bytes(range(32)))
