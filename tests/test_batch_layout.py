"""The batch layout reader against the general check: it takes only batches the general
path takes, answers what it answers, and leaves every other batch to it."""

from __future__ import annotations

from typing import Any

import pytest
from cbor_reference import head, ref_encode
from hypothesis import given, settings
from hypothesis import strategies as st

from lndesk.batch import check_batch, check_each
from lndesk.batch_layout import read_batch, read_entries, read_layout, read_post
from lndesk.content import Post, Reply, Share, encode_content, parse_content
from lndesk.entry import MAX_PAYLOAD_SIZE, MAX_SEQ, MAX_TIMESTAMP_MS
from lndesk.entry_refs import Ref
from lndesk.errors import ContentError, EntryError
from lndesk.identity import blake2b_256

STABLE = settings(derandomize=True, database=None, deadline=None, max_examples=1500)
AUTHOR = bytes(range(32))
OTHER = bytes(range(1, 33))
Item = tuple[bytes, bytes | None]


def raw_entry(
    seq: int,
    prev: bytes | None,
    payload: bytes,
    *,
    type_: str = "post",
    author: bytes = AUTHOR,
    claimed: int = 1_700_000_000_000,
    size: int | None = None,
    widths: tuple[int | None, int | None, int | None] = (None, None, None),
    signature: bytes = b"s" * 64,
    version: int = 1,
) -> bytes:
    """An entry's bytes built from the rule (cbor_reference), heads of any width; the
    signature is not checked by either path, so any 64 bytes do."""
    return (
        b"\x89"
        + ref_encode(version)
        + ref_encode(author)
        + head(0, seq, widths[0])
        + (b"\xf6" if prev is None else ref_encode(prev))
        + head(0, claimed, widths[1])
        + ref_encode(type_)
        + ref_encode(blake2b_256(payload))
        + head(0, len(payload) if size is None else size, widths[2])
        + ref_encode(signature)
    )


def post(text: str = "hello", **fields: Any) -> bytes:
    return ref_encode({"text": text, **fields})


def chain(payloads: list[bytes | None], first: int = 1, **kwargs: Any) -> list[Item]:
    """Linked entries from seq ``first`` (a missing payload: its entry commits to b"")."""
    items: list[Item] = []
    prev = None if first == 1 else b"p" * 32
    for number, payload in enumerate(payloads):
        raw = raw_entry(first + number, prev, payload or b"", **kwargs)
        items.append((raw, payload))
        prev = blake2b_256(raw)
    return items


def agree(items: list[Item], author: bytes = AUTHOR) -> bool:
    """Whether the layout reader took the batch; asserting that what it answers is what
    the general path answers, and that it takes nothing the general path refuses."""
    fast = read_batch(author, items)
    layout = read_layout(author, items)
    assert (fast is None) == (layout is None)
    try:
        slow = check_each(author, items)
    except EntryError:
        assert fast is None
        return False
    if fast is None or layout is None:
        return False
    entries, parsed = fast
    assert entries == list(slow.entries)
    assert parsed == slow.parsed
    assert layout == (entries, parsed, slow.named)
    assert all(type(entry.raw) is bytes for entry in entries)
    return True


def post_agrees(payload: bytes) -> bool:
    """Whether read_post took ``payload``; asserting it answers what parse_content does."""
    fast = read_post(payload)
    try:
        slow = parse_content("post", payload)
    except ContentError:
        assert fast is None
        return False
    assert fast is None or fast == slow
    return fast is not None


# --- entries ----------------------------------------------------------------------


def test_a_batch_of_posts_is_read_in_place() -> None:
    items = chain([post("one", tags=["a"]), None, post("three", question=True)])
    assert agree(items)
    entries, parsed = read_batch(AUTHOR, items) or ([], {})
    assert [entry.seq for entry in entries] == [1, 2, 3]
    assert parsed[entries[2].id] == (Post("three", question=True), None)
    assert entries[1].id not in parsed
    assert check_batch(AUTHOR, items).entries == tuple(entries)


