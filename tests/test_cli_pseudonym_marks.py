"""`lndesk helpful` on an answer to a question asked under a pseudonym: the pseudonym
signs the mark, in its own log, never in the main identity's (README "Pseudonyms",
docs/protocol.md 10.12)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import Cli
from test_cli_learning import first_id
from test_cli_pseudonyms import links, log_of

from lndesk.app.service import Service
from lndesk.cli.passphrase import TerminalPassphrase
from lndesk.entry import decode_entry
from lndesk.pseudonyms import pseudonym_keys

PASSPHRASE = "correct horse"


@pytest.fixture
def bo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    cli = Cli(tmp_path / "bo", capsys)
    cli("init", "--name", "Bo")
    return cli


def carry(source: Path, target: Path, key: bytes | None = None) -> None:
    """Bring ``key``'s feed (the source's own when None) from one directory to another."""
    with Service(source) as one, Service(target) as other:
        feed = one.public_key if key is None else key
        other.store.ingest(feed, list(one.store.feed_items(feed)))


def asked_id(out: str) -> str:
    (line,) = [line for line in out.splitlines() if line.startswith("asked ")]
    return line.split()[1]


def types_of(data_dir: Path, key: bytes | None = None) -> list[str]:
    with Service(data_dir, reading=True) as service:
        feed = service.public_key if key is None else key
        return [decode_entry(raw).type for raw, _ in log_of(service, feed)]


def ask_and_answer(ann: Cli, bo: Cli) -> tuple[bytes, str, str]:
    """Ann asks as fox, Bo answers; the pseudonym's key, the question's and the answer's ids."""
    question = asked_id(ann("ask", "--pseudonym", "fox", "Why is 0.1 + 0.2 not 0.3?"))
    (fox,) = pseudonym_keys(ann.data_dir)
    carry(ann.data_dir, bo.data_dir, fox)
    answer = first_id(bo("reply", question, "Binary fractions."))
    carry(bo.data_dir, ann.data_dir)
    return fox, question, answer


def test_the_pseudonym_marks_an_answer_in_its_own_log_and_takes_it_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bo: Cli
) -> None:
    ann = Cli(tmp_path / "ann", capsys)
    ann("init", "--name", "Ann")
    fox, question, answer = ask_and_answer(ann, bo)
    own_before = types_of(ann.data_dir)
    out = ann("helpful", answer)
    assert "As your pseudonym fox (in its log, not yours)" in out and "Marked as helpful" in out
    assert types_of(ann.data_dir, fox) == ["profile", "post", "helpful"]
    assert types_of(ann.data_dir) == own_before  # nothing in Ann's own log
    ann("helpful", answer, expect=1)
    assert "already marked" in ann.err and f"lndesk helpful --undo {answer[:12]}" in ann.err
    assert "[helpful]" in ann("thread", question) and "[answered, 1 answer]" in ann.out
    # A reader of the pseudonym sees the mark and the question answered.
    carry(ann.data_dir, bo.data_dir, fox)
    assert "[helpful]" in bo("thread", question) and "[answered" in bo.out
    # Someone else's question: Bo may not mark its answers, and is told so.
    bo("helpful", answer, expect=1)
    assert "only the person who asked can mark" in bo.err
    out = ann("helpful", "--undo", answer)
    assert "As your pseudonym fox" in out and "Mark taken back" in out
    assert types_of(ann.data_dir, fox) == ["profile", "post", "helpful", "tombstone"]
    assert "[open, 1 answer]" in ann("thread", question) and "[helpful]" not in ann.out
    ann("helpful", "--undo", answer, expect=1)
    assert "not marked as helpful" in ann.err
    # Nothing in either log names the other identity.
    with Service(ann.data_dir, reading=True) as service:
        main_log, fox_log = log_of(service, service.public_key), log_of(service, fox)
        main_ids = {decode_entry(raw).id for raw, _ in main_log}
        fox_ids = {decode_entry(raw).id for raw, _ in fox_log}
        assert links(main_log, fox, fox_ids) == []
        assert links(fox_log, service.public_key, main_ids) == []


