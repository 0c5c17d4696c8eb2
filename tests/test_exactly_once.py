"""Publishing through a running node is exactly-once, even when `serve` dies mid-request.

A real `lndesk serve` child is killed with SIGKILL at a chosen point of the request
(tests/serve_crash_child.py); the `lndesk post` that sent it must then say truthfully
whether the entry was stored, and a retry with the same request id must not publish
it a second time.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from store_helpers import child_env

from lndesk.app.control import ControlClient
from lndesk.app.requests import RequestJournal
from lndesk.app.service import Service, create_identity
from lndesk.errors import ControlConnectionLost, LndeskError
from lndesk.keytext import key_to_text

HERE = Path(__file__).parent


def lndesk(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lndesk", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=child_env(),
        check=False,
    )


@contextmanager
def serving(data_dir: Path, mode: str | None = None) -> Iterator[subprocess.Popen[str]]:
    """`lndesk serve` (or the crashing child) until it prints its start banner."""
    serve = ["-m", "lndesk", "--data-dir", str(data_dir), "serve", "--port", "0", "--no-mdns"]
    child = [str(HERE / "serve_crash_child.py"), str(mode), str(data_dir)]
    command = [sys.executable, *(child if mode else serve)]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=child_env()
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if "stop with Ctrl-C" in line:
                break
        else:
            raise AssertionError(f"serve ended early ({process.wait()})")
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)


def own_texts(data_dir: Path) -> list[str]:
    with Service(data_dir) as service:
        items = service.feed(key_to_text(service.public_key), 50)
    return [item.content.text for item in reversed(items)]  # type: ignore[union-attr]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "ann"
    create_identity(path)
    return path


def _last_request(data_dir: Path) -> str:
    ids = list(RequestJournal(data_dir).records())
    assert ids
    return ids[-1]


@pytest.mark.parametrize("mode", ["after-append", "after-finish"])
def test_a_post_stored_before_serve_died_is_reported_published(data_dir: Path, mode: str) -> None:
    with serving(data_dir, mode) as process:
        done = lndesk(data_dir, "post", "stored, then the node died")
        assert process.wait(timeout=30) == -9
    assert done.returncode == 0, done.stderr
    assert "(entry 1 of your log)" in done.stdout
    assert "the node stopped before answering; entry 1 was stored" in done.stderr
    assert own_texts(data_dir) == ["stored, then the node died"]

    # The same request sent again (a retry) to the next node publishes nothing new.
    request_id = _last_request(data_dir)
    with serving(data_dir):
        client = ControlClient(data_dir)
        again = client.call(
            "act", name="post", args={"text": "stored, then the node died"}, request_id=request_id
        )
        assert again["seq"] == 1
        assert client.call("request-status", request_id=request_id)["state"] == "published"
    assert own_texts(data_dir) == ["stored, then the node died"]


def test_a_post_lost_before_the_append_is_reported_not_published(data_dir: Path) -> None:
    with serving(data_dir, "before-append") as process:
        done = lndesk(data_dir, "post", "never stored")
        assert process.wait(timeout=30) == -9
    assert done.returncode == 1
    assert "not published: the node stopped before storing it" in done.stderr
    assert "run the command again" in done.stderr
    assert own_texts(data_dir) == []

    # Following the advice publishes it, once; a retry of that request changes nothing.
    request_id = _last_request(data_dir)
    with serving(data_dir):
        client = ControlClient(data_dir)
        first = client.call(
            "act", name="post", args={"text": "never stored"}, request_id=request_id
        )
        second = client.call(
            "act", name="post", args={"text": "never stored"}, request_id=request_id
        )
        assert first == second and first["seq"] == 1
        assert "(entry 2 of your log)" in lndesk(data_dir, "post", "the next one").stdout
    assert own_texts(data_dir) == ["never stored", "the next one"]


def test_the_node_settles_a_request_a_dead_node_left(data_dir: Path) -> None:
    """The next node start answers for a request the dead node had appended."""
    with serving(data_dir, "after-append") as process:
        client = ControlClient(data_dir)
        with pytest.raises(ControlConnectionLost):
            client.call("act", name="post", args={"text": "hello"}, request_id="a" * 32)
        process.wait(timeout=30)
    with serving(data_dir):
        status = ControlClient(data_dir).call("request-status", request_id="a" * 32)
        assert status["state"] == "published" and status["result"]["seq"] == 1
        assert ControlClient(data_dir).call("request-status", request_id="b" * 32) == {
            "state": "unknown"
        }
        with pytest.raises(LndeskError, match="request id"):
            ControlClient(data_dir).call("request-status", request_id="../x")


def test_the_journal_skips_a_torn_line_and_stays_bounded(data_dir: Path) -> None:
    journal = RequestJournal(data_dir)
    for i in range(3):
        journal.finished(f"request{i:04}", {"n": i})
    with journal.path.open("ab") as torn:
        torn.write(b'{"id":"request9999","after":')
    assert list(journal.records()) == [f"request{i:04}" for i in range(3)]
    padding = "x" * 1000
    for i in range(400):
        journal.finished(f"later{i:05}", {"pad": padding})
    assert journal.path.stat().st_size <= 256 * 1024 + 2048
    kept = journal.records()
    assert "later00399" in kept and len(kept) <= 500
