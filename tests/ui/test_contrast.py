"""Every colour the themes draw text in is readable: WCAG 2 contrast of at least 4.5:1."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QPalette

from lndesk.ui import theme
from lndesk.ui.models.search import HIGHLIGHT_OPEN

Role = QPalette.ColorRole
MINIMUM = 4.5
BACKGROUNDS = (Role.Window, Role.Base, Role.AlternateBase, Role.Button)
# (text, the backgrounds it is drawn on)
PALETTE_PAIRS = (
    (Role.WindowText, BACKGROUNDS),
    (Role.Text, BACKGROUNDS),
    (Role.ButtonText, (Role.Button,)),
    (Role.PlaceholderText, BACKGROUNDS),
    (Role.Link, BACKGROUNDS),
    (Role.LinkVisited, BACKGROUNDS),
    (Role.BrightText, BACKGROUNDS),
    (Role.ToolTipText, (Role.ToolTipBase,)),
    (Role.HighlightedText, (Role.Highlight,)),
)
UI = Path(__file__).resolve().parents[2] / "lndesk" / "ui"


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: QColor) -> float:
    r, g, b = (_channel(v) for v in (colour.red(), colour.green(), colour.blue()))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: QColor, b: QColor) -> float:
    low, high = sorted((luminance(a), luminance(b)))
    return (high + 0.05) / (low + 0.05)


def test_the_formula_matches_wcag() -> None:
    assert contrast(QColor("#000000"), QColor("#ffffff")) == pytest.approx(21.0)
    assert contrast(QColor("#777777"), QColor("#ffffff")) == pytest.approx(4.48, abs=0.01)
    assert contrast(QColor("#2f80ed"), QColor("#17181a")) == pytest.approx(4.60, abs=0.01)


@pytest.mark.parametrize("scheme", [theme.LIGHT, theme.DARK])
def test_palette_text_is_readable(scheme: str) -> None:
    pal = theme.palette(scheme)
    low = []
    for text, backgrounds in PALETTE_PAIRS:
        for background in backgrounds:
            ratio = contrast(pal.color(text), pal.color(background))
            if ratio < MINIMUM:
                low.append(f"{text.name} on {background.name}: {ratio:.2f}")
    assert not low, low


@pytest.mark.parametrize("scheme", [theme.LIGHT, theme.DARK])
@pytest.mark.parametrize("name", theme.NAMED_COLOURS)
def test_named_colours_are_readable(scheme: str, name: str) -> None:
    pal = theme.palette(scheme)
    colour = theme.named_colour(name, scheme)
    if name == "badge":  # a fill under white text
        assert contrast(colour, QColor("white")) >= MINIMUM
        return
    for background in BACKGROUNDS:
        ratio = contrast(colour, pal.color(background))
        assert ratio >= MINIMUM, f"{name} on {background.name}: {ratio:.2f}"


def test_search_highlight_is_readable() -> None:
    fill, text = re.findall(r"#[0-9a-fA-F]{6}", HIGHLIGHT_OPEN)
    assert contrast(QColor(fill), QColor(text)) >= MINIMUM


# A colour written into a view is the same in both themes, so it fails one of them;
# these few draw on a fill of their own or are not text.
FIXED_COLOURS = {
    "models/search.py",  # the search highlight: its own fill and text colour, tested above
    "tray.py",  # white on a red badge, drawn on the tray icon
    "identicon.py",  # a picture, not text
    "screenshots.py",  # demo content
}


def test_views_take_text_colours_from_the_theme() -> None:
    found = []
    for path in sorted(UI.rglob("*.py")):
        relative = path.relative_to(UI).as_posix()
        if relative == "theme.py" or relative in FIXED_COLOURS:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"#[0-9a-fA-F]{6}\b|QColor\(\"(?!white)", line):
                found.append(f"{relative}:{number}: {line.strip()}")
    assert not found, found


def test_error_labels_follow_a_theme_change(qtbot: object) -> None:
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme.apply_theme(app, theme.LIGHT)
    label = QLabel("Could not save")
    label.setStyleSheet(theme.ERROR_STYLE)
    label.show()
    light = label.palette().color(Role.WindowText)
    try:
        theme.apply_theme(app, theme.DARK)
        dark = label.palette().color(Role.WindowText)
    finally:
        theme.apply_theme(app, theme.LIGHT)
        label.close()
    assert light == theme.palette(theme.LIGHT).color(Role.BrightText)
    assert dark == theme.palette(theme.DARK).color(Role.BrightText)


@pytest.mark.parametrize("scheme", [theme.LIGHT, theme.DARK])
@pytest.mark.parametrize("selected", [False, True])
def test_card_lines_read_at_4_5_as_drawn(qapp: object, scheme: str, selected: bool) -> None:
    """The cards of the Reading lists screen and the tags on the Search screen, measured
    on their pixels: in each line the text's colour (its most contrasting pixel) against
    the card's background, in both themes, selected or not."""
    from PySide6.QtCore import QRect, QStringListModel
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtWidgets import QListView, QStyle, QStyleOptionViewItem

    from lndesk.ui.views.cards import LinesDelegate

    view = QListView()
    view.setModel(QStringListModel(["Reading list for new teachers\nBo Martin · 3 items"]))
    index = view.model().index(0, 0)
    palette = theme.palette(scheme)
    for delegate in (LinesDelegate(view), LinesDelegate(view, bold_first=False, padding=6)):
        option = QStyleOptionViewItem()
        option.initFrom(view)
        option.palette = palette
        option.rect = QRect(0, 0, 420, delegate.sizeHint(option, index).height())
        if selected:
            option.state |= QStyle.StateFlag.State_Selected
        image = QImage(option.rect.size(), QImage.Format.Format_ARGB32)
        painter = QPainter(image)
        delegate.paint(painter, option, index)
        painter.end()
        background = palette.color(Role.AlternateBase if selected else Role.Base)
        lines = delegate.line_rects(option, index)
        assert len(lines) == 2
        for text, _font, area in lines:
            best = max(
                contrast(image.pixelColor(x, y), background)
                for x in range(area.left(), area.right())
                for y in range(area.top(), area.bottom())
            )
            assert best >= MINIMUM, f"{text!r}: {best:.2f}"
    view.deleteLater()
