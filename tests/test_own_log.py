"""Whether a restored identity may publish: kept out of config.json, confirmed by the user."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import Cli
from test_words import commands_named

from lndesk.app.datadir import CONFIG_NAME, Config
from lndesk.app.ownlog import (
    MAX_SEEN_ON,
    OWN_LOG_CONFIRMED,
    OWN_LOG_NAME,
    OWN_LOG_RESTORED,
    OwnLog,
    load_own_log,
    save_own_log,
)
from lndesk.app.restore import (
    OwnLogSurvey,
    RestoreStatus,
    confirm_own_log,
    restore_status,
)
from lndesk.app.service import Service, create_identity, restore_identity
from lndesk.cli.main import build_parser, main
from lndesk.errors import IdentityExistsError, OwnLogUnknownError, StoreError, UsageError
from lndesk.identity import Identity
from lndesk.keytext import key_to_text


def _restored(
    tmp_path: Path, posts: int = 6
) -> tuple[Path, bytes, list[tuple[bytes, bytes | None]]]:
    """A restored identity whose real log has ``posts`` entries elsewhere."""
    old = tmp_path / "old"
    create_identity(old)
    with Service(old) as service:
        for i in range(posts):
            service.post(f"post {i}")
        words, key = service.backup_words(), service.public_key
        items = list(service.store.feed_items(key))
    new = tmp_path / "new"
    restore_identity(new, words, None)
    return new, key, items


def test_restore_writes_the_state_outside_config_json(tmp_path: Path) -> None:
    data_dir, _key, _items = _restored(tmp_path)
    assert load_own_log(data_dir).state == OWN_LOG_RESTORED
    assert not (data_dir / CONFIG_NAME).exists()
    with Service(data_dir) as service, pytest.raises(OwnLogUnknownError):
        service.post("too early")


def test_deleting_config_json_does_not_unlock_a_restored_identity(tmp_path: Path) -> None:
    data_dir, _key, _items = _restored(tmp_path)
    Config(port=5000).save(data_dir / CONFIG_NAME)
    (data_dir / CONFIG_NAME).unlink()
    with Service(data_dir) as service, pytest.raises(OwnLogUnknownError):
        service.post("entry 1 of a 6-entry feed: a fork")


def test_the_old_flag_in_config_json_is_moved_over(tmp_path: Path) -> None:
    data_dir, _key, _items = _restored(tmp_path)
    (data_dir / OWN_LOG_NAME).unlink()  # as an older version left it
    (data_dir / CONFIG_NAME).write_text(json.dumps({"own_log": "restored", "port": 4800}))
    config = Config.load(data_dir / CONFIG_NAME)  # any command reads the settings first
    assert config.port == 4800
    assert load_own_log(data_dir).state == OWN_LOG_RESTORED
    config.save(data_dir / CONFIG_NAME)  # the flag is no longer written there ...
    assert "own_log" not in json.loads((data_dir / CONFIG_NAME).read_text())
    with Service(data_dir) as service, pytest.raises(OwnLogUnknownError):
        service.post("still paused")  # ... and still holds


def test_an_old_confirmed_install_keeps_publishing(tmp_path: Path) -> None:
    data_dir = tmp_path / "ann"
    create_identity(data_dir)
    (data_dir / OWN_LOG_NAME).unlink()
    (data_dir / CONFIG_NAME).write_text(json.dumps({"own_log": "confirmed"}))
    with Service(data_dir) as service:
        assert service.post("hello").seq == 1
    assert load_own_log(data_dir).state == OWN_LOG_CONFIRMED


def test_a_damaged_old_config_counts_as_restored(tmp_path: Path) -> None:
    data_dir, _key, _items = _restored(tmp_path)
    (data_dir / OWN_LOG_NAME).unlink()
    (data_dir / CONFIG_NAME).write_text('{"own_log": "restored", "port": 48')
    assert load_own_log(data_dir).state == OWN_LOG_RESTORED


def test_a_damaged_own_log_file_never_unlocks(tmp_path: Path) -> None:
    data_dir = tmp_path / "ann"
    create_identity(data_dir)
    (data_dir / OWN_LOG_NAME).write_bytes(b'{"state": "confir\x00')
    with Service(data_dir) as service, pytest.raises(OwnLogUnknownError):
        service.post("paused until the peers are asked")


def test_damaged_config_advice_works_when_followed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir, _key, _items = _restored(tmp_path)
    config_path = data_dir / CONFIG_NAME
    config_path.write_text('{"port": 4800, "bootstrap": ["/ip4/')
    with pytest.raises(StoreError) as caught:
        Config.load(config_path)
    hint = caught.value.hint
    assert "delete" not in hint.lower()
    command = re.search(r"\((mv [^)]+)\)", hint)
    assert command is not None
    _mv, source, target = shlex.split(command.group(1))
    Path(source).rename(target)  # what the advice says to do
    assert Path(target).read_text().startswith('{"port": 4800')  # nothing thrown away
    cli = Cli(data_dir, capsys)
    assert "port: 4747" in cli("network")
    cli("post", "a fork after a restore", expect=1)
    assert "restore-status" in cli.err


def _surveyed(data_dir: Path, seen: int, peers: list[bytes]) -> None:
    save_own_log(
        data_dir,
        OwnLog(
            state=OWN_LOG_RESTORED,
            seen_height=seen,
            seen_on=[p.hex() for p in peers],
            sources=len(peers),
            surveyed=True,
        ),
    )


def test_confirm_needs_every_reported_entry_here(tmp_path: Path) -> None:
    data_dir, key, items = _restored(tmp_path, posts=6)
    peer = Identity.generate().public_key
    with Service(data_dir) as service:
        service.store.ingest(key, items[:2])
        _surveyed(data_dir, 6, [peer])
        with pytest.raises(OwnLogUnknownError, match="2 here") as caught:
            confirm_own_log(service, 6)
        assert "Entries 3..6 have not arrived" in caught.value.hint
        service.store.ingest(key, items[2:])
        with pytest.raises(UsageError, match="not 5"):
            confirm_own_log(service, 5)
        status = confirm_own_log(service, 6)
        assert status.confirmed
        assert service.post("back").seq == 7
    assert load_own_log(data_dir).confirmed_height == 6


def test_confirm_is_refused_before_peers_were_asked(tmp_path: Path) -> None:
    data_dir, _key, _items = _restored(tmp_path)
    with Service(data_dir) as service, pytest.raises(OwnLogUnknownError) as caught:
        confirm_own_log(service, 0)
    assert "restore-status" in caught.value.hint


class _Node:
    def warn(self, message: str) -> None:
        raise AssertionError(message)


def test_the_highest_report_wins_whatever_the_order(tmp_path: Path) -> None:
    data_dir, _key, _items = _restored(tmp_path)
    full, stale, other = (Identity.generate().public_key for _ in range(3))
    with Service(data_dir) as service:
        survey = OwnLogSurvey(service, _Node())
        survey.note(stale, 2)
        assert load_own_log(data_dir).seen_height == 2
        survey.note(full, 6)
        survey.note(stale, 2)
        survey.note(other, 3)
        own_log = load_own_log(data_dir)
        assert (own_log.seen_height, own_log.seen_on, own_log.sources) == (6, [full.hex()], 3)
        assert restore_status(service).summary() == "your log: latest entry 6, seen on 1 peer"


def test_however_many_peers_report_the_own_log_file_stays_readable(tmp_path: Path) -> None:
    """Every peer that reports the highest entry is named in own-log.json, up to a cap:
    past it the file would outgrow what is read of it, and the survey's findings
    (surveyed, seen_height) would be lost at every read."""
    data_dir, _key, _items = _restored(tmp_path)
    peers = [i.to_bytes(32, "big") for i in range(1, MAX_SEEN_ON + 6)]
    with Service(data_dir) as service:
        survey = OwnLogSurvey(service, _Node())
        for peer in peers:
            survey.note(peer, 6)
        own_log = load_own_log(data_dir)
    written = json.loads((data_dir / OWN_LOG_NAME).read_bytes())
    assert written["seen_on"] == own_log.seen_on == [p.hex() for p in peers[:MAX_SEEN_ON]]
    assert own_log.sources == len(peers)
    assert own_log.seen_height == 6


def test_an_own_log_file_naming_too_many_peers_is_read_up_to_the_cap(tmp_path: Path) -> None:
    data_dir, _key, _items = _restored(tmp_path)
    named = [f"{i:064x}" for i in range(2 * MAX_SEEN_ON)]
    (data_dir / OWN_LOG_NAME).write_text(json.dumps({"state": "restored", "seen_on": named}))
    assert load_own_log(data_dir).seen_on == named[:MAX_SEEN_ON]


def _commands(text: str) -> list[list[str]]:
    return [argv for _quoted, argv in commands_named(text, build_parser())]


def test_every_hint_names_a_command_that_exists(tmp_path: Path) -> None:
    texts = [OwnLogUnknownError("x").hint]
    for status in (
        RestoreStatus(False, 6, 1, 1, 2, True, None),
        RestoreStatus(False, 6, 1, 1, 6, True, None),
        RestoreStatus(False, 0, 0, 0, 0, True, None),
        RestoreStatus(False, 0, 0, 0, 0, False, None),
    ):
        texts.append(status.advice())
    parser = build_parser()
    checked = 0
    for text in texts:
        for words in _commands(text):
            filled = [
                w.replace("FILE", "x.backup").replace("MULTIADDR", "/ip4/1.2.3.4") for w in words
            ]
            filled = ["6" if w == "N" else w for w in filled]
            parser.parse_args(filled)  # exits (SystemExit) on an unknown command
            checked += 1
    assert checked >= 8


def test_cli_confirm_log_without_a_running_node(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir, key, items = _restored(tmp_path, posts=3)
    with Service(data_dir) as service:
        service.store.ingest(key, items)
    _surveyed(data_dir, 3, [Identity.generate().public_key])
    cli = Cli(data_dir, capsys)
    cli("confirm-log", "2", expect=1)
    assert "lndesk confirm-log 3" in cli.err
    out = cli("confirm-log", "3")
    assert "your next post is entry 4" in out
    assert "entry 4 of your log" in cli("post", "back")
    assert "publishing is allowed" in cli("restore-status")
    assert main(["--data-dir", str(data_dir), "restore-status"]) == 0


def test_an_old_damaged_config_moved_aside_keeps_the_restored_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An older version's data dir: the flag only in config.json, and that file damaged.
    The first command reads the settings, fails with advice, and the advice is followed
    before anything else ran: publishing must still be paused."""
    data_dir, _key, _items = _restored(tmp_path)
    (data_dir / OWN_LOG_NAME).unlink()
    config_path = data_dir / CONFIG_NAME
    config_path.write_text('{"own_log": "restored", "port": 48')
    cli = Cli(data_dir, capsys)
    cli("network", expect=1)
    command = re.search(r"\((mv [^)]+)\)", cli.err)
    assert command is not None
    _mv, source, target = shlex.split(command.group(1))
    Path(source).rename(target)
    cli("post", "entry 1 of a 6-entry feed", expect=1)
    assert "restore-status" in cli.err


