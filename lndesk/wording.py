"""Counts in words, with the right plural form ("1 person", "2 people", "no posts")."""

from __future__ import annotations


def counted(number: int, one: str, many: str | None = None) -> str:
    """``number`` and the noun in the form that agrees with it; ``many`` defaults to one + s."""
    noun = one if number == 1 else (one + "s" if many is None else many)
    return f"{number:,} {noun}"
