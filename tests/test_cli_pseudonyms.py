"""`lndesk ask --pseudonym`, `lndesk pseudonym list|reveal`, end to end (README
"Pseudonyms", docs/protocol.md 10.13)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest
from cli_helpers import Cli

from lndesk.app.service import Service
from lndesk.content import Content, Post, Profile, Reveal, parse_content
from lndesk.entry import Entry, decode_entry
from lndesk.errors import DiskFullError
from lndesk.identity import Identity
from lndesk.keyfile import is_sealed
from lndesk.pseudonyms import pseudonym_keys, reveal_holds
from lndesk.store.space import full_error
from lndesk.store.store import Store


@pytest.fixture
def ann(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    cli = Cli(tmp_path / "ann", capsys)
    cli("init", "--name", "Ann")
    return cli


def log_of(service: Service, key: bytes) -> list[tuple[bytes, bytes | None]]:
    height = service.store.feed_state(key).height
    return [
        (raw, payload)
        for _seq, raw, payload in service.store.read_run(key, 1, height, 1000, 1 << 24)
    ]


def links(
    one: list[tuple[bytes, bytes | None]], other_key: bytes, other_ids: set[bytes]
) -> list[str]:
    """What in ``one``'s entries names the other identity: its key or one of its ids."""
    found = []
    for raw, payload in one:
        for needle in (other_key, *other_ids):
            if needle in raw or (payload is not None and needle in payload):
                found.append(decode_entry(raw).type)
    return found


def test_a_pseudonym_asks_with_its_own_key_log_and_name_and_nothing_links_it(ann: Cli) -> None:
    ann("post", "A note as myself")
    out = ann("ask", "--pseudonym", "Curious-Fox", "Is this a silly question?")
    assert "Created the pseudonym Curious-Fox" in out and "same peer id" in out
    assert "lndesk://feed/lnd1" in out
    out = ann("ask", "--pseudonym", "curious-fox", "And this one?", "--tag", "maths")
    assert "Created" not in out and "entry 3 of its log" in out
    ann("follow", "lnd1" + "a" * 52, expect=None)  # the main identity follows; the pseudonym not
    path = ann.data_dir / "pseudonyms" / "curious-fox.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not is_sealed(path.read_bytes())  # like the main key, which is plain here
    with Service(ann.data_dir) as service:
        (fox,) = pseudonym_keys(ann.data_dir)
        main = service.public_key
        fox_log, main_log = log_of(service, fox), log_of(service, main)
        kinds = [decode_entry(raw).type for raw, _ in fox_log]
        assert kinds == ["profile", "post", "post"]  # follows nobody
        profile = parse_content("profile", fox_log[0][1] or b"")
        assert profile == Profile("Curious-Fox")  # only the name
        question = parse_content("post", fox_log[1][1] or b"")
        assert isinstance(question, Post) and question.question
        fox_ids = {decode_entry(raw).id for raw, _ in fox_log}
        main_ids = {decode_entry(raw).id for raw, _ in main_log}
        assert links(main_log, fox, fox_ids) == []
        assert links(fox_log, main, main_ids) == []
    assert "Curious-Fox  3 entries" in ann("pseudonym", "list")


def test_the_main_identity_reveals_its_pseudonym_with_the_pseudonyms_proof(ann: Cli) -> None:
    assert "No pseudonyms here yet" in ann("pseudonym", "list")
    ann("ask", "--pseudonym", "owl", "Why?")
    assert "Revealed owl" in ann("pseudonym", "reveal", "owl")
    with Service(ann.data_dir) as service:
        (owl,) = pseudonym_keys(ann.data_dir)
        raw, payload = log_of(service, service.public_key)[-1]
        reveal = parse_content(decode_entry(raw).type, payload or b"")
        assert isinstance(reveal, Reveal) and reveal.key == owl
        assert reveal_holds(service.public_key, reveal.key, reveal.proof)
        author = service.identity.key_text
    assert "reveals the pseudonym" in ann("log", "--author", author)
    assert "(revealed)" in ann("pseudonym", "list")
    ann("pseudonym", "reveal", "nobody", expect=1)
    assert "no pseudonym called nobody" in ann.err
    assert "lndesk pseudonym list" in ann.err
    ann("ask", "--pseudonym", "../key", "hi", expect=1)
    assert "cannot name a pseudonym" in ann.err


