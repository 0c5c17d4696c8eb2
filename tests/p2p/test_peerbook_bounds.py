"""The known-peers file read back as any file on the disk (lndesk.p2p.peerbook): it is
only a cache of addresses, so one too large, nested too deep or not a regular file is
ignored with a warning, never read whole, waited on or a crash at start; and the node's
own file always stays small enough to be read back."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from planted_pipes import planted_pipe

from lndesk.app.datadir import PEERS_NAME
from lndesk.p2p import peerbook as peerbook_module
from lndesk.p2p.peerbook import MAX_ADDR_CHARS, MAX_PEERBOOK_BYTES, MAX_PEERS, PeerBook

GOOD = b'{"version": 1, "peers": {"12D3KooWa": {"addrs": ["/ip4/192.0.2.1/tcp/1"], "seen": 5}}}'


def still_works(path: Path) -> None:
    """A node with this book records a peer and reads it back after a restart."""
    book = PeerBook(path)
    book.seen("12D3KooWx", ["/ip4/192.0.2.9/tcp/4747"])
    book.save()
    assert list(PeerBook(path).peers) == ["12D3KooWx"]


def test_a_deeply_nested_file_is_ignored_not_a_crash(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / PEERS_NAME
    path.write_bytes(b'{"peers": ' + b"[" * 200_000 + b"]" * 200_000 + b"}")
    with caplog.at_level(logging.WARNING):
        book = PeerBook(path)
    assert book.peers == {}
    assert "nested too deep" in caplog.text
    still_works(path)


def test_a_file_too_large_is_not_read_whole(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / PEERS_NAME
    padding = b" " * MAX_PEERBOOK_BYTES
    path.write_bytes(GOOD[:-1] + padding + b"}")  # valid JSON, one peer, too many bytes
    with caplog.at_level(logging.WARNING):
        book = PeerBook(path)
    assert book.peers == {}
    assert f"over {MAX_PEERBOOK_BYTES} bytes" in caplog.text
    still_works(path)


def test_a_file_that_is_a_pipe_is_refused_not_waited_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "data" / PEERS_NAME
    path.parent.mkdir()
    with planted_pipe(path, GOOD), caplog.at_level(logging.WARNING):
        book = PeerBook(path)
        assert book.peers == {}
        assert "named pipe" in caplog.text


def test_a_file_naming_too_many_peers_keeps_the_newest(tmp_path: Path) -> None:
    path = tmp_path / PEERS_NAME
    peers = {f"peer{i}": {"addrs": [], "seen": i} for i in range(MAX_PEERS + 50)}
    path.write_text(json.dumps({"version": 1, "peers": peers}))
    book = PeerBook(path)
    assert len(book.peers) == MAX_PEERS
    assert "peer0" not in book.peers and f"peer{MAX_PEERS + 49}" in book.peers


def test_the_saved_file_always_fits_what_is_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However long the addresses peers announce, the file saved is read back."""
    monkeypatch.setattr(peerbook_module, "MAX_PEERBOOK_BYTES", 20_000)
    path = tmp_path / PEERS_NAME
    book = PeerBook(path)
    for i in range(40):
        book.seen(f"peer{i}", [f"/dns4/{'x' * 200}.example/tcp/{j}" for j in range(8)])
    book.save()
    assert path.stat().st_size <= 20_000
    again = PeerBook(path)
    assert again.peers
    dropped = [p.last_seen_ms for i, p in book.peers.items() if i not in again.peers]
    assert dropped and min(p.last_seen_ms for p in again.peers.values()) >= max(dropped)


def test_an_address_too_long_to_be_one_is_not_kept(tmp_path: Path) -> None:
    book = PeerBook(tmp_path / PEERS_NAME)
    good = "/ip4/192.0.2.1/tcp/4747"
    book.seen("12D3KooWa", ["/dns4/" + "x" * MAX_ADDR_CHARS + "/tcp/1", good])
    assert book.peers["12D3KooWa"].addrs == [good]