def test_a_batch_names_what_its_shares_and_replies_name_whichever_path_reads_it() -> None:
    first, second, third = (Ref(OTHER, seq, bytes([seq]) * 32) for seq in (1, 2, 3))
    share = encode_content(Share(first, "look"))
    reply = encode_content(Reply("yes", second, third))
    payloads = [post("one"), share, None, reply, post("five"), ref_encode({"ref": 1})]
    types = ["post", "share", "share", "reply", "post", "share"]
    items: list[Item] = []
    prev = None
    for seq, (payload, type_) in enumerate(zip(payloads, types, strict=True), 1):
        raw = raw_entry(seq, prev, payload or b"", type_=type_)
        items.append((raw, payload))
        prev = blake2b_256(raw)
    assert agree(items)
    # A share's ref; a reply's parent, then its root; nothing of a post, of an entry
    # without its payload, or of content that does not parse.
    assert check_batch(AUTHOR, items).named == [first, third, second]
    assert check_each(AUTHOR, items).named == [first, third, second]
    posts = chain([post("one"), post("two")])
    assert check_batch(AUTHOR, posts).named == check_each(AUTHOR, posts).named == []


def test_other_types_are_parsed_the_general_way() -> None:
    follow = ref_encode({"feed": OTHER})
    bad = ref_encode({"text": ""})
    items = chain([follow, bad], type_="follow")
    assert agree(items)
    assert agree(chain([post(), ref_encode({"text": "x", "root": 1})], type_="reply"))


@pytest.mark.parametrize(
    "items",
    [
        pytest.param(chain([post()], author=OTHER), id="another author"),
        pytest.param(chain([post()], version=2), id="format version 2"),
        pytest.param(chain([post()], type_="Post"), id="a type out of the pattern"),
        pytest.param(chain([post()], widths=(1, None, None)), id="seq not shortest"),
        pytest.param(chain([post()], widths=(None, None, 2)), id="size not shortest"),
        pytest.param(chain([post()], widths=(2, None, None)), id="seq of two bytes not shortest"),
        pytest.param(
            chain([post()], claimed=5, widths=(None, 8, None)), id="time of eight not shortest"
        ),
        pytest.param(chain([post()], claimed=MAX_TIMESTAMP_MS + 1), id="time over 2^53"),
        pytest.param(chain([None], size=MAX_PAYLOAD_SIZE + 1), id="size over the limit"),
        pytest.param(chain([post()], first=MAX_SEQ + 1), id="seq over 2^53"),
        pytest.param(chain([post()], signature=b"s" * 63), id="a short signature"),
        pytest.param(chain([post(), post()])[::-1], id="not linked"),
    ],
)
def test_batches_the_general_path_refuses_are_not_read(items: list[Item]) -> None:
    assert not agree(items)
    with pytest.raises(EntryError):
        check_batch(AUTHOR, items)


@pytest.mark.parametrize("type_", ["note", "a" * 24])
def test_types_not_known_or_of_24_letters_are_left_to_the_general_path(type_: str) -> None:
    items = chain([post()], type_=type_)
    assert not agree(items)
    assert check_batch(AUTHOR, items).entries[0].type == type_


def test_a_gap_in_seq_or_a_broken_link_is_left_to_the_general_path() -> None:
    one, two = chain([post(), post("b")])
    skipped = raw_entry(3, blake2b_256(one[0]), b"")
    assert not agree([one, (skipped, None)])
    unlinked = raw_entry(2, b"q" * 32, b"")
    assert not agree([one, (unlinked, None)])
    assert agree([one, two])


def test_entry_one_must_have_no_prev_and_others_one() -> None:
    assert not agree([(raw_entry(1, b"p" * 32, b""), None)])
    prev_null = b"\x89\x01" + ref_encode(AUTHOR) + b"\x02\xf6" + raw_entry(2, None, b"")[38:]
    assert not agree([(prev_null, None)])
    assert agree([(raw_entry(2, b"p" * 32, b""), None)])
    bad_prev = raw_entry(2, b"p" * 31, b"")
    assert not agree([(bad_prev, None)])