def test_a_sealed_main_key_seals_the_pseudonym_with_the_same_passphrase(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = Cli(tmp_path / "sealed", capsys)
    monkeypatch.setenv("LNDESK_PASSPHRASE", "correct horse")
    cli("init", "--passphrase")
    monkeypatch.setenv("LNDESK_PASSPHRASE", "wrong")
    cli("ask", "--pseudonym", "fox", "Hidden?", expect=1)
    assert "wrong passphrase" in cli.err
    assert not (cli.data_dir / "pseudonyms" / "fox.key").exists()
    monkeypatch.setenv("LNDESK_PASSPHRASE", "correct horse")
    cli("ask", "--pseudonym", "fox", "Hidden?")
    assert is_sealed((cli.data_dir / "pseudonyms" / "fox.key").read_bytes())
    monkeypatch.setenv("LNDESK_PASSPHRASE", "wrong")
    cli("ask", "--pseudonym", "fox", "Again?", expect=1)
    assert "wrong passphrase" in cli.err


def test_a_restarted_node_wants_its_pseudonyms_and_never_blocks_them(ann: Cli) -> None:
    from lndesk.app.feeds import StoreFeeds
    from lndesk.pseudonyms import PseudonymKeys

    ann("ask", "--pseudonym", "fox", "Why?")
    (fox,) = pseudonym_keys(ann.data_dir)
    with Service(ann.data_dir) as service:
        keys = PseudonymKeys(ann.data_dir)  # read from the key files, as at a node's start
        feeds = StoreFeeds(
            service.store, service.public_key, lambda: frozenset({fox}), pseudonyms=keys
        )
        assert list(feeds.wanted_feeds())[:2] == [service.public_key, fox]
        assert feeds.accepts(fox)  # even listed as blocked
        assert feeds.held(fox).height == 2


def test_a_pseudonym_whose_profile_the_full_disk_refused_gets_it_on_the_next_ask(
    ann: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The key file is written before the profile is signed: a disk that fills up (or a
    # machine that stops) between the two leaves a pseudonym with an empty log. Asking
    # again, as the error says, gives it its profile before its question.
    publish = Store.publish

    def full_for_profiles(store: Store, identity: Identity, content: Content) -> Entry:
        if isinstance(content, Profile):
            raise full_error(0, 1 << 20)
        return publish(store, identity, content)

    monkeypatch.setattr(Store, "publish", full_for_profiles)
    ann("ask", "--pseudonym", "Curious-Fox", "Asked on a full disk?", expect=1)
    assert "the disk is full" in ann.err and "Free some space" in ann.err
    monkeypatch.undo()
    out = ann("ask", "--pseudonym", "Curious-Fox", "Asked on a full disk?")
    assert "Created the pseudonym Curious-Fox" in out and "entry 2 of its log" in out
    with Service(ann.data_dir) as service:
        (fox,) = pseudonym_keys(ann.data_dir)
        fox_log = log_of(service, fox)
        assert [decode_entry(raw).type for raw, _ in fox_log] == ["profile", "post"]
        assert parse_content("profile", fox_log[0][1] or b"") == Profile("Curious-Fox")


def test_a_pseudonym_key_file_a_full_disk_refused_is_a_disk_full_error(
    ann: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Through a running node an error is shown as it was raised: a bare OSError read as
    # "internal error", without what to do.
    from lndesk.app import pseudonyms

    def full(path: Path, _data: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(pseudonyms, "write_key_file", full)
    with Service(ann.data_dir) as service, pytest.raises(DiskFullError) as refused:
        pseudonyms.ask(service, "fox", "Asked on a full disk?")
    assert "Free some space" in refused.value.hint
    monkeypatch.undo()
    assert pseudonym_keys(ann.data_dir) == frozenset()
    assert "Created the pseudonym fox" in ann("ask", "--pseudonym", "fox", "Asked again?")
