"""Reading the known-answer vector files: hex, described CBOR values, entry references
and content as the JSON files write them, and comparisons that keep CBOR's distinctions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cbor_reference import ref_encode

from lndesk.content import (
    Content,
    Edit,
    Follow,
    ListItem,
    Post,
    Profile,
    ReadingList,
    Ref,
    Reply,
    Share,
    Tombstone,
    Unfollow,
    Unknown,
)

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


def ref_from(doc: dict[str, Any]) -> Ref:
    return Ref(hx(doc["author"]), doc["seq"], hx(doc["id"]))


def content_from(doc: dict[str, Any]) -> Content:
    kind = doc["type"]
    mentions = tuple(hx(key) for key in doc.get("mentions", ()))
    question = bool(doc.get("question", False))
    if kind == "post":
        return Post(doc["text"], tuple(doc["tags"]), tuple(doc["links"]), mentions, question)
    if kind == "reply":
        return Reply(
            doc["text"],
            ref_from(doc["root"]),
            ref_from(doc["parent"]),
            tuple(doc["tags"]),
            tuple(doc["links"]),
            mentions,
        )
    if kind == "edit":
        return Edit(
            ref_from(doc["ref"]),
            doc["text"],
            tuple(doc["tags"]),
            tuple(doc["links"]),
            mentions,
            question,
        )
    if kind == "readinglist":
        items = tuple(
            ListItem(
                None if item["ref"] is None else ref_from(item["ref"]), item["link"], item["note"]
            )
            for item in doc["items"]
        )
        return ReadingList(doc["title"], items, None if doc["of"] is None else ref_from(doc["of"]))
    if kind == "follow":
        return Follow(hx(doc["feed"]))
    if kind == "unfollow":
        return Unfollow(hx(doc["feed"]))
    if kind == "profile":
        return Profile(doc["name"], doc["bio"], hx(doc["avatar"]))
    if kind == "share":
        return Share(ref_from(doc["ref"]), doc["comment"])
    if kind == "tombstone":
        return Tombstone(ref_from(doc["ref"]))
    return Unknown(kind, from_desc(doc["value"]))


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