def test_a_payload_must_match_its_entry() -> None:
    (raw, payload), *_ = chain([post()])
    assert not agree([(raw, post("other"))])  # same size, other hash
    assert not agree([(raw, (payload or b"") + b"\x00")])
    assert agree([(raw, None)])


def test_bytes_after_the_signature_are_refused() -> None:
    raw, payload = chain([post()])[0]
    assert not agree([(raw + b"\x00", payload)])


def crafted(middle: bytes, tail: bytes = ref_encode(b"s" * 64)) -> bytes:
    """Entry 2 of AUTHOR from ``middle`` (its fields after seq) and ``tail``."""
    return b"\x89\x01" + ref_encode(AUTHOR) + b"\x02" + middle + tail


HASH = ref_encode(blake2b_256(b""))
TIME = b"\x05"


@pytest.mark.parametrize(
    "raw",
    [
        # Each would be read as an entry of the layout by one field's head less checked.
        pytest.param(
            crafted(b"\x58\x21" + b"p" * 32 + TIME + b"\x64post" + HASH + b"\x00"), id="prev of 33"
        ),
        pytest.param(
            crafted(ref_encode(b"p" * 32) + TIME + b"\x64post\x78\x20" + HASH[2:] + b"\x00"),
            id="hash as text",
        ),
        pytest.param(
            crafted(ref_encode(b"p" * 32) + TIME + b"\x64post\x58\x21" + HASH[2:] + b"\x00"),
            id="hash of 33",
        ),
        pytest.param(
            crafted(
                ref_encode(b"p" * 32) + TIME + b"\x64post" + HASH + b"\x00", b"\x78\x40" + b"s" * 64
            ),
            id="signature as text",
        ),
        pytest.param(
            crafted(
                ref_encode(b"p" * 32) + TIME + b"\x64post" + HASH + b"\x00", b"\x58\x3f" + b"s" * 64
            ),
            id="signature of 63 and a byte",
        ),
    ],
)
def test_every_head_of_the_layout_is_checked(raw: bytes) -> None:
    assert not agree([(raw, None)])


def test_a_type_head_under_a_text_string_is_refused() -> None:
    # Under 0x60 a type's head gave a negative length, and a negative end counts from the
    # entry's end: the type, its hash and its size were read from other fields' bytes.
    # An author whose key holds a small byte, 0x58 and 0x40 here had an entry no decoder
    # takes read as a reply with an empty hash.
    author = bytearray(range(32))
    author[6:9] = b"\x05\x58\x40"
    time = b"\x1b" + (2**40).to_bytes(8, "big")
    raw = b"\x89\x01" + ref_encode(bytes(author)) + b"\x01\xf6" + time
    raw += b"\x18reply\x58\x20" + b"j" * 22
    assert not agree([(raw, None)], bytes(author))
    with pytest.raises(EntryError):
        check_batch(bytes(author), [(raw, None)])


def test_seq_0_is_refused() -> None:
    assert not agree([(raw_entry(0, b"p" * 32, b""), None)])


def test_a_size_other_than_the_payloads_is_refused() -> None:
    raw = raw_entry(1, None, b"abc", size=4)
    assert not agree([(raw, b"abc")])
    assert agree([(raw, None)])


def test_entries_are_kept_as_bytes() -> None:
    raw, payload = chain([post()])[0]
    assert read_entries(AUTHOR, [(bytearray(raw), payload)]) is None  # type: ignore[list-item]


