"""Two app instances on loopback: a post published in one appears in the other's timeline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_helpers import awaited

from lndesk.app.runtime import LOOPBACK_ONLY, NodeRuntime
from lndesk.app.service import create_identity
from lndesk.keytext import key_to_text
from lndesk.ui.bridge import Bridge
from lndesk.ui.models.posts import PostListModel


@pytest.fixture
def two_apps(tmp_path: Path, qapp: Any) -> Iterator[tuple[Bridge, Bridge]]:
    runtimes = []
    for name in ("ann", "bo"):
        create_identity(tmp_path / name)
        runtime = NodeRuntime(tmp_path / name, control=False, **LOOPBACK_ONLY)
        runtime.start(wait_network=True)
        runtimes.append(runtime)
    bridges = (Bridge(runtimes[0]), Bridge(runtimes[1]))
    yield bridges
    for bridge in bridges:
        bridge.close()
    for runtime in runtimes:
        runtime.stop()


def run(qtbot: Any, bridge: Bridge, function: Any) -> Any:
    box: dict[str, Any] = {}
    bridge.request_async(
        awaited(function), lambda r: box.setdefault("ok", r), lambda e: box.setdefault("err", e)
    )
    qtbot.waitUntil(lambda: bool(box), timeout=20_000)
    if "err" in box:
        raise box["err"]
    return box["ok"]


def test_a_post_in_one_instance_reaches_the_others_timeline(
    two_apps: tuple[Bridge, Bridge], qtbot: Any
) -> None:
    ann, bo = two_apps
    ann_info = run(qtbot, ann, lambda desk: desk.account.identity())
    address = next(
        a for a in run(qtbot, ann, lambda desk: desk.network.info()).addresses if "/127.0.0.1/" in a
    )
    run(qtbot, bo, lambda desk: desk.people.follow(key_to_text(ann_info.key)))
    bo_timeline = PostListModel(bo, "timeline")
    bo_timeline.start()
    ann_mine = PostListModel(ann, "mine")
    ann_mine.start()
    run(qtbot, bo, lambda desk: desk.network.connect(address))
    run(
        qtbot,
        ann,
        lambda desk: desk.posting.post("Notes from today's seminar on *transfer learning*"),
    )
    qtbot.waitUntil(lambda: bo_timeline.rowCount() == 1, timeout=20_000)
    item = bo_timeline.item(0)
    assert item.author == ann_info.key and not item.mine
    assert item.text == "Notes from today's seminar on *transfer learning*"
    # Ann's own copy learns that one peer holds it (seen by 1 peer)
    qtbot.waitUntil(lambda: ann_mine.rowCount() == 1, timeout=10_000)
    qtbot.waitUntil(lambda: ann_mine.item(0).seen_by == 1, timeout=20_000)
    peers = run(qtbot, bo, lambda desk: desk.network.peers())
    assert [p.key for p in peers] == [ann_info.key]


def test_a_post_made_with_the_cli_while_the_app_runs_shows_in_its_timeline(
    tmp_path: Path, qapp: Any, qtbot: Any
) -> None:
    from lndesk.app.control import ControlClient

    data_dir = tmp_path / "ann"
    create_identity(data_dir)
    runtime = NodeRuntime(data_dir, control=True, **LOOPBACK_ONLY)
    runtime.start(wait_network=True)
    bridge = Bridge(runtime)
    try:
        timeline = PostListModel(bridge, "timeline")
        with qtbot.waitSignal(timeline.loaded):  # the first (empty) page
            timeline.start()
        # what `lndesk post` does while the app holds the data directory
        ControlClient(data_dir).call("act", name="post", args={"text": "from the terminal"})
        qtbot.waitUntil(lambda: timeline.rowCount() == 1, timeout=10_000)
        assert timeline.item(0).text == "from the terminal"
    finally:
        bridge.close()
        runtime.stop()
