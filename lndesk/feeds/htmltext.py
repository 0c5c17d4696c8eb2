"""A feed's HTML reduced to the markdown subset that peers' posts use.

Feed HTML is hostile. Nothing of it reaches a widget as HTML: paragraphs, line breaks,
emphasis, code, quotes, lists and http(s) links become markdown; images become markdown
images (which the safe renderer shows as the text "image: <address>", never loaded);
scripts, styles, frames, forms, SVG and MathML are dropped with their content; every
other tag is dropped and its text kept. Text is escaped so that it stays text.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin

from lndesk.webfeeds import MAX_TEXT_CHARS, cut, web_url

_DROPPED = frozenset(
    {
        "script",
        "style",
        "iframe",
        "object",
        "embed",
        "svg",
        "math",
        "form",
        "template",
        "noscript",
        "head",
        "title",
        "select",
        "textarea",
        "audio",
        "video",
        "canvas",
    }
)
_BLOCKS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "header",
        "footer",
        "figure",
        "figcaption",
        "table",
        "tr",
        "dl",
        "dt",
        "dd",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "ul",
        "ol",
    }
)
_ESCAPED = re.compile(r"([\\`*_\[\]<>|~])")
_LINE_START = re.compile(r"^(\s*)([#>+\-=]|\d+[.)])", re.MULTILINE)
_SPACES = re.compile(r"[ \t\r\n\f\v]+")
_LIST_ITEM = re.compile(r" *(?:-|\d+\.) ")
_MAX_DEPTH = 3


def escape_markdown(text: str) -> str:
    """``text`` with markdown syntax escaped, so that it renders as the same text."""
    return _LINE_START.sub(r"\1\\\2", _ESCAPED.sub(r"\\\1", text))


class _Reducer(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.out: list[str] = []
        self.dropping = 0
        self.pre = 0
        self.quote = 0
        self.lists: list[list[int]] = []  # [counter] per open list; -1 for bullets
        self.links: list[str | None] = []
        self.size = 0

    # --- output -----------------------------------------------------------------------

    def _emit(self, text: str) -> None:
        if self.size < MAX_TEXT_CHARS * 2:
            self.out.append(text)
            self.size += len(text)

    def _break(self, blank: bool = True) -> None:
        prefix = "> " * min(self.quote, _MAX_DEPTH)
        if not blank and self.out and self.out[-1].endswith("\n" + prefix):
            return
        self._emit(("\n" + prefix if blank else "") + "\n" + prefix)

    # --- parsing ----------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            self.dropping += 1
            return
        if self.dropping:
            return
        values = {k: v or "" for k, v in attrs}
        if tag in _BLOCKS:
            self._break(blank=not (self.lists and tag in {"ul", "ol"}))
            if tag in {"ul", "ol"}:
                self.lists.append([1 if tag == "ol" else -1])
            elif tag[0] == "h" and tag[1:].isdigit():
                self._emit("**")
        elif tag == "br":
            self._break(blank=False)
        elif tag == "li":
            self._break(blank=False)
            depth = min(len(self.lists), _MAX_DEPTH)
            counter = self.lists[-1] if self.lists else [-1]
            marker = "-" if counter[0] < 0 else f"{counter[0]}."
            if counter[0] > 0:
                counter[0] += 1
            self._emit("  " * max(depth - 1, 0) + marker + " ")
        elif tag == "blockquote":
            self.quote += 1
            self._break()
        elif tag == "pre":
            self.pre += 1
            self._break()
            self._emit("```")
            self._break(blank=False)
        elif tag in {"em", "i"}:
            self._emit("*")
        elif tag in {"strong", "b"}:
            self._emit("**")
        elif tag == "code" and not self.pre:
            self._emit("`")
        elif tag == "a":
            href = web_url(urljoin(self.base, values.get("href", ""))) if values.get("href") else ""
            self.links.append(href or None)
            if href:
                self._emit("[")
        elif tag == "img":
            src = web_url(urljoin(self.base, values.get("src", "")))
            if src:
                alt = escape_markdown(_SPACES.sub(" ", values.get("alt", "")).strip()[:200])
                self._emit(f"![{alt}]({_link_target(src)})")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED:
            self.dropping = max(self.dropping - 1, 0)
            return
        if self.dropping:
            return
        if tag in _BLOCKS:
            if tag in {"ul", "ol"} and self.lists:
                self.lists.pop()
            elif tag[0] == "h" and tag[1:].isdigit():
                self._emit("**")
            self._break(blank=not (self.lists and tag in {"ul", "ol"}))
        elif tag == "blockquote":
            self.quote = max(self.quote - 1, 0)
            self._break()
        elif tag == "pre" and self.pre:
            self._break(blank=False)
            self._emit("```")
            self.pre -= 1
            self._break()
        elif tag in {"em", "i"}:
            self._emit("*")
        elif tag in {"strong", "b"}:
            self._emit("**")
        elif tag == "code" and not self.pre:
            self._emit("`")
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href:
                self._emit(f"]({_link_target(href)})")

    def handle_data(self, data: str) -> None:
        if self.dropping:
            return
        if self.pre:
            self._emit(data.replace("```", "` ` `"))
            return
        self._emit(escape_markdown(_SPACES.sub(" ", data)))


def _link_target(url: str) -> str:
    """A markdown link target that cannot end early (spaces and parentheses escaped)."""
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")


def html_to_markdown(html: str, base: str = "") -> str:
    """``html`` (hostile) as bounded, escaped markdown; relative links against ``base``."""
    reducer = _Reducer(base)
    reducer.feed(html[: MAX_TEXT_CHARS * 4])
    reducer.close()
    lines: list[str] = []
    for line in "".join(reducer.out).split("\n"):
        line = line.rstrip()  # noqa: PLW2901
        blank = not line.strip("> ")
        if blank and (not lines or not lines[-1].strip("> ")):
            continue  # one blank line between blocks, none at the start
        lines.append(line)
    while lines and not lines[-1].strip("> "):
        lines.pop()
    # Spaces that start a line would make it a code block: only nested list items keep them.
    kept = [line if _LIST_ITEM.match(line) else line.lstrip(" ") for line in lines]
    return cut("\n".join(kept), MAX_TEXT_CHARS)


def plain_to_markdown(text: str) -> str:
    """Plain text (a title, a JSON Feed's content_text) as escaped markdown."""
    return cut(escape_markdown(text), MAX_TEXT_CHARS)
