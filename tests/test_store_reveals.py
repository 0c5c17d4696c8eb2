"""Which reveals count in the index, and whose pseudonym a key is shown as
(docs/protocol.md 10.13, lndesk.store.reveals), whatever order the entries came in."""

from __future__ import annotations

from pathlib import Path

from store_helpers import make_identity

from lndesk.content import Post, Profile, Reveal, Tombstone
from lndesk.entry_refs import ref_of
from lndesk.identity import Identity
from lndesk.names import MAX_NAME_CHARS, clean_name
from lndesk.pseudonyms import attributed_name, attribution, owner_name, reveal_proof
from lndesk.store.reveals import revealed_by, revealer
from lndesk.store.store import Store

ANN, BO, FOX, OWL = (make_identity(n) for n in (41, 42, 50, 51))


def reveal(
    store: Store, owner: Identity, pseudonym: Identity, signer: Identity | None = None
) -> None:
    """``owner`` reveals ``pseudonym``, with the proof ``signer`` (the pseudonym) made."""
    proof = reveal_proof(signer or pseudonym, owner.public_key)
    store.publish(owner, Reveal(pseudonym.public_key, proof))


def test_a_reveal_attributes_the_pseudonym_whether_it_came_before_or_after(tmp_path: Path) -> None:
    with Store(tmp_path / "data") as store:
        reveal(store, ANN, FOX)  # before anything of the pseudonym is held
        assert revealer(store, FOX.public_key) == ANN.public_key
        store.publish(FOX, Profile("curious-fox"))
        store.publish(FOX, Post("Why is the sky blue?", question=True))
        store.publish(OWL, Post("Owl's first."))
        reveal(store, ANN, OWL)  # after
        assert revealer(store, FOX.public_key) == ANN.public_key
        assert revealer(store, OWL.public_key) == ANN.public_key
        assert revealed_by(store, ANN.public_key) == sorted([FOX.public_key, OWL.public_key])
        assert revealer(store, ANN.public_key) is None
        assert revealed_by(store, BO.public_key) == []


def test_a_reveal_whose_proof_fails_or_names_the_author_counts_for_nothing(
    tmp_path: Path,
) -> None:
    with Store(tmp_path / "data") as store:
        reveal(store, ANN, FOX, signer=ANN)  # Ann signed it herself: not the pseudonym's
        proof_for_bo = reveal_proof(FOX, BO.public_key)
        store.publish(ANN, Reveal(FOX.public_key, proof_for_bo))  # Bo's proof, Ann's entry
        reveal(store, ANN, ANN)  # oneself
        assert revealer(store, FOX.public_key) is None
        assert revealer(store, ANN.public_key) is None
        assert revealed_by(store, ANN.public_key) == []


def test_a_key_that_signed_proofs_for_two_people_is_nobodys_pseudonym(tmp_path: Path) -> None:
    with Store(tmp_path / "data") as store:
        reveal(store, ANN, FOX)
        assert revealer(store, FOX.public_key) == ANN.public_key
        reveal(store, BO, FOX)  # the pseudonym's key signed for Bo too
        assert revealer(store, FOX.public_key) is None
        assert revealed_by(store, ANN.public_key) == revealed_by(store, BO.public_key) == []


def test_a_main_identity_is_never_shown_as_someone_elses_pseudonym(tmp_path: Path) -> None:
    """Bo revealed a pseudonym of his own, so he is a main identity: a reveal of Bo by
    Ann counts for nothing, even with Bo's signature (attribution is one step)."""
    with Store(tmp_path / "data") as store:
        reveal(store, ANN, BO)
        assert revealer(store, BO.public_key) == ANN.public_key
        reveal(store, BO, OWL)
        assert revealer(store, OWL.public_key) == BO.public_key
        assert revealer(store, BO.public_key) is None
        assert revealed_by(store, ANN.public_key) == []


def test_a_deleted_reveal_still_counts_and_survives_a_reindex(tmp_path: Path) -> None:
    directory = tmp_path / "data"
    with Store(directory) as store:
        store.publish(FOX, Profile("curious-fox"))
        proof = reveal_proof(FOX, ANN.public_key)
        entry = store.publish(ANN, Reveal(FOX.public_key, proof))
        store.publish(ANN, Tombstone(ref_of(entry)))
        assert revealer(store, FOX.public_key) == ANN.public_key
        store.reindex()
        assert revealer(store, FOX.public_key) == ANN.public_key
    with Store(directory, reindex=True) as store:
        assert revealed_by(store, ANN.public_key) == [FOX.public_key]


def test_a_reveal_synced_with_its_tombstone_still_counts(tmp_path: Path) -> None:
    """A reader that gets Ann's log after she deleted her reveal (one batch, or the
    tombstone first) keeps the reveal's payload and its effect (10.13)."""
    with Store(tmp_path / "ann") as ann:
        ann.publish(ANN, Profile("Ann"))
        entry = ann.publish(ANN, Reveal(FOX.public_key, reveal_proof(FOX, ANN.public_key)))
        ann.publish(ANN, Tombstone(ref_of(entry)))
        chain = ann.read_run(ANN.public_key, 1, 3, 10, 1 << 20)
    items = [(raw, payload) for _seq, raw, payload in chain]
    with Store(tmp_path / "cy") as cy:
        cy.ingest(ANN.public_key, items)
        assert revealer(cy, FOX.public_key) == ANN.public_key
    with Store(tmp_path / "di") as di:
        di.ingest(ANN.public_key, items[2:])  # the tombstone first (newest-first sync)
        di.ingest(ANN.public_key, items[:2])
        assert revealer(di, FOX.public_key) == ANN.public_key
        assert di.read_run(ANN.public_key, 2, 2, 1, 1 << 20)[0][2] is not None


def test_an_attributed_name_keeps_the_pseudonyms_name_in_the_line() -> None:
    assert attributed_name("Ann Lee", "curious-fox") == "Ann Lee (as curious-fox)"
    assert attributed_name("Ann", None) == "Ann (as a pseudonym)"
    assert attributed_name(None, "curious-fox") == "someone (as curious-fox)"
    long = attributed_name("A" * 200, "f" * 200)
    assert len(long) <= MAX_NAME_CHARS and long.endswith(f" (as {'f' * 23}…)")
    # No cleaned name can end like an attribution: cleaning takes it off again, and
    # the app draws the attribution apart from the (cleaned) owner's name.
    for name in ("Ann (you)", "Ann\u202e", "lnd1abcdefgh", "Ann (as curious-fox)"):
        shown = attributed_name(name, "curious-fox")
        assert shown.endswith(" (as curious-fox)") and shown.count("(as ") == 1
        assert clean_name(shown) == owner_name(name) and "(as " not in clean_name(shown)
        assert attribution("curious-fox (as x)\u202e") == "as curious-fox"
