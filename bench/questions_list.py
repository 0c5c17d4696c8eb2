"""Lists of questions on a large store: ``lndesk questions --open`` and its neighbours.

Builds a store of ``--posts`` posts in ``--feeds`` feeds over a year, one in ``--every``
a question; a helper feed answers every question, and the asker marks half of those
answers as helpful (so half the questions are answered). Then, on that store:

* the first open (with an index written before the questions table, this is where
  migration 6 fills it: ``lndesk.store.asked.backfill``);
* ``lndesk.app.answers.questions`` as ``lndesk questions``, ``--open`` and ``--answered``
  run it (20 questions), p50 / max over ``--runs``;
* how many of the questions built a list of every question finds;
* a page of Mentions & replies of one asker (answers to their questions show there);
* the app's Search with words and the type "Open questions" or "Answered questions"
  (``lndesk.app.desk_search.Search.posts``): a word every question has, a word no
  question has (every other post has it), a page further on.

``--store DIR`` builds once into DIR and reuses it: a store built by an older lndesk
measures the upgrade (its first open here fills the table) and the lists after it.

    python bench/questions_list.py                  # 100,000 posts
    python bench/questions_list.py --quick          # 10,000 posts
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from _common import BASE_MS, DAY_MS, identity_for, print_setup, print_table

from lndesk.app import answers
from lndesk.app.datadir import KEY_NAME
from lndesk.app.desk import Desk
from lndesk.app.service import Service, create_identity
from lndesk.content import Helpful, Post, Reply, encode_content
from lndesk.entry import Entry, create_entry
from lndesk.entry_refs import ref_of
from lndesk.identity import Identity
from lndesk.search_query import ANSWERED_QUESTIONS, OPEN_QUESTIONS
from lndesk.store import views
from lndesk.store.store import Store

BATCH = 2000


class Chain:
    """One feed's entries as they are signed."""

    def __init__(self, identity: Identity) -> None:
        self.identity = identity
        self.items: list[tuple[bytes, bytes]] = []
        self.prev: bytes | None = None

    def sign(self, content: Post | Reply | Helpful, claimed_ms: int) -> Entry:
        payload = encode_content(content)
        entry = create_entry(
            self.identity,
            seq=len(self.items) + 1,
            prev=self.prev,
            claimed_ms=claimed_ms,
            type=content.type,
            payload=payload,
        )
        self.items.append((entry.raw, payload))
        self.prev = entry.id
        return entry


def build(directory: Path, posts: int, feeds: int, every: int) -> tuple[int, float]:
    """Sign and store the workload; (questions built, seconds)."""
    started = time.perf_counter()
    helper = Chain(identity_for("questions-helper"))
    chains = [Chain(identity_for(f"questions-{n}")) for n in range(feeds)]
    step = 365 * DAY_MS // max(1, posts)
    asked = 0
    for number in range(posts):
        chain = chains[number % feeds]
        when = BASE_MS + number * step
        if number % every:
            chain.sign(Post(f"note {number} on spaced practice"), when)
            continue
        question = chain.sign(Post(f"question {number}: which book first?", question=True), when)
        asked += 1
        root = ref_of(question)
        answer = helper.sign(Reply(f"answer to {number}", root, root), when + 1)
        if asked % 2:
            chain.sign(Helpful(ref_of(answer), root), when + 2)
    with Store(directory) as store:
        for chain in [*chains, helper]:
            key = chain.identity.public_key
            for start in range(0, len(chain.items), BATCH):
                store.ingest(key, chain.items[start : start + BATCH])
        while store.index_text(5000):
            pass
    (directory / "questions-bench").write_text(f"{posts} {feeds} {every} {asked}\n")
    return asked, time.perf_counter() - started


def timed(runs: int, call: object) -> tuple[float, float]:
    assert callable(call)
    seconds = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds) * 1000, max(seconds) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--every", type=int, default=50, help="one question in this many posts")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--store", type=Path, help="build into DIR once and reuse it")
    parser.add_argument("--quick", action="store_true", help="10,000 posts")
    args = parser.parse_args()
    posts = 10_000 if args.quick else args.posts
    with tempfile.TemporaryDirectory(prefix="lndesk-questions-") as temp:
        directory = args.store or Path(temp) / "data"
        marker = directory / "questions-bench"
        if marker.exists():
            posts, feeds, every, asked = map(int, marker.read_text().split())
            built = "reused"
        else:
            feeds, every = args.feeds, args.every
            asked, seconds = build(directory, posts, feeds, every)
            built = f"built in {seconds:.0f} s"
        print_setup(
            "questions lists",
            [
                ("posts", f"{posts:,} in {feeds} feeds, one in {every} a question"),
                ("questions", f"{asked:,}, half of them answered"),
                ("store", built),
            ],
        )
        began = time.perf_counter()
        store = Store(directory)
        opened_ms = (time.perf_counter() - began) * 1000
        try:
            rows = [["first open of the store", f"{opened_ms:.0f}", ""]]
            for state in ("all", "open", "answered"):
                p50, worst = timed(args.runs, lambda s=state: answers.questions(store, s, 20))
                flag = {"all": "", "open": " --open", "answered": " --answered"}[state]
                rows.append([f"lndesk questions{flag} (20)", f"{p50:.1f}", f"{worst:.1f}"])
            asker = identity_for("questions-0").public_key
            query = views.ListQuery(views.REPLIES, asker)
            p50, worst = timed(args.runs, lambda: views.page(store, query, views.NEWEST, 50))
            rows.append(["Mentions & replies of an asker (50)", f"{p50:.1f}", f"{worst:.1f}"])
            found = len(answers.questions(store, "all", asked + 1000))
            print_table("ms", ["what", "p50 / once", "max"], rows)
            print(f"a list of every question finds {found:,} of the {asked:,} built")
        finally:
            store.close()
        print_table("ms", ["Search (50 a page)", "p50", "max"], search_rows(directory, args.runs))
    return 0


def search_rows(directory: Path, runs: int) -> list[list[str]]:
    """The app's Search of questions with words, as the desktop app runs it."""
    if not (directory / KEY_NAME).exists():
        create_identity(directory)
    rows = []
    with Service(directory) as service:
        desk = Desk(service)
        try:
            for words, kind, offset in (
                ("which", OPEN_QUESTIONS, 0),
                ("which", ANSWERED_QUESTIONS, 0),
                ("which", OPEN_QUESTIONS, 500),
                ("practice", OPEN_QUESTIONS, 0),
                ("book", ANSWERED_QUESTIONS, 0),
            ):
                label = f"{words!r}, {kind}" + (f", from {offset}" if offset else "")
                found = desk.search.posts(words, type=kind, offset=offset)
                p50, worst = timed(
                    runs, lambda w=words, k=kind, o=offset: desk.search.posts(w, type=k, offset=o)
                )
                rows.append([f"{label} ({len(found)} found)", f"{p50:.1f}", f"{worst:.1f}"])
        finally:
            desk.close()
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
