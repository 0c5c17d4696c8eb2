"""`lndesk thread`, `helpful` and `questions`, end to end (docs/protocol.md 10.12)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import Cli
from test_cli_learning import carry, first_id

from lndesk.app.service import Service
from lndesk.content import Helpful
from lndesk.entry_refs import ref_of


@pytest.fixture
def ann(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    cli = Cli(tmp_path / "ann", capsys)
    cli("init", "--name", "Ann")
    return cli


@pytest.fixture
def bo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    cli = Cli(tmp_path / "bo", capsys)
    cli("init", "--name", "Bo")
    return cli


def test_the_asker_marks_an_answer_and_every_reader_sees_it(ann: Cli, bo: Cli) -> None:
    question = first_id(ann("post", "Which book on fractions?", "--question"))
    first_id(ann("post", "Another question?", "--question"))
    ann("post", "just a note")
    carry(ann.data_dir, bo.data_dir)
    first = first_id(bo("reply", question, "Try the paper strips one."))
    second = first_id(bo("reply", question, "Or the blue book."))
    carry(bo.data_dir, ann.data_dir)
    assert "[open, 2 answers]" in ann("thread", question)
    assert "[helpful]" not in ann.out
    assert "Marked as helpful" in ann("helpful", second)
    shown = ann("thread", first)  # any reply names its thread
    assert "[answered, 2 answers]" in shown
    # The helpful answer comes right after the question, before the older one.
    assert shown.index("Or the blue book.") < shown.index("Try the paper strips one.")
    assert shown.count("[helpful]") == 1
    assert "already marked" in ann("helpful", second, expect=1) + ann.err
    listed = ann("questions")
    assert "Which book on fractions?" in listed and "Another question?" in listed
    assert "just a note" not in listed
    assert "Which book" in ann("questions", "--answered")
    assert "Another question?" not in ann.out
    assert "Another question?" in ann("questions", "--open")
    assert "Which book" not in ann.out
    # Bo reads Ann's log: the mark travels with it.
    carry(ann.data_dir, bo.data_dir)
    assert "[helpful]" in bo("thread", question) and "[answered" in bo.out
    assert "Which book" in bo("questions", "--answered")
    # Taking the mark back opens the question again, for every reader.
    assert "Mark taken back" in ann("helpful", "--undo", second)
    carry(ann.data_dir, bo.data_dir)
    assert "[open, 2 answers]" in bo("thread", question) and "[helpful]" not in bo.out
    assert "No answered questions" in bo("questions", "--answered")


def test_only_the_asker_may_mark_and_only_answers(ann: Cli, bo: Cli) -> None:
    question = first_id(ann("post", "Which book?", "--question"))
    carry(ann.data_dir, bo.data_dir)
    answer = first_id(bo("reply", question, "This one."))
    carry(bo.data_dir, ann.data_dir)
    bo("helpful", answer, expect=1)
    assert "only the person who asked" in bo.err
    ann("helpful", question, expect=1)
    assert "only an answer can be marked" in ann.err
    assert "lndesk thread QUESTION_ID" in ann.err
    ann("helpful", "--undo", answer, expect=1)
    assert "not marked" in ann.err


def test_a_mark_by_someone_else_than_the_asker_shows_nowhere(ann: Cli, bo: Cli) -> None:
    question = first_id(ann("post", "Which book?", "--question"))
    carry(ann.data_dir, bo.data_dir)
    answer = first_id(bo("reply", question, "This one."))
    with Service(bo.data_dir) as service:  # Bo signs a mark of his own answer
        stored = service.resolve(answer)
        asked = service.resolve(question)
        service.publish(Helpful(ref_of(stored.entry), ref_of(asked.entry)))
    carry(bo.data_dir, ann.data_dir)
    assert "[helpful]" not in ann("thread", question) and "[open, 1 answer]" in ann.out


def test_questions_come_in_pages_and_the_next_page_command_works(ann: Cli) -> None:
    for number in range(3):
        ann("post", f"Question number {number}?", "--question")
    first = ann("questions", "--open", "--limit", "2")
    assert "number 2?" in first and "number 1?" in first and "number 0?" not in first
    advice = first.strip().splitlines()[-1]
    assert advice.startswith("Older ones: lndesk questions --open --before ")
    second = ann(*advice.removeprefix("Older ones: lndesk ").split())
    assert "number 0?" in second and "number 1?" not in second and "Older ones" not in second
    ann("questions", "--limit", "501", expect=1)
    assert "from 1 to 500" in ann.err
