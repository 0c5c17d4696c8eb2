"""Text a peer wrote, bounded and cleaned before anything shows it (pure functions).

Everything here works on plain strings; :mod:`lndesk.ui.safe_text` lays out a post's
markdown with them. What they guarantee:

- no bidi override, embedding or isolate controls (they let a peer reverse or reorder
  what a reader sees, a name or where a link goes), no other control characters;
- at most :data:`MAX_MARKS` combining marks on one character (a "tower" of marks draws
  over the lines above and below it);
- markdown cut to :data:`MAX_CHARS` characters and :data:`MAX_LINES` lines *before* any
  parser sees it, and no table wider than :data:`MAX_COLUMNS` columns (a wide table is
  shown as text);
- tooltips and notification text escaped, so that Qt and the notification server
  never read a peer's string as markup.
"""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import urlsplit

MAX_CHARS = 12_000
"""Characters of one peer text given to the markdown parser."""
MAX_LINES = 300
"""Lines of one peer text given to the markdown parser."""
MAX_COLUMNS = 12
"""A line with more table cells than this is not a table row (its pipes are text)."""
MAX_MARKS = 3
"""Combining marks kept on one character."""
SCAN = 8
"""At most ``SCAN`` times the characters shown are cleaned to find them."""
TOOLTIP_CHARS = 600
NOTIFY_TITLE_CHARS = 120
NOTIFY_TEXT_CHARS = 400
SHOWN_URL_CHARS = 80
"""A link target or image address is shown cut to this many characters."""

CUT_NOTE = "*… cut here: the rest is longer than lndesk shows.*"

_CONTROLS = re.compile(
    "[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"  # C0 / C1 controls but \t \n \r
    "\u061c\u200e\u200f"  # bidi marks
    "\u202a-\u202e"  # embeddings and overrides
    "\u2066-\u2069"  # isolates
    "\ufff9-\ufffb]"  # interlinear annotation controls
)
_PIPE = re.compile(r"(?<!\\)\|")
_CONTAINER = re.compile(r"[ \t]{0,3}(?:>[ \t]?|(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|$))")
MAX_DEPTH = 3
"""Quote and list levels: markers kept at the start of one line (deeper nesting is
flattened), and indents a laid-out document shows."""
_URL_TOKEN = re.compile(
    r"(?:[a-z][a-z0-9+.\-]*://)?(?:[\w\-]+\.)+[a-z][\w\-]*(?::\d+)?(?:[/?#]\S*)?",
    re.IGNORECASE,
)


def _is_mark(char: str) -> bool:
    """A combining mark that draws on the character before it (not a spacing one)."""
    return unicodedata.category(char) in ("Mn", "Me")


def clean_text(text: str) -> str:
    """``text`` without bidi and other control characters and without mark towers."""
    text = _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    if text.isascii():
        return text
    out: list[str] = []
    marks = 0
    for char in text:
        if _is_mark(char):
            marks += 1
            if marks > MAX_MARKS:
                continue
        else:
            marks = 0
        out.append(char)
    return "".join(out)


def one_line(text: str, chars: int) -> str:
    """``text`` cleaned, on one line, cut to ``chars`` characters."""
    line = " ".join(clean_text(text[: chars * 4]).split())
    return line if len(line) <= chars else line[: chars - 1] + "…"


def bound_markdown(text: str, chars: int = MAX_CHARS, lines: int = MAX_LINES) -> str:
    """A peer's markdown as the parser may see it: cleaned, nesting flattened, cut to
    ``chars`` characters and ``lines`` lines (a note says so where it was cut), no table
    wider than :data:`MAX_COLUMNS` columns.

    Cleaning and flattening come first (on at most ``SCAN * chars`` characters), so that
    a tower of marks or of quote markers does not use up what is shown."""
    cut = len(text) > SCAN * chars
    rows = clean_text(text[: SCAN * chars]).split("\n", lines)
    if len(rows) > lines:
        rows, cut = rows[:lines], True
    rows = [_flatten(row) for row in rows]
    if sum(len(row) + 1 for row in rows) > chars + 1:
        rows, cut = "\n".join(rows)[:chars].split("\n"), True
    rows = [_PIPE.sub(r"\\|", row) if row.count("|") > MAX_COLUMNS else row for row in rows]
    if cut:
        rows += ["", CUT_NOTE]
    return "\n".join(rows)


