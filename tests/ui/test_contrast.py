"""Every colour the themes draw text in is readable: WCAG 2 contrast of at least 4.5:1,
in the palettes and as drawn on every screen, light and dark."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from PySide6 import QtGui
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QImage, QPalette, QTextDocument
from PySide6.QtWidgets import QAbstractButton, QLabel, QWidget
from screens import SCHEMES, SIZES, every_screen, fill, scheme_applied

from lndesk.ui import theme
from lndesk.ui.models.search import HIGHLIGHT_OPEN

Role, Group = QPalette.ColorRole, QPalette.ColorGroup
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


# --- every screen, as drawn -----------------------------------------------------------


def _text_colours(widget: QWidget) -> set[str]:
    """The colours ``widget`` writes its text in: its palette's text role (a style
    sheet's colour included), and in rich text each run's own colour, links in the
    palette's link colour."""
    pal = widget.palette()
    own = pal.color(Group.Active, widget.foregroundRole())
    colours = {own.name()}
    if isinstance(widget, QLabel) and (
        widget.textFormat() == Qt.TextFormat.RichText
        or (
            widget.textFormat() == Qt.TextFormat.AutoText
            and QtGui.Qt.mightBeRichText(widget.text())
        )
    ):
        doc = QTextDocument()
        doc.setHtml(widget.text())
        block = doc.begin()
        while block.isValid():
            it = block.begin()
            while not it.atEnd():
                fragment = it.fragment()
                fmt = fragment.charFormat()
                if fragment.text().strip():
                    if fmt.foreground().style() != Qt.BrushStyle.NoBrush:
                        colours.add(fmt.foreground().color().name())
                    elif fmt.isAnchor():
                        colours.add(pal.color(Group.Active, Role.Link).name())
                it += 1
            block = block.next()
    return colours


def _background(image: QImage, area: QRect) -> QColor:
    """The colour most of ``area`` of ``image`` is painted in: what the text is on."""
    crop = image.copy(area).convertToFormat(QImage.Format.Format_RGB32)
    pixels = memoryview(crop.constBits()).cast("I")
    value, _count = Counter(pixels).most_common(1)[0]
    return QColor.fromRgb(value)


def hard_to_read(root: QWidget) -> list[str]:
    """The visible, enabled labels and buttons of ``root`` with a text colour under
    4.5:1 against the background they are drawn on (read from ``root``'s pixels)."""
    image = root.grab().toImage()
    bounds = QRect(0, 0, image.width(), image.height())
    found = []
    widgets: list[QWidget] = [*root.findChildren(QLabel), *root.findChildren(QAbstractButton)]
    for widget in widgets:
        text = widget.text()  # type: ignore[attr-defined]
        if not widget.isVisible() or not widget.isEnabled() or not text.strip():
            continue
        if isinstance(widget, QLabel) and widget.pixmap().width() > 0:
            continue
        area = QRect(widget.mapTo(root, QPoint(0, 0)), widget.size()).intersected(bounds)
        if area.isEmpty():
            continue
        background = _background(image, area)
        for colour in _text_colours(widget):
            ratio = contrast(QColor(colour), background)
            if ratio < MINIMUM:
                found.append(
                    f"{type(widget).__name__} {text[:30]!r}: {colour} on "
                    f"{background.name()} {ratio:.2f}"
                )
    return found


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("size", SIZES)
def test_every_screen_reads_at_4_5_as_drawn(
    window: Any, call: Any, qtbot: Any, qapp: Any, size: tuple[int, int], scheme: str
) -> None:
    """Each sidebar screen and the compose and follow dialogs, light and dark, at the
    smallest window size and a large one: every label's and button's text colours
    against the colour drawn under them."""
    fill(window, call, qtbot)
    problems = {}
    with scheme_applied(qapp, scheme):
        for name, shown in every_screen(window, qapp, size):
            found = hard_to_read(shown)
            if found:
                problems[name] = found
    assert problems == {}
