"""How one post is drawn in a list: a card with author, time, markdown text and actions.

A post's markdown is laid out by :mod:`lndesk.ui.safe_text` (no HTML, nothing loaded,
bounded layout, links that show where they go); a laid-out document is cached per post
(a new width lays it out again without parsing it again) and row heights per post and
width, because a list asks for sizes far more often than posts change. A post whose
text is taller than :data:`COLLAPSED_LINES` lines is cut there, with a "Show more" link
under it. The action links at the bottom of a card (Reply, Share, Bookmark, Thread, and
where they apply Follow, Accept and Block) are painted text; :meth:`PostDelegate.action_at`
maps a click back to one of them.

A question carries a "Question" badge, an edited post says "edited" after its time,
``@lnd1…`` mentions read as the mentioned people's names and a reading list is drawn as a
card: its title, how many items it has and the first of them. Everything a peer wrote
(names, titles, notes) is escaped before it becomes markup.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRect,
    QRectF,
    QSize,
)
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette, QTextDocument
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem, QWidget

from lndesk.app.connectivity import Connectivity
from lndesk.app.desk_threads import not_fetched
from lndesk.app.items import ListEntry, PostItem
from lndesk.entry_refs import PostKey
from lndesk.keytext import key_to_text, short_key
from lndesk.ui import theme
from lndesk.ui.format import delivery_text, relative_time
from lndesk.ui.models.live import ItemRole
from lndesk.ui.models.posts import MentionNamesRole, follow_offer
from lndesk.ui.plain_text import MAX_CHARS, MAX_LINES, bound_markdown
from lndesk.ui.safe_text import markdown_document
from lndesk.ui.views.author_line import avatar_of, paint_author, repaint_on_avatars, shows_key
from lndesk.ui.views.cards import paint_frame, row_width
from lndesk.wording import counted

MARGIN = 10
AVATAR = 36
GAP = 6
CACHE = 600
"""Laid-out documents kept (the rows on screen, and some either side)..."""
CACHE_CHARS = 600_000
"""... and at most this many characters in them all (a document's memory grows with it)."""
COLLAPSED_LINES = 20
"""A post's text taller than this many lines is cut there, with "Show more" under it."""
QUOTE_CHARS = 2_000
QUOTE_LINES = 40
"""How much of a shared post its quote shows."""
MORE, LESS = "Show more", "Show less"
HEIGHTS = 50_000
ACTIONS = ("reply", "share", "bookmark", "thread")
REQUEST_ACTIONS = ("accept", "block")
LIST_PREVIEW = 3
"""Items of a reading list shown on its card (the thread view shows the card too)."""
NAME_CHARS = 24
"""A name in an action label is cut to this many characters (names are a peer's choice)."""
BADGE = "Question"
ANSWERED, OPEN, HELPFUL = "answered", "open", "Helpful"
"""The colour of tags and of the mark on an unread post."""

Names = Mapping[bytes, str]

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>&])")


def md_escape(text: str) -> str:
    """``text`` as literal markdown on one line (a peer's name, a list's title)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def cut(text: str, chars: int = NAME_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= chars else text[: chars - 1] + "…"


def actions_of(item: PostItem, *, requests: bool = False) -> tuple[str, ...]:
    """The action links on a post's card; a request also offers Accept and Block."""
    actions: tuple[str, ...] = ACTIONS
    if follow_offer(item) is not None:
        actions = (*actions, "follow")
    if item.markable:
        actions = (*actions, "helpful")
    if requests and not item.mine:
        actions = (*actions, *REQUEST_ACTIONS)
    return actions


def action_label(item: PostItem, action: str) -> str:
    if action == "reply":
        return "Reply" if item.reply_count == 0 else f"Reply ({item.reply_count})"
    if action == "share":
        return "Share"
    if action == "helpful":
        return "Marked helpful" if item.helpful else "Mark helpful"
    if action == "bookmark":
        return "Bookmarked" if item.bookmarked else "Bookmark"
    if action == "follow":
        offer = follow_offer(item)
        return f"Follow {cut(offer[1])}" if offer is not None else "Follow"
    if action == "accept":
        return "Accept"
    if action == "block":
        return "Block…"
    return "Thread"


