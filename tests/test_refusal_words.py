"""A refused peer's reason reaches people (``lndesk serve``'s "refusing ..." line, the app's
status bar) in their words; the technical reason stays in the log."""

from __future__ import annotations

import re
from pathlib import Path

from lndesk.app.events import PeerPenalised
from lndesk.app.refusals import (
    BY_PROTOCOL_ID,
    KEPT_NOTHING,
    REFUSALS,
    SOMETHING_ELSE,
    shown_reason,
)
from lndesk.cli.network import EventPrinter
from lndesk.keytext import short_key

P2P = Path(__file__).resolve().parent.parent / "lndesk" / "p2p"

DEVELOPER_WORDS = re.compile(
    r"\b(feeds?|payloads?|frames?|seq|gossip|protocol|stream|decode|cbor|rpc|session|"
    r"chain|entry|entries|signature)\b",
    re.IGNORECASE,
)

# Where a penalty's reason gets its first words: the names protocols give themselves, a
# client's blame, a literal "NAME: ..." passed to penalise, and stream protocol ids.
_NAMES = (
    re.compile(r'PROTOCOL_NAME = "([^"]+)"'),
    re.compile(r'\bprotocol="([^"]+)"'),
    re.compile(r'\bblame="([^"]+)"'),
    re.compile(r'penalise\(\s*\w+,\s*f?"([^":{]+):'),
)
_PROTOCOL_IDS = re.compile(r'"(/lndesk/[a-z-]+/)\d+"')


def _reason_names() -> set[str]:
    names: set[str] = set()
    for path in P2P.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for pattern in _NAMES:
            names.update(pattern.findall(source))
    return names


def test_every_reason_a_peer_can_be_refused_for_has_user_words() -> None:
    names = _reason_names()
    # the scan finds the protocols people know by now
    assert {"sync", "fetch", "gossip", "inbox notice", "thread fetch"} <= names
    missing = sorted(name for name in names if name not in REFUSALS)
    assert not missing, f"penalty reasons without user words in REFUSALS: {missing}"
    ids = {found for path in P2P.rglob("*.py") for found in _PROTOCOL_IDS.findall(path.read_text())}
    assert "/lndesk/sync/" in ids
    assert not sorted(ids - set(BY_PROTOCOL_ID)), "a protocol id without user words"
    assert set(BY_PROTOCOL_ID.values()) <= set(REFUSALS)


def test_what_people_read_has_no_developer_words() -> None:
    for text in [*REFUSALS.values(), SOMETHING_ELSE]:
        shown = text + KEPT_NOTHING
        assert not DEVELOPER_WORDS.search(shown), shown
        assert shown.startswith("it ")  # follows "refusing KEY for 600 s:"


def test_serve_prints_the_user_words_and_never_the_technical_reason() -> None:
    peer = bytes(range(32))
    technical = "sync: entry 3 of feed lnd1abc has a bad signature (payload hash, seq 3)"
    line = EventPrinter(verbose=False).describe(PeerPenalised(peer, technical, 600))
    assert line == (
        f"refusing {short_key(peer)} for 600 s: it sent posts that fail lndesk's checks "
        "(forged, out of order or too large) while catching up; nothing it sent was kept"
    )
    assert not DEVELOPER_WORDS.search(line.split(": ", 1)[1])


def test_a_stream_that_does_not_decode_is_named_by_what_it_carried() -> None:
    assert shown_reason("/lndesk/thread/1: sent a message that does not decode") == (
        REFUSALS["thread fetch"] + KEPT_NOTHING
    )
    assert shown_reason("/meshsub/1.1.0: sent a message that does not decode").startswith(
        "it announced a new post"
    )
    assert shown_reason("something new: x") == SOMETHING_ELSE + KEPT_NOTHING
