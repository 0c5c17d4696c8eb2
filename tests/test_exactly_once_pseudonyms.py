"""Publishes under a pseudonym through a running node are exactly-once too: asking as a
pseudonym and a pseudonym's helpful mark append to the pseudonym's log, and a request
retried with the same id (or settled after the node died between the append and its
journal line) never appends twice, whichever key signed."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_exactly_once import lndesk, serving

from lndesk.app import pseudonyms
from lndesk.app.control import ControlClient
from lndesk.app.requests import RequestJournal, journaled_publish
from lndesk.app.service import Service, create_identity
from lndesk.content import Post
from lndesk.entry import decode_entry
from lndesk.keytext import key_to_link, key_to_text
from lndesk.store.store import Store


def log_types(data_dir: Path, key: bytes) -> list[str]:
    with Service(data_dir, reading=True) as service:
        return [decode_entry(raw).type for raw, _ in service.store.feed_items(key)]


def own_key(data_dir: Path) -> bytes:
    with Service(data_dir, reading=True) as service:
        return service.public_key


@pytest.fixture
def answered(tmp_path: Path) -> tuple[Path, bytes, str]:
    """Ann asked as her pseudonym fox and holds Bo's answer: her data directory, fox's
    key and the answer's id."""
    ann, bo = tmp_path / "ann", tmp_path / "bo"
    create_identity(ann)
    create_identity(bo)
    with Service(ann) as service:
        identity, question, _created = pseudonyms.ask(service, "fox", "Why is 0.1 + 0.2 odd?")
    fox = identity.public_key
    with Service(ann) as one, Service(bo) as other:
        other.store.ingest(fox, list(one.store.feed_items(fox)))
        answer = other.reply(question.id.hex(), "Binary fractions.")
        one.store.ingest(other.public_key, list(other.store.feed_items(other.public_key)))
    return ann, fox, answer.id.hex()


def test_a_retried_pseudonym_request_publishes_once(answered: tuple[Path, bytes, str]) -> None:
    ann, fox, answer = answered
    requests = [
        ("ask_pseudonym", {"pseudonym": "fox", "text": "And 0.3 - 0.1?"}, "asked0001"),
        ("helpful_pseudonym", {"entry_id": answer}, "marked0001"),
        ("pseudonym_reveal", {"name": "fox"}, "reveal0001"),
    ]
    own_before = log_types(ann, own_key(ann))
    with serving(ann):
        client = ControlClient(ann)
        for name, args, request_id in requests:
            first = client.call("act", name=name, args=args, request_id=request_id)
            again = client.call("act", name=name, args=args, request_id=request_id)
            assert again == first, name
            assert client.call("request-status", request_id=request_id) == {
                "state": "published",
                "result": first,
            }
    assert log_types(ann, fox) == ["profile", "post", "post", "helpful"]
    assert log_types(ann, own_key(ann)) == [*own_before, "reveal"]


def test_an_ask_stored_before_serve_died_is_reported_and_not_repeated(
    answered: tuple[Path, bytes, str],
) -> None:
    ann, fox, _answer = answered
    with serving(ann, "after-append") as process:
        done = lndesk(ann, "ask", "--pseudonym", "fox", "Is 0.5 exact?")
        assert process.wait(timeout=30) == -9
    assert done.returncode == 0, done.stderr
    assert "the node stopped before answering; entry 3 was stored" in done.stderr
    assert "as fox (entry 3 of its log)" in done.stdout
    assert f"Readers find it by the pseudonym's link: {key_to_link(fox, 'fox')}" in done.stdout
    assert log_types(ann, fox) == ["profile", "post", "post"]

    # The journal has only the intent: the entry is found in fox's log, not in Ann's.
    (request_id,) = [r for r, record in RequestJournal(ann).records().items() if "log" in record]
    with serving(ann):
        client = ControlClient(ann)
        again = client.call(
            "act",
            name="ask_pseudonym",
            args={"pseudonym": "fox", "text": "Is 0.5 exact?"},
            request_id=request_id,
        )
        assert again["seq"] == 3 and again["log"] == key_to_text(fox)
    assert log_types(ann, fox) == ["profile", "post", "post"]


def test_a_mark_stored_before_serve_died_is_reported_and_not_repeated(
    answered: tuple[Path, bytes, str],
) -> None:
    ann, fox, answer = answered
    with serving(ann, "after-append") as process:
        done = lndesk(ann, "helpful", answer)
        assert process.wait(timeout=30) == -9
    assert done.returncode == 0, done.stderr
    assert "the node stopped before answering; entry 3 was stored" in done.stderr
    assert "Marked as helpful (entry 3)" in done.stdout
    (request_id,) = [r for r, record in RequestJournal(ann).records().items() if "log" in record]
    with serving(ann):
        status = ControlClient(ann).call("request-status", request_id=request_id)
        assert status["state"] == "published" and status["result"]["seq"] == 3
        again = ControlClient(ann).call(
            "act", name="helpful_pseudonym", args={"entry_id": answer}, request_id=request_id
        )
        assert again["seq"] == 3
    assert log_types(ann, fox) == ["profile", "post", "helpful"]


def test_the_outcome_looks_in_the_log_the_intent_names(tmp_path: Path) -> None:
    """An intent line names the log; one written before it did (no ``log``) means the
    own log."""
    ann = tmp_path / "ann"
    me = create_identity(ann)
    own = me.public_key
    with Service(ann) as service:
        fox, _question, _created = pseudonyms.ask(service, "fox", "first")
    journal = RequestJournal(ann)
    question = Post("second", (), (), (), True)
    with Store(ann) as store:
        journal.intent("pseudo0001", fox.public_key, 2, question)
        store.publish(fox, question)  # the node died before the entry's line
        outcome = journal.outcome("pseudo0001", store, own)
        assert outcome is not None and outcome.published and outcome.seq == 3
        assert outcome.as_result()["log"] == key_to_text(fox.public_key)
        # The same payload in the own log is not the pseudonym request's entry.
        journal.intent("pseudo0002", fox.public_key, 3, question)
        assert journaled_publish(store, me, question, None).seq == 1
        missing = journal.outcome("pseudo0002", store, own)
        assert missing is not None and not missing.published
    # A line without ``log`` (written by an older node) is about the own log.
    digest = journal.records()["pseudo0001"]["digest"]
    journal._append({"id": "older0001", "after": 0, "digest": digest})
    with Store(ann) as store:
        older = journal.outcome("older0001", store, own)
        assert older is not None and older.published and older.seq == 1 and older.log == own