def with_mentions(text: str, mentions: tuple[bytes, ...], names: Names | None) -> str:
    """``text`` with each ``@lnd1…`` mention of a key in ``mentions`` written as a name."""
    for key in mentions:
        name = (names or {}).get(key) or short_key(key)
        shown = f"**@{md_escape(name)}**"
        pattern = re.compile("@" + re.escape(key_to_text(key)) + "(?![a-z0-9])", re.IGNORECASE)
        text = pattern.sub(shown.replace("\\", "\\\\"), text)
    return text


def link_markdown(link: str) -> str:
    """A post's link as markdown: an autolink when it is a plain web address, else text."""
    safe = link.lower().startswith(("http://", "https://")) and not re.search(r"[\s<>]", link)
    return f"<{link}>" if safe else md_escape(link)


def _list_line(number: int, entry: ListEntry) -> str:
    if entry.link is not None and entry.ref is None:
        line = link_markdown(entry.link)
    else:
        line = md_escape(cut(entry.title, 120))
        if entry.author_name:
            line += f" — *{md_escape(cut(entry.author_name))}*"
    if entry.note.strip():
        line += f": {md_escape(cut(entry.note, 160))}"
    return f"{number}. {line}"


def list_markdown(item: PostItem) -> str:
    """A reading list's card: title, item count, the first items."""
    count = len(item.list_items)
    title = md_escape(item.text) or "*untitled*"
    parts = [f"**Reading list: {title}**", f"*{count} item{'' if count == 1 else 's'}*"]
    if item.list_items:
        lines = [_list_line(n, e) for n, e in enumerate(item.list_items[:LIST_PREVIEW], 1)]
        parts.append("\n".join(lines))
    if count > LIST_PREVIEW:
        parts.append(f"*…and {count - LIST_PREVIEW} more*")
    return "\n\n".join(parts)


def body_markdown(item: PostItem, names: Names | None = None) -> str:
    parts = []
    if item.problem:
        parts.append(f"*{item.problem}*")
    elif item.kind == "readinglist":
        parts.append(list_markdown(item))
    elif item.kind == "share" and not item.text:
        parts.append("*shared:*")
    else:
        parts.append(with_mentions(bound_markdown(item.text), item.mentions, names))
    if item.quoted is not None:
        quoted = bound_markdown(item.quoted.text.strip(), QUOTE_CHARS, QUOTE_LINES)
        quoted = quoted.replace("\n", "\n> ")
        parts.append(f"> **{md_escape(item.quoted.author_name)}**: {quoted}" if quoted else "")
    elif item.kind == "share":
        parts.append("> *the shared post is not stored here yet*")
    if item.links:
        parts.append("  \n".join(link_markdown(link) for link in item.links))
    return "\n\n".join(p for p in parts if p)


def text_only(item: PostItem) -> bool:
    """Whether a post's card shows its text and nothing else (no quote, links, mentions,
    list or problem): :func:`body_markdown` is then ``bound_markdown(item.text)``."""
    return (
        item.kind in ("post", "reply")
        and not item.problem
        and item.quoted is None
        and not item.links
        and not item.mentions
    )


def _shape(item: PostItem, names: Names | None = None) -> int:
    """What a post's height depends on (not its counts or marks)."""
    named = tuple(sorted(names.items())) if names else ()
    content = (item.text, item.quoted, item.problem, item.links, bool(item.tags), item.kind)
    return hash((*content, item.list_items, item.mentions, named))


def _names(index: QModelIndex | QPersistentModelIndex, item: PostItem) -> Names | None:
    """The names of the people ``item`` mentions (asked of the model only if it mentions
    anyone: a layout asks every row, and most rows mention no one)."""
    if not item.mentions:
        return None
    names = index.data(MentionNamesRole)
    return names if isinstance(names, dict) else None


