"""Readers act on a reveal (docs/protocol.md 10.13): a pseudonym's entries are shown
under its owner's name, in the app and on the command line, and the owner's entry in
the following list names the pseudonyms they revealed."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import Cli
from store_helpers import make_identity

from lndesk.app.desk import Desk
from lndesk.app.service import Service
from lndesk.content import Post, Profile, Reveal
from lndesk.keytext import key_to_text
from lndesk.pseudonyms import reveal_proof

ANN, FOX, MAL = make_identity(41), make_identity(50), make_identity(52)
IMPOSTOR = make_identity(53)


@pytest.fixture
def cy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Cy's data directory, holding Ann's log (her reveal) and her pseudonym's."""
    cli = Cli(tmp_path / "cy", capsys)
    cli("init", "--name", "Cy")
    with Service(cli.data_dir) as service:
        store = service.store
        store.publish(FOX, Profile("curious-fox"))
        store.publish(FOX, Post("Is it silly to ask why 0.1 + 0.2 is not 0.3?", question=True))
        store.publish(ANN, Profile("Ann"))
        store.publish(ANN, Reveal(FOX.public_key, reveal_proof(FOX, ANN.public_key)))
        # Mal claims the same pseudonym without its signature: it counts for nothing.
        store.publish(MAL, Profile("Mal"))
        store.publish(MAL, Reveal(FOX.public_key, reveal_proof(MAL, MAL.public_key)))
    return cli


def test_the_desk_shows_a_revealed_pseudonyms_posts_under_its_owners_name(cy: Cli) -> None:
    cy("follow", key_to_text(FOX.public_key))
    cy("follow", key_to_text(ANN.public_key))
    with Service(cy.data_dir) as service:
        desk = Desk(service)
        try:
            (question,) = [i for i in desk.reading.page("timeline", None, 20) if i.kind == "post"]
            assert question.author == FOX.public_key
            # The owner's name, and the attribution apart from it (drawn as a tag).
            assert (question.author_name, question.attribution) == ("Ann", "as curious-fox")
            ann = desk.people.author(ANN.public_key)
            assert ann.pseudonyms == ((FOX.public_key, "curious-fox"),)
            assert desk.people.author(MAL.public_key).pseudonyms == ()
            assert desk.people.author(FOX.public_key).name == "Ann (as curious-fox)"
            # A name I gave the pseudonym myself wins, as for anyone.
            desk.people.set_nickname(FOX.public_key, "Fox")
            assert desk.people.author(FOX.public_key).name == "Fox"
            desk.people.set_nickname(FOX.public_key, None)
            desk.people.set_nickname(ANN.public_key, "Mum")
            assert desk.people.author(FOX.public_key).name == "Mum (as curious-fox)"
        finally:
            desk.close()


def test_a_refresh_keeps_a_revealed_pseudonyms_name_apart_from_its_attribution(
    cy: Cli,
) -> None:
    """A list's refresh (``marks_changed``) names a revealed pseudonym's author as the
    first load did: the owner's name, the attribution apart; it once put the attribution
    in the name as well, and the card read "Ann (as curious-fox)" beside its tag."""
    cy("follow", key_to_text(FOX.public_key))
    with Service(cy.data_dir) as service:
        desk = Desk(service)
        try:
            (question,) = desk.reading.page("timeline", None, 20)
            assert desk.items.marks_changed([question]) == []
            desk.people.set_nickname(ANN.public_key, "Mum")
            (renamed,) = desk.items.marks_changed([question])
            assert (renamed.author_name, renamed.attribution) == ("Mum", "as curious-fox")
            assert renamed.shown_name == "Mum (as curious-fox)"
        finally:
            desk.close()


def test_the_command_line_shows_the_owner_and_lists_the_pseudonym(cy: Cli) -> None:
    out = cy("log", "--author", key_to_text(FOX.public_key))
    assert "Ann (as curious-fox)" in out
    assert "question: Is it silly" in out
    cy("follow", key_to_text(ANN.public_key))
    out = cy("following")
    assert f"revealed pseudonym: curious-fox  {key_to_text(FOX.public_key)}" in out
    mal = cy("log", "--author", key_to_text(MAL.public_key))
    assert "its proof does not verify" in mal
    # A reveal does not follow the pseudonym: following Ann brings only Ann.
    with Service(cy.data_dir) as service:
        assert FOX.public_key not in service.store.following(service.public_key)


def test_a_name_cannot_pass_for_a_revealed_pseudonym(cy: Cli) -> None:
    """A stranger who calls themself "Ann (as curious-fox)" is shown as "Ann", with no
    attribution, in the app and on the command line: only a reveal's pseudonym reads
    "Ann (as curious-fox)" in a command's output, a form no cleaned name can take."""
    with Service(cy.data_dir) as service:
        service.store.publish(IMPOSTOR, Profile("Ann (as curious-fox)"))
        service.store.publish(IMPOSTOR, Post("Why does ice sink?", question=True))
    cy("follow", key_to_text(FOX.public_key))
    cy("follow", key_to_text(IMPOSTOR.public_key))
    with Service(cy.data_dir) as service:
        desk = Desk(service)
        try:
            shown = {i.author: i for i in desk.reading.page("timeline", None, 20)}
            fake, real = shown[IMPOSTOR.public_key], shown[FOX.public_key]
            assert (fake.author_name, fake.attribution) == ("Ann", "")
            assert (real.author_name, real.attribution) == ("Ann", "as curious-fox")
            assert desk.people.author(IMPOSTOR.public_key).name == "Ann"
        finally:
            desk.close()
    out = cy("log", "--author", key_to_text(IMPOSTOR.public_key))
    headers = [line for line in out.splitlines() if line and not line.startswith(" ")]
    assert len(headers) == 2 and all("  Ann (lnd1" in line for line in headers)
    assert "(as" not in "".join(headers)
    real = cy("log", "--author", key_to_text(FOX.public_key))
    assert "  Ann (as curious-fox) (lnd1" in real
    lines = cy("questions").splitlines()
    attributed = [line for line in lines if "(as curious-fox)" in line]
    assert len(attributed) == 1 and "Ann (as curious-fox)" in attributed[0]
    (fake_line,) = [line for line in lines if "Ann" in line and "(as" not in line]
    assert fake_line.split()[0] in out  # the stranger's question, under plain "Ann"