def test_a_mark_that_would_link_the_two_identities_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bo: Cli
) -> None:
    ann = Cli(tmp_path / "ann", capsys)
    ann("init", "--name", "Ann")
    fox, question, _answer = ask_and_answer(ann, bo)
    own = first_id(ann("reply", question, "Answering my own pseudonym's question."))
    ann("helpful", own, expect=1)
    assert "would link your identity and your pseudonym" in ann.err
    assert "mark someone else's answer" in ann.err
    assert "helpful" not in types_of(ann.data_dir, fox)
    # The other way round: my pseudonym's answer to my own question.
    mine = first_id(ann("post", "Which book first?", "--question"))
    fox_answer = asked_id(ann("ask", "--pseudonym", "fox", "Another one?"))
    assert fox_answer  # the pseudonym exists and posts
    with Service(ann.data_dir) as service:
        from lndesk.app.pseudonyms import unlock
        from lndesk.content import Reply
        from lndesk.entry_refs import ref_of

        root = ref_of(service.resolve(mine).entry)
        identity = unlock(service, "fox", None)
        assert identity is not None
        reply = service.store.publish(identity, Reply("As fox.", root, root))
    ann("helpful", reply.id.hex(), expect=1)
    assert "would link your identity and your pseudonym" in ann.err
    assert "helpful" not in types_of(ann.data_dir)


def test_a_sealed_pseudonym_asks_for_the_passphrase_and_a_wrong_one_publishes_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    bo: Cli,
) -> None:
    ann = Cli(tmp_path / "ann", capsys)
    monkeypatch.setenv("LNDESK_PASSPHRASE", PASSPHRASE)
    ann("init", "--name", "Ann", "--passphrase")
    monkeypatch.delenv("LNDESK_PASSPHRASE")
    asked: list[str] = []
    terminal = TerminalPassphrase(lambda p: asked.append(p) or PASSPHRASE, lambda: True)
    monkeypatch.setattr("lndesk.cli.main._passphrase_source", terminal)
    fox, _question, answer = ask_and_answer(ann, bo)
    asked.clear()
    monkeypatch.setenv("LNDESK_PASSPHRASE", "wrong horse")
    ann("helpful", answer, expect=1)
    assert "wrong passphrase" in ann.err
    assert types_of(ann.data_dir, fox) == ["profile", "post"]  # nothing published
    monkeypatch.delenv("LNDESK_PASSPHRASE")
    assert "Marked as helpful" in ann("helpful", answer)
    assert asked == ["Passphrase: "]  # asked once, for the pseudonym's key
    assert types_of(ann.data_dir, fox) == ["profile", "post", "helpful"]


def test_the_pseudonyms_mark_goes_through_a_running_node(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bo: Cli
) -> None:
    """While `lndesk serve` holds the data directory, `lndesk helpful` asks who signs
    beside it (a read) and has the node publish the pseudonym's mark (and announce it)."""
    from test_cli_network import Serve, run

    ann = Cli(tmp_path / "ann", capsys)
    ann("init", "--name", "Ann")
    ann("network", "--mdns", "off")
    fox, question, answer = ask_and_answer(ann, bo)
    serve = Serve(ann.data_dir)
    try:
        serve.wait_for("give a friend one of these addresses")
        out = run(ann.data_dir, "helpful", answer)
        assert "As your pseudonym fox" in out and "Marked as helpful (entry 3)" in out
        assert "[helpful]" in run(ann.data_dir, "thread", question)
        assert "Mark taken back (entry 4)" in run(ann.data_dir, "helpful", "--undo", answer)
    finally:
        assert serve.stop() == 0
    assert types_of(ann.data_dir, fox) == ["profile", "post", "helpful", "tombstone"]
    assert "helpful" not in types_of(ann.data_dir)
