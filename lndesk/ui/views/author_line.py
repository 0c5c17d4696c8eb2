"""Who wrote a post, as a card shows it: avatar, fingerprint, name and marks.

The avatar is the person's picture once it is decoded (off the GUI thread, see
:mod:`lndesk.ui.avatar_worker`), their key's fingerprint until then or if the picture is
not usable. Beside the name a small fingerprint is drawn for everyone (a picture can be
copied, a fingerprint cannot). A nickname I gave someone is shown in place of their name
and their own chosen name follows it, dimmed, in quotes. Posts of people I do not follow
carry a "not followed" mark; my own say "(you)", which no peer's name can contain
(:func:`lndesk.names.clean_name` removes it). A pseudonym its owner revealed is shown
under the owner's name, with "as curious-fox" right after it in an outlined tag of its
own (:func:`paint_attribution`): it is drawn apart from the name, so a peer who puts
"(as curious-fox)" in their name (which the cleaning removes anyway) cannot pass for it.

The line is laid out for the width it has (:func:`fit_author_line`): what does not fit
goes in a fixed order (the key after a name, the chosen name after a nickname, what the
author did, the "new" and "edited" marks), then the name is shortened with "…" down to a
few letters, and only then is the end of the line cut with "…". Nothing is drawn past
the card's edge, whatever the width and however long a peer made their name.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QObject, QRect, Qt, Slot
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QStyledItemDelegate

from lndesk.app.items import PostItem
from lndesk.names import clean_name
from lndesk.ui import theme
from lndesk.ui.avatar import round_avatar
from lndesk.ui.avatar_worker import AvatarDecoder, avatar_decoder
from lndesk.ui.identicon import identicon_pixmap

FINGERPRINT_GAP = 4
BADGE_GAP = 6
"""Space either side of a badge ("Question") on the name line."""
BADGE_PADDING = 10
DROPPED_FIRST = ("key", "secondary", "kind", "new", "edited")
"""The parts of a name line left out, in this order, when the line is too wide."""
NAME_MIN = "MM…"
"""A name is not shortened below the width of this (the end of the line is cut instead)."""
NOT_FOLLOWED = "not followed"
TAGS = ("badge", "attribution")
"""Parts of a name line drawn as tags (a rounded box around small text), never cut."""
YOU = "(you)"


_ROUND_KEPT = 256
_rounds: OrderedDict[tuple[bytes, int], QPixmap] = OrderedDict()
"""Round avatars made of decoded pictures, by picture and size (GUI thread only)."""


def avatar_of(item: PostItem, size: int, decoder: AvatarDecoder | None = None) -> QPixmap:
    """The round avatar to draw for ``item``'s author now."""
    image = None
    if item.avatar:
        image = (decoder or avatar_decoder()).image(item.avatar, size)
    if image is None:
        return identicon_pixmap(item.author, size, round_=True)  # the fingerprint (cached)
    key = (item.avatar, size)
    shown = _rounds.get(key)
    if shown is None:
        shown = _rounds[key] = round_avatar(image, size, item.author)
        while len(_rounds) > _ROUND_KEPT:
            _rounds.popitem(last=False)
    return shown


def shows_key(item: PostItem) -> bool:
    """Whether the name slot shows the author's short key (no usable name is known):
    the key is then not repeated after it."""
    return not clean_name(item.author_name)


def name_parts(item: PostItem) -> tuple[str, str, str]:
    """(name, dimmed part after it, mark): e.g. ("Mum", ' "Ann Lee"', "not followed").

    The names are cleaned again here (cheap: the cleaner caches), so no view paints a
    name that did not pass :func:`lndesk.names.clean_name`, however the item was made."""
    name = clean_name(item.author_name) or item.short_key
    chosen = clean_name(item.chosen_name)
    secondary = f' "{chosen}"' if chosen else ""
    if item.mine:
        return name, secondary, YOU
    return name, secondary, "" if item.followed else NOT_FOLLOWED


@dataclass(frozen=True)
class Piece:
    """One part of a name line as laid out: ``role`` says what it is ("fingerprint",
    "name", "attribution", "secondary", "mark", "badge", or a part of what follows the name such as
    "time"), ``left`` and ``width`` where it goes (from the line's start)."""

    role: str
    text: str
    left: int
    width: int


def fingerprint_side(bold: QFont) -> int:
    return max(8, QFontMetrics(bold).height() - 4)


def _small(bold: QFont) -> QFont:
    small = QFont(bold)
    small.setPointSizeF(max(6.0, bold.pointSizeF() * 0.85))
    return small


def badge_width(bold: QFont, badge: str) -> int:
    return QFontMetrics(_small(bold)).horizontalAdvance(badge) + BADGE_PADDING