def _whole_lines(doc: QTextDocument, limit: int) -> int:
    """The height of the text lines of ``doc`` that end above ``limit`` (a cut between
    two lines, not through one)."""
    layout = doc.documentLayout()
    best = 0
    block = doc.begin()
    while block.isValid():
        top = layout.blockBoundingRect(block).top()
        if top >= limit:
            break
        lines = block.layout()
        for n in range(lines.lineCount()):
            bottom = int(top + lines.lineAt(n).rect().bottom())
            if bottom > limit:
                return best or limit
            best = max(best, bottom)
        block = block.next()
    return best or limit


def meta_parts(item: PostItem) -> list[tuple[str, str]]:
    """What follows the author's name, part by part (role, text): key, what they did,
    when, and marks (the name line leaves parts out by role when it is narrow)."""
    kind = {"reply": "  replied", "share": "  shared", "readinglist": "  reading list"}.get(
        item.kind, ""
    )
    key = "" if shows_key(item) else f"  {item.short_key}"  # a stranger's key, once
    parts = [("key", key), ("kind", kind), ("time", f"  ·  {relative_time(item.claimed_ms)}")]
    if item.edited:
        parts.append(("edited", " (edited)"))
    if item.unread:
        parts.append(("new", "  ·  new"))
    return [(role, text) for role, text in parts if text]


def meta_text(item: PostItem) -> str:
    """What follows the author's name: key, what they did, when, and marks."""
    return "".join(text for _role, text in meta_parts(item))


