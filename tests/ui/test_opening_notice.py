"""The notice shown while a slow data directory opens (an index rebuilt after an update)."""

from __future__ import annotations

from typing import Any

from lndesk.ui.app import _OpeningNotice


def test_the_notice_appears_only_when_opening_takes_long(qapp: Any) -> None:
    notice = _OpeningNotice()
    notice.update(0.2)
    assert notice.box is None  # a quick open shows nothing
    notice.update(notice.AFTER_S + 0.1)
    assert notice.box is not None and notice.box.isVisible()
    assert "rebuilding its index" in notice.box.text()
    box = notice.box
    notice.update(notice.AFTER_S + 5)
    assert notice.box is box  # one notice, not one per wait
    notice.close()
    assert notice.box is None and not box.isVisible()