def fit_author_line(
    item: PostItem,
    font: QFont,
    width: int,
    *,
    badges: Sequence[str] = (),
    after: Sequence[tuple[str, str]] = (),
) -> list[Piece]:
    """The name line of ``item`` laid out in ``width`` pixels: its fingerprint, name,
    attribution, chosen name, mark, ``badges`` and the (role, text) parts ``after`` it
    (key, time...).

    ``font`` is the card's font (the name is drawn in its bold). Every piece ends within
    ``width``: parts are left out in the order of :data:`DROPPED_FIRST`, then the name is
    shortened, then the line's end is cut with "…"."""
    bold = QFont(font)
    bold.setBold(True)
    bold_metrics, plain_metrics = QFontMetrics(bold), QFontMetrics(font)
    name, secondary, mark = name_parts(item)
    parts: list[tuple[str, str]] = [("name", name)]
    if item.attribution:
        parts.append(("attribution", item.attribution))
    if secondary:
        parts.append(("secondary", secondary))
    if mark:
        parts.append(("mark", f"  {mark}"))
    parts += [("badge", badge) for badge in badges]
    parts += [(role, text) for role, text in after if text]

    def advance(role: str, text: str) -> int:
        if role in TAGS:
            return BADGE_GAP + badge_width(bold, text) + BADGE_GAP
        return (bold_metrics if role == "name" else plain_metrics).horizontalAdvance(text)

    side = fingerprint_side(bold)
    start = side + FINGERPRINT_GAP

    def total() -> int:
        return start + sum(advance(role, text) for role, text in parts)

    for dropped in DROPPED_FIRST:
        if total() <= width:
            break
        parts = [part for part in parts if part[0] != dropped]
    if total() > width:
        whole = advance("name", name)
        floor = min(whole, bold_metrics.horizontalAdvance(NAME_MIN))
        room = max(floor, width - (total() - whole))
        parts[0] = ("name", bold_metrics.elidedText(name, Qt.TextElideMode.ElideRight, room))
    pieces = [Piece("fingerprint", "", 0, side)] if side <= width else []
    x = start
    for role, text in parts:
        used = advance(role, text)
        if x + used > width:
            # The first part that does not fit is cut with "…"; nothing follows it.
            if role not in TAGS:
                metrics = bold_metrics if role == "name" else plain_metrics
                cut = metrics.elidedText(text, Qt.TextElideMode.ElideRight, width - x)
                if cut.strip():
                    pieces.append(Piece(role, cut, x, metrics.horizontalAdvance(cut)))
            break
        if role in TAGS:
            pieces.append(Piece(role, text, x + BADGE_GAP, badge_width(bold, text)))
        else:
            pieces.append(Piece(role, text, x, used))
        x += used
    return pieces


def paint_badge(painter: QPainter, bold: QFont, badge: str, x: int, y: int) -> None:
    """A badge ("Question") at (x, y), the top of the name line drawn in ``bold``."""
    small = _small(bold)
    metrics = QFontMetrics(small)
    line = QFontMetrics(bold).height()
    area = QRect(
        x, y + (line - metrics.height() - 2) // 2, badge_width(bold, badge), metrics.height() + 2
    )
    painter.save()
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(theme.named_colour("badge"))
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.drawRoundedRect(area, 6, 6)
    painter.setFont(small)
    painter.setPen(QColor("white"))
    painter.drawText(area, int(Qt.AlignmentFlag.AlignCenter), badge)
    painter.restore()


def paint_attribution(painter: QPainter, bold: QFont, text: str, x: int, y: int) -> None:
    """A revealed pseudonym's attribution ("as curious-fox") at (x, y), the top of the
    name line drawn in ``bold``: small accent text in an accent outline, unlike the
    filled badges and unlike any name."""
    small = _small(bold)
    metrics = QFontMetrics(small)
    line = QFontMetrics(bold).height()
    area = QRect(
        x, y + (line - metrics.height() - 2) // 2, badge_width(bold, text), metrics.height() + 2
    )
    painter.save()
    accent = theme.named_colour("accent")
    painter.setPen(accent)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.drawRoundedRect(area.adjusted(0, 0, -1, -1), 6, 6)
    painter.setFont(small)
    painter.drawText(area, int(Qt.AlignmentFlag.AlignCenter), text)
    painter.restore()


def paint_author(
    painter: QPainter,
    item: PostItem,
    font: QFont,
    palette: QPalette,
    *,
    x: int,
    y: int,
    width: int,
    badges: Sequence[str] = (),
    after: Sequence[tuple[str, str]] = (),
) -> list[Piece]:
    """The name line of ``item`` (see :func:`fit_author_line`) at (x, y), its top, in
    ``width`` pixels; ``font`` is the card's font. Returns the pieces as drawn."""
    bold = QFont(font)
    bold.setBold(True)
    metrics = QFontMetrics(bold)
    baseline = y + metrics.ascent()
    pieces = fit_author_line(item, font, width, badges=badges, after=after)
    dim = palette.color(QPalette.ColorRole.PlaceholderText)
    painter.save()
    for piece in pieces:
        left = x + piece.left
        if piece.role == "fingerprint":
            top = y + (metrics.height() - piece.width) // 2
            side = piece.width
            painter.drawPixmap(QRect(left, top, side, side), identicon_pixmap(item.author, side))
        elif piece.role == "badge":
            paint_badge(painter, bold, piece.text, left, y)
        elif piece.role == "attribution":
            paint_attribution(painter, bold, piece.text, left, y)
        else:
            painter.setFont(bold if piece.role == "name" else font)
            if piece.role == "name":
                painter.setPen(palette.color(QPalette.ColorRole.Text))
            elif piece.role == "mark" and not item.mine:
                painter.setPen(theme.named_colour("mark"))
            else:
                painter.setPen(dim)
            painter.drawText(left, baseline, piece.text)
    painter.restore()
    return pieces


class _Repainter(QObject):
    """Repaints the view its delegate draws for (a child of the delegate, so the
    connection ends with it)."""

    @Slot()
    def repaint(self) -> None:
        delegate = self.parent()
        view = delegate.parent() if delegate is not None else None
        if isinstance(view, QAbstractItemView):
            view.viewport().update()


def repaint_on_avatars(delegate: QStyledItemDelegate) -> None:
    """Repaint the view of ``delegate`` whenever an avatar finished decoding."""
    avatar_decoder().changed.connect(_Repainter(delegate).repaint)