@st.composite
def batches(draw: st.DrawFn) -> list[Item]:
    count = draw(st.integers(1, 4))
    first = draw(st.sampled_from([1, 1, 2, 23, 24, 255, 256, 65536, 2**32, MAX_SEQ]))
    type_ = draw(st.sampled_from(["post", "post", "follow", "reply", "x", "a" * 23]))
    payloads = [draw(st.one_of(st.none(), post_payloads())) for _ in range(count)]
    widths = draw(st.tuples(*[st.sampled_from([None, None, None, 1, 2, 4, 8])] * 3))
    claimed = draw(st.sampled_from([0, 23, 24, 2**32, MAX_TIMESTAMP_MS, MAX_TIMESTAMP_MS + 1]))
    try:
        items = chain(payloads, first, type_=type_, widths=widths, claimed=claimed)
    except (OverflowError, StopIteration, KeyError):
        items = chain(payloads, first, type_=type_)
    if draw(st.booleans()):
        at = draw(st.integers(0, count - 1))
        raw, payload = items[at]
        spot = draw(st.integers(0, len(raw) - 1))
        raw = raw[:spot] + bytes([draw(st.integers(0, 255))]) + raw[spot + 1 :]
        items[at] = (raw, payload)
    return items


@STABLE
@given(batches())
def test_the_layout_reader_agrees_with_the_general_path(items: list[Item]) -> None:
    agree(items)


# --- posts --------------------------------------------------------------------------

KEY = b"k" * 32
MANY = [bytes([number]) * 32 for number in range(17)]


@pytest.mark.parametrize(
    "doc",
    [
        {"text": "hello"},
        {"text": "x" * 23},
        {"text": "x" * 24},
        {"text": "é" * 200},
        {"text": "hi", "tags": ["a", "b"], "links": ["https://x.org/"], "mentions": [KEY]},
        {"text": "hi", "tags": [], "links": [], "mentions": []},
        {"text": "hi", "question": True},
        {"text": "hi", "question": False},
        {"text": "hi", "tags": ["t"] * 16, "links": ["lndesk://a"] * 16},
        {"text": "hi", "mentions": MANY[:16]},
        {"text": "hi", "tags": ["x" * 24, "t"], "links": ["https://example.org/" + "a" * 40]},
    ],
)
def test_posts_are_read_as_parse_content_reads_them(doc: dict[str, Any]) -> None:
    assert post_agrees(ref_encode(doc))


def pairs(*fields: tuple[str, Any]) -> bytes:
    """A map of ``fields`` in the order given (duplicates and any order allowed)."""
    return head(5, len(fields)) + b"".join(ref_encode(k) + ref_encode(v) for k, v in fields)