def test_an_identity_installed_meanwhile_is_neither_replaced_nor_unlocked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two installs in one directory at once (the app's first run and `lndesk restore`,
    # say): the restore's key must not end up beside the new identity's "confirmed" state,
    # which would let it sign its seqs again from 1 (a fork of its feed).
    from lndesk.app import own_key

    data_dir = tmp_path / "data"
    restored_words = Identity(bytes([7]) * 32).backup_words()
    save = own_key.save_own_log
    raised: list[Exception] = []

    def meanwhile(directory: Path, state: OwnLog) -> None:
        """While the new identity is being installed, the other install runs."""
        monkeypatch.setattr(own_key, "save_own_log", save)
        try:
            restore_identity(data_dir, restored_words, None)
        except IdentityExistsError as exc:
            raised.append(exc)
        save(directory, state)

    monkeypatch.setattr(own_key, "save_own_log", meanwhile)
    made = create_identity(data_dir)
    assert [str(exc.message) for exc in raised] == [
        f"another lndesk process is making or restoring an identity in {data_dir}"
    ]
    with Service(data_dir) as service:
        assert service.public_key == made.public_key
    assert load_own_log(data_dir).state == OWN_LOG_CONFIRMED
    # The advice: once the other install is done, lndesk id shows the identity it made.
    assert "lndesk id" in raised[0].hint
    capsys.readouterr()
    assert main(["--data-dir", str(data_dir), "id"]) == 0
    assert key_to_text(made.public_key) in capsys.readouterr().out


def test_an_identity_installed_just_before_the_lock_keeps_its_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The other install finished between this one's first look and its lock: this one
    # must stop before it writes its own log's state over the restored key's.
    from lndesk.app import own_key

    data_dir = tmp_path / "data"
    restored = Identity(bytes([7]) * 32)
    installing = own_key._installing

    def after_the_other(directory: Path) -> Any:
        monkeypatch.setattr(own_key, "_installing", installing)
        restore_identity(data_dir, restored.backup_words(), None)
        return installing(directory)

    monkeypatch.setattr(own_key, "_installing", after_the_other)
    with pytest.raises(IdentityExistsError, match="already has an identity"):
        create_identity(data_dir)
    with Service(data_dir) as service:
        assert service.public_key == restored.public_key
    assert load_own_log(data_dir).state == OWN_LOG_RESTORED
