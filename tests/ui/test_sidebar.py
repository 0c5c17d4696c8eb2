"""The sidebar: an icon for every screen, counts as badges, titles shown whole."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPalette
from PySide6.QtWidgets import QStyleOptionViewItem

from lndesk.ui import theme
from lndesk.ui.main_window import PAGE_ICONS, PAGES, REPLIES, TIMELINE
from lndesk.ui.sidebar import ICON, ICONS, Sidebar, badge_text, draw_icon


def _icon_image(name: str) -> QImage:
    image = QImage(ICON + 4, ICON + 4, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    draw_icon(painter, name, QRect(2, 2, ICON, ICON).toRectF(), QColor("black"))
    painter.end()
    return image


def _row_image(nav: Sidebar, row: int) -> QImage:
    option = QStyleOptionViewItem()
    nav.initViewItemOption(option)
    index = nav.model().index(row, 0)
    option.rect = QRect(0, 0, nav.width(), nav.itemDelegate().sizeHint(option, index).height())
    image = QImage(option.rect.size(), QImage.Format.Format_RGB32)
    image.fill(option.palette.color(QPalette.ColorRole.Window))
    painter = QPainter(image)
    nav.itemDelegate().paint(painter, option, index)
    painter.end()
    return image


def _has(image: QImage, colour: QColor) -> bool:
    return any(
        image.pixelColor(x, y) == colour
        for x in range(image.width())
        for y in range(image.height())
    )


def test_every_screen_has_its_own_icon(qapp: Any) -> None:
    assert len(PAGE_ICONS) == len(PAGES) == len(set(PAGE_ICONS))
    assert set(PAGE_ICONS) == set(ICONS)
    drawings = [_icon_image(name) for name in PAGE_ICONS]
    for name, image in zip(PAGE_ICONS, drawings, strict=True):
        assert _has(image, QColor("black")), f"the {name} icon draws nothing"
    assert len({image.bits().tobytes() for image in drawings}) == len(drawings)


def test_counts_show_as_badges_and_are_spoken(qtbot: Any) -> None:
    nav = Sidebar(tuple(zip(PAGES, PAGE_ICONS, strict=True)))
    qtbot.addWidget(nav)
    nav.show()
    badge = theme.named_colour("badge")
    assert not _has(_row_image(nav, TIMELINE), badge)
    nav.set_count(TIMELINE, 4)
    assert nav.count_of(TIMELINE) == 4 and nav.item(TIMELINE).text() == "Timeline"
    assert nav.item(TIMELINE).data(Qt.ItemDataRole.AccessibleTextRole) == "Timeline, 4"
    assert _has(_row_image(nav, TIMELINE), badge)
    nav.set_count(TIMELINE, 0)
    assert not _has(_row_image(nav, TIMELINE), badge)
    assert nav.item(TIMELINE).data(Qt.ItemDataRole.AccessibleTextRole) == "Timeline"
    assert badge_text(100) == "99+" and badge_text(99) == "99" and badge_text(0) == ""


def test_titles_fit_beside_the_largest_badge(qtbot: Any) -> None:
    nav = Sidebar(tuple(zip(PAGES, PAGE_ICONS, strict=True)))
    qtbot.addWidget(nav)
    nav.resize(nav.width(), 560)  # the window's smallest height: every row in view
    nav.show()
    assert not nav.verticalScrollBar().isVisible()
    assert not nav.horizontalScrollBar().isVisible()
    metrics = nav.fontMetrics()
    for row, title in enumerate(PAGES):
        nav.set_count(row, 5000)
        option = QStyleOptionViewItem()
        nav.initViewItemOption(option)
        index = nav.model().index(row, 0)
        option.rect = QRect(0, 0, nav.viewport().width(), 34)
        icon, pill, text = nav.itemDelegate().layout(option, index)
        assert pill is not None and icon.right() < text.left() and text.right() < pill.left()
        assert metrics.horizontalAdvance(title) <= text.width(), title


def test_the_window_counts_unread_posts_and_requests(window: Any) -> None:
    window._set_unread(3)
    window._show_requests(2)
    assert window.nav.count_of(TIMELINE) == 3 and window.nav.count_of(REPLIES) == 2
    window._set_unread(0)
    assert window.nav.count_of(TIMELINE) == 0
