"""The negative vectors of what people type or open: content payloads, key text and share
links, backup words and key files."""

from __future__ import annotations

from typing import Any

from positive_vectors import keyfile_doc
from vector_helpers import AddVector, h

from lndesk import canonical
from lndesk.errors import BackupWordsError
from lndesk.identity import Identity
from lndesk.keyfile import encode_key_file
from lndesk.keytext import key_to_text


def content_cases(add: AddVector, key: bytes) -> None:
    """Payloads that do not parse as their content type; key is a feed to refer to."""
    ref = [key, 1, bytes(range(0x80, 0xA0))]

    def content(name: str, type_: str, value: Any) -> None:
        add(name, "content", "ContentError", content_type=type_, input=h(canonical.encode(value)))

    content("post: payload is not a map", "post", ["Hi"])
    content("post: text missing", "post", {"tags": ["maths"]})
    content("post: text empty", "post", {"text": ""})
    content("post: text only white space", "post", {"text": " \n\t"})
    content(
        "post: text only controls and Unicode white space",
        "post",
        {"text": "\u3000\x1b\u2028\xa0"},
    )
    content("post: text is bytes", "post", {"text": b"Hi"})
    content("post: tag starting with '#'", "post", {"text": "Hi", "tags": ["#maths"]})
    content("post: empty tag", "post", {"text": "Hi", "tags": [""]})
    content("post: tag with a space", "post", {"text": "Hi", "tags": ["two words"]})
    content("post: tag with a tab", "post", {"text": "Hi", "tags": ["two\twords"]})
    content("post: tag with U+3000", "post", {"text": "Hi", "tags": ["two\u3000words"]})
    content("post: tag with U+0085", "post", {"text": "Hi", "tags": ["maths\u0085"]})
    content("post: tag with U+00A0", "post", {"text": "Hi", "tags": ["no\u00a0break"]})
    content("post: tag with U+0001", "post", {"text": "Hi", "tags": ["a\u0001"]})
    content("post: tag with U+007F", "post", {"text": "Hi", "tags": ["a\u007f"]})
    content("post: tag of 65 characters", "post", {"text": "Hi", "tags": ["t" * 65]})
    content("post: 17 tags", "post", {"text": "Hi", "tags": [f"t{i}" for i in range(17)]})
    content("post: tags not a list", "post", {"text": "Hi", "tags": "maths"})
    content("post: link with scheme ftp", "post", {"text": "Hi", "links": ["ftp://example.org/"]})
    content("post: link with '/' right after '//'", "post", {"text": "Hi", "links": ["https:///x"]})
    content("post: link with nothing after '//'", "post", {"text": "Hi", "links": ["https://"]})
    content("post: link with uppercase scheme", "post", {"text": "Hi", "links": ["HTTP://x"]})
    content("post: link with a space", "post", {"text": "Hi", "links": ["https://a.org/a b"]})
    content("post: link with U+007F", "post", {"text": "Hi", "links": ["https://a.org/\u007f"]})
    content("post: link with a newline", "post", {"text": "Hi", "links": ["https://a.org/\n"]})
    content("post: link not a URL", "post", {"text": "Hi", "links": ["example.org"]})
    content(
        "post: link of 2049 characters",
        "post",
        {"text": "Hi", "links": ["https://example.org/" + "a" * 2029]},
    )
    content(
        "post: 17 links",
        "post",
        {"text": "Hi", "links": [f"https://example.org/{i}" for i in range(17)]},
    )
    content("reply: parent missing", "reply", {"text": "Hi", "root": ref})
    content("reply: root of two elements", "reply", {"text": "Hi", "root": ref[:2], "parent": ref})
    content(
        "reply: ref with seq 0",
        "reply",
        {"text": "Hi", "root": ref, "parent": [key, 0, ref[2]]},
    )
    content(
        "reply: ref id of 31 bytes",
        "reply",
        {"text": "Hi", "root": ref, "parent": [key, 1, ref[2][:31]]},
    )
    content("post: question is 1", "post", {"text": "Hi", "question": 1})
    content("post: a key mentioned twice", "post", {"text": "Hi", "mentions": [key, key]})
    content("post: mention of 31 bytes", "post", {"text": "Hi", "mentions": [key[:31]]})
    content(
        "post: 17 mentions",
        "post",
        {"text": "Hi", "mentions": [bytes([i]) * 32 for i in range(17)]},
    )
    content("edit: ref missing", "edit", {"text": "Hi"})
    content("edit: text empty", "edit", {"ref": ref, "text": ""})
    content("readinglist: items missing", "readinglist", {"title": "Read"})
    content("readinglist: title empty", "readinglist", {"title": " ", "items": []})
    content(
        "readinglist: title of 201 characters", "readinglist", {"title": "t" * 201, "items": []}
    )
    content(
        "readinglist: item with ref and link",
        "readinglist",
        {"title": "t", "items": [{"ref": ref, "link": "https://a.org/"}]},
    )
    content(
        "readinglist: item with neither", "readinglist", {"title": "t", "items": [{"note": "n"}]}
    )
    content(
        "readinglist: 201 items",
        "readinglist",
        {"title": "t", "items": [{"link": "https://a.org/"}] * 201},
    )
    content("follow: feed of 31 bytes", "follow", {"feed": key[:31]})
    content("follow: feed as key text", "follow", {"feed": key_to_text(key)})
    content("unfollow: feed missing", "unfollow", {})
    content("profile: name missing", "profile", {"bio": "Teacher"})
    content("profile: name only white space", "profile", {"name": "  "})
    content("profile: name of 65 characters", "profile", {"name": "n" * 65})
    content("profile: bio of 1001 characters", "profile", {"name": "Ben", "bio": "b" * 1001})
    content("profile: avatar of 32769 bytes", "profile", {"name": "Ben", "avatar": bytes(32769)})
    content("profile: avatar as text", "profile", {"name": "Ben", "avatar": "ben.png"})
    content("share: ref missing", "share", {"comment": "Look"})
    content("share: comment is a number", "share", {"ref": ref, "comment": 5})
    content("tombstone: ref is a map", "tombstone", {"ref": {"seq": 1}})
    add(
        "post: payload not in deterministic CBOR (keys out of order)",
        "content",
        "ContentError",
        content_type="post",
        input="a2647465787462486964746167738165" + h(b"maths"),
    )
    add(
        "unknown type: payload not in deterministic CBOR",
        "content",
        "ContentError",
        content_type="x-poll",
        input="1817",
    )
    add("post: empty payload", "content", "ContentError", content_type="post", input="")


