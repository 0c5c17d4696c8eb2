"""Bootstrap peers are bounded: `lndesk network --add-bootstrap`, the Network screen and
a settings file written by hand all keep at most MAX_BOOTSTRAP of them, each of a
length a multiaddr can have, and the refusal's advice works when followed."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import Cli

from lndesk.app.addresses import MAX_ADDRESS_CHARS, MAX_BOOTSTRAP, check_peer_address
from lndesk.app.datadir import CONFIG_NAME, Config
from lndesk.app.desk_events import AnyEvent
from lndesk.app.desk_naming import Naming
from lndesk.app.desk_network import Network
from lndesk.app.desk_publish import NodeLink
from lndesk.app.service import Service, create_identity
from lndesk.cli.network import serve_bootstrap
from lndesk.errors import AddressError, UsageError

PEER = "12D3KooWMbbPVGsZYh3ChQjue712NHHGNybRRXwnuSpezYjGbCDS"


def address(port: int) -> str:
    return f"/ip4/192.0.2.7/tcp/{port}/p2p/{PEER}"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    create_identity(tmp_path / "ann")
    return tmp_path / "ann"


@pytest.fixture
def network(data_dir: Path) -> Iterator[Network]:
    events: list[AnyEvent] = []
    with Service(data_dir) as service:
        yield Network(service, NodeLink(), Naming(service.reader, service.local), events.append)


def test_network_add_past_the_limit_is_refused_with_advice_that_works(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Config(bootstrap=[address(1000 + i) for i in range(MAX_BOOTSTRAP)]).save(data_dir / CONFIG_NAME)
    cli = Cli(data_dir, capsys)
    cli("network", "--add-bootstrap", address(9), expect=1)
    assert f"at most {MAX_BOOTSTRAP}" in cli.err
    assert len(Config.load(data_dir / CONFIG_NAME).bootstrap) == MAX_BOOTSTRAP  # unchanged
    # The advice: see them with `lndesk network`, remove one with --remove-bootstrap.
    assert "lndesk network lists them" in cli.err
    assert "lndesk network --remove-bootstrap MULTIADDR removes one" in cli.err
    listed = re.findall(r"^  (/\S+)$", cli("network"), re.MULTILINE)
    assert len(listed) == MAX_BOOTSTRAP
    cli("network", "--remove-bootstrap", listed[-1])
    out = cli("network", "--add-bootstrap", address(9))
    assert address(9) in out and f"bootstrap peers: {MAX_BOOTSTRAP}" in out


def test_several_adds_at_once_are_counted_together(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Config(bootstrap=[address(1000 + i) for i in range(MAX_BOOTSTRAP - 1)]).save(
        data_dir / CONFIG_NAME
    )
    cli = Cli(data_dir, capsys)
    cli("network", "--add-bootstrap", address(1), "--add-bootstrap", address(2), expect=1)
    assert len(Config.load(data_dir / CONFIG_NAME).bootstrap) == MAX_BOOTSTRAP - 1
    cli("network", "--add-bootstrap", address(1000), "--add-bootstrap", address(2))  # one new


def test_the_network_screen_refuses_more_than_the_limit(network: Network, data_dir: Path) -> None:
    wanted = [address(1000 + i) for i in range(MAX_BOOTSTRAP + 1)]
    with pytest.raises(UsageError, match=f"at most {MAX_BOOTSTRAP}"):
        network.save(4747, wanted, True)
    assert not (data_dir / CONFIG_NAME).exists()
    network.save(4747, wanted[:MAX_BOOTSTRAP], True)
    assert len(Config.load(data_dir / CONFIG_NAME).bootstrap) == MAX_BOOTSTRAP


def test_a_settings_file_with_countless_bootstrap_peers_is_read_up_to_the_limit(
    data_dir: Path,
) -> None:
    planted = [address(i % 65536) for i in range(10_000)]
    (data_dir / CONFIG_NAME).write_text(json.dumps({"bootstrap": planted}))
    assert Config.load(data_dir / CONFIG_NAME).bootstrap == planted[:MAX_BOOTSTRAP]


def test_a_bootstrap_address_longer_than_any_multiaddr_is_left_out(data_dir: Path) -> None:
    long = "/dns4/" + "a" * 500_000 + f"/tcp/1/p2p/{PEER}"
    (data_dir / CONFIG_NAME).write_text(json.dumps({"bootstrap": [long, address(1)]}))
    assert Config.load(data_dir / CONFIG_NAME).bootstrap == [address(1)]


def test_a_typed_address_longer_than_any_multiaddr_is_refused_without_echoing_it() -> None:
    long = "/dns4/" + "a" * 500_000 + f"/tcp/1/p2p/{PEER}"
    with pytest.raises(AddressError) as refused:
        check_peer_address(long)
    assert f"at most {MAX_ADDRESS_CHARS}" in refused.value.message
    assert len(str(refused.value)) < 2000
    check_peer_address(address(1))


def test_serve_counts_its_bootstrap_arguments_with_the_settings_files(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kept = [address(1000 + i) for i in range(MAX_BOOTSTRAP)]
    with pytest.raises(UsageError, match=f"at most {MAX_BOOTSTRAP}"):
        serve_bootstrap(kept, [address(9)])  # first: without the check, serve would run
    Config(bootstrap=kept).save(data_dir / CONFIG_NAME)
    cli = Cli(data_dir, capsys)
    cli("serve", "--port", "0", "--no-mdns", "--bootstrap", address(9), expect=1)
    assert f"{MAX_BOOTSTRAP + 1} bootstrap peers are more than lndesk keeps" in cli.err
    assert "lndesk network --remove-bootstrap MULTIADDR removes one" in cli.err
    assert serve_bootstrap(kept, [kept[0]]) == tuple(kept)  # one already kept: no more
    # The advice, followed: one removed from the settings file leaves room for it.
    cli("network", "--remove-bootstrap", kept[-1])
    left = Config.load(data_dir / CONFIG_NAME).bootstrap
    assert serve_bootstrap(left, [address(9)]) == (*kept[:-1], address(9))
