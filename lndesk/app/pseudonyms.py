"""Asking under a pseudonym, and revealing one (docs/protocol.md 10.13, README "Pseudonyms").

A pseudonym is a second identity kept in the same data directory: its key file under
``pseudonyms/NAME.key`` (:mod:`lndesk.pseudonyms`), its log in the same store as every
other feed. It is created on first use with one entry, a profile carrying only its name;
it follows nobody and none of its entries names the main identity (nor the reverse),
until the main identity publishes a ``reveal``.

Its key file is sealed with the main key's passphrase when the main key is sealed (the
passphrase is checked against the main key first, so one passphrase opens both), and
plain when the main key is plain: a pseudonym is not better protected at rest than the
identity it hides. The passphrase is asked only when a secret key is needed: to create
a pseudonym, to publish as one, to reveal one.

The node (:class:`lndesk.app.node.AppNode`) serves the pseudonyms' feeds, subscribes to
their announcements and inbox topics, and keeps what is addressed to them like what is
addressed to the owner, so answers come back to the same app.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lndesk.app.action_args import optional_text_arg, text_arg, text_list_arg
from lndesk.app.requests import journaled_publish
from lndesk.app.service import Service
from lndesk.content import Post, Profile, Reveal
from lndesk.entry import Entry
from lndesk.errors import KeyFileError, LndeskError, NoIdentityError, UsageError
from lndesk.identity import Identity
from lndesk.keyfile import (
    decode_key_file,
    encode_key_file,
    is_sealed,
    public_key_of,
    read_key_file,
    write_key_file,
)
from lndesk.keytext import key_to_link, key_to_text
from lndesk.pseudonyms import (
    check_name,
    key_path,
    names_in,
    reveal_proof,
)
from lndesk.store import views
from lndesk.store.reveals import revealed_by
from lndesk.store.space import disk_full_error

log = logging.getLogger(__name__)

WHAT_IT_HIDES = (
    "A pseudonym is a second identity with its own key, its own log and only the name you "
    "give it. No entry of yours names it and none of its entries names you, so a reader of "
    "the two logs cannot tell from what they say that they are one person."
)
WHAT_IT_DOES_NOT_HIDE = (
    "It does not hide you from the network: this computer serves and announces both logs "
    "under the same peer id and addresses (and the DHT's provider records), and asks the "
    "peers it meets for the replies to both, so anyone who watches the network, and every "
    "peer it asks, can see one node behind both; questions published while you "
    "are online, or right after your own posts, can be linked by their timing; and what "
    "you write (style, topics, details) can give you away. Use it to ask without your name "
    "on the question, not to hide from someone who watches the network."
)


def needs_passphrase(data_dir: Path, name: str) -> bool:
    """Whether using pseudonym ``name`` (or creating it) needs the passphrase."""
    path = key_path(data_dir, name)
    if path.exists():
        return is_sealed(read_key_file(path))
    try:
        return is_sealed(read_key_file(data_dir / "key"))
    except FileNotFoundError:
        raise NoIdentityError(f"no identity in {data_dir}") from None


def unlock(service: Service, name: str, passphrase: str | None) -> Identity | None:
    """Pseudonym ``name``'s identity, or None if there is none yet."""
    path = key_path(service.data_dir, name)
    try:
        data = read_key_file(path)
    except FileNotFoundError:
        return None
    identity = decode_key_file(data, passphrase)
    if identity.public_key == service.public_key:
        raise KeyFileError(f"the pseudonym {name} holds your main key: it hides nothing")
    return identity


def create(service: Service, name: str, passphrase: str | None) -> Identity:
    """Make pseudonym ``name``: a new key (sealed like the main one) and its profile."""
    check_name(name)
    main = read_key_file(service.key_path)
    seal = None
    if is_sealed(main):
        service.check_passphrase(passphrase)  # the main key's passphrase, or an error
        seal = passphrase
    identity = Identity.generate()
    path = key_path(service.data_dir, name)
    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        write_key_file(path, encode_key_file(identity, seal))
    except OSError as exc:  # nothing was made: atomic, the key file is whole or absent
        raise disk_full_error(service.data_dir, exc) or KeyFileError(
            f"cannot write the key file {path}: {exc.strerror}",
            "Check that you may write to the data directory and that its disk works.",
        ) from exc
    service.store.publish(identity, Profile(name))
    log.info("created a pseudonym")
    return identity