def key_text_cases(add: AddVector, ada_id: Identity) -> None:
    text = key_to_text(ada_id.public_key)
    changed = text[:10] + ("b" if text[10] != "b" else "c") + text[11:]
    add("key text with one character changed", "key-text", "KeyFormatError", input=changed)
    add("key text truncated by one character", "key-text", "KeyFormatError", input=text[:-1])
    add("key text with one character too many", "key-text", "KeyFormatError", input=text + "a")
    add("key text with prefix lnd2", "key-text", "KeyFormatError", input="lnd2" + text[4:])
    add("key text without prefix", "key-text", "KeyFormatError", input=text[4:] + "aaaa")
    add(
        "key text with a character outside base32 ('1')",
        "key-text",
        "KeyFormatError",
        input=text[:-2] + "1" + text[-1],
    )
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    last = alphabet.index(text[-1])
    assert last & 0b11 == 0  # the last two bits of the last character are padding
    add(
        "key text with non-zero padding bits in the last character",
        "key-text",
        "KeyFormatError",
        input=text[:-1] + alphabet[last | 1],
    )
    add("key text empty", "key-text", "KeyFormatError", input="")
    add(
        "share link of something other than a feed",
        "share-link",
        "KeyFormatError",
        input="lndesk://post/" + text,
    )
    add(
        "share link with a mistyped key",
        "share-link",
        "KeyFormatError",
        input="lndesk://feed/" + changed + "?name=Ada",
    )


