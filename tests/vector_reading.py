"""Reading the known-answer vector files: hex, described CBOR values, entry references
and content as the JSON files write them, and comparisons that keep CBOR's distinctions."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from cbor_reference import ref_encode

from lndesk.content import (
    Content,
    Edit,
    Follow,
    Helpful,
    ListItem,
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
)
from lndesk.entry_refs import Ref

VECTOR_DIR = Path(__file__).parent / "vectors"


def load(name: str) -> dict[str, Any]:
    return json.loads((VECTOR_DIR / name).read_text(encoding="utf-8"))


def b(text: str | None) -> bytes | None:
    return None if text is None else bytes.fromhex(text)


def hx(text: str) -> bytes:
    return bytes.fromhex(text)


def params(vectors: list[dict[str, Any]]) -> list[Any]:
    return [pytest.param(v, id=v["name"]) for v in vectors]


# --- described values ------------------------------------------------------------


def from_desc(desc: dict[str, Any]) -> Any:
    """The tagged JSON description of a CBOR value, as a Python value."""
    ((kind, value),) = desc.items()
    if kind == "int":
        return int(value)
    if kind == "bytes":
        return hx(value)
    if kind == "text":
        return value
    if kind == "array":
        return [from_desc(item) for item in value]
    if kind == "map":
        return {key: from_desc(item) for key, item in value}
    if kind == "bool":
        assert type(value) is bool
        return value
    if kind == "null":
        return None
    raise AssertionError(f"unknown description {kind!r}")


def same(left: Any, right: Any) -> bool:
    """Equality that tells bool from int and keeps map order significant."""
    if type(left) is not type(right):
        return False
    if type(left) is list:
        return len(left) == len(right) and all(map(same, left, right))
    if type(left) is dict:
        return list(left) == list(right) and all(same(left[k], right[k]) for k in left)
    return bool(left == right)


def input_of(vector: dict[str, Any]) -> Any:
    """A negative vector's ``input`` (described: bytes or text)."""
    return from_desc(vector["input"])


def ref_from(value: list[Any]) -> Ref:
    author, seq, id_ = value
    return Ref(author, seq, id_)


def _opt_ref(value: Any) -> Ref | None:
    return None if value is None else ref_from(value)


KNOWN_CONTENT = {
    "post": Post,
    "reply": Reply,
    "edit": Edit,
    "readinglist": ReadingList,
    "follow": Follow,
    "unfollow": Unfollow,
    "profile": Profile,
    "share": Share,
    "tombstone": Tombstone,
    "webshare": WebShare,
    "helpful": Helpful,
    "reveal": Reveal,
}


def content_from(type_: str, desc: dict[str, Any]) -> Content:
    """A described parse result (every field by name, see content.json) as content."""
    value = from_desc(desc)
    cls = KNOWN_CONTENT.get(type_)
    if cls is None:
        return Unknown(type_, value)
    names = [f.name for f in dataclasses.fields(cls) if f.name != "type"]
    assert list(value) == names, f"{type_}: fields {list(value)} are not {names}"
    fields: dict[str, Any] = {}
    for name, item in value.items():
        if name in ("root", "parent", "ref", "of"):
            fields[name] = _opt_ref(item)
        elif name == "items":
            fields[name] = tuple(ListItem(_opt_ref(i["ref"]), i["link"], i["note"]) for i in item)
        elif type(item) is list:
            fields[name] = tuple(item)
        else:
            fields[name] = item
    return cls(**fields)  # type: ignore[no-any-return]


def same_content(left: Content, right: Content) -> bool:
    if isinstance(left, Unknown) and isinstance(right, Unknown):
        return left.type == right.type and same(sorted_maps(left.value), sorted_maps(right.value))
    return left == right


def sorted_maps(value: Any) -> Any:
    """``value`` with every map in the order of its encoded keys (the decoded order)."""
    if type(value) is list:
        return [sorted_maps(item) for item in value]
    if type(value) is dict:
        keys = sorted(value, key=ref_encode)
        return {key: sorted_maps(value[key]) for key in keys}
    return value


# --- the typing rules of protocol section 18.1 -----------------------------------------

# Keys whose value, when it is a JSON object, is a described CBOR value.
DESCRIBED_KEYS = frozenset({"value", "content", "expected", "message", "input"})
# Keys whose value is text (every other string is lowercase hex).
TEXT_KEYS = frozenset(
    {
        "suite",
        "description",
        "name",
        "type",
        "content_type",
        "decoder",
        "error",
        "reason",
        "outcome",
        "problem",
        "sender",
        "topic",
        "peer_id",
        "passphrase",
        "backup_words",
        "key_text",
        "share_link",
        "share_link_name",
        "sync_protocol",
        "catchup_protocol",
        "profile_protocol",
        "forks_protocol",
        "thread_protocol",
        "thread_marks_protocol",
        "visit_protocol",
    }
)
# Other text: what people type, in two places (file, top-level key, key).
TEXT_PLACES = frozenset(
    {
        ("keys.json", "accepted", "input"),
        ("content.json", "tags", "input"),
        ("content.json", "tags", "normalized"),
    }
)


def is_text(file: str, path: tuple[str, ...]) -> bool:
    return path[-1] in TEXT_KEYS or (file, path[0], path[-1]) in TEXT_PLACES


def check_described(desc: Any, where: str) -> None:
    assert type(desc) is dict and len(desc) == 1, where
    ((kind, value),) = desc.items()
    if kind == "int":
        assert type(value) is str and str(int(value)) == value, where
    elif kind == "bytes":
        assert type(value) is str and bytes.fromhex(value).hex() == value, where
    elif kind == "text":
        assert type(value) is str, where
    elif kind == "array":
        for item in value:
            check_described(item, where)
    elif kind == "map":
        for key, item in value:
            assert type(key) is str, where
            check_described(item, where)
    elif kind == "bool":
        assert type(value) is bool, where
    else:
        assert kind == "null" and value is None, where


def check_file_typed(file: str, doc: dict[str, Any]) -> None:
    """Every value of a vector file has the type protocol section 18.1 gives its key."""

    def walk(value: Any, path: tuple[str, ...]) -> None:
        key = path[-1] if path else ""
        where = f"{file}: {'.'.join(path)}"
        if type(value) is dict and key in DESCRIBED_KEYS:
            check_described(value, where)
        elif type(value) is dict:
            for child, item in value.items():
                walk(item, (*path, child))
        elif type(value) is list:
            for item in value:
                walk(item, path)
        elif type(value) is str and not is_text(file, path):
            assert bytes.fromhex(value).hex() == value, f"{where} is not lowercase hex"
        else:
            assert value is None or type(value) in (str, int, float, bool), where

    walk(doc, ())
