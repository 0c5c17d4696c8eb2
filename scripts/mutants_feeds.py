"""The mutants of the web feeds a user follows: fetched (a compressed body's bound),
refreshed (tasks per refresh), parsed (in a child process, for a bounded time) and read
from OPML; scripts/mutants.py adds them to its list."""

from __future__ import annotations

from mutant import Mutant  # scripts/ is on the path

FEEDS_MUTANTS = [
    # --- web feeds fetched (lndesk/feeds/fetch.py) -------------------------------------
    Mutant(
        "web feeds: a compressed body is inflated a whole network read at a time (gzip bomb)",
        "lndesk/feeds/fetch.py",
        "while piece := inflater.take(cap - size + 1):",
        "while piece := inflater.take(0):",
        ("tests/test_subscriptions.py",),
    ),
    # --- web feeds followed (lndesk/store/feedstore.py, lndesk/app/subscriptions.py) ------
    Mutant(
        "web feeds limit: one more feed is followed past MAX_FEEDS",
        "lndesk/store/feedstore.py",
        "if self.count() >= MAX_FEEDS:",
        "if False:",
        ("tests/test_feedstore.py",),
    ),
    Mutant(
        "web feeds limit: an OPML import adds every feed of the file",
        "lndesk/store/feedstore.py",
        "if url not in known and added >= room:",
        "if False:",
        ("tests/test_feedstore.py",),
    ),
    Mutant(
        "web feeds limit: a refresh starts a task per due feed",
        "lndesk/app/subscriptions.py",
        "for _ in range(min(MAX_PARALLEL, len(subs))):",
        "for _ in range(len(subs)):",
        ("tests/test_subscriptions.py",),
    ),
    # --- web feeds parsed (lndesk/feeds/worker.py) --------------------------------------
    Mutant(
        "web feeds parse: a document is parsed for as long as it takes",
        "lndesk/feeds/worker.py",
        "with trio.move_on_after(self.seconds) as scope:",
        'with trio.move_on_after(float("inf")) as scope:',
        ("tests/test_feed_worker.py",),
    ),
    Mutant(
        "web feeds parse: a stopped or cancelled parse leaves its child parsing",
        "lndesk/feeds/worker.py",
        "                if not done:\n                    self.close()",
        "                if False:\n                    self.close()",
        ("tests/test_feed_worker.py",),
    ),
    Mutant(
        "web feeds: an OPML outline is told a feed by comparing it with every feed outline",
        "lndesk/feeds/opml.py",
        "elif web_url(url) and is_feed:",
        "elif web_url(url) and outline in feeds:",
        ("tests/test_feeds_parse.py",),
    ),
]