def backup_words_cases(add: AddVector, ada_id: Identity) -> None:
    words = ada_id.backup_words().split()
    swapped = None
    for i in range(len(words) - 1):
        if words[i] == words[i + 1]:
            continue
        candidate = [*words]
        candidate[i], candidate[i + 1] = candidate[i + 1], candidate[i]
        try:
            Identity.from_backup_words(" ".join(candidate))
        except BackupWordsError:
            swapped = candidate
            break
    assert swapped is not None
    add(
        "backup words with two neighbouring words swapped",
        "backup-words",
        "BackupWordsError",
        input=" ".join(swapped),
    )
    add("backup words: 23 words", "backup-words", "BackupWordsError", input=" ".join(words[:-1]))
    add(
        "backup words: 25 words",
        "backup-words",
        "BackupWordsError",
        input=" ".join([*words, words[0]]),
    )
    add(
        "backup words: a word not in the list",
        "backup-words",
        "BackupWordsError",
        input=" ".join(["lndesk", *words[1:]]),
    )
    add(
        "backup words: 12 words (a valid BIP-39 phrase, but not a 32-byte seed)",
        "backup-words",
        "BackupWordsError",
        input=" ".join(["abandon"] * 11 + ["about"]),
    )


def key_file_cases(add: AddVector, ada_id: Identity, key: bytes) -> None:
    plain = canonical.decode(encode_key_file(ada_id))
    sealed_doc = canonical.decode(bytes.fromhex(keyfile_doc()["sealed"]["file"]))

    def keyfile(name: str, error: str, doc: Any, passphrase: str | None = None) -> None:
        data = doc if type(doc) is bytes else canonical.encode(doc)
        add(name, "key-file", error, input=h(data), passphrase=passphrase)

    keyfile("key file: not CBOR", "KeyFileError", b"seed")
    keyfile("key file: wrong format name", "KeyFileError", {**plain, "format": "lndesk-keys"})
    keyfile("key file: version 2", "KeyFileError", {**plain, "version": 2})
    keyfile(
        "key file: seed missing", "KeyFileError", {k: v for k, v in plain.items() if k != "seed"}
    )
    keyfile("key file: seed of 31 bytes", "KeyFileError", {**plain, "seed": plain["seed"][:31]})
    keyfile(
        "key file: public key does not match the seed",
        "KeyFileError",
        {**plain, "public": key},
    )
    keyfile(
        "key file: unknown key derivation",
        "KeyFileError",
        {**sealed_doc, "kdf": "scrypt"},
        "correct horse battery staple",
    )
    keyfile(
        "sealed key file: salt of 15 bytes",
        "KeyFileError",
        {**sealed_doc, "salt": sealed_doc["salt"][:15]},
        "correct horse battery staple",
    )
    keyfile(
        "sealed key file: opslimit 0",
        "KeyFileError",
        {**sealed_doc, "opslimit": 0},
        "correct horse battery staple",
    )
    keyfile(
        "sealed key file: opslimit 17",
        "KeyFileError",
        {**sealed_doc, "opslimit": 17},
        "correct horse battery staple",
    )
    keyfile(
        "sealed key file: memlimit 8191",
        "KeyFileError",
        {**sealed_doc, "memlimit": 8191},
        "correct horse battery staple",
    )
    keyfile(
        "sealed key file: memlimit 2^30 + 1",
        "KeyFileError",
        {**sealed_doc, "memlimit": 2**30 + 1},
        "correct horse battery staple",
    )
    keyfile(
        "sealed key file: sealed seed of 71 bytes",
        "KeyFileError",
        {**sealed_doc, "sealed": sealed_doc["sealed"][:71]},
        "correct horse battery staple",
    )
    keyfile("sealed key file: no passphrase given", "PassphraseError", sealed_doc)
    keyfile("sealed key file: wrong passphrase", "PassphraseError", sealed_doc, "Correct horse")