def word_head_under_a_string() -> bytes:
    """A post whose tag's head is a byte string's (0x41), no post to the general
    parser. Read as a short text string's head it gives the tag an end 23 bytes before
    the payload's end: the tag is read from all the bytes up to there, and the text from
    there (its two-byte length, in shortest form, counted from a position before the
    payload's start lands on the payload's end)."""
    tag = "\U0001f600" * 52 + "ab"  # 210 bytes, 54 code points: a valid tag
    size = 8 + len(tag.encode()) + 23
    text = b"\x64text\x79" + (size + 15).to_bytes(2, "big") + b"y" * 15
    return b"\xa2\x64tags\x81\x41" + tag.encode() + text


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(word_head_under_a_string(), id="a word's head under a string's"),
        pytest.param(ref_encode({"text": " \t"}), id="blank text"),
        pytest.param(ref_encode({"text": "\x7f "}), id="blank text from DEL"),
        pytest.param(ref_encode({"text": "\u3000\xa0"}), id="blank text of wide spaces"),
        pytest.param(ref_encode({"tags": ["a"]}), id="no text"),
        pytest.param(ref_encode({"text": "x", "tags": ["#a"]}), id="a tag with #"),
        pytest.param(ref_encode({"text": "x", "tags": ["a"] * 17}), id="17 tags"),
        pytest.param(ref_encode({"text": "x", "links": ["ftp://a"]}), id="a bad link"),
        pytest.param(ref_encode({"text": "x", "links": ["https://a"] * 17}), id="17 links"),
        pytest.param(ref_encode({"text": "x", "mentions": [KEY, KEY]}), id="a mention twice"),
        pytest.param(ref_encode({"text": "x", "mentions": MANY}), id="17 mentions"),
        pytest.param(ref_encode({"text": "x", "mentions": [b"k" * 31]}), id="short key"),
        pytest.param(ref_encode({"text": "x", "question": None}), id="question null"),
        pytest.param(ref_encode({"text": "x", "question": 1}), id="question 1"),
        pytest.param(ref_encode({"text": "x", "tags": "a"}), id="tags a string"),
        pytest.param(ref_encode({"text": "x", "other": 1}), id="an unknown key"),
        pytest.param(ref_encode({"text": b"x"}), id="text as bytes"),
        pytest.param(ref_encode({"text": "x"}) + b"\x00", id="trailing byte"),
        pytest.param(b"\xa1\x64text\x78\x01x", id="text head not shortest"),
        pytest.param(b"\xa1\x64text\x79\x00\x01x", id="text head of two bytes"),
        pytest.param(b"\xa1\x64text\x62\xc3\x28", id="not UTF-8"),
        pytest.param(b"\xa1\x64text\x65hi", id="text cut short"),
        pytest.param(b"\xa0", id="empty map"),
        pytest.param(b"\xa6" + ref_encode({"text": "x"})[1:], id="count over 5"),
        pytest.param(pairs(("text", "x"), ("tags", ["a"])), id="tags after text"),
        pytest.param(pairs(("tags", ["a"]), ("tags", ["b"]), ("text", "x")), id="tags twice"),
        pytest.param(pairs(("text", "x"), ("text", "y")), id="text twice"),
        pytest.param(pairs(("links", []), ("text", "x")), id="links before text"),
        pytest.param(pairs(("text", "x"), ("links", []), ("links", [])), id="links twice"),
        pytest.param(pairs(("text", "x"), ("mentions", []), ("mentions", [])), id="mentions x2"),
        pytest.param(
            pairs(("text", "x"), ("question", True), ("mentions", [])), id="mentions last"
        ),
        pytest.param(
            pairs(("text", "x"), ("question", True), ("question", True)), id="question x2"
        ),
        pytest.param(b"\xa2\x64tags\x67\x64text\x61x", id="tags a string of a text pair"),
        pytest.param(b"\xa2\x64text\x61x\x68mentions\x60", id="mentions an empty string"),
        pytest.param(ref_encode({"text": "x", "mentions": ["k" * 32]}), id="mention as text"),
        pytest.param(
            b"\xa2\x64text\x61x\x68mentions\x82\x58\x21" + KEY + b"\x58\x00" + b"j" * 32,
            id="a mention of 33 bytes",
        ),
    ],
)
def test_posts_the_general_parser_refuses_are_not_read(payload: bytes) -> None:
    assert not post_agrees(payload)


WORDS = st.sampled_from(["t", "pedagogy", "é", "x" * 64] * 6 + ["#t", "", "a b", "x" * 65])
LINKS = st.sampled_from(["https://a.b/c", "lndesk://x", "http://x/" + "y" * 2039] * 4 + ["ftp://x"])
MENTIONS = st.sampled_from([KEY, b"j" * 32] * 4 + [b"s" * 31])
GOOD = {
    "text": st.one_of(
        st.text(
            st.characters(min_codepoint=0x21, exclude_categories=("Cs",)), min_size=1, max_size=40
        ),
        st.text(max_size=3),
        st.sampled_from(["", " \t", "x" * 300]),
    ),
    "tags": st.one_of(st.lists(WORDS, max_size=3), st.lists(WORDS, min_size=15, max_size=17)),
    "links": st.one_of(st.lists(LINKS, max_size=3), st.lists(LINKS, min_size=15, max_size=17)),
    "mentions": st.lists(MENTIONS, max_size=3),
    "question": st.one_of(st.booleans(), st.none()),
}
ANY = st.one_of(st.text(max_size=5), st.lists(WORDS, max_size=3), st.integers(-3, 3), st.none())


