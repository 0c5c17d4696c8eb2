"""Who wrote a post, as a card shows it: avatar, fingerprint, name and marks.

The avatar is the person's picture once it is decoded (off the GUI thread, see
:mod:`lndesk.ui.avatar_worker`), their key's fingerprint until then or if the picture is
not usable. Beside the name a small fingerprint is drawn for everyone (a picture can be
copied, a fingerprint cannot). A nickname I gave someone is shown in place of their name
and their own chosen name follows it, dimmed, in quotes. Posts of people I do not follow
carry a "not followed" mark; my own say "(you)", which no peer's name can contain
(:func:`lndesk.names.clean_name` removes it).
"""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QObject, QRect, Slot
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QStyledItemDelegate

from lndesk.app.items import PostItem
from lndesk.names import clean_name
from lndesk.ui import theme
from lndesk.ui.avatar import round_avatar
from lndesk.ui.avatar_worker import AvatarDecoder, avatar_decoder
from lndesk.ui.identicon import identicon_pixmap

FINGERPRINT_GAP = 4
NOT_FOLLOWED = "not followed"
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


def paint_author(
    painter: QPainter, item: PostItem, font: QFont, palette: QPalette, *, x: int, y: int
) -> int:
    """The fingerprint, name, chosen name and mark at (x, y), the top of the name line
    (``font`` is the bold name font); returns the width used."""
    metrics = QFontMetrics(font)
    side = max(8, metrics.height() - 4)
    top = y + (metrics.height() - side) // 2
    painter.drawPixmap(QRect(x, top, side, side), identicon_pixmap(item.author, side))
    width = side + FINGERPRINT_GAP
    name, secondary, mark = name_parts(item)
    painter.setFont(font)
    painter.setPen(palette.color(QPalette.ColorRole.Text))
    painter.drawText(x + width, y + metrics.ascent(), name)
    width += metrics.horizontalAdvance(name)
    plain = QFont(font)
    plain.setBold(False)
    plain_metrics = QFontMetrics(plain)
    painter.setFont(plain)
    if secondary:
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(x + width, y + metrics.ascent(), secondary)
        width += plain_metrics.horizontalAdvance(secondary)
    if mark:
        shown = f"  {mark}"
        painter.setPen(
            palette.color(QPalette.ColorRole.PlaceholderText)
            if item.mine
            else theme.named_colour("mark")
        )
        painter.drawText(x + width, y + metrics.ascent(), shown)
        width += plain_metrics.horizontalAdvance(shown)
    painter.setFont(font)
    return width


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