def _flatten(row: str) -> str:
    """``row`` with at most :data:`MAX_DEPTH` quote or list markers at its start."""
    kept = at = depth = 0
    while (match := _CONTAINER.match(row, at)) is not None and match.end() > at:
        at = match.end()
        depth += 1
        if depth == MAX_DEPTH:
            kept = at
    if depth <= MAX_DEPTH:
        return row
    return row[:kept] + row[at:]


def plain_tooltip(text: str, chars: int = TOOLTIP_CHARS) -> str:
    """A tooltip of ``text`` that Qt shows as the text it is, never as markup.

    Qt guesses whether a tooltip is rich text (``Ann<img src=…>`` would be); escaped
    text inside ``<qt>`` is rich text with no markup but line breaks."""
    text = clean_text(text[: chars * 2])
    if len(text) > chars:
        text = text[: chars - 1] + "…"
    body = html.escape(text, quote=False).replace("\n", "<br>")
    return f"<qt>{body}</qt>"


def notify_title(text: str) -> str:
    """A desktop notification's summary: one line, escaped (servers may read markup)."""
    return html.escape(one_line(text, NOTIFY_TITLE_CHARS), quote=False)


def notify_text(text: str) -> str:
    """A desktop notification's body: cleaned, cut and escaped (servers read markup)."""
    text = clean_text(text[: NOTIFY_TEXT_CHARS * 2])
    if len(text) > NOTIFY_TEXT_CHARS:
        text = text[: NOTIFY_TEXT_CHARS - 1] + "…"
    return html.escape(text, quote=False)


def is_web(url: str) -> bool:
    """Whether ``url`` is an http or https address (the only links lndesk opens)."""
    return url.lower().startswith(("http://", "https://"))


def shown_url(url: str, chars: int = SHOWN_URL_CHARS) -> str:
    """``url`` as a reader is shown it: cleaned, on one line, cut."""
    return one_line(url, chars)


def link_host(url: str) -> str:
    """The host ``url`` goes to, in ASCII (a look-alike Unicode host shows as ``xn--``)."""
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return host.encode("ascii", "backslashreplace").decode("ascii").lower()


def _normal(url: str) -> str:
    url = url.strip().lower()
    url = re.sub(r"^[a-z][a-z0-9+.\-]*://", "", url)
    url = url.removeprefix("www.")
    return url.rstrip("/")


def claimed_host(text: str) -> str | None:
    """The host of the first web address the visible text of a link names, if any."""
    match = _URL_TOKEN.search(text)
    if match is None:
        return None
    token = match.group(0)
    if "://" not in token:
        token = "http://" + token
    return link_host(token) or None


def link_note(text: str, href: str) -> tuple[str, bool] | None:
    """What follows a link whose visible text is ``text`` so that a reader sees where it
    goes: None when the text is the address itself; else the note and whether it is a
    warning (the text names another address than the link's)."""
    if _normal(text) == _normal(href):
        return None
    if not is_web(href):
        return f" ({shown_url(href)}, not opened by lndesk)", False
    host = link_host(href)
    claimed = claimed_host(text)
    if claimed is not None:
        same_host = claimed.removeprefix("www.") == host.removeprefix("www.")
        if not same_host:
            return f" ⚠ link goes to {host}", True
        if _URL_TOKEN.fullmatch(text.strip()):
            return f" ⚠ link goes to {shown_url(href)}", True
    return f" ({host})", False
