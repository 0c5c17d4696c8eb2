"""The application service: what the CLI and the desktop app can do with a data dir.

It owns the identity and the store and turns user intentions (post, follow, export)
into entries. It never talks to the network itself; the node will be wired in here.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from lndesk.app.atomlog import keep_atom_file
from lndesk.app.cuts import pause_for_cut_entries
from lndesk.app.datadir import CONFIG_NAME, KEY_NAME, Config
from lndesk.app.importing import ImportResult, ingest_in_batches, read_backup, settle_own_log
from lndesk.app.local import LocalState
from lndesk.app.own_key import (
    PassphraseSource,
    check_passphrase,
    create_identity,
    install_backup_key,
    own_key_file,
    restore_identity,
    unlock,
)
from lndesk.app.ownlog import OWN_LOG_RESTORED, OwnLog, load_own_log, save_own_log
from lndesk.app.requests import RequestJournal, journaled_publish
from lndesk.atomicfile import atomic_write
from lndesk.backup import encode_backup
from lndesk.content import (
    READING_LIST,
    Content,
    Edit,
    Follow,
    ListItem,
    Post,
    Profile,
    ReadingList,
    Reply,
    Share,
    Tombstone,
    Unfollow,
)
from lndesk.content_fields import MAX_MENTIONS
from lndesk.entry import Entry
from lndesk.entry_refs import PostKey, ref_of
from lndesk.errors import (
    ContentError,
    DiskFullError,
    IndexDamagedError,
    LndeskError,
    StoreCorruptError,
    StoreLockedError,
    UsageError,
)
from lndesk.identity import Identity
from lndesk.keyfile import public_key_of, read_key_file
from lndesk.keytext import mentions_in, parse_key_or_link
from lndesk.names import clean_nickname
from lndesk.pseudonyms import PseudonymKeys
from lndesk.search_query import SearchQuery
from lndesk.store import views
from lndesk.store.index import FeedState
from lndesk.store.questions import QuestionState
from lndesk.store.reading import StoreReader
from lndesk.store.repair import RepairReport, repair_store
from lndesk.store.salvage import own_items
from lndesk.store.search import SearchHits, search
from lndesk.store.store import LOG_NAME, Store, StoredEntry, now_ms
from lndesk.store.verify import VerifyReport, verify_store

log = logging.getLogger(__name__)

__all__ = ["PassphraseSource", "Service", "create_identity", "restore_identity"]
"""The service, and the key functions (:mod:`lndesk.app.own_key`) every command and the
app use with it to make a data directory's identity."""


