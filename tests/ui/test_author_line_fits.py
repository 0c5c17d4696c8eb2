"""A card's author line (fingerprint, name, chosen name, "not followed", badge, time) fits
the card at every width, or gives way in a fixed order: measured on the laid-out pieces
and on the pixels a card paints, never by timing."""

from __future__ import annotations

import time
from typing import Any

import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QImage,
    QPainter,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import QApplication, QListView, QStyleOptionViewItem
from ui_helpers import post_item

from lndesk.app.items import PostItem
from lndesk.ui.main_window import MINIMUM_SIZE
from lndesk.ui.models.live import ItemRole
from lndesk.ui.views.author_line import NOT_FOLLOWED, fit_author_line
from lndesk.ui.views.post_delegate import AVATAR, GAP, MARGIN, PostDelegate, meta_parts

NOW_MS = int(time.time() * 1000) - 3 * 3600 * 1000  # "3 h" ago


def hostile(**fields: Any) -> PostItem:
    """A stranger's edited, unread reply with long names: every part of the line there is."""
    defaults: dict[str, Any] = {
        "author_name": "Wilhelmina Featherstonehaugh-Montgomery",
        "chosen_name": "Professor Wilhelmina of the Very Long Name",
        "kind": "reply",
        "claimed_ms": NOW_MS,
        "edited": True,
        "unread": True,
        "question": True,
        "short_key": "lnd1qwertyuiop",
    }
    return post_item(**(defaults | fields))


ITEMS = {
    "hostile": hostile(),
    "plain": post_item(author_name="Bo", claimed_ms=NOW_MS, followed=True),
    "mine": post_item(author_name="Ann", claimed_ms=NOW_MS, mine=True, followed=True),
    "unnamed": post_item(author_name="", short_key="lnd1zzzzzzzz", claimed_ms=NOW_MS),
    "one long word": hostile(author_name="W" * 64, chosen_name=""),
    "revealed pseudonym": hostile(
        author_name="Wilhelmina Featherstonehaugh", chosen_name="", attribution="as " + "f" * 24
    ),
}
WIDTHS = range(40, 1400, 9)


def line_width(card_width: int) -> int:
    """The width a card of ``card_width`` gives its author line."""
    return card_width - 2 * MARGIN - AVATAR - GAP


def font() -> QFont:
    return QFont(QApplication.font())


@pytest.mark.parametrize("name", sorted(ITEMS))
def test_every_piece_ends_inside_the_line_at_every_width(qapp: Any, name: str) -> None:
    item = ITEMS[name]
    badges = ["Question"] if item.question else []
    for width in WIDTHS:
        pieces = fit_author_line(item, font(), width, badges=badges, after=meta_parts(item))
        right = 0
        for piece in pieces:
            assert piece.left >= right, (width, piece)  # in order, never on top of another
            right = piece.left + piece.width
            assert right <= width, (width, piece)
        # the name may be shortened; besides it only the last part shown is cut
        cut = [p for p in pieces if p.text.endswith("…") and p.role != "name"]
        assert cut in ([], [pieces[-1]]), (width, pieces)


def test_parts_give_way_in_order_and_the_time_stays_while_it_can(qapp: Any) -> None:
    item = ITEMS["hostile"]
    after = meta_parts(item)
    roles = {
        w: [p.role for p in fit_author_line(item, font(), w, badges=["Question"], after=after)]
        for w in WIDTHS
    }
    wide = roles[max(WIDTHS)]
    assert wide == [
        "fingerprint",
        *("name", "secondary", "mark", "badge"),
        *("key", "kind", "time", "edited", "new"),
    ]
    # narrowing the line leaves parts out one by one in a fixed order, never adds one back
    for narrower, wider in zip(list(WIDTHS), list(WIDTHS)[1:], strict=False):
        assert set(roles[narrower]) <= set(roles[wider]), (narrower, wider)
    order = ["key", "secondary", "kind", "new", "edited"]
    gone_at = {role: max(w for w in WIDTHS if role not in roles[w]) for role in order}
    assert [gone_at[r] for r in order] == sorted(gone_at.values(), reverse=True)
    # what matters most stays longest: the name, "not followed" and the time
    minimum = line_width(min_card_width())
    at_minimum = [
        p.role for p in fit_author_line(item, font(), minimum, badges=["Question"], after=after)
    ]
    assert {"fingerprint", "name", "mark", "badge", "time"} <= set(at_minimum)


def min_card_width() -> int:
    """The narrowest card the main window shows: its minimum width minus the sidebar and
    the frames around the list (generous: the real one is wider)."""
    return MINIMUM_SIZE[0] - 300


def test_the_main_window_minimum_shows_a_whole_typical_line(qapp: Any) -> None:
    item = post_item(author_name="Margaret Hamilton-Smith", kind="reply", claimed_ms=NOW_MS)
    width = line_width(min_card_width())
    pieces = fit_author_line(item, font(), width, after=meta_parts(item))
    shown = {p.role: p.text for p in pieces}
    assert shown["name"] == "Margaret Hamilton-Smith" and shown["mark"].strip() == NOT_FOLLOWED
    assert "3 h" in shown["time"]


def paint_card(item: PostItem, card_width: int) -> tuple[QImage, QRect]:
    """``item``'s card painted in a wider image whose outside starts magenta."""
    view = QListView()
    view.resize(card_width, 400)
    delegate = PostDelegate(view)
    option = QStyleOptionViewItem()
    option.initFrom(view)
    option.font = font()
    height = delegate.sizeHint(option, index_of(view, item)).height()
    rect = QRect(0, 0, card_width, height)
    option.rect = rect
    image = QImage(card_width + 400, height, QImage.Format.Format_ARGB32)
    image.fill(QColor("magenta"))
    painter = QPainter(image)
    delegate.paint(painter, option, index_of(view, item))
    painter.end()
    view.deleteLater()
    return image, rect


def index_of(view: QListView, item: PostItem) -> Any:
    model = view.model()
    if not isinstance(model, QStandardItemModel):
        model = QStandardItemModel(view)
        row = QStandardItem()
        row.setData(item, ItemRole)
        model.appendRow(row)
        view.setModel(model)
    return model.index(0, 0)


@pytest.mark.parametrize("card_width", [120, 200, 320, 420, min_card_width(), 900])
def test_nothing_is_painted_past_the_card(qapp: Any, card_width: int) -> None:
    image, rect = paint_card(ITEMS["hostile"], card_width)
    band = QFontMetrics(font()).height() + MARGIN
    outside = [
        (x, y)
        for x in range(rect.right() + 1, image.width())
        for y in range(band)
        if image.pixelColor(x, y) != QColor("magenta")
    ]
    assert outside == []
    # and the line's own right margin stays empty too
    background = image.pixelColor(rect.right() - 2, 2)
    margin = [
        (x, y)
        for x in range(rect.right() - MARGIN + 2, rect.right())
        for y in range(MARGIN, band)
        if image.pixelColor(x, y) != background
    ]
    assert margin == []


def test_a_card_too_narrow_to_elide_still_draws_inside(qapp: Any) -> None:
    for width in (0, 5, 12):
        assert all(
            p.left + p.width <= width
            for p in fit_author_line(ITEMS["hostile"], font(), width, after=[("time", "  ·  now")])
        )