@st.composite
def post_payloads(draw: st.DrawFn) -> bytes:
    """Posts, mostly valid, some with wrong values, unknown keys, keys out of order or
    twice, heads not shortest, or a byte changed."""
    names = draw(st.lists(st.sampled_from([*GOOD, "other"]), max_size=5))
    if draw(st.integers(0, 5)):
        names.append("text")
    fields = [
        (name, draw(GOOD[name] if name in GOOD and draw(st.integers(0, 9)) else ANY))
        for name in names
    ]
    shape = draw(st.integers(0, 5))
    if shape <= 3:
        payload = ref_encode(dict(fields))  # deterministic, duplicates merged
    elif shape == 4:
        payload = pairs(*fields)
    else:  # a long head where a short one would do
        payload = head(5, len(fields), 1) + b"".join(
            ref_encode(k) + ref_encode(v) for k, v in fields
        )
    if payload and not draw(st.integers(0, 3)):
        spot = draw(st.integers(0, len(payload) - 1))
        payload = payload[:spot] + bytes([draw(st.integers(0, 255))]) + payload[spot + 1 :]
    return payload


@STABLE
@given(post_payloads())
def test_the_post_reader_agrees_with_parse_content(payload: bytes) -> None:
    post_agrees(payload)


# --- mutated batches of any author ------------------------------------------------

SPLICES = [b"\x58\x40", b"\x58\x20", b"\x05\x58\x40", b"\x18", b"\x19", b"\x1a", b"\x1b", b"\xf6"]
"""Bytes that are heads of the layout: a key holding them lets a reader that lost its
place in an entry find a field where none is."""


@st.composite
def authors(draw: st.DrawFn) -> bytes:
    author = bytearray(draw(st.binary(min_size=32, max_size=32)))
    for _ in range(draw(st.integers(0, 2))):
        splice = draw(st.sampled_from(SPLICES))
        at = draw(st.integers(0, 32 - len(splice)))
        author[at : at + len(splice)] = splice
    return bytes(author)


def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with a few bytes replaced, inserted or deleted, or a run of it cut out or
    repeated."""
    for _ in range(draw(st.integers(1, 3))):
        if not data:
            break
        spot = draw(st.integers(0, len(data) - 1))
        byte = bytes([draw(st.sampled_from([*range(0x00, 0x20), *range(0x56, 0x80), 0xF6, 0xFF]))])
        kind = draw(st.integers(0, 4))
        if kind == 0:
            data = data[:spot] + byte + data[spot + 1 :]
        elif kind == 1:
            data = data[:spot] + byte + data[spot:]
        elif kind == 2:
            data = data[:spot] + data[spot + 1 :]
        else:
            run = draw(st.integers(1, 40))
            cut = data[spot : spot + run]
            data = data[:spot] + (cut if kind == 3 else b"") + data[spot:]
    return data


@st.composite
def mutated_batches(draw: st.DrawFn) -> tuple[bytes, list[Item]]:
    author = draw(authors())
    count = draw(st.integers(1, 3))
    type_ = draw(st.sampled_from(["post", "post", "reply", "readinglist", "x", "a" * 23]))
    payloads = [draw(st.one_of(st.none(), post_payloads())) for _ in range(count)]
    widths = draw(st.tuples(*[st.sampled_from([None, None, None, 1, 2, 4, 8])] * 3))
    claimed = draw(st.sampled_from([0, 24, 2**32, 2**40, MAX_TIMESTAMP_MS]))
    first = draw(st.sampled_from([1, 1, 2, 24, 2**32]))
    try:
        items = chain(payloads, first, type_=type_, author=author, widths=widths, claimed=claimed)
    except (OverflowError, StopIteration, KeyError):
        items = chain(payloads, first, type_=type_, author=author)
    at = draw(st.integers(0, count - 1))
    raw, payload = items[at]
    if draw(st.integers(0, 3)):
        raw = mutated(draw, raw)
    elif payload is not None:
        payload = mutated(draw, payload)
    items[at] = (raw, payload)
    return author, items


@settings(STABLE, max_examples=1000)
@given(mutated_batches())
def test_mutated_batches_of_any_author_get_one_answer(batch: tuple[bytes, list[Item]]) -> None:
    agree(batch[1], batch[0])