class Service:
    """One open data directory: its identity (if any) and its store."""

    def __init__(
        self,
        data_dir: Path,
        passphrase: PassphraseSource = lambda: None,
        identity: Identity | None = None,
        *,
        lazy: bool = False,
        reading: bool = False,
    ) -> None:
        """``lazy`` opens the store only when something needs it (the key alone serves
        `id` and `key backup`, whatever state the store is in). ``reading`` is for
        commands that only read: a store that cannot be opened for writing (read-only
        media, a damaged index or log, a full disk) is then opened read-only."""
        self.data_dir = data_dir
        self._passphrase = passphrase
        self._identity = identity
        self._public_key: bytes | None = None
        self._reading = reading
        self.open_problem: Exception | None = None
        """Why the store was opened read-only, if it was."""
        self._store: Store | None = None
        self._local: LocalState | None = None
        self.publishing_request: tuple[RequestJournal, str] | None = None
        """While set, each publish is journaled under that request id (exactly once
        through the control socket, see :mod:`lndesk.app.requests`)."""
        if not lazy:
            self._store = self._open_store()

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = self._open_store()
        return self._store

    @property
    def reader(self) -> StoreReader:
        """The store's read side, for bounded queries that keep no invariant (the desk's
        lists and people); every change goes through this service."""
        return self.store

    @cached_property
    def pseudonyms(self) -> PseudonymKeys:
        """My pseudonyms' keys for every list, read again when their key files change."""
        return PseudonymKeys(self.data_dir)

    def _open_store(self) -> Store:
        if not self._reading:
            return self._checked(Store(self.data_dir))
        reason: Exception
        try:
            return self._checked(Store(self.data_dir))
        except StoreLockedError:
            # A running node (the app or `serve`) holds the writer; readers read beside it.
            log.info("reading %s beside the node that holds it", self.data_dir)
            return Store.open_read_only(self.data_dir)
        except (PermissionError, IndexDamagedError, StoreCorruptError, DiskFullError) as exc:
            reason = exc
        except OSError as exc:
            if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise
            reason = exc
        log.info("opening %s read-only: %s", self.data_dir, reason)
        self.open_problem = reason
        store = Store.open_read_only(self.data_dir)
        store.warnings.insert(0, f"opened read-only: {reason}")
        return store

    def _checked(self, store: Store) -> Store:
        """``store``, after pausing publishing if opening it cut a damaged own entry."""
        try:
            own = public_key_of(read_key_file(self.key_path))
        except (LndeskError, OSError):
            return store  # no key, or a damaged one: nothing of mine to protect here
        try:
            pause_for_cut_entries(self.data_dir, own, store.warnings.append)
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        if self._local is not None:
            self._local.close()
        if self._store is not None:
            self._store.close()

    @property
    def local(self) -> LocalState:
        """This device's private state (bookmarks, mutes, blocks), opened on first use."""
        if self._local is None:
            try:
                self._local = LocalState(self.data_dir)
            except LndeskError:
                if self.open_problem is None:
                    raise
                # Opened read-only (read-only media): read without this device's state.
                log.info("reading %s without its local state", self.data_dir)
                self._local = LocalState(self.data_dir, in_memory=True)
        return self._local

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def key_path(self) -> Path:
        return self.data_dir / KEY_NAME

    @property
    def config(self) -> Config:
        return Config.load(self.data_dir / CONFIG_NAME)

    @property
    def own_log(self) -> OwnLog:
        """Whether this identity may publish (see :mod:`lndesk.app.ownlog`)."""
        return load_own_log(self.data_dir)

    @property
    def identity(self) -> Identity:
        """My identity, unlocked (a sealed key file asks for its passphrase)."""
        if self._identity is None:
            self._identity = unlock(own_key_file(self.data_dir), self._passphrase)
        return self._identity

    @property
    def public_key(self) -> bytes:
        """My public key: from the key file, in clear, without asking for a passphrase."""
        if self._identity is not None:
            return self._identity.public_key
        if self._public_key is None:
            self._public_key = public_key_of(own_key_file(self.data_dir))
        return self._public_key

    # --- publishing --------------------------------------------------------

    def publish(self, content: Content) -> Entry:
        """Append ``content`` to my log (refused while a restored log's height is unknown)."""
        own_log = self.own_log
        if not own_log.confirmed:
            raise own_log.paused_error()
        entry = journaled_publish(self.store, self.identity, content, self.publishing_request)
        keep_atom_file(self)
        return entry

    def post(
        self,
        text: str,
        tags: Sequence[str] = (),
        links: Sequence[str] = (),
        *,
        mentions: Sequence[bytes] = (),
        question: bool = False,
    ) -> Entry:
        """Publish a post; ``@lnd1…`` keys in the text are mentioned too."""
        found = _mentions(text, mentions)
        return self.publish(Post(text, tuple(tags), tuple(links), found, question))

    def reply(
        self,
        parent: str | StoredEntry,
        text: str,
        tags: Sequence[str] = (),
        links: Sequence[str] = (),
        *,
        mentions: Sequence[bytes] = (),
    ) -> Entry:
        """Reply to ``parent`` (an entry, or the start of its id)."""
        if isinstance(parent, str):
            parent = self.resolve(parent)
        parent_ref = ref_of(parent.entry)
        content = parent.content
        if isinstance(content, Edit):
            raise ContentError("reply to the post itself, not to one of its edits")
        root = content.root if isinstance(content, Reply) else parent_ref
        found = _mentions(text, mentions)
        return self.publish(Reply(text, root, parent_ref, tuple(tags), tuple(links), found))

    def edit(
        self,
        target: str | StoredEntry,
        text: str,
        tags: Sequence[str] = (),
        links: Sequence[str] = (),
        *,
        mentions: Sequence[bytes] = (),
        question: bool = False,
    ) -> Entry:
        """Publish a new version of one of my posts or replies (protocol 10.8); ``target``
        is the entry or the start of its id. Editing an edit edits the original again."""
        if isinstance(target, str):
            target = self.resolve(target)
        if isinstance(target.content, Edit):
            target = self._load_ref(target.content.ref.author, target.content.ref.seq)
        if target.entry.author != self.public_key:
            raise ContentError("you can only edit your own posts")
        if target.deleted:
            raise ContentError("that post was deleted; it cannot be edited")
        if not isinstance(target.content, Post | Reply):
            raise ContentError("only posts and replies can be edited")
        found = _mentions(text, mentions)
        asked = question and isinstance(target.content, Post)
        return self.publish(
            Edit(ref_of(target.entry), text, tuple(tags), tuple(links), found, asked)
        )

    def publish_list(
        self, title: str, items: Sequence[ListItem], of: StoredEntry | None = None
    ) -> Entry:
        """Publish a reading list, or a new state of my list ``of`` (its first version)."""
        first = None
        if of is not None:
            if isinstance(of.content, ReadingList) and of.content.of is not None:
                of = self._load_ref(of.content.of.author, of.content.of.seq)
            if of.entry.author != self.public_key or of.entry.type != READING_LIST:
                raise ContentError("you can only update your own reading lists")
            if of.deleted:
                raise ContentError("that reading list was deleted")
            first = ref_of(of.entry)
        return self.publish(ReadingList(title, tuple(items), first))

    def _load_ref(self, author: bytes, seq: int) -> StoredEntry:
        found = views.load_keys(self.store, [(author, seq)])
        if not found:
            raise UsageError("the entry it refers to is not stored here")
        return found[0]

    def share(self, id_prefix: str, comment: str = "") -> Entry:
        target = self.resolve(id_prefix)
        return self.publish(Share(ref_of(target.entry), comment))

    def delete(self, id_prefix: str) -> Entry:
        target = self.resolve(id_prefix)
        if target.entry.author != self.public_key:
            raise ContentError("you can only delete your own entries")
        return self.publish(Tombstone(ref_of(target.entry)))

    def follow(self, key_or_link: str) -> tuple[bytes, Entry | None]:
        """Follow a feed. Returns its key and the new entry (None if already followed)."""
        key, _name = parse_key_or_link(key_or_link)
        if key == self.public_key:
            raise UsageError("that is your own key; your own posts are always in your timeline")
        if key in self.store.following(self.public_key):
            return key, None
        return key, self.publish(Follow(key))

    def unfollow(self, key_or_link: str) -> tuple[bytes, Entry | None]:
        key, _name = parse_key_or_link(key_or_link)
        if key not in self.store.following(self.public_key):
            return key, None
        return key, self.publish(Unfollow(key))

    def set_profile(self, name: str, bio: str = "") -> Entry:
        return self.publish(Profile(name, bio))

    # --- who I hear from -----------------------------------------------------

    def block(self, key_or_link: str) -> tuple[bytes, Entry | None]:
        """Block a feed: stop storing, serving and showing it. A followed feed is also
        unfollowed (that entry is public; the block itself is not). Returns the key and
        the unfollow entry, if one was needed."""
        key, _name = parse_key_or_link(key_or_link)
        if key == self.public_key:
            raise UsageError("that is your own key; you cannot block yourself")
        unfollowed = None
        if key in self.store.following(self.public_key):
            unfollowed = self.publish(Unfollow(key))
        self.local.set_blocked(key, True, now_ms())
        return key, unfollowed

    def unblock(self, key_or_link: str) -> bytes:
        key, _name = parse_key_or_link(key_or_link)
        self.local.set_blocked(key, False, now_ms())
        return key

    def accept(self, key_or_link: str, on: bool = True) -> bytes:
        """Show this person's replies and mentions of me with the rest, not as requests."""
        key, _name = parse_key_or_link(key_or_link)
        if on and key in self.local.blocked():
            self.local.set_blocked(key, False, now_ms())
        self.local.set_accepted(key, on, now_ms())
        return key

    def set_nickname(self, key_or_link: str, name: str | None) -> tuple[bytes, str | None]:
        """Give someone a nickname shown instead of their chosen name on this device
        (None or empty: clear it). Returns the key and the nickname as stored."""
        key, _name = parse_key_or_link(key_or_link)
        if key == self.public_key:
            raise UsageError(
                "that is your own key", "Change your own name with lndesk profile --name."
            )
        cleaned = clean_nickname(name) if name else ""
        if name and not cleaned:
            raise UsageError(
                f"the nickname {name!r} has nothing to show once cleaned (lndesk removes "
                'invisible characters and its own labels such as "(you)")',
                "Choose a nickname with letters or digits.",
            )
        self.local.set_nickname(key, cleaned or None, now_ms())
        return key, cleaned or None

    def hidden(self) -> frozenset[bytes]:
        """Feeds no list shows: the muted and the blocked."""
        return self.local.muted() | self.local.blocked()

    def inbox(self, *, requests: bool = False, limit: int = 50) -> list[StoredEntry]:
        """Replies to me, shares of my posts and mentions of me, newest first: from people
        within two follow hops or accepted, or (``requests``) from everyone else."""
        kind = views.REQUESTS if requests else views.REPLIES
        mine = self.pseudonyms.current()
        query = views.ListQuery(
            kind, self.public_key, self.hidden(), self.local.accepted(), pseudonyms=mine
        )
        return views.page(self.store, query, views.NEWEST, limit)

    def search(
        self,
        query: SearchQuery,
        limit: int = 20,
        offset: int = 0,
        *,
        asked: QuestionState | None = None,
    ) -> SearchHits:
        """Full-text search over everything stored, leaving out muted and blocked feeds;
        ``asked``: only questions in that state."""
        query = SearchQuery(
            query.text,
            query.author,
            query.tag,
            query.type,
            query.since_ms,
            query.until_ms,
            query.hidden | self.hidden(),
        )
        return search(self.store, query, limit, offset, asked=asked)

    # --- reading -----------------------------------------------------------

    def resolve(self, id_prefix: str) -> StoredEntry:
        cleaned = id_prefix.strip().lower()
        if (
            len(cleaned) < 6
            or len(cleaned) > 64
            or any(c not in "0123456789abcdef" for c in cleaned)
        ):
            raise UsageError(
                f"{id_prefix!r} is not an entry id",
                "An entry id is hexadecimal, as lndesk log prints it (at least 6 characters).",
            )
        return self.store.resolve(bytes.fromhex(cleaned[: len(cleaned) // 2 * 2]))

    def timeline(self, limit: int = 50, before_ms: int | None = None) -> list[StoredEntry]:
        return self.store.timeline(self.public_key, limit, before_ms)

    def current_versions(self, entries: Sequence[StoredEntry]) -> dict[PostKey, StoredEntry]:
        """The latest edit of each of ``entries`` that was edited, by (author, seq)."""
        return views.current_versions(self.store, entries)

    def feed(self, key_or_link: str, limit: int = 50) -> list[StoredEntry]:
        key, _ = parse_key_or_link(key_or_link)
        return self.store.feed_entries(key, limit)

    def following(self) -> list[FeedState]:
        return [self.store.feed_state(key) for key in self.store.following(self.public_key)]

    def own_state(self) -> FeedState:
        return self.store.feed_state(self.public_key)

    def verify(self, *, every_signature: bool = False) -> VerifyReport:
        report = verify_store(self.store, every_signature=every_signature)
        if isinstance(self.open_problem, IndexDamagedError):
            report.index_problems += 1
            report.problems.append(str(self.open_problem))
        return report

    def repair(self) -> RepairReport:
        """Salvage a damaged log (:mod:`lndesk.store.repair`). If entries of my own feed
        were lost here, or nobody can say which were, publishing waits until peers have
        told how far my log goes and I have confirmed it (the restore flow), so that no
        position is signed a second time. The pause is written before the repaired log
        replaces the old one: a crash during the replacement or the index rebuild then
        leaves publishing paused, never allowed over lost entries."""
        if self._store is not None:
            self._store.close()
            self._store = None

        def pause_for_losses(report: RepairReport) -> None:
            if not self.key_path.exists():
                return
            own = public_key_of(read_key_file(self.key_path))
            if own in report.lost or not report.known_before:
                save_own_log(self.data_dir, OwnLog(state=OWN_LOG_RESTORED))

        return repair_store(self.data_dir, before_replace=pause_for_losses)

    def reindex(self) -> int:
        """Rebuild the index; an unopened store is opened without reading the old index
        (which may be damaged past opening)."""
        if self._store is None:
            self._store = self._checked(Store(self.data_dir, reindex=True))
            return self._store.index.count_entries()
        return self.store.reindex()

    # --- backup ------------------------------------------------------------

    def backup_words(self) -> str:
        return self.identity.backup_words()

    def check_passphrase(self, passphrase: str | None) -> None:
        """Raise PassphraseError unless ``passphrase`` opens a sealed key file (a person
        asks to see the secret words: whoever sits at an unlocked app must know it too)."""
        check_passphrase(self.data_dir, passphrase)

    def export(self, path: Path) -> int:
        """Write my key file and my whole log to ``path`` atomically; returns entry count.

        Read straight from the log (every valid record, read-only, no index needed), so
        it works with a damaged or missing index and while a node holds the directory.
        """
        key_file = read_key_file(self.key_path)
        items = own_items(self.data_dir / LOG_NAME, public_key_of(key_file))
        atomic_write(path, encode_backup(key_file, self.public_key, items), mode=0o600)
        return len(items)

    def import_backup(self, path: Path, *, latest: bool = False) -> ImportResult:
        """Restore a backup: install its key if this data dir has none, then its log.

        ``latest`` declares that nothing was published with this key after the backup
        was made; only then is publishing allowed straight away.
        """
        backup = read_backup(path)
        identity = install_backup_key(self.data_dir, backup, self._passphrase)
        if identity is not None:
            self._identity = identity
        total = ingest_in_batches(self.store, backup.feed, backup.entries)
        own_log = settle_own_log(self.data_dir, self.store, backup.feed, latest=latest)
        return ImportResult(backup.feed, identity is not None, total, own_log)


def _mentions(text: str, extra: Sequence[bytes]) -> tuple[bytes, ...]:
    """The keys given, then those written as ``@lnd1…`` in the text, each once."""
    keys = tuple(dict.fromkeys([*extra, *mentions_in(text)]))
    if len(keys) > MAX_MENTIONS:
        raise ContentError(
            f"a post can mention at most {MAX_MENTIONS} people; this one names {len(keys)}",
            "Mention fewer people, or write the rest without the @.",
        )
    return keys
