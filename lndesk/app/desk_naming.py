"""How the desk names and pictures a person: my nickname for them, else their own name.

Every list the desk answers shows people; this is the one place that decides what a
person is called and which avatar goes with them, so a post, a peer and the following
list always agree. A pseudonym its owner revealed is called by the owner's name. The
commands name authors through the same rules (:class:`ShownNames`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from lndesk.app.local import LocalState
from lndesk.content import Profile
from lndesk.names import display_name
from lndesk.pseudonyms import attributed_name, attribution, owner_name
from lndesk.store import views
from lndesk.store.reading import StoreReader
from lndesk.store.reveals import revealed_by, revealer


class Naming:
    """Names and avatars of people, with the avatar read once per profile change.

    It reads profiles from the store's read side (``StoreReader``), not through
    :class:`~lndesk.app.service.Service`: a name is a bounded index lookup with no
    invariant to keep, and the read-only type means nothing here can write around it.
    """

    def __init__(self, reader: StoreReader, local: LocalState) -> None:
        self._reader = reader
        self._local = local
        self._avatars: dict[bytes, tuple[int, bytes]] = {}

    def name(self, key: bytes, chosen: str | None, hint: str | None = None) -> str:
        """What to call ``key`` here: my nickname for them; else, for a pseudonym its
        owner revealed, the owner's name and its own ("Ann (as curious-fox)",
        docs/protocol.md 10.13); else their cleaned chosen name (else the share link's
        hint, else their short key)."""
        return self.given(key, chosen or hint) or display_name(chosen, key, hint)

    def given(self, key: bytes, chosen: str | None) -> str | None:
        """The name :meth:`name` gives ``key`` when it is not their own: my nickname for
        them, or for a revealed pseudonym (``chosen`` its own name) its owner's; None
        when they are called by their own name."""
        name, owner = self._called(key)
        return attributed_name(owner, chosen) if owner is not None else name

    def given_parts(self, key: bytes, chosen: str | None) -> tuple[str | None, str]:
        """:meth:`given` in two parts, for a view that draws them apart: the name (None
        when they are called by their own) and, for a revealed pseudonym, what is said
        of it beside its owner's name ("as curious-fox"; "" for anyone else). Drawn as
        its own element, the attribution cannot be imitated by a name."""
        name, owner = self._called(key)
        if owner is not None:
            return owner_name(owner), attribution(chosen)
        return name, ""

    def _called(self, key: bytes) -> tuple[str | None, str | None]:
        """(my nickname for ``key``, the name of whoever revealed ``key`` as theirs, not
        yet cleaned: my nickname for them, else their chosen name, "" if none): at most
        one of the two is not None. Each is cleaned once, where it is shown."""
        nicknames = self._local.nicknames()
        nickname = nicknames.get(key)
        if nickname:
            return nickname, None
        owner = revealer(self._reader, key)
        if owner is None:
            return None, None
        return None, nicknames.get(owner) or self._reader.feed_state(owner).name or ""

    def revealed(self, key: bytes) -> list[tuple[bytes, str]]:
        """The pseudonyms ``key`` revealed and that are shown as theirs, with each one's
        own name (its short key if it has none)."""
        return [
            (pseudonym, display_name(self._reader.feed_state(pseudonym).name, pseudonym))
            for pseudonym in revealed_by(self._reader, key)
        ]

    def chosen(self, key: bytes, chosen: str | None, hint: str | None = None) -> str:
        """Their own name, shown beside my nickname for them ("" if I gave them none)."""
        if key not in self._local.nicknames():
            return ""
        return display_name(chosen, key, hint)

    def name_of(self, key: bytes) -> str:
        """What to call ``key`` here, from their stored profile."""
        return self.name(key, self._reader.feed_state(key).name)

    def avatar(self, key: bytes) -> bytes:
        """``key``'s avatar as their latest profile has it (b"": none)."""
        profile = views.profile_entry(self._reader, key)
        if profile is not None and isinstance(profile.content, Profile):
            return profile.content.avatar
        return b""

    def avatar_of(self, key: bytes) -> bytes:
        """The author's avatar, read once per profile change (one object shared by posts)."""
        seq = views.profile_seq(self._reader, key)
        cached = self._avatars.get(key)
        if cached is None or cached[0] != seq:
            cached = (seq, self.avatar(key) if seq else b"")
            self._avatars[key] = cached
        return cached[1]


class ShownNames(Mapping[bytes, str]):
    """What commands call authors, beyond their own names: :meth:`Naming.given` (my
    nickname for them, else, for a pseudonym its owner revealed, the owner's name and its
    own, "Ann (as curious-fox)", docs/protocol.md 10.13). A key with neither is absent (a
    command then shows the name the entry's author chose). Looked up once per key."""

    def __init__(self, reader: StoreReader, local: LocalState) -> None:
        self._reader = reader
        self._naming = Naming(reader, local)
        self._found: dict[bytes, str | None] = {}

    def __getitem__(self, key: bytes) -> str:
        if key not in self._found:
            self._found[key] = self._naming.given(key, self._reader.feed_state(key).name)
        found = self._found[key]
        if found is None:
            raise KeyError(key)
        return found

    def __iter__(self) -> Iterator[bytes]:
        return iter([key for key in self._found if self._found[key] is not None])

    def __len__(self) -> int:
        return sum(1 for name in self._found.values() if name is not None)
