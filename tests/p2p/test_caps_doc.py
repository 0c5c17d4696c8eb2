"""The limits and caps docs/protocol.md states are the ones the code applies.

The tables of section 20.8 (limits and caps per message), of section 24.1 (limits per
address; its connections per address are ``NodeConfig``'s) and the caps of sections
20.12 (fork proofs), 20.15 (digests) and 20.16 (visits), and those the text of
sections 29.1 (inbox catch-up), 31.1 (profile lookup) and 32.1 (thread fetch, both
versions) states, are read from the document and compared
with ``Limits``' defaults and the caps the frames are scanned against, so that neither
changes without the other.
"""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from lndesk.cbor_scan import ScanLimits
from lndesk.p2p import redial
from lndesk.p2p.config import (
    CONNECTIONS_PER_IP_SHARE,
    MIN_CONNECTIONS_PER_IP,
    Limits,
    NodeConfig,
)
from lndesk.p2p.forks import FORKS_CAPS
from lndesk.p2p.frame_caps import (
    CATCHUP_CAPS,
    MAX_BATCH_ITEMS,
    MAX_FRAME,
    PROFILE_CAPS,
    SERVER_RECEIVES,
    SYNC_CAPS,
    THREAD_CAPS,
    THREAD_MARKS_CAPS,
    UNKNOWN,
    VISIT_CAPS,
    max_body,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
CAPS_HEADER = ["Message", "Largest body (bytes)", "Most data items", "Longest string (bytes)"]


def section(number: str) -> str:
    """The text of section ``number`` (its heading up to the next of its level or
    above)."""
    text = DOC.read_text(encoding="utf-8")
    start = re.search(rf"^(#+) {re.escape(number)} ", text, re.MULTILINE)
    assert start is not None, f"no section {number} in docs/protocol.md"
    level = len(start.group(1))
    end = re.compile(rf"^#{{1,{level}}} ", re.MULTILINE).search(text, start.end())
    return text[start.start() : end.start() if end else len(text)]


def tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """Each markdown table of ``text``: its header cells and its rows' cells."""
    found: list[tuple[list[str], list[list[str]]]] = []
    lines: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            lines.append(line)
            continue
        if lines:
            cells = [[c.strip() for c in row.strip().strip("|").split("|")] for row in lines]
            found.append((cells[0], cells[2:]))
            lines = []
    return found


def table(text: str, header: list[str]) -> list[list[str]]:
    (rows,) = [rows for head, rows in tables(text) if head[: len(header)] == header]
    return rows


def names(cell: str) -> list[str]:
    """The names in backticks of a cell (`get`, `ack`, `done`)."""
    return re.findall(r"`([^`]+)`", cell)


def number(cell: str) -> float:
    """The first number of a cell ("2097152 bytes (2 MiB)", "60 s", "`max_frame`
    (2097152)"); a cell naming only ``max_frame`` is it."""
    found = re.search(r"(?<![\w.])(\d+(?:\.\d+)?)", cell)
    if found is None:
        assert names(cell) == ["max_frame"], f"no number in {cell!r}"
        return MAX_FRAME
    return float(found.group(1))


def caps(row: list[str]) -> ScanLimits:
    return ScanLimits(
        max_bytes=int(number(row[1])), max_items=int(number(row[2])), max_string=int(number(row[3]))
    )


def check_limits(rows: list[list[str]]) -> set[str]:
    """Compare each row's default with ``Limits``'; the names compared."""
    defaults = Limits()
    known = {f.name for f in fields(Limits)}
    compared = set()
    for row in rows:
        name = row[0].strip("`")
        if name == "batch size":
            assert number(row[1]) == MAX_BATCH_ITEMS, row
            continue
        assert name in known, f"docs/protocol.md names a limit Limits has not: {name}"
        assert number(row[1]) == getattr(defaults, name), row
        compared.add(name)
    return compared


def test_the_sync_limits_table_is_limits_defaults() -> None:
    rows = table(section("20.8"), ["Limit", "Default", "Enforced by", "Meaning"])
    compared = check_limits(rows)
    assert {"max_frame", "request_entries", "send_timeout", "turns_per_ip"} <= compared


def test_the_limits_per_address_table_is_limits_defaults() -> None:
    rows = table(section("24.1"), ["Limit", "Default", "Meaning"])
    (connections,) = [row for row in rows if row[0] == "`connections_per_ip`"]
    rows.remove(connections)
    compared = check_limits(rows)
    assert compared == {
        "max_sessions",
        "sessions_per_ip",
        "sessions_per_site",
        "new_ids_per_ip",
        "ip_feeds_per_minute",
        "ip_entries_per_minute",
    }
    (new_ids,) = [row for row in rows if row[0] == "`new_ids_per_ip`"]
    window = re.search(r"`new_id_seconds` \((\d+) s\)", new_ids[1])
    assert window is not None and float(window.group(1)) == Limits().new_id_seconds


def test_the_sync_caps_table_is_the_caps_frames_are_scanned_against() -> None:
    rows = table(section("20.8"), CAPS_HEADER)
    documented = set()
    for row in rows:
        if row[0].startswith("any other"):
            assert caps(row) == UNKNOWN, row
            continue
        for name in names(row[0]):
            assert caps(row) == SYNC_CAPS[name], row
            documented.add(name)
    # The digest messages have the caps of `get` (section 20.15).
    assert "the caps of `get`, section 20.8" in section("20.15")
    for name in ("digest", "same", "differs"):
        assert SYNC_CAPS[name] == SYNC_CAPS["get"]
        documented.add(name)
    assert documented == set(SYNC_CAPS)


@pytest.mark.parametrize(
    ("number_", "code"), [("20.12", FORKS_CAPS), ("20.16", VISIT_CAPS)], ids=["forks", "visit"]
)
def test_the_caps_tables_of_other_protocols_are_theirs(
    number_: str, code: dict[str, ScanLimits]
) -> None:
    rows = table(section(number_), CAPS_HEADER)
    assert {name for row in rows for name in names(row[0])} == set(code)
    for row in rows:
        for name in names(row[0]):
            assert caps(row) == code[name], row


def test_the_item_caps_are_the_largest_legal_messages_plus_the_slack() -> None:
    text = " ".join(section("20.8").split())
    sums = re.search(
        r"The item caps are those of the largest legal message \((.+?)\) plus (\d+)", text
    )
    assert sums is not None
    slack = int(sums.group(2))
    for term in sums.group(1).split(", "):
        found = re.fullmatch(r"(\d+) \+ (\d+) \u00d7 (\d+) for `(\w+)`", term)
        assert found is not None, term
        fixed, per, count, name = found.groups()
        assert int(fixed) + int(per) * int(count) + slack == SYNC_CAPS[name].max_items, term
    assert "batch` | `max_frame` (2097152)" in section("20.8")


def test_the_server_refuses_what_the_document_says_from_the_length_prefix() -> None:
    text = " ".join(section("20.8").split())
    said = re.search(r"refuses a frame longer than (\d+) bytes from its length prefix", text)
    assert said is not None and int(said.group(1)) == max_body(SERVER_RECEIVES)


STATED = re.compile(
    r"`(\w+)` at most (\d+) bytes, (\d+) data items"
    r"(?: \((?:[^()]|\([^()]*\))*\))? and strings of (\d+) bytes"
)
"""A cap stated in the text; the sum after the items may hold one level of brackets."""


def stated_caps(text: str) -> dict[str, ScanLimits]:
    """The caps a paragraph states ("`refs` at most 65536 bytes, 2045 data items (...)
    and strings of 64 bytes; `error` as in section 20.8")."""
    text = " ".join(text.split())
    found = {
        name: ScanLimits(max_bytes=int(size), max_items=int(items), max_string=int(string))
        for name, size, items, string in STATED.findall(text)
    }
    if "`error` as in section 20.8" in text:
        found["error"] = SYNC_CAPS["error"]
    return found


@pytest.mark.parametrize(
    ("number_", "code"),
    [("29.1", CATCHUP_CAPS), ("31.1", PROFILE_CAPS)],
    ids=["catch-up", "profile"],
)
def test_the_caps_stated_in_the_text_are_theirs(number_: str, code: dict[str, ScanLimits]) -> None:
    assert stated_caps(section(number_)) == code


def test_the_caps_of_both_thread_versions_are_theirs() -> None:
    first, second = section("32.1").split("The caps of version 2", 1)
    assert stated_caps(first) == THREAD_CAPS
    assert stated_caps(second.split("\n\n", 1)[0]) == THREAD_MARKS_CAPS


def test_the_connections_per_address_row_is_the_configs() -> None:
    rows = table(section("24.1"), ["Limit", "Default", "Meaning"])
    (row,) = [row for row in rows if row[0] == "`connections_per_ip`"]
    said = re.fullmatch(
        r"`max_connections` / (\d+), at least (\d+): (\d+) of a desktop's (\d+), "
        r"(\d+) of an always-on node's (\d+)",
        row[1],
    )
    assert said is not None, row
    desktop, always_on = NodeConfig(), NodeConfig().always_on()
    assert [int(n) for n in said.groups()] == [
        CONNECTIONS_PER_IP_SHARE,
        MIN_CONNECTIONS_PER_IP,
        desktop.inbound_per_ip(),
        desktop.max_connections,
        always_on.inbound_per_ip(),
        always_on.max_connections,
    ]
    assert NodeConfig(max_connections=8).inbound_per_ip() == MIN_CONNECTIONS_PER_IP


def test_the_redial_bounds_stated_in_section_19_are_the_codes() -> None:
    said = re.search(
        r"At most ([\d,]+)\s+lost peers wait to be dialled again .*?at most (\d+) dials run "
        r"at once, and a node remembers at\s+most ([\d,]+) peers as dialled",
        section("19."),
        re.DOTALL,
    )
    assert said is not None, "section 19 no longer states the redial bounds"
    stated = [int(n.replace(",", "")) for n in said.groups()]
    assert stated == [redial.MAX_PENDING, redial.DIALS_AT_ONCE, redial.MAX_DIALLED]
