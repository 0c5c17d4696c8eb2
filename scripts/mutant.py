"""One mutant of scripts/mutate.py: a one-line change to a check, and the tests that must
catch it (scripts/mutants.py lists them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    original: str
    replacement: str
    tests: tuple[str, ...]


__all__ = ["Mutant"]
