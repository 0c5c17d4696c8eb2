"""The bridge's two doors: a question is answered as it is, an action is awaited first.

The types of what crosses are checked by mypy (``tests/typing/bridge_results.py``); these
tests show the same at run time, on the real node thread.
"""

from __future__ import annotations

from typing import Any

from lndesk.app.desk import Desk
from lndesk.ui.bridge import Bridge


def answer(qtbot: Any, send: Any) -> dict[str, Any]:
    box: dict[str, Any] = {}
    send(lambda r: box.setdefault("result", r), lambda e: box.setdefault("error", e))
    qtbot.waitUntil(lambda: box != {})
    return box


def test_an_action_is_awaited_and_its_result_arrives(bridge: Bridge, qtbot: Any) -> None:
    box = answer(
        qtbot,
        lambda done, failed: bridge.request_async(
            lambda desk: desk.posting.post("through the bridge"), done, failed
        ),
    )
    assert box == {"result": 1}
    box = answer(
        qtbot,
        lambda done, failed: bridge.request(
            lambda desk: desk.reading.page("mine", None, 5), done, failed
        ),
    )
    assert [item.seq for item in box["result"]] == [1]


def test_an_action_given_as_a_question_fails_and_publishes_nothing(
    bridge: Bridge, qtbot: Any
) -> None:
    def action(desk: Desk) -> Any:
        return desk.posting.post("never awaited")

    box = answer(qtbot, lambda done, failed: bridge.request(action, done, failed))
    assert isinstance(box.get("error"), TypeError), box
    assert "request_async" in str(box["error"])
    box = answer(
        qtbot,
        lambda done, failed: bridge.request(
            lambda desk: desk.reading.page("mine", None, 5), done, failed
        ),
    )
    assert box == {"result": []}
