"""Plain-text rendering of entries and feeds for the terminal."""

from __future__ import annotations

import datetime
import re
import textwrap

from lndesk.app.describe import DescribedEntry, DescribedFeed, entry_body
from lndesk.content import Edit
from lndesk.keytext import short_key
from lndesk.names import clean_name
from lndesk.wording import counted

_WIDTH = 78
_TERMINAL_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_text(text: str) -> str:
    """A peer's text as a terminal may print it: without control characters (an escape
    sequence can move the cursor, retitle the window or write the clipboard) and bidi
    overrides; line breaks and tabs stay."""
    return _TERMINAL_CONTROLS.sub("", text)


def format_time(ms: int) -> str:
    try:
        moment = datetime.datetime.fromtimestamp(ms / 1000).astimezone()
    except (OverflowError, OSError, ValueError):
        return "(bad time)"
    return moment.strftime("%Y-%m-%d %H:%M")


def _who(item: DescribedEntry, nickname: str | None) -> str:
    key = short_key(item.entry.author)
    name = nickname or clean_name(item.author_name)
    return f"{name} ({key})" if name else key


def describe_entry(
    item: DescribedEntry, edit: DescribedEntry | None = None, nickname: str | None = None
) -> str:
    """An entry for the terminal; ``edit`` is its current version when it was edited;
    ``nickname`` is the name I gave its author, if any."""
    entry = item.entry
    when = format_time(entry.claimed_ms)
    header = f"{entry.id.hex()[:12]}  {_who(item, nickname)}  {when}  {entry.type}"
    body = entry_body(item)
    if edit is not None and isinstance(edit.content, Edit):
        header += "  (edited)"
        body = entry_body(item, edit.content)
    body = terminal_text(body)
    lines = [header]
    lines.extend(
        textwrap.indent(textwrap.fill(p, _WIDTH - 4) if p else "", "    ")
        for p in body.splitlines()[:12]
    )
    return "\n".join(lines) + "\n"


def describe_feed(state: DescribedFeed, nickname: str | None = None) -> str:
    chosen = clean_name(state.name) or "(no name yet)"
    name = f'{nickname} ("{chosen}")' if nickname else chosen
    status = counted(state.height, "entry", "entries")
    if state.max_seq > state.height:
        status += f" of at least {state.max_seq:,} published"
    if state.forked_at is not None:
        status += f", FORKED at {state.forked_at}"
    return f"{name}  {short_key(state.key)}  {status}"
