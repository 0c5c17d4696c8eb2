"""`lndesk serve` polls the web feeds of its data directory with the app's poller, in the
node's trio runtime, and says when a round brought new items."""

from __future__ import annotations

from pathlib import Path

from test_cli_network import Serve, run

from lndesk.store.feedstore import FeedStore
from tests.feed_server import DATA, Answer, FeedServer, Request


def test_serve_fetches_the_web_feeds_that_are_due(tmp_path: Path) -> None:
    first = (DATA / "guids_v1.xml").read_bytes()
    body = {"now": first}
    with FeedServer() as server:

        def route(_request: Request) -> Answer:
            return Answer(200, {"Content-Type": "application/rss+xml"}, body["now"])

        server.routes["/grow.xml"] = route
        data_dir = tmp_path / "ann"
        run(data_dir, "init", "--name", "Ann")
        run(data_dir, "network", "--mdns", "off")
        assert "following the web feed" in run(data_dir, "feeds", "add", server.url("/grow.xml"))
        extra = (
            b"<item><title>Fetched by serve</title><link>https://grow.example/new</link>"
            b"<guid>grow-new</guid><description>New.</description></item></channel>"
        )
        body["now"] = first.replace(b"</channel>", extra, 1)
        feeds = FeedStore(data_dir)
        feeds.refresh_now()  # due now, not in an hour
        feeds.close()
        serve = Serve(data_dir)
        try:
            serve.wait_for("fetching 1 web feed you follow")
            line = serve.wait_for("web feeds:")
            assert "web feeds: 1 new item (see lndesk feeds list)" in line
        finally:
            assert serve.stop() == 0
    assert "Fetched by serve" in run(data_dir, "feeds", "items")
