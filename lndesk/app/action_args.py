"""The arguments of an action, checked before use.

An action's arguments come from a command, here or over the control socket as JSON
(:mod:`lndesk.app.actions`), so each value is checked for its type where it is read,
and a wrong one is a :class:`~lndesk.errors.UsageError` that names the argument.
"""

from __future__ import annotations

from typing import Any

from lndesk.errors import UsageError


def text_arg(args: dict[str, Any], name: str) -> str:
    """The text ``name``."""
    value = args.get(name)
    if not isinstance(value, str):
        raise UsageError(f"{name} must be text")
    return value


def optional_text_arg(args: dict[str, Any], name: str) -> str | None:
    """The text ``name``, or None when it is not given."""
    value = args.get(name)
    if value is not None and not isinstance(value, str):
        raise UsageError(f"{name} must be text")
    return value


def text_list_arg(args: dict[str, Any], name: str) -> list[str]:
    """The list of text ``name`` (empty when it is not given)."""
    value = args.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{name} must be a list of text")
    return value


def flag_arg(args: dict[str, Any], name: str) -> bool:
    """The flag ``name`` (false when it is not given)."""
    value = args.get(name, False)
    if not isinstance(value, bool):
        raise UsageError(f"{name} must be true or false")
    return value


def int_arg(args: dict[str, Any], name: str, default: int | None = None) -> int | None:
    """The whole number ``name`` (``default`` when it is not given)."""
    value = args.get(name, default)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise UsageError(f"{name} must be a whole number")
    return value
