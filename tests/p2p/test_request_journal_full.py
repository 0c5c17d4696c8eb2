"""A request the node carried out stays carried out when the request journal's later
lines cannot be written (lndesk.app.once, lndesk.app.requests): the entry is in the log,
so the command is told it was published, and a retry with the same request id finds it
there and publishes nothing new. An error then would have the user run the command
again, under a new request id, and publish the entry twice."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest
from node_helpers import make_data_dir, running_node

from lndesk.app.once import OnceOnly
from lndesk.app.requests import RequestJournal

REQUEST = "fullafter0001"


def full_after_intent(monkeypatch: pytest.MonkeyPatch, kinds: set[str]) -> None:
    """The disk fills up once the intent line is written: the lines of these ``kinds``
    ("seq": the entry's, "result": the answer's) fail with ENOSPC."""
    append = RequestJournal._append

    def appending(journal: RequestJournal, record: dict[str, Any]) -> None:
        if kinds & record.keys():
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        append(journal, record)

    monkeypatch.setattr(RequestJournal, "_append", appending)


@pytest.mark.parametrize("kinds", [{"seq", "result"}, {"result"}])
async def test_a_published_request_is_answered_when_its_journal_cannot_grow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kinds: set[str]
) -> None:
    ann = make_data_dir(tmp_path, "ann")
    async with running_node(ann) as node:
        once = OnceOnly(node.app)
        full_after_intent(monkeypatch, kinds)
        done = await once.act(REQUEST, "post", {"text": "stored as the disk filled"})
        assert done["seq"] == 1
        monkeypatch.undo()
        again = await once.act(REQUEST, "post", {"text": "stored as the disk filled"})
        assert again["seq"] == 1 and again["id"] == done["id"]
        assert once.status(REQUEST)["state"] == "published"
        assert node.service.store.feed_state(node.key).height == 1
