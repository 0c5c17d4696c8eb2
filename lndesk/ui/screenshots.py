"""`lndesk screenshots DIR`: render every main screen of the app to a PNG, offscreen.

It builds a small demo network in a temporary directory (Ann, who follows three
people; one of them, Bo, runs a node on 127.0.0.1 that Ann is connected to), opens
Ann's real main window on it without a display and saves each screen. The README's
screenshots are made with it, so they always show the app as it is.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from lndesk.app.desk import READ_MARK
from lndesk.app.feed_reader import FeedReader
from lndesk.app.runtime import LOOPBACK_ONLY, NodeRuntime
from lndesk.app.service import Service, restore_identity
from lndesk.content import Helpful, ListItem, Post, Profile, ReadingList, Reply, Share
from lndesk.entry_refs import ref_of
from lndesk.identity import Identity, blake2b_256
from lndesk.keytext import key_to_text
from lndesk.webfeeds import FeedItem

HOUR = 3_600_000


def _identity(name: str) -> Identity:
    return Identity(blake2b_256(f"lndesk demo {name}".encode()))


def _demo(root: Path) -> tuple[Path, Path]:
    """Ann's and Bo's data directories, with a few days of a learning network in them."""
    now = int(time.time() * 1000)
    people = {
        "ann": ("Ann Lee", "Teaches statistics; learning in public."),
        "bo": ("Bo Martin", "Maths teacher. Worked examples, spaced practice."),
        "cy": ("Cy Okafor", "Researcher in learning sciences."),
        "di": ("Di Rossi", "Software engineer, reading about pedagogy."),
        "eve": ("Eve Park", "Student teacher."),
        "mal": ("Mal<img src=/dev/zero>", "Tries what a stranger's post can do."),
    }
    dirs = {}
    for name, (display, bio) in people.items():
        identity = _identity(name)
        dirs[name] = root / name
        restore_identity(dirs[name], identity.backup_words(), fresh=True)
        with Service(dirs[name]) as service:
            service.store.publish(identity, Profile(display, bio), claimed_ms=now - 90 * HOUR)
    posts: dict[str, list[Any]] = {}

    def write(name: str, content: Any, hours_ago: float) -> Any:
        with Service(dirs[name]) as service:
            entry = service.store.publish(
                _identity(name), content, claimed_ms=now - int(hours_ago * HOUR)
            )
        posts.setdefault(name, []).append(entry)
        return entry

    # Oldest first, so that each log's claimed times go forward; the question and its
    # answers are the newest posts, so the timeline's picture shows it answered.
    write(
        "cy",
        Post(
            "New preprint: retrieval practice helps even when learners *feel* it is "
            "harder. Effect sizes in the table on page 6.",
            ("research", "memory"),
            ("https://example.org/preprint",),
        ),
        20,
    )
    write(
        "di",
        Post(
            "Working out loud: this week I rewrote our onboarding docs as worked examples. "
            "Notes:\n\n- one concept per page\n- an exercise after each\n- links to the "
            "source",
            ("pedagogy", "docs"),
        ),
        9,
    )
    write("bo", Share(ref_of(posts["cy"][0]), "Worth reading before Monday's staff meeting."), 8)
    write(
        "bo",
        ReadingList(
            "Reading list for new teachers",
            (
                ListItem(link="https://example.org/make-it-stick", note="Start here."),
                ListItem(ref=ref_of(posts["cy"][0]), note="The evidence, in six pages."),
                ListItem(link="https://example.org/why-dont-students-like-school"),
            ),
        ),
        6,
    )
    question = write(
        "ann",
        Post(
            "What is the gentlest introduction to *Bayesian* statistics "
            "for first-year students? Books, videos, anything that worked for you.",
            ("statistics",),
            question=True,
        ),
        3,
    )
    answer = write(
        "bo",
        Reply(
            "Try *Statistical Rethinking*: the lectures are free and the first chapters "
            "need no calculus.",
            ref_of(question),
            ref_of(question),
        ),
        2.5,
    )
    write("ann", Reply("Thank you, ordering it today.", ref_of(question), ref_of(answer)), 2.2)
    write("ann", Helpful(ref_of(answer), ref_of(question)), 2.2)  # the question is answered
    write(
        "eve",
        Reply(
            "Is there a version for teachers with no maths background?",
            ref_of(question),
            ref_of(question),
        ),
        0.7,
    )
    write("mal", Reply(HOSTILE, ref_of(question), ref_of(question)), 0.3)
    logs = {}
    for name in people:
        with Service(dirs[name]) as service:
            logs[name] = list(service.store.feed_items(_identity(name).public_key))
    with Service(dirs["ann"]) as ann:
        for name in ("bo", "cy", "di"):
            ann.follow(key_to_text(_identity(name).public_key))
            ann.store.ingest(_identity(name).public_key, logs[name])
        # Eve follows Ann, but nobody Ann follows follows Eve: her reply is a request.
        ann.store.ingest(_identity("eve").public_key, logs["eve"])
        ann.store.ingest(_identity("mal").public_key, logs["mal"])  # a hostile request
    with Service(dirs["bo"]) as bo:
        bo.follow(key_to_text(_identity("ann").public_key))
        bo.store.ingest(_identity("ann").public_key, logs["ann"])
    _web_feed(dirs["ann"], now)
    return dirs["ann"], dirs["bo"]


def _web_feed(data_dir: Path, now: int) -> None:
    """Ann follows a teaching blog's web feed: one item of it, fetched just now (and not
    due again for a day, so nothing goes out to the web while the pictures are made)."""
    reader = FeedReader(data_dir, lambda _changed: None)
    feeds = reader.store
    try:
        sub = feeds.add("https://teaching.example/feed.xml", now - 48 * HOUR).sub
        item = FeedItem(
            guid="teaching.example/2026/spacing",
            link="https://teaching.example/2026/spacing",
            title="Spacing, in one page",
            text="Spread practice out: three short sessions beat one long one, "
            "and the forgetting in between is what makes it stick.",
            published_ms=now - HOUR,
        )
        feeds.apply(sub, [item], now, flood_limit=None, first_limit=50)
        feeds.fetched(
            sub,
            now,
            now + 24 * HOUR,
            etag=None,
            last_modified=None,
            title="Teaching Notes",
            site="https://teaching.example/",
        )
    finally:
        reader.close()


HOSTILE = (
    "**Your identity is at risk!** "
    '<span style="font-size:60px;color:red;position:absolute">RESTORE NOW</span>\n\n'
    "# Read this now\n\n"
    "Restore here: [https://lndesk.org/recover](http://evil.example/recover) "
    "![logo](/dev/zero) ![x](data:image/png;base64,iVBORw0KGgoAAAANSUhEUg)\n\n"
    "\u202eeciluJ\u202c signs this. Z"
    + "\u0301\u0327\u0300" * 30
    + "algo\n\n"
    + "|"
    + "col|" * 40
    + "\n|"
    + "-|" * 40
    + "\n\n"
    + "".join(f"- step {n} of a very long list\n" for n in range(1, 400))
)
"""A stranger's reply that tries what the renderer must make harmless (the picture
``hostile.png`` shows how it reads)."""


def _wait(app: Any, condition: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        app.processEvents()
        time.sleep(0.01)  # offscreen, no user: let the node thread work
    return True


def _has_rows(model: Any) -> bool:
    return bool(model.rowCount() > 0)


def render_screenshots(
    out: Path, width: int = 1100, height: int = 720, scheme: str = "light"
) -> list[Path]:
    """Render each screen to ``out/<screen>.png`` in `scheme` ("light" or "dark")."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication  # noqa: PLC0415

    from lndesk.ui.bridge import Bridge  # noqa: PLC0415
    from lndesk.ui.main_window import PAGES, REPLIES, MainWindow  # noqa: PLC0415
    from lndesk.ui.onboarding import OnboardingWizard  # noqa: PLC0415
    from lndesk.ui.theme import apply_theme  # noqa: PLC0415
    from lndesk.ui.views.compose import REPLY, ComposeDialog  # noqa: PLC0415
    from lndesk.ui.views.inbox import REQUESTS_TAB  # noqa: PLC0415

    app = QApplication.instance() or QApplication(["lndesk"])
    assert isinstance(app, QApplication)
    apply_theme(app, scheme)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def save(widget: Any, name: str) -> None:
        app.processEvents()
        path = out / f"{name}.png"
        widget.grab().save(str(path))
        written.append(path)

    with tempfile.TemporaryDirectory(prefix="lndesk-demo-") as tmp:
        ann_dir, bo_dir = _demo(Path(tmp))
        bo = NodeRuntime(bo_dir, control=False, **LOOPBACK_ONLY)
        ann = NodeRuntime(ann_dir, control=False, **LOOPBACK_ONLY)
        bo.start()
        ann.start()
        bridge = Bridge(ann)
        try:
            address = next(a for a in bo.call(lambda node: node.node.addresses()) if "/127." in a)
            ann.call_async(lambda node: node.node.connect(address))
            ann.call(lambda node: node.node.check_holders(node.service.public_key))
            # Posts of the last four hours count as unread in the pictures.
            mark = int(time.time() * 1000) - 4 * HOUR
            bridge.request(lambda desk: desk.service.local.set(READ_MARK, mark))
            _wait(app, lambda: bridge.pending == 0)
            window = MainWindow(bridge, ann_dir)
            window.resize(width, height)
            window.show()
            _wait(app, lambda: window.timeline.model.rowCount() > 0)
            # Bo's answer to the node's question of how far he holds Ann's log (a moment
            # after connecting): her cards then say "seen by 1 peer".
            _wait(app, lambda: any(i.mine and i.seen_by for i in window.timeline.model.items()))
            bookmark = window.timeline.model.items()[-1].post_key
            bridge.request(lambda desk: desk.reading.set_bookmark(bookmark, True))
            _wait(app, lambda: window.status.online)
            window.search.query.setText("retrieval")
            window.search.search_now()
            for row, title in enumerate(PAGES):
                window.show_page(row)
                page = window.stack.widget(row)
                model: Any = getattr(page, "model", None)
                if title == "Network":
                    model = getattr(window.network, "peers", None)
                if model is not None and hasattr(model, "rowCount"):
                    _wait(app, partial(_has_rows, model), 10)
                _wait(app, lambda: bridge.pending == 0, 5)
                save(window, title.lower().replace(" & ", "-").replace(" ", "-"))
            window.show_page(REPLIES)
            window.replies.tabs.setCurrentIndex(REQUESTS_TAB)
            requests = window.replies.requests_model
            _wait(app, partial(_has_rows, requests), 10)
            _wait(app, lambda: bridge.pending == 0, 5)
            save(window, "hostile")
            window.show_page(0)
            question = next(i for i in window.timeline.model.items() if i.question)
            thread = window.open_thread(question)
            _wait(app, lambda: thread.model.rowCount() >= 3)
            _wait(app, lambda: bridge.pending == 0, 5)  # peers asked: the counts are final
            save(thread, "thread")
            thread.close()
            compose = ComposeDialog(bridge, REPLY, question, window)
            compose.box.text.setPlainText("Also *Bayes Rules!* (free online), chapter 2.")
            compose.show()
            save(compose, "compose")
            compose.close()
            window.close()
        finally:
            bridge.close()
            ann.stop()
            bo.stop()
        wizard = OnboardingWizard(Path(tmp) / "newcomer")
        wizard.resize(640, 480)
        wizard.show()
        save(wizard, "onboarding")
        wizard.close()
    return written
