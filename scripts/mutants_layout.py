"""The mutants of the batch layout reader (lndesk/batch_layout.py): each check that keeps
it from taking a batch or a post the general path refuses, with the tests that must
catch its removal. Part of scripts/mutants.py's list."""

from __future__ import annotations

from mutant import Mutant  # scripts/ is on the path

LAYOUT = ("tests/test_batch_layout.py",)
FILE = "lndesk/batch_layout.py"


def _removed(name: str, original: str, mutated: str) -> Mutant:
    return Mutant(f"batch layout: {name}", FILE, original, mutated, LAYOUT)


LAYOUT_MUTANTS = [
    _removed("an entry need not be bytes", "type(raw) is not bytes", "False"),
    _removed(
        "an entry need not start as one of format version 1",
        "                or not raw.startswith(_START)\n",
        "",
    ),
    _removed(
        "an entry of another author is read",
        "                or raw[len(_START) : _AUTHOR_END] != author\n",
        "",
    ),
    _removed(
        "prev may be a byte string of any length",
        "elif raw[pos] == 0x58 and raw[pos + 1] == 0x20:",
        "elif raw[pos] == 0x58:",
    ),
    _removed(
        "an entry of a type not known is read",
        "type_ = type_of(raw[pos:end])",
        'type_ = type_of(raw[pos:end]) or raw[pos + 1 : end].decode("ascii")',
    ),
    # A type's head is checked by the same lookup as its name (only a text string's
    # head of the name's length makes a key): this mutant looks the name up whatever
    # the head, so a head under 0x60 counts the type's end from the entry's end again.
    _removed(
        "a type's head under a text string's counts its end from the entry's end",
        "type_ = type_of(raw[pos:end])",
        "type_ = type_of(bytes([0x60 + len(raw[pos + 1 : end])]) + raw[pos + 1 : end])",
    ),
    _removed(
        "the content hash need not be a byte string",
        "raw[end] != 0x58 or raw[end + 1]",
        "raw[end + 1]",
    ),
    _removed(
        "the content hash may be of any length",
        " or raw[end + 1] != 0x20:",
        ":",
    ),
    _removed(
        "bytes after the signature are read",
        "pos + _SIGNATURE_TAIL != len(raw)",
        "pos + _SIGNATURE_TAIL > len(raw)",
    ),
    _removed(
        "the signature need not be a byte string",
        "                or raw[pos] != 0x58\n",
        "",
    ),
    _removed(
        "the signature may be of any length",
        "                or raw[pos + 1] != 0x40\n",
        "",
    ),
    _removed("seq 0 is read", "not 1 <= seq <= MAX_SEQ", "not seq <= MAX_SEQ"),
    _removed("a seq over 2^53 is read", "not 1 <= seq <= MAX_SEQ", "not 1 <= seq"),
    _removed(
        "entry 1 may have a prev and others none",
        "                or (seq == 1) != (prev is None)\n",
        "",
    ),
    _removed(
        "a time over 2^53 is read",
        "                or claimed_ms > MAX_TIMESTAMP_MS\n",
        "",
    ),
    _removed(
        "a content size over the limit is read",
        "                or payload_size > MAX_PAYLOAD_SIZE\n",
        "",
    ),
    _removed(
        "an entry need not follow the one before it",
        "seq != before_seq + 1 or prev != before_id",
        "prev != before_id",
    ),
    _removed(
        "an entry need not name the one before it",
        "seq != before_seq + 1 or prev != before_id",
        "seq != before_seq + 1",
    ),
    _removed(
        "a payload need not be of its entry's size",
        "len(payload) != payload_size\n                or ",
        "",
    ),
    _removed(
        "a payload need not hash to its entry's hash",
        "\n                or blake2b(payload, digest_size=32).digest() != payload_hash\n",
        "\n",
    ),
    _removed(
        "a number need not be in shortest form",
        "    if value < _MINIMUM[initial]:",
        "    if False:",
    ),
    _removed("a seq of two bytes need not be in shortest form", "if seq < 0x100:", "if False:"),
    _removed(
        "a time of eight bytes need not be in shortest form",
        "if claimed_ms < 1 << 32:",
        "if False:",
    ),
    _removed(
        "a size of two bytes need not be in shortest form", "if payload_size < 0x100:", "if False:"
    ),
    _removed(
        "any payload is read as a post",
        "if entry.type == POST:\n            post = read_post(payload)",
        "if True:\n            post = read_post(payload)",
    ),
    _removed("tags may come twice or late", "rank < 1 and ", ""),
    _removed("text may come twice or late", "rank < 2 and ", ""),
    _removed("links may come twice or late", "rank < 3 and ", ""),
    _removed("mentions may come twice or late", "rank < 4 and ", ""),
    _removed("question may come twice", "rank < 5 and ", ""),
    _removed(
        "question may be other than true or false",
        "if flag not in (0xF4, 0xF5):",
        "if False:",
    ),
    _removed("bytes after a post are read", "pos != len(payload)\n        or ", ""),
    _removed("a post may lack text", "text is None\n        or ", ""),
    _removed("a post's text may be blank", "or is_blank_text(text)\n", "\n"),
    Mutant(
        "batch layout: text that starts with DEL or a wide space is not blank",
        "lndesk/content_fields.py",
        'if "!" <= text[:1] <= "~":',
        'if "!" <= text[:1]:',
        LAYOUT,
    ),
    _removed("a post's tags need not be valid", "not all(map(is_valid_tag, tags))", "False"),
    _removed("a post's links need not be valid", "not all(map(is_valid_link, links))", "False"),
    _removed(
        "a post may mention one person twice",
        "len(set(mentions)) != len(mentions)",
        "False",
    ),
    _removed(
        "a text's one-byte length need not be shortest",
        "        if length < 24:\n",
        "        if False:\n",
    ),
    _removed(
        "a text's two-byte length need not be shortest",
        "        if length < 0x100:\n",
        "        if False:\n",
    ),
    _removed(
        "a word's head of a longer string is read as a short string's",
        "if 0x60 <= initial <= 0x77:  # a string",
        "if 0x60 <= initial:  # a string",
    ),
    _removed(
        "a word's head under a text string's is read as a short string's",
        "if 0x60 <= initial <= 0x77:  # a string",
        "if initial <= 0x77:  # a string",
    ),
    _removed("an array of words may be long", "not 0 <= count <= most", "not 0 <= count"),
    _removed(
        "a string may stand for an array of words", "not 0 <= count <= most", "not count <= most"
    ),
    _removed(
        "mentions may be many",
        "not 0 <= count <= MAX_MENTIONS",
        "not 0 <= count",
    ),
    _removed(
        "a string may stand for the mentions",
        "not 0 <= count <= MAX_MENTIONS",
        "not count <= MAX_MENTIONS",
    ),
    _removed(
        "a mention need not be a byte string",
        "payload[pos] != 0x58 or payload[pos + 1]",
        "payload[pos + 1]",
    ),
    _removed(
        "a mention may be of any length",
        " or payload[pos + 1] != KEY_SIZE:",
        ":",
    ),
    _removed(
        "a share or reply read in place names nothing for context",
        "        named += named_refs(read[0])\n",
        "",
    ),
    Mutant(
        "batch: a share or reply checked the general way names nothing for context",
        "lndesk/batch.py",
        "    named = [ref for content, _ in parsed.values() for ref in named_refs(content)]",
        "    named: list[Ref] = []",
        LAYOUT,
    ),
    Mutant(
        "context: a checked batch's shares and replies are not fetched for",
        "lndesk/p2p/inbox_delivery.py",
        "        return items.named\n",
        "        return []\n",
        ("tests/p2p/test_inbox_delivery_context.py",),
    ),
]
