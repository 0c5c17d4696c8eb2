"""My identity: profile, backup words, exporting and importing my log, and a restored
identity's question of how far its own log goes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lndesk.app.desk_events import AnyEvent, LocalChanged
from lndesk.app.desk_publish import NodeLink, Publisher
from lndesk.app.items import IdentityInfo
from lndesk.app.restore import RestoreStatus, confirm_own_log, restore_status
from lndesk.app.service import Service
from lndesk.content import Profile
from lndesk.keyfile import is_sealed, read_key_file
from lndesk.keytext import key_to_link, key_to_text
from lndesk.store import views
from lndesk.store.reading import StoreReader


class Account:
    """This identity as the Identity screen shows and changes it.

    My feed state and profile are read from the store's read side (``StoreReader``),
    not through :class:`~lndesk.app.service.Service`: two index lookups with no invariant
    to keep; backups, imports and the own log's state go through the service.
    """

    def __init__(
        self,
        service: Service,
        reader: StoreReader,
        link: NodeLink,
        publisher: Publisher,
        emit: Callable[[AnyEvent], None],
    ) -> None:
        self._service = service
        self._reader = reader
        self._link = link
        self._publisher = publisher
        self._emit = emit
        self._own = service.public_key

    def identity(self) -> IdentityInfo:
        state = self._reader.feed_state(self._own)
        profile = views.profile_entry(self._reader, self._own)
        avatar = b""
        if profile is not None and isinstance(profile.content, Profile):
            avatar = profile.content.avatar
        service = self._service
        return IdentityInfo(
            key=self._own,
            key_text=key_to_text(self._own),
            link=key_to_link(self._own, state.name),
            name=state.name or "",
            bio=state.bio or "",
            avatar=avatar,
            sealed=is_sealed(read_key_file(service.key_path)),
            can_publish=service.own_log.confirmed,
            restore=None if service.own_log.confirmed else restore_status(service),
        )

    async def set_profile(self, name: str, bio: str, avatar: bytes) -> None:
        await self._publisher.publish(lambda s: s.publish(Profile(name, bio, avatar)))
        self._emit(LocalChanged("profile"))

    async def ask_own_log(self) -> RestoreStatus:
        """A restored identity asks its peers again how far its own log goes."""
        node = self._link.node
        if node is not None and node.survey.active():
            return await node.survey.run()
        return restore_status(self._service)

    def confirm_own_log(self, latest: int) -> RestoreStatus:
        """The user confirmed ``latest`` as their log's last entry: publishing resumes."""
        node = self._link.node
        if node is not None:
            status = node.survey.confirm(latest)
        else:
            status = confirm_own_log(self._service, latest)
        self._emit(LocalChanged("profile"))
        return status

    def backup_words(self, passphrase: str | None = None) -> str:
        """The 24 words; a sealed key file's passphrase must be given again."""
        self._service.check_passphrase(passphrase)
        return self._service.backup_words()

    def export(self, path: Path) -> int:
        return self._service.export(path)

    def import_backup(self, path: Path, *, latest: bool = False) -> int:
        """Bring back this identity's log from a backup file; ``latest`` says nothing was
        published after it, which lets a restored identity publish again."""
        result = self._service.import_backup(path, latest=latest)
        self._emit(LocalChanged("published"))
        self._emit(LocalChanged("profile"))
        return result.ingest.stored
