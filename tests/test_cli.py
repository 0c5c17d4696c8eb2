"""The command line, end to end against temporary data directories."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import Cli
from store_helpers import child_env

from lndesk.app.service import Service, create_identity
from lndesk.errors import BackupWordsError
from lndesk.identity import Identity
from lndesk.keytext import key_to_text
from lndesk.store.store import Store


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(tmp_path / "ann", capsys)


def _ids(log_output: str) -> list[str]:
    return [line.split()[0] for line in log_output.splitlines() if line and not line[0].isspace()]


def test_first_run_post_and_log(cli: Cli) -> None:
    out = cli("init", "--name", "Ann")
    assert "public key: lnd1" in out
    key = cli("id").splitlines()[0]
    assert key.startswith("lnd1")
    assert cli("id").splitlines()[1] == f"lndesk://feed/{key}?name=Ann"
    cli("post", "Notes from the reading group", "--tag", "#Pedagogy", "--link", "https://x.org/a")
    log = cli("log")
    assert "Notes from the reading group" in log
    assert "#pedagogy" in log and "https://x.org/a" in log
    assert "Ann (lnd1" in log


def test_key_file_is_private(cli: Cli) -> None:
    cli("init")
    mode = stat.S_IMODE((cli.data_dir / "key").stat().st_mode)
    assert mode == 0o600


def test_init_twice_is_refused_without_touching_the_key(cli: Cli) -> None:
    cli("init")
    before = (cli.data_dir / "key").read_bytes()
    cli("init", expect=1)
    assert "already has an identity" in cli.err
    assert "Traceback" not in cli.err
    assert (cli.data_dir / "key").read_bytes() == before


def test_commands_without_identity_explain_what_to_do(cli: Cli) -> None:
    cli("post", "hello", expect=1)
    assert "no identity" in cli.err and "lndesk init" in cli.err


def test_reply_by_id_prefix_and_thread_root(cli: Cli) -> None:
    cli("init")
    cli("post", "question?")
    (post_id,) = _ids(cli("log"))
    cli("reply", post_id, "first answer")
    reply_id = next(i for i in _ids(cli("log")) if i != post_id)
    cli("reply", reply_id, "answer to the answer")
    log = cli("log")
    assert f"re {reply_id}" in log and f"re {post_id}" in log


def test_reply_to_unknown_or_malformed_id(cli: Cli) -> None:
    cli("init")
    cli("reply", "abcdef12", "x", expect=1)
    assert "no stored entry" in cli.err
    cli("reply", "not-an-id", "x", expect=1)
    assert "is not an entry id" in cli.err


def test_follow_unfollow_and_bad_keys(cli: Cli) -> None:
    cli("init")
    other = Identity(bytes(range(32))).key_text
    assert "following" in cli("follow", other)
    assert "already following" in cli("follow", f"lndesk://feed/{other}?name=Bo")
    assert "lnd1" in cli("following")
    broken = other[:-1] + ("a" if other[-1] != "a" else "b")
    cli("follow", broken, expect=1)
    assert "typo" in cli.err and "Traceback" not in cli.err
    cli("follow", other[:20], expect=1)
    assert "missing" in cli.err
    own = cli("id").splitlines()[0]
    cli("follow", own, expect=1)
    assert "your own key" in cli.err
    assert "no longer following" in cli("unfollow", other)
    assert "were not following" in cli("unfollow", other)
    assert "follow nobody" in cli("following")


def test_profile_show_and_update(cli: Cli) -> None:
    cli("init")
    assert "(not set)" in cli("profile")
    cli("profile", "--bio", "x", expect=1)
    assert "needs a name" in cli.err
    cli("profile", "--name", "Ann", "--bio", "Teaches statistics")
    cli("profile", "--bio", "Teaches data science")
    shown = cli("profile")
    assert "Ann" in shown and "data science" in shown


def test_delete_hides_own_post(cli: Cli) -> None:
    cli("init")
    cli("post", "oops")
    (post_id,) = _ids(cli("log"))
    cli("delete", post_id)
    assert "oops" not in cli("log")


def test_log_of_a_feed_and_limit(cli: Cli) -> None:
    cli("init")
    for number in range(5):
        cli("post", f"note {number}")
    key = cli("id").splitlines()[0]
    out = cli("log", "--author", key, "--limit", "2")
    assert "note 4" in out and "note 3" in out and "note 2" not in out
    cli("log", "--limit", "0", expect=1)
    assert "--limit" in cli.err


def test_verify_reindex_and_damage_report(cli: Cli) -> None:
    cli("init")
    cli("post", "a post that will be damaged on disk")
    assert "everything verifies" in cli("verify", "--all-signatures")
    assert "rebuilt the index from the log: 1 entry" in cli("reindex")
    log_path = cli.data_dir / "entries.log"
    data = bytearray(log_path.read_bytes())
    at = data.find(b"damaged on disk")
    data[at] ^= 0x01
    log_path.write_bytes(bytes(data))
    out = cli("verify", expect=1)
    assert "PROBLEM" in out


def test_export_import_restores_identity_and_log(cli: Cli, tmp_path: Path) -> None:
    cli("init", "--name", "Ann")
    cli("post", "first")
    cli("post", "second")
    key = cli("id").splitlines()[0]
    backup = tmp_path / "backup.cbor"
    cli("export", "--out", str(backup))
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    other = Cli(tmp_path / "laptop2", cli.capsys)
    out = other("import", str(backup))
    assert key in out and "imported 3 entries" in out
    other("post", "too early", expect=1)
    assert "--latest" in other.err
    assert "imported 0 entries (3 already here)" in other("import", str(backup), "--latest")
    other("post", "third, from the new laptop")
    assert other("id").splitlines()[0] == key
    log = other("log")
    assert "first" in log and "third" in log


def test_import_into_another_identity_is_refused(cli: Cli, tmp_path: Path) -> None:
    cli("init")
    backup = tmp_path / "b.cbor"
    cli("export", "--out", str(backup))
    other = Cli(tmp_path / "bo", cli.capsys)
    other("init")
    other("import", str(backup), expect=1)
    assert "belongs to" in other.err


def test_import_of_a_non_backup_file(cli: Cli, tmp_path: Path) -> None:
    junk = tmp_path / "junk.cbor"
    junk.write_bytes(b"\x00not a backup")
    cli("import", str(junk), expect=1)
    assert "not an lndesk backup" in cli.err


def _swapped_past_the_checksum(words: str) -> str:
    """``words`` with two neighbours swapped, as a typing slip would: the first such swap
    the 8-bit checksum catches (a swap keeps it valid for about one phrase in 256, and
    two equal neighbours do not change the phrase at all)."""
    split = words.split()
    for i in range(len(split) - 1):
        slipped = [*split[:i], split[i + 1], split[i], *split[i + 2 :]]
        try:
            Identity.from_backup_words(" ".join(slipped))
        except BackupWordsError:
            return " ".join(slipped)
    raise AssertionError("no swap of neighbours breaks the checksum")


def test_key_backup_and_restore_words(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("init")
    out = cli("key", "backup")
    seed_words = " ".join(_backup_words(out))
    assert len(seed_words.split()) == 24
    key = cli("id").splitlines()[0]
    restored = Cli(tmp_path / "restored", cli.capsys)
    monkeypatch.setattr(sys, "stdin", _Stdin(seed_words))
    assert key in restored("key", "restore")
    restored("post", "x", expect=1)
    assert "restored" in restored.err
    fresh = Cli(tmp_path / "fresh", cli.capsys)
    monkeypatch.setattr(sys, "stdin", _Stdin(seed_words))
    fresh("key", "restore", "--fresh")
    fresh("post", "first post of a key that never published")
    wrong = _swapped_past_the_checksum(seed_words)
    bad = Cli(tmp_path / "bad", cli.capsys)
    monkeypatch.setattr(sys, "stdin", _Stdin(wrong))
    bad("key", "restore", expect=1)
    assert "checksum" in bad.err
    assert not (tmp_path / "bad" / "key").exists()


def _backup_words(out: str) -> list[str]:
    words = []
    for line in out.splitlines():
        parts = line.split()
        for index, part in enumerate(parts):
            if part.endswith(".") and part[:-1].isdigit():
                words.append(parts[index + 1])
    return words


class _Stdin:
    def __init__(self, text: str) -> None:
        self._text = text

    def isatty(self) -> bool:
        return False

    def read(self) -> str:
        return self._text


def test_passphrase_sealed_key(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LNDESK_PASSPHRASE", "correct horse")
    cli("init", "--passphrase")
    cli("post", "sealed but usable")
    monkeypatch.setenv("LNDESK_PASSPHRASE", "wrong horse")
    cli("post", "nope", expect=1)
    assert "wrong passphrase" in cli.err
    monkeypatch.delenv("LNDESK_PASSPHRASE")
    monkeypatch.setattr(sys, "stdin", _Stdin(""))
    cli("post", "nope", expect=1)
    assert "LNDESK_PASSPHRASE" in cli.err


def test_locked_data_dir_is_reported(cli: Cli) -> None:
    cli("init")
    with Store(cli.data_dir):
        cli("log")  # a reader reads beside the process that holds the directory
        cli("reindex", expect=1)  # rebuilding the index needs the directory to itself
    assert "in use by another lndesk process" in cli.err


def test_console_script_runs_with_env_data_dir(tmp_path: Path) -> None:
    env = dict(os.environ, LNDESK_DATA_DIR=str(tmp_path / "env-dir"))
    run = subprocess.run(
        [sys.executable, "-m", "lndesk", "init"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "env-dir" / "key").exists()
    bad = subprocess.run(
        [sys.executable, "-m", "lndesk", "follow", "lnd1nonsense"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert bad.stderr.startswith("lndesk: error:") and "Traceback" not in bad.stderr
    help_run = subprocess.run(
        [sys.executable, "-m", "lndesk", "--help"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert help_run.returncode == 0 and "COMMAND" in help_run.stdout


def test_key_text_matches_identity(cli: Cli) -> None:
    cli("init")
    key = cli("id").splitlines()[0]
    with Service(cli.data_dir) as service:
        assert key_to_text(service.public_key) == key


def test_sealed_backup_needs_its_passphrase_to_be_installed(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LNDESK_PASSPHRASE", "correct horse")
    cli("init", "--passphrase")
    cli("post", "sealed")
    backup = tmp_path / "sealed.cbor"
    cli("export", "--out", str(backup))
    other = Cli(tmp_path / "other", cli.capsys)
    monkeypatch.setenv("LNDESK_PASSPHRASE", "wrong horse")
    other("import", str(backup), expect=1)
    assert "wrong passphrase" in other.err
    assert not (tmp_path / "other" / "key").exists()
    monkeypatch.setenv("LNDESK_PASSPHRASE", "correct horse")
    assert "restored identity" in other("import", str(backup), "--latest")
    assert (tmp_path / "other" / "key").read_bytes() == (cli.data_dir / "key").read_bytes()
    other("post", "from the restored, still sealed key")
    assert "sealed" in other("log")


def test_a_reader_that_stops_early_is_not_an_error(tmp_path: Path) -> None:
    """`lndesk log | head`: the pipe closes under lndesk; no error, no hint about disks."""
    data_dir = tmp_path / "ann"
    create_identity(data_dir)
    with Service(data_dir) as service:
        for i in range(400):  # far more than a pipe buffer holds
            service.post(f"note {i}: " + "words " * 40)
    process = subprocess.Popen(
        [sys.executable, "-m", "lndesk", "--data-dir", str(data_dir), "log", "--limit", "400"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline()  # the reader takes one line and goes away
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) in (0, 141)
    assert stderr == ""