class PostDelegate(QStyledItemDelegate):
    def __init__(self, parent: QWidget | None = None, *, requests: bool = False) -> None:
        super().__init__(parent)
        self.requests = requests
        """The list is of requests: cards offer Accept and Block."""
        self.connectivity = Connectivity()
        """Whether the app is online (the list's view hands over the app's one account)."""
        repaint_on_avatars(self)
        self._docs: OrderedDict[tuple[bytes, int, int], QTextDocument] = OrderedDict()
        self._chars = 0
        """Characters in the cached documents."""
        self.expanded: set[PostKey] = set()
        """Posts whose whole text is shown ("Show more" was clicked)."""
        self.replies_reported: dict[PostKey, int] = {}
        """Per question: the most answers a peer reported (the list's view hands over the
        app's one account); beyond those counted here its card says "2 more not fetched
        yet"."""
        self._heights: dict[tuple[bytes, int, int, int], int] = {}
        """Row heights by post, width and content: a list asks for the size of every row
        on each layout, but only a few rows are drawn, so only they need a document."""
        self._sized: dict[PostKey, tuple[PostItem, Names | None, int, int]] = {}
        """The last height given for each post: (the item, its names, width, height). A
        layout asks again for every row while only a few changed; the same item object at
        the same width is answered without hashing its content again."""

    # --- layout ------------------------------------------------------------------

    def _document(
        self, item: PostItem, width: int, font: QFont, names: Names | None = None
    ) -> QTextDocument:
        key = (item.author, item.seq, _shape(item, names))
        doc = self._docs.get(key)
        if doc is not None:
            self._docs.move_to_end(key)
            if doc.textWidth() != max(50, width):
                doc.setTextWidth(max(50, width))  # a new width is a new layout, not a parse
            return doc
        if text_only(item):  # the body is the text: bounded once, at the text's own limits
            doc = markdown_document(item.text, font, width)
        else:
            body = body_markdown(item, names)
            doc = markdown_document(body, font, width, chars=2 * MAX_CHARS, lines=2 * MAX_LINES)
        self._docs[key] = doc
        self._chars += doc.characterCount()
        while len(self._docs) > 1 and (len(self._docs) > CACHE or self._chars > CACHE_CHARS):
            _key, old = self._docs.popitem(last=False)
            self._chars -= old.characterCount()
        return doc

    def collapsible(self, doc: QTextDocument, font: QFont) -> bool:
        """Whether a post's text is taller than :data:`COLLAPSED_LINES` lines."""
        return doc.size().height() > COLLAPSED_LINES * QFontMetrics(font).lineSpacing()

    def _text_height(self, item: PostItem, doc: QTextDocument, font: QFont) -> int:
        """The height of a post's text on its card, the "Show more" line included."""
        height = int(doc.size().height())
        if not self.collapsible(doc, font):
            return height
        line = QFontMetrics(font).height()
        if item.post_key not in self.expanded:
            height = _whole_lines(doc, COLLAPSED_LINES * QFontMetrics(font).lineSpacing())
        return height + GAP + line

    def toggle(self, item: PostItem) -> None:
        """Show all of a long post's text, or cut it again."""
        self.expanded.symmetric_difference_update({item.post_key})
        self._sized.pop(item.post_key, None)

    def _text_width(self, option: QStyleOptionViewItem) -> int:
        return row_width(self, option) - 2 * MARGIN - AVATAR - GAP

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        item = index.data(ItemRole)
        if not isinstance(item, PostItem):
            return QSize(100, 40)
        width = max(200, self._text_width(option))
        names = _names(index, item)
        sized = self._sized.get(item.post_key)
        if sized is not None and sized[0] is item and sized[2] == width and sized[1] == names:
            return QSize(width, sized[3])
        key = (item.author, item.seq, width, _shape(item, names) ^ (item.post_key in self.expanded))
        height = self._heights.get(key)
        if height is None:
            doc = self._document(item, width, option.font, names)
            line = QFontMetrics(option.font).height()
            height = MARGIN + line + GAP + self._text_height(item, doc, option.font) + GAP
            height += (line + GAP) if item.tags else 0
            height += line + MARGIN
            height = max(height, AVATAR + 2 * MARGIN)
            if len(self._heights) > HEIGHTS:
                self._heights.clear()
            self._heights[key] = height
        if len(self._sized) > HEIGHTS:
            self._sized.clear()
        self._sized[item.post_key] = (item, names, width, height)
        return QSize(width, height)

    def _action_rects(self, item: PostItem, rect: QRect, font: QFont) -> list[tuple[str, QRect]]:
        metrics = QFontMetrics(font)
        x = rect.left() + MARGIN + AVATAR + GAP
        y = rect.bottom() - MARGIN - metrics.height()
        rects = []
        for action in actions_of(item, requests=self.requests):
            width = metrics.horizontalAdvance(action_label(item, action))
            rects.append((action, QRect(x, y, width, metrics.height())))
            x += width + 18
        return rects

    def action_rect(self, item: PostItem, rect: QRect, font: QFont, action: str) -> QRect | None:
        """Where the action link ``action`` is painted on ``item``'s card (None: not offered)."""
        return dict(self._action_rects(item, rect, font)).get(action)

    def badges(self, item: PostItem) -> list[str]:
        """The badges painted beside the author's name."""
        if item.question and item.root is None:
            state = ANSWERED if item.answered else OPEN
            # the whole thread's replies, as its heading counts them (ThreadDialog)
            badges = [BADGE, f"{state} · {counted(item.replies_known, 'answer')}"]
            reported = self.replies_reported.get(item.post_key, item.replies_reported)
            more = not_fetched(reported, item.replies_known)
            return [*badges, f"{more:,} more not fetched yet"] if more > 0 else badges
        if item.helpful:
            return [HELPFUL]
        return [BADGE] if item.question else []

    def link_at(
        self, item: PostItem, rect: QRect, font: QFont, point: QPoint, names: Names | None = None
    ) -> str | None:
        """The web link under ``point`` in a post's text, if any (http and https only:
        a peer's post must not make the app open files or other programs)."""
        width = max(200, self._text_width_for(rect))
        doc = self._document(item, width, font, names)
        x = rect.left() + MARGIN + AVATAR + GAP
        y = rect.top() + MARGIN + QFontMetrics(font).height() + GAP
        shown = self._text_height(item, doc, font)
        if self.collapsible(doc, font):
            shown -= GAP + QFontMetrics(font).height()  # "Show more" is not text
        if not 0 <= point.y() - y < shown:
            return None  # a link cut off by "Show more" cannot be clicked where it is hidden
        anchor = doc.documentLayout().anchorAt(QPointF(point.x() - x, point.y() - y))
        if anchor.lower().startswith(("http://", "https://")):
            return anchor
        return None

    def _text_width_for(self, rect: QRect) -> int:
        option = QStyleOptionViewItem()
        option.rect = rect
        return self._text_width(option)

    def more_rect(
        self, item: PostItem, rect: QRect, font: QFont, names: Names | None = None
    ) -> QRect | None:
        """Where "Show more" (or "Show less") is painted on a long post's card."""
        doc = self._document(item, max(200, self._text_width_for(rect)), font, names)
        if not self.collapsible(doc, font):
            return None
        metrics = QFontMetrics(font)
        x = rect.left() + MARGIN + AVATAR + GAP
        y = rect.top() + MARGIN + metrics.height() + GAP
        y += self._text_height(item, doc, font) - metrics.height()
        label = LESS if item.post_key in self.expanded else MORE
        return QRect(x, y, metrics.horizontalAdvance(label), metrics.height())

    def action_at(
        self, item: PostItem, rect: QRect, font: QFont, point: QPoint, names: Names | None = None
    ) -> str | None:
        for action, area in self._action_rects(item, rect, font):
            if area.adjusted(-4, -4, 4, 4).contains(point):
                return action
        more = self.more_rect(item, rect, font, names)
        if more is not None and more.adjusted(-4, -4, 4, 4).contains(point):
            return "more"
        return None

    # --- painting ----------------------------------------------------------------

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        item = index.data(ItemRole)
        if not isinstance(item, PostItem):
            super().paint(painter, option, index)
            return
        painter.save()
        rect = option.rect
        palette = option.palette
        paint_frame(painter, option, theme.named_colour("accent") if item.unread else None)
        self._paint_avatar(painter, item, rect)
        font = QFont(option.font)
        metrics = QFontMetrics(font)
        x = rect.left() + MARGIN + AVATAR + GAP
        y = rect.top() + MARGIN
        right = rect.left() + rect.width() - MARGIN
        paint_author(
            painter,
            item,
            font,
            palette,
            x=x,
            y=y,
            width=right - x,
            badges=self.badges(item),
            after=meta_parts(item),
        )
        y += metrics.height() + GAP
        names = _names(index, item)
        doc = self._document(item, max(200, self._text_width(option)), font, names)
        painter.translate(x, y)
        shown = self._text_height(item, doc, font)
        if self.collapsible(doc, font):
            shown -= GAP + metrics.height()
            doc.drawContents(painter, QRectF(0, 0, doc.textWidth(), shown))
            painter.setPen(palette.color(QPalette.ColorRole.Link))
            label = LESS if item.post_key in self.expanded else MORE
            painter.drawText(0, shown + GAP + metrics.ascent(), label)
            shown += GAP + metrics.height()
        else:
            doc.drawContents(painter)
        painter.translate(-x, -y)
        y += shown + GAP
        if item.tags:
            painter.setPen(theme.named_colour("accent"))
            painter.drawText(x, y + metrics.ascent(), "  ".join(f"#{t}" for t in item.tags))
        link_colour = palette.color(QPalette.ColorRole.Link)
        for action, area in self._action_rects(item, rect, font):
            painter.setPen(link_colour)
            painter.drawText(area.left(), area.top() + metrics.ascent(), action_label(item, action))
        delivery = delivery_text(item, self.connectivity)
        if delivery:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            width = metrics.horizontalAdvance(delivery)
            painter.drawText(
                rect.right() - MARGIN - width, rect.bottom() - MARGIN - metrics.descent(), delivery
            )
        painter.restore()

    def _paint_avatar(self, painter: QPainter, item: PostItem, rect: QRect) -> None:
        area = QRect(rect.left() + MARGIN, rect.top() + MARGIN, AVATAR, AVATAR)
        painter.drawPixmap(area, avatar_of(item, AVATAR))
