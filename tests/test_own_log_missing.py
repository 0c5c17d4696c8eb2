"""own-log.json missing or unreadable (lndesk.app.ownlog): never a way to unlock a
restored identity, and the pause says which file is at fault and what to do, advice a
test follows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import Cli

from lndesk.app.datadir import CONFIG_NAME, Config
from lndesk.app.ownlog import OWN_LOG_CONFIRMED, OWN_LOG_NAME, OWN_LOG_RESTORED, load_own_log
from lndesk.app.service import Service, create_identity, restore_identity
from lndesk.errors import OwnLogUnknownError


def restored(tmp_path: Path) -> Path:
    """A restored identity whose real log has 3 entries elsewhere."""
    old = tmp_path / "old"
    create_identity(old)
    with Service(old) as service:
        for number in range(3):
            service.post(f"post {number}")
        words = service.backup_words()
    new = tmp_path / "new"
    restore_identity(new, words, None)
    return new


@pytest.mark.parametrize("settings", ["none", "written by this version"])
def test_deleting_own_log_json_does_not_unlock_a_restored_identity(
    tmp_path: Path, settings: str
) -> None:
    data_dir = restored(tmp_path)
    if settings != "none":
        Config(port=5000).save(data_dir / CONFIG_NAME)
    (data_dir / OWN_LOG_NAME).unlink()
    with Service(data_dir) as service, pytest.raises(OwnLogUnknownError) as caught:
        service.post("entry 1 of a 3-entry feed: a fork")
    assert f"{OWN_LOG_NAME} is missing" in caught.value.message
    assert load_own_log(data_dir).state == OWN_LOG_RESTORED


def test_an_older_version_s_restored_flag_is_still_moved_over(tmp_path: Path) -> None:
    data_dir = restored(tmp_path)
    (data_dir / OWN_LOG_NAME).unlink()
    (data_dir / CONFIG_NAME).write_text(json.dumps({"own_log": "restored", "port": 4800}))
    assert load_own_log(data_dir).state == OWN_LOG_RESTORED
    assert (data_dir / OWN_LOG_NAME).exists()


def test_an_older_version_s_confirmed_flag_keeps_publishing(tmp_path: Path) -> None:
    data_dir = tmp_path / "ann"
    create_identity(data_dir)
    (data_dir / OWN_LOG_NAME).unlink()
    (data_dir / CONFIG_NAME).write_text(json.dumps({"own_log": "confirmed"}))
    with Service(data_dir) as service:
        assert service.post("hello").seq == 1
    assert load_own_log(data_dir).state == OWN_LOG_CONFIRMED


@pytest.mark.parametrize("fault", ["unreadable", "missing"])
def test_the_pause_names_the_file_and_its_advice_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fault: str
) -> None:
    """Not restored at all: the file that says so is at fault, and the message says
    that, not "this identity was restored". Its advice (an export made before, imported
    with --latest) is followed, and publishing goes on after the last entry."""
    cli = Cli(tmp_path / "ann", capsys)
    cli("init", "--name", "Ann")
    cli("post", "one")
    backup = tmp_path / "ann.lndesk"
    cli("export", "--out", str(backup))
    path = cli.data_dir / OWN_LOG_NAME
    if fault == "unreadable":
        path.write_bytes(b'{"state": "confir\x00')
    else:
        path.unlink()
    cli("post", "two", expect=1)
    assert f"{path} is {fault}" in cli.err, cli.err
    assert "was restored" not in cli.err
    assert "lndesk import FILE --latest" in cli.err
    cli("import", str(backup), "--latest")
    cli("post", "two")
    assert load_own_log(cli.data_dir).confirmed
    with Service(cli.data_dir) as service:
        assert service.own_state().height == 3  # the profile, one, two