def ask(
    service: Service,
    name: str,
    text: str,
    *,
    tags: Sequence[str] = (),
    links: Sequence[str] = (),
    passphrase: str | None = None,
) -> tuple[Identity, Entry, bool]:
    """Publish question ``text`` as pseudonym ``name`` (made on first use): the
    pseudonym, the question's entry, and whether the pseudonym was just created."""
    identity = unlock(service, name, passphrase)
    created = identity is None
    if identity is None:
        identity = create(service, name, passphrase)
    elif service.store.feed_state(identity.public_key).height == 0:
        # Its key file was made, but its profile not stored (a full disk, a stop between
        # the two): the profile comes first, as when it is made.
        service.store.publish(identity, Profile(name))
        created = True
    question = Post(text, tuple(tags), tuple(links), (), True)
    # Exactly-once through the node like the own log's publishes (the new pseudonym's
    # profile above is not the request's entry: a retry finds the pseudonym made).
    entry = journaled_publish(service.store, identity, question, service.publishing_request)
    return identity, entry, created


def reveal(service: Service, name: str, passphrase: str | None = None) -> tuple[bytes, Entry]:
    """Publish, as the main identity, that pseudonym ``name`` is mine: the pseudonym's
    key and its signature of my key (it cannot be taken back: readers have seen it)."""
    identity = unlock(service, name, passphrase)
    if identity is None:
        raise UsageError(
            f"there is no pseudonym called {name} here",
            "Run lndesk pseudonym list to see the pseudonyms kept here.",
        )
    content = Reveal(identity.public_key, reveal_proof(identity, service.public_key))
    return identity.public_key, service.publish(content)


def listed(service: Service) -> list[dict[str, Any]]:
    """The pseudonyms kept here: name (as its profile says), key, share link, how many
    entries each has, whether I revealed it, and the name of its key file."""
    found: list[dict[str, Any]] = []
    revealed = set(revealed_by(service.store, service.public_key))
    for name in names_in(service.data_dir):
        try:
            key = public_key_of(read_key_file(key_path(service.data_dir, name)))
        except (LndeskError, OSError) as exc:
            found.append({"name": name, "problem": str(exc)})
            continue
        profile = views.profile_entry(service.store, key)
        shown = name
        if profile is not None and isinstance(profile.content, Profile):
            shown = profile.content.name
        found.append(
            {
                "name": shown,
                "key": key_to_text(key),
                "link": key_to_link(key, shown),
                "entries": service.store.feed_state(key).height,
                "revealed": key in revealed,
                "file": name,
            }
        )
    return found


# --- actions (run here, or in the node that holds the data directory) ----------------


def act_ask(service: Service, args: dict[str, Any]) -> dict[str, Any]:
    """``lndesk ask --pseudonym NAME TEXT``."""
    identity, entry, created = ask(
        service,
        text_arg(args, "pseudonym"),
        text_arg(args, "text"),
        tags=text_list_arg(args, "tags"),
        links=text_list_arg(args, "links"),
        passphrase=optional_text_arg(args, "passphrase"),
    )
    return {
        "id": entry.id.hex(),
        "seq": entry.seq,
        "key": key_to_text(identity.public_key),
        "link": key_to_link(identity.public_key, text_arg(args, "pseudonym")),
        "created": created,
    }


def act_reveal(service: Service, args: dict[str, Any]) -> dict[str, Any]:
    """``lndesk pseudonym reveal NAME``."""
    key, entry = reveal(service, text_arg(args, "name"), optional_text_arg(args, "passphrase"))
    return {"id": entry.id.hex(), "seq": entry.seq, "key": key_to_text(key)}


def act_list(service: Service, _args: dict[str, Any]) -> dict[str, Any]:
    """``lndesk pseudonym list``."""
    return {"pseudonyms": listed(service)}
