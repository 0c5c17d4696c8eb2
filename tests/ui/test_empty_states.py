"""An empty screen says what to do next, naming the shortcut or screen that does it."""

from __future__ import annotations

from typing import Any

import pytest

SHORTCUT_OR_SCREEN = ("Ctrl+", "(B)", "Identity", "New list", "above", "paste", "Type words")


@pytest.mark.parametrize(
    "empty",
    [
        lambda w: w.timeline.empty,
        lambda w: w.mine.empty,
        lambda w: w.bookmarks.empty,
        lambda w: w.replies.replies_tab.empty,
        lambda w: w.following.empty,
        lambda w: w.reading_lists.lists_empty,
        lambda w: w.search.empty,
    ],
)
def test_an_empty_screen_says_what_to_do(window: Any, qtbot: Any, empty: Any) -> None:
    label = empty(window)
    text = label.text()
    assert any(hint in text for hint in SHORTCUT_OR_SCREEN), text
    assert text.rstrip().endswith((".", ")")), text
