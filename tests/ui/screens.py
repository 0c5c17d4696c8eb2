"""Every screen of the app as a person sees it, for the tests that look at all of them
(labels not cut off, text readable): each sidebar screen of the main window at a given
size, and the main dialogs (compose, follow), in the theme applied."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from PySide6.QtWidgets import QApplication, QDialog, QWidget

from lndesk.ui import theme
from lndesk.ui.main_window import MINIMUM_SIZE, PAGES

LARGE_SIZE = (1600, 1000)
SIZES = (MINIMUM_SIZE, LARGE_SIZE)
SCHEMES = (theme.LIGHT, theme.DARK)


@contextmanager
def scheme_applied(qapp: QApplication, scheme: str) -> Iterator[None]:
    """``scheme`` applied to the whole app for the block, the previous choice after it."""
    before = str(qapp.property("lndeskTheme") or theme.SYSTEM)
    theme.apply_theme(qapp, scheme)
    try:
        yield
    finally:
        theme.apply_theme(qapp, before)


def fill(window: Any, call: Any, qtbot: Any) -> None:
    """Posts of each kind the cards draw: a tagged note, a question and a reply to it, a
    share, and a link."""
    own = call(lambda desk: desk.own)
    call(lambda desk: desk.posting.post("A first post with a tag", ["pedagogy"]))
    asked = call(
        lambda desk: desk.posting.post("What should I read first?", ["reading"], question=True)
    )
    call(lambda desk: desk.posting.reply((own, asked), "Try *Make It Stick*: short chapters."))
    call(lambda desk: desk.posting.share((own, asked), "Worth a look"))
    call(lambda desk: desk.posting.post("Notes", ["a"], ["https://example.org/notes"]))
    qtbot.waitUntil(lambda: window.timeline.model.rowCount() >= 4)


def every_screen(
    window: Any, qapp: QApplication, size: tuple[int, int]
) -> Iterator[tuple[str, QWidget]]:
    """(name, top-level widget) for each sidebar screen shown in ``window`` at ``size``,
    then for the compose and follow dialogs, each at its smallest size and at ``size``
    (as far as the screen lets it grow)."""
    window.resize(*size)
    qapp.processEvents()
    assert (window.width(), window.height()) == size
    for row, title in enumerate(PAGES):
        window.show_page(row)
        qapp.processEvents()
        yield title, window
    for name, opened in (("Compose", window.compose), ("Follow", window.follow)):
        before = set(qapp.topLevelWidgets())
        opened()
        qapp.processEvents()
        dialog = next(
            w for w in qapp.topLevelWidgets() if w not in before and isinstance(w, QDialog)
        )
        smallest = dialog.minimumSizeHint().expandedTo(dialog.minimumSize())
        for width, height in ((smallest.width(), smallest.height()), size):
            dialog.resize(width, height)
            qapp.processEvents()
            yield f"{name} at {dialog.width()}x{dialog.height()}", dialog
        dialog.close()
        qapp.processEvents()
