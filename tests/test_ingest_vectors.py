"""The stateful vectors of sections 7 and 8 (tests/vectors/ingest.json), run through
the real store: the stored batches first, then the received batch, then the outcome
and the feed's state, on disk and after reopening."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from vector_reading import b, hx, load, params

from lndesk import errors
from lndesk.batch import MAX_BATCH, check_batch
from lndesk.store.store import Store

INGEST = load("ingest.json")
FEED = hx(INGEST["feed"])
RECEIVED_MS = 1_767_229_200_000  # after every claimed time of the vectors


def items(doc: list[list[str | None]]) -> list[tuple[bytes, bytes | None]]:
    return [(hx(entry or ""), b(payload)) for entry, payload in doc]


def check_state(store: Store, vector: dict[str, Any]) -> None:
    state = store.feed_state(FEED)
    assert (state.height, state.max_seq, state.forked_at) == (
        vector["height"],
        vector["max_seq"],
        vector["forked_at"],
    )


def test_the_vectors_cover_every_outcome() -> None:
    outcomes = {v["outcome"] for v in INGEST["vectors"]}
    assert outcomes == {
        "stored",
        "fork",
        "ChainError",
        "SignatureError",
        "PayloadError",
        "ForkedFeedError",
    }


@pytest.mark.parametrize("vector", params(INGEST["vectors"]))
def test_ingest_vector(tmp_path: Path, vector: dict[str, Any]) -> None:
    with Store(tmp_path / "data") as store:
        for part in vector["stored"]:
            store.ingest(FEED, items(part), RECEIVED_MS)
        before = store.index.count_entries()
        batch = items(vector["batch"])
        outcome = vector["outcome"]
        if outcome in ("stored", "fork"):
            result = store.ingest(FEED, batch, RECEIVED_MS)
            assert result.stored == vector["new"]
            assert result.duplicates == vector["duplicates"]
            assert result.fork_at == vector["forked_at"]
            assert (outcome == "fork") == (result.fork_at is not None)
        else:
            with pytest.raises(errors.LndeskError) as caught:
                store.ingest(FEED, batch, RECEIVED_MS)
            assert type(caught.value) is getattr(errors, outcome), caught.value
        assert store.index.count_entries() == before + vector["new"]
        check_state(store, vector)
    with Store(tmp_path / "data") as store:  # what was stored is on disk
        check_state(store, vector)


def test_the_entry_cap_comes_before_any_entry_is_decoded(tmp_path: Path) -> None:
    """Section 20.6, step 3: more than 10000 items is a SizeError, whatever they hold,
    on a worker thread (check_batch) as in the store."""
    garbage = [(b"\x00", None)] * (MAX_BATCH + 1)
    with pytest.raises(errors.SizeError, match="10001 entries"):
        check_batch(FEED, garbage)
    with Store(tmp_path / "data") as store, pytest.raises(errors.SizeError, match="10001"):
        store.ingest(FEED, garbage, RECEIVED_MS)
    with pytest.raises(errors.DecodeError):  # one fewer: the entries are looked at
        check_batch(FEED, garbage[:MAX_BATCH])
