"""After a publish the desk asks its peers how far they hold my feed (a sync with each),
once a second after the latest publish and again five seconds after it; a stream of
posts joins the checks under way instead of starting two more per post.

Time is trio's MockClock: the test publishes on virtual time and waits on it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar, cast

import pytest
import trio
import trio.testing

from lndesk.app.desk_publish import HOLDERS_CHECK_DELAYS, NodeLink, Publisher
from lndesk.app.node import AppNode
from lndesk.app.service import Service, create_identity

T = TypeVar("T")


class FakeNode:
    """What the publisher uses of a running node: ``publish`` and ``node.check_holders``."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.node = self
        self.checks: list[float] = []

    async def publish(self, action: Callable[[Service], T]) -> T:
        return action(self.service)

    def check_holders(self, feed: bytes) -> None:
        assert feed == self.service.public_key
        self.checks.append(trio.current_time())


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    create_identity(tmp_path / "ann")
    with Service(tmp_path / "ann") as service:
        yield service


def run(service: Service, posts: list[float]) -> tuple[list[float], list[float]]:
    """Publish at the virtual times ``posts``; (when each was published, when checked)."""
    node = FakeNode(service)
    published: list[float] = []

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            link = NodeLink()
            link.attach(cast(AppNode, node), nursery)
            publisher = Publisher(service, link, service.local, lambda _event: None)
            for at in posts:
                await trio.sleep_until(at)
                await publisher.publish(lambda s, at=at: s.post(f"at {at}"))
                published.append(trio.current_time())

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return published, node.checks


def test_one_post_is_checked_a_second_and_five_seconds_after(service: Service) -> None:
    published, checks = run(service, [10.0])
    assert checks == [published[0] + delay for delay in HOLDERS_CHECK_DELAYS]


def test_a_stream_of_posts_joins_the_checks_under_way(service: Service) -> None:
    posts = [10.0 + i / 2 for i in range(20)]  # 2 posts a second for 10 s
    published, checks = run(service, posts)
    assert 2 <= len(checks) <= 6  # not two per post (40)
    gaps = [b - a for a, b in itertools.pairwise(checks)]
    assert min(gaps) >= HOLDERS_CHECK_DELAYS[0]
    # The last post is checked the full time after it, as a single post is.
    assert checks[-1] >= published[-1] + HOLDERS_CHECK_DELAYS[-1]
    assert checks[-2] >= published[-1] + HOLDERS_CHECK_DELAYS[0]


def test_a_post_after_the_checks_starts_them_again(service: Service) -> None:
    published, checks = run(service, [10.0, 30.0])
    expected = [at + delay for at in published for delay in HOLDERS_CHECK_DELAYS]
    assert checks == expected
