"""Every screen of the main window and its main dialogs show their labels whole at the
smallest window size and at a large one, in both themes, measured with the labels' fonts,
and post cards never overlap."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6 import QtGui
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics, QTextDocument
from PySide6.QtWidgets import QAbstractButton, QLabel, QWidget
from screens import SCHEMES, SIZES, every_screen, fill, scheme_applied

from lndesk.ui.main_window import MINIMUM_SIZE


def _plain(text: str) -> str:
    """A label's text as shown: mnemonic ampersands dropped, "&&" kept as one."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def _rich(label: QLabel) -> bool:
    fmt = label.textFormat()
    if fmt == Qt.TextFormat.RichText:
        return True
    return fmt == Qt.TextFormat.AutoText and QtGui.Qt.mightBeRichText(label.text())


def _text_width(label: QLabel) -> int:
    if _rich(label):
        doc = QTextDocument()
        doc.setDefaultFont(label.font())
        doc.setDocumentMargin(0)
        doc.setHtml(label.text())
        return int(doc.idealWidth() + 0.999)
    metrics = _shown_metrics(label)
    return max(metrics.horizontalAdvance(line) for line in _plain(label.text()).splitlines())


def _shown_metrics(widget: QWidget) -> QFontMetrics:
    """The metrics a widget's text is drawn with. An underlined mnemonic letter splits
    the text into runs with no kerning between them, so "To" is drawn wider than its
    kerned width."""
    font = QFont(widget.font())
    text = widget.text() if isinstance(widget, (QLabel, QAbstractButton)) else ""
    if text.replace("&&", "").count("&"):
        font.setKerning(False)
    return QFontMetrics(font)


def clipped(root: QWidget) -> list[str]:
    """The visible labels and buttons whose text does not fit their geometry."""
    found = []
    for label in root.findChildren(QLabel):
        if not label.isVisible() or not label.text() or label.pixmap().width() > 0:
            continue
        area = label.contentsRect()
        if label.wordWrap():
            need, have = label.heightForWidth(label.width()), label.height()
        else:
            need, have = _text_width(label), area.width()
            lines = max(1, label.text().count("\n") + 1)
            if not _rich(label) and label.fontMetrics().height() * lines > area.height():
                need, have = label.fontMetrics().height() * lines, area.height()
        if need > have:
            found.append(f"{type(label.parent()).__name__} {label.text()[:40]!r}: {need} > {have}")
    for button in root.findChildren(QAbstractButton):
        if not button.isVisible() or not button.text():
            continue
        need = _shown_metrics(button).horizontalAdvance(_plain(button.text()))
        if need > button.width():
            found.append(f"button {button.text()!r}: {need} > {button.width()}")
    return found


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("size", SIZES)
def test_no_label_is_cut_off_on_any_screen(
    window: Any, call: Any, qtbot: Any, qapp: Any, size: tuple[int, int], scheme: str
) -> None:
    """Each sidebar screen and the compose and follow dialogs, at the smallest window size
    and a large one, light and dark."""
    fill(window, call, qtbot)
    problems = {}
    with scheme_applied(qapp, scheme):
        for name, shown in every_screen(window, qapp, size):
            found = clipped(shown)
            if found:
                problems[name] = found
    assert problems == {}


def test_the_window_is_no_smaller_than_the_size_checked(window: Any) -> None:
    window.resize(300, 200)
    assert (window.width(), window.height()) == MINIMUM_SIZE


def _rows_fit(view: Any) -> list[str]:
    """Rows whose painted height exceeds their place in the view, or that overlap."""
    from PySide6.QtWidgets import QStyleOptionViewItem

    problems = []
    previous = None
    for row in range(view.model().rowCount()):
        index = view.model().index(row, 0)
        place = view.visualRect(index)
        option = QStyleOptionViewItem()
        view.initViewItemOption(option)
        option.rect = place
        need = view.itemDelegate().sizeHint(option, index).height()
        if need > place.height():
            problems.append(f"row {row}: painted {need} in {place.height()}")
        if previous is not None and place.top() <= previous.bottom():
            problems.append(f"row {row} overlaps the one above")
        previous = place
    return problems


def test_a_card_that_grows_pushes_the_next_one_down(
    window: Any, call: Any, qtbot: Any, qapp: Any
) -> None:
    from lndesk.ui.views.edit import EditDialog

    call(lambda desk: desk.posting.post("short"))
    call(lambda desk: desk.posting.post("another"))
    view = window.timeline.view
    qtbot.waitUntil(lambda: view.model().rowCount() == 2)
    qapp.processEvents()
    assert _rows_fit(view) == []
    older = view.model().item(1)
    dialog = EditDialog(window.bridge, older)
    qtbot.addWidget(dialog)
    dialog.box.text.setPlainText("\n\n".join(f"Paragraph {n} of a longer post." for n in range(4)))
    with qtbot.waitSignal(dialog.box.published):
        dialog.box.submit()
    qtbot.waitUntil(lambda: view.model().item(1).edited)
    assert view.model().item(1).text.startswith("Paragraph 0")
    view.doItemsLayout()  # the edited row's new height, laid out now rather than waited for
    assert _rows_fit(view) == []


def content_overlap(view: Any, row: int) -> int:
    """By how many pixels a card's text and tags run into its action links ("Reply",
    "Share"...) at the height its size hint gives it (0: they do not).

    The action links sit on the card's bottom edge, so the card is painted much taller
    than its hint: the links move down, and whatever is painted above them is content."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QFontMetrics, QImage, QPainter, QPalette
    from PySide6.QtWidgets import QStyleOptionViewItem

    from lndesk.ui.views.post_delegate import AVATAR, GAP, MARGIN

    index = view.model().index(row, 0)
    option = QStyleOptionViewItem()
    view.initViewItemOption(option)
    width = view.viewport().width()
    option.rect = QRect(0, 0, width, 1)
    hint = view.itemDelegate().sizeHint(option, index).height()
    tall = hint + 200
    option.rect = QRect(0, 0, width, tall)
    image = QImage(width, tall, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    view.itemDelegate().paint(painter, option, index)
    painter.end()
    background = option.palette.color(QPalette.ColorRole.Base).rgb()
    line = QFontMetrics(option.font).height()
    links_top = tall - 1 - MARGIN - line
    lowest = 0
    for y in range(links_top):
        if any(
            image.pixel(x, y) != background for x in range(MARGIN + AVATAR + GAP, width - MARGIN)
        ):
            lowest = y
    return max(0, lowest - (hint - 1 - MARGIN - line) + 1)


@pytest.mark.parametrize("size", [MINIMUM_SIZE, (1400, 900)])
def test_card_text_stays_clear_of_its_action_links(
    window: Any, call: Any, qtbot: Any, qapp: Any, size: tuple[int, int]
) -> None:
    window.resize(*size)
    first = call(
        lambda desk: desk.posting.post("What should I read first?", ["reading"], question=True)
    )
    own = call(lambda desk: desk.own)
    call(
        lambda desk: desk.posting.reply(
            (own, first), "Try *Make It Stick*: " + "short chapters. " * 12
        )
    )
    call(lambda desk: desk.posting.post("Notes", ["a", "b"], ["https://example.org/" + "x" * 150]))
    call(lambda desk: desk.posting.share((own, first), "Worth a look"))
    view = window.timeline.view
    qtbot.waitUntil(lambda: view.model().rowCount() == 4)
    qapp.processEvents()
    assert {row: content_overlap(view, row) for row in range(4)} == dict.fromkeys(range(4), 0)
    assert _rows_fit(view) == []
