"""The one renderer of a peer's markdown: a bounded document that loads nothing.

Every view that lays out text a peer wrote (post cards, threads, the search results, the
compose preview and the quote of a shared post) makes its document with
:func:`markdown_document` or :func:`html_document`. What such a document does:

- **markdown without HTML**: ``<img>``, ``<span style=…>``, ``<a href>`` and every other
  tag read as the text they are (Qt's ``MarkdownNoHTML``);
- **no resources**: :class:`SafeDocument` answers every resource request with nothing,
  so no local file, ``data:`` URL or network address is ever read for it; a markdown
  image becomes the line ``image: <address>`` (a link when the address is a web one);
- **bounded input and layout**: the text is cut before parsing
  (:func:`~lndesk.ui.plain_text.bound_markdown`), wide tables become text, long words
  wrap anywhere, code lines wrap, headings are at most one step larger than the text,
  quotes and lists indent at most :data:`MAX_DEPTH` levels;
- **links show where they go**: a link whose text is not its address is followed by
  the address's host in grey, and by a red warning when the text names another address
  (:func:`~lndesk.ui.plain_text.link_note`); a link that is not http(s) is plain text.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QUrl
from PySide6.QtGui import (
    QFont,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)

from lndesk.ui import theme
from lndesk.ui.plain_text import (
    MAX_CHARS,
    MAX_DEPTH,
    MAX_LINES,
    bound_markdown,
    is_web,
    link_note,
    shown_url,
)

INDENT = 20
"""Pixels per quote or list level (Qt's own is 40)."""
MAX_HEADING_STEP = 1
"""A heading's font is at most this many size steps above the text's."""
FEATURES = QTextDocument.MarkdownFeature(
    QTextDocument.MarkdownFeature.MarkdownDialectGitHub.value
    | QTextDocument.MarkdownFeature.MarkdownNoHTML.value
)


class SafeDocument(QTextDocument):
    """A text document that never loads a resource: no file, no ``data:`` URL, no
    network address; an image it names has no picture."""

    resource_requests = 0
    """How many times any such document was asked for a resource (and gave nothing)."""

    def loadResource(self, _type: int, _name: QUrl) -> None:  # type: ignore[override]
        SafeDocument.resource_requests += 1


_LINK_SYNTAX = re.compile(r"\]\s*[(\[:]")
"""The end of an inline, full-reference or defined link or image: ``](``, ``][``, ``]:``."""
_BLOCK_SYNTAX = re.compile(r"\n[ \t>#=`~*+_\-\d]")
"""A line that is indented, quoted, a heading or its underline, a code fence, a list
item or a rule (at the text's start too: see :func:`may_need_taming`)."""
_BLOCK_START = frozenset(" \t>#=`~*+_-0123456789")


def may_need_taming(markdown: str) -> bool:
    """Whether parsing ``markdown`` can make anything :func:`tame` changes: an image, a
    link, a heading, a code block or a nested quote or list. False only for text none
    of whose lines starts with markdown's block syntax and that holds no link syntax
    (most posts): such a document is left as parsed without looking at it. A few
    substring searches, no per-character Python."""
    if not markdown:
        return False
    if markdown[0] in _BLOCK_START or "\r" in markdown:
        return True
    if "<" in markdown or "@" in markdown or "://" in markdown or "www." in markdown.lower():
        return True  # autolinks: <address>, e-mail, bare web addresses
    if "]" in markdown and _LINK_SYNTAX.search(markdown) is not None:
        return True
    return _BLOCK_SYNTAX.search(markdown) is not None


def _new(font: QFont | None) -> SafeDocument:
    doc = SafeDocument()
    doc.setUndoRedoEnabled(False)  # nobody undoes the taming: no history to keep
    if font is not None:
        doc.setDefaultFont(font)
    doc.setDocumentMargin(0)  # words wrap anywhere: a document's default
    doc.setIndentWidth(INDENT)
    return doc


def markdown_document(
    markdown: str,
    font: QFont | None = None,
    width: float | None = None,
    *,
    chars: int = MAX_CHARS,
    lines: int = MAX_LINES,
) -> SafeDocument:
    """``markdown`` (a peer's, or built around a peer's text) laid out safely; at most
    ``chars`` characters and ``lines`` lines of it are parsed."""
    doc = _new(font)
    bounded = bound_markdown(markdown, chars, lines)
    doc.setMarkdown(bounded, FEATURES)
    if may_need_taming(bounded):
        tame(doc)
    if width is not None:
        doc.setTextWidth(max(50.0, width))
    return doc


def html_document(
    markup: str, font: QFont | None = None, width: float | None = None
) -> SafeDocument:
    """Rich text the app built itself (every peer string in it escaped), laid out with
    the same guards as markdown: nothing loaded, long words wrapped."""
    doc = _new(font)
    doc.setHtml(markup)
    tame(doc)
    if width is not None:
        doc.setTextWidth(max(50.0, width))
    return doc


def plain_markdown(markdown: str) -> str:
    """The text a reader sees of ``markdown`` (for one-line summaries)."""
    return markdown_document(markdown).toPlainText()


# --- taming a parsed document ---------------------------------------------------------


def _link_format(href: str) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setAnchor(True)
    fmt.setAnchorHref(href)
    fmt.setFontUnderline(True)
    fmt.setForeground(theme.named_colour("link"))
    return fmt


def _note_format(warning: bool) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(theme.named_colour("error" if warning else "note"))
    fmt.setFontWeight(QFont.Weight.Bold if warning else QFont.Weight.Normal)
    return fmt


def _images_and_links(
    doc: QTextDocument,
) -> tuple[list[tuple[int, str]], list[tuple[int, int, str, str]]]:
    """Where the document holds images (position, address) and link runs (start, end,
    address, visible text)."""
    images: list[tuple[int, str]] = []
    links: list[tuple[int, int, str, str]] = []
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            fmt = fragment.charFormat()
            if fmt.isImageFormat():
                name = fmt.toImageFormat().name()
                images.extend((fragment.position() + i, name) for i in range(fragment.length()))
            elif fmt.isAnchor() and fmt.anchorHref():
                start, end, href = (
                    fragment.position(),
                    fragment.position() + fragment.length(),
                    fmt.anchorHref(),
                )
                if links and links[-1][1] == start and links[-1][2] == href:
                    last = links.pop()
                    links.append((last[0], end, href, last[3] + fragment.text()))
                else:
                    links.append((start, end, href, fragment.text()))
            it += 1
        block = block.next()
    return images, links


def _tame_blocks(doc: QTextDocument) -> None:
    cursor: QTextCursor | None = None  # made only for a block that needs a change
    widest = float(INDENT * MAX_DEPTH)
    block = doc.begin()
    while block.isValid():
        fmt = block.blockFormat()
        if fmt.nonBreakableLines() or fmt.leftMargin() > widest or fmt.indent() > MAX_DEPTH:
            changed = QTextBlockFormat(fmt)
            changed.setNonBreakableLines(False)
            changed.setLeftMargin(min(fmt.leftMargin(), widest))
            changed.setIndent(min(fmt.indent(), MAX_DEPTH))
            cursor = cursor or QTextCursor(doc)
            cursor.setPosition(block.position())
            cursor.setBlockFormat(changed)
        text_list = block.textList()
        if text_list is not None and text_list.format().indent() > MAX_DEPTH:
            list_format = text_list.format()
            list_format.setIndent(MAX_DEPTH)
            text_list.setFormat(list_format)
        level = fmt.headingLevel()
        if level > 0:
            heading = QTextCharFormat()
            heading.setProperty(
                QTextFormat.Property.FontSizeAdjustment,
                min(MAX_HEADING_STEP, max(0, 4 - level)),
            )
            cursor = cursor or QTextCursor(doc)
            cursor.setPosition(block.position())
            cursor.setPosition(
                block.position() + block.length() - 1, QTextCursor.MoveMode.KeepAnchor
            )
            cursor.mergeCharFormat(heading)
            cursor.clearSelection()
        block = block.next()


def _unlink(cursor: QTextCursor) -> None:
    """The selection as plain text: no longer a link."""
    current = cursor.charFormat()
    current.clearProperty(QTextFormat.Property.AnchorHref)
    current.clearProperty(QTextFormat.Property.IsAnchor)
    current.clearForeground()
    current.setFontUnderline(False)
    cursor.setCharFormat(current)


def _needs_taming(doc: QTextDocument) -> tuple[bool, bool]:
    """Whether any format the document uses is an image or a link, and whether any is
    a heading, code, or an indent beyond :data:`MAX_DEPTH` levels (one look at its few
    formats, not its text)."""
    widest = INDENT * MAX_DEPTH
    inline = blocks = False
    for fmt in doc.allFormats():
        if fmt.isImageFormat() or fmt.boolProperty(QTextFormat.Property.IsAnchor):
            inline = True
        elif fmt.isBlockFormat():
            block = fmt.toBlockFormat()
            blocks = blocks or block.headingLevel() > 0 or block.nonBreakableLines()
            blocks = blocks or block.leftMargin() > widest or block.indent() > MAX_DEPTH
        elif fmt.isListFormat() and fmt.toListFormat().indent() > MAX_DEPTH:
            blocks = True
    return inline, blocks


def tame(doc: QTextDocument) -> None:
    """Make a parsed document safe to lay out: images become "image: <address>" text,
    links get a note of where they go, layout is bounded (see the module's doc)."""
    inline, blocks = _needs_taming(doc)
    if inline:
        images, links = _images_and_links(doc)
        if images or links:
            _replace(doc, images, links)
    if blocks:
        _tame_blocks(doc)


def _replace(
    doc: QTextDocument, images: list[tuple[int, str]], links: list[tuple[int, int, str, str]]
) -> None:
    """Images become their address, links get their notes (see :func:`tame`)."""
    cursor = QTextCursor(doc)
    # From the end, so that each change leaves the positions before it as they were.
    changes: list[tuple[int, int, str]] = [(p, p + 1, name) for p, name in images]
    changes += [(start, end, "") for start, end, _href, _text in links]
    hrefs = {start: (href, text) for start, _end, href, text in links}
    for start, end, image in sorted(changes, reverse=True):
        if image:
            cursor.setPosition(start)
            cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            fmt = _link_format(image) if is_web(image) else QTextCharFormat()
            cursor.insertText(f"image: {shown_url(image)}", fmt)
            continue
        href, text = hrefs[start]
        note = link_note(text, href)
        if note is not None:
            cursor.setPosition(end)
            cursor.insertText(note[0], _note_format(note[1]))
        if not is_web(href):
            cursor.setPosition(start)
            cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            _unlink(cursor)
