"""`lndesk screenshots` renders every main screen to a PNG without a display."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtGui import QImage

from lndesk.ui.main_window import PAGES
from lndesk.ui.screenshots import render_screenshots


def test_every_screen_is_rendered_to_a_png(tmp_path: Path, qapp: Any) -> None:
    written = render_screenshots(tmp_path / "shots", 900, 600)
    names = {path.stem for path in written}
    for title in PAGES:
        assert title.lower().replace(" & ", "-").replace(" ", "-") in names
    assert {"thread", "compose", "onboarding", "hostile"} <= names
    for path in written:
        image = QImage(str(path))
        assert not image.isNull(), path
        assert image.width() >= 500 and image.height() >= 400
        # not a blank canvas: a screen has many distinct colours (text, avatars, icons)
        colours = {
            image.pixel(x, y)
            for x in range(0, image.width(), 7)
            for y in range(0, image.height(), 7)
        }
        assert len(colours) > 20, path
