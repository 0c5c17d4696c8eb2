"""The one exception hierarchy of lndesk.

Every error carries a message saying what happened and a ``hint`` saying what the
user can do about it. The CLI prints both and exits non-zero without a traceback;
the desktop app shows both in a dialog or inline. Docstrings describe the
situation in the user's terms, so they double as documentation of each error.
"""

from __future__ import annotations


class LndeskError(Exception):
    """Something went wrong that lndesk understands and can explain."""

    default_hint = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = self.default_hint if hint is None else hint

    def __str__(self) -> str:
        return self.message

    def describe(self) -> str:
        """Message and hint, as shown to a person."""
        if self.hint:
            return f"{self.message}\n  {self.hint}"
        return self.message


def sole_error(error: BaseException) -> BaseException:
    """The one exception inside (nested) exception groups, else ``error`` itself.

    trio wraps an error raised inside a nursery in an ``ExceptionGroup``; a group of one
    is reported to the user as that one error.
    """
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


# --- identity and keys -------------------------------------------------------


class IdentityError(LndeskError):
    """A problem with your identity (your key pair)."""


class NoIdentityError(IdentityError):
    """This data directory has no identity yet."""

    default_hint = "Run lndesk init to create one, or lndesk key restore to restore one."


class IdentityExistsError(IdentityError):
    """This data directory already has an identity; lndesk never overwrites a key."""

    default_hint = (
        "Use another --data-dir, or move the existing key file away yourself if you are sure "
        "you have a backup of it."
    )


class KeyFileError(IdentityError):
    """The key file is unreadable, damaged or of an unknown format."""

    default_hint = "Restore your key from your backup words with lndesk key restore."


class PassphraseError(IdentityError):
    """The passphrase is wrong, missing, or not acceptable."""

    default_hint = "Check the passphrase (it is case sensitive) and try again."


class KeyFormatError(IdentityError):
    """Text that should be a public key or share link is not one."""

    default_hint = (
        "A public key looks like lnd1 followed by 58 letters and digits; a share link "
        "starts with lndesk://feed/. Copy it again in full."
    )


class BackupWordsError(IdentityError):
    """Backup words that do not form a valid lndesk key backup."""

    default_hint = (
        "Check every word against what you wrote down: there must be 24 words from the "
        "BIP-39 English list, in order."
    )


# --- entries and wire data ---------------------------------------------------


class EntryError(LndeskError):
    """An entry (or its payload) is malformed or not authentic. Nothing of it was stored."""


class DecodeError(EntryError):
    """Bytes that are not a well-formed, canonically encoded lndesk value."""


class SizeError(EntryError):
    """An entry, payload or field is larger than the protocol allows."""


class SignatureError(EntryError):
    """A signature does not verify: the data was not signed by the author it names."""


class ChainError(EntryError):
    """An entry does not link to its predecessor in the author's log."""


class PayloadError(EntryError):
    """A payload does not match the hash and size its entry commits to."""


class ContentError(EntryError):
    """A payload is not valid for its content type (for example an empty post)."""


# --- storage -----------------------------------------------------------------


class StoreError(LndeskError):
    """A problem with the local store (the log or its index)."""


class StoreLockedError(StoreError):
    """Another lndesk process is using this data directory."""

    default_hint = "Close the other lndesk window or command first, or use another --data-dir."


class StoreCorruptError(StoreError):
    """The log file is damaged somewhere other than a torn last write."""

    default_hint = (
        "Your data was not modified. Run lndesk repair: it keeps every valid record, "
        "moves the damaged bytes into a file beside the log and says what was lost."
    )


class DiskFullError(StoreError):
    """The disk that holds the data directory is (nearly) full. Everything stored before
    is safe; nothing was half-written."""

    default_hint = (
        "Free some space on the disk that holds your lndesk data; publishing and syncing "
        "carry on by themselves once there is room."
    )


class IndexDamagedError(StoreError):
    """The index (``index.sqlite3``, rebuilt from the log at any time) is damaged or
    unreadable. The log, which holds everything, is not affected."""

    default_hint = "Run lndesk reindex to rebuild it from the log (nothing is lost)."


class ForkedFeedError(StoreError):
    """An author signed two different entries at the same position; the feed is frozen."""

    default_hint = (
        "Both entries are kept as proof. The author has probably restored an old backup on "
        "another device; no further entries of this person are accepted."
    )


class UnknownEntryError(StoreError):
    """No stored entry matches the given id."""

    default_hint = "Use lndesk log to list entries and their ids."


class OwnLogUnknownError(StoreError):
    """Your identity was restored, and your own log height is not known yet."""

    default_hint = (
        "Publishing now could split your log in two. Run lndesk restore-status to ask your peers "
        "how far your log goes, then confirm it with lndesk confirm-log N; or import your "
        "latest export with lndesk import FILE --latest. If this key never published "
        "anything, restore it into an empty data directory instead: "
        "lndesk --data-dir NEW_DIRECTORY key restore --fresh."
    )


class BackupFileError(LndeskError):
    """A file given to ``lndesk import`` is not a readable lndesk backup."""

    default_hint = "Choose a file written by lndesk export --out FILE."


class UsageError(LndeskError):
    """A command was called with arguments it cannot use."""


# --- network -----------------------------------------------------------------


class NetworkError(LndeskError):
    """A problem talking to other lndesk nodes. Your data is not affected."""


class AddressError(NetworkError):
    """A peer address (multiaddr) is malformed or lacks the peer's ID."""

    default_hint = (
        "A peer address looks like /ip4/192.0.2.7/tcp/4747/p2p/12D3KooW...; ask the other "
        "person to copy one from their Network screen, or from what lndesk serve or "
        "lndesk peers prints."
    )


class ListenError(NetworkError):
    """The node could not listen on its port: another program, or another lndesk node,
    already uses it."""

    default_hint = (
        "Stop the other program, or choose another port: lndesk serve --port N for this "
        "run, lndesk network --port N to keep it (0 picks any free port)."
    )


class DialError(NetworkError):
    """The peer could not be reached."""

    default_hint = (
        "Check that the other node is running and that the address is current; a node "
        "on another network may need a relay."
    )


class ProtocolError(NetworkError):
    """A peer sent data that breaks the lndesk sync protocol."""

    default_hint = "lndesk stopped talking to that peer for a while; nothing it sent was stored."


class NodeNotRunningError(NetworkError):
    """No lndesk node is running for this data directory."""

    default_hint = "Start one with lndesk serve (or open the desktop app), then try again."


class ControlConnectionLost(NodeNotRunningError):
    """The node stopped answering in the middle of a request (it may have done it)."""


class NotPublishedError(LndeskError):
    """A publishing command's node stopped before it stored the entry."""

    default_hint = "Nothing was stored; run the command again."


class RequestUnsettledError(LndeskError):
    """A publishing command's node stopped, and whether it stored the entry is unknown."""

    default_hint = (
        "Look at your latest entries with lndesk log --limit 5 before running the command again."
    )


class RelayRefusedError(NetworkError):
    """A relay would not give this node a slot."""

    default_hint = (
        "The relay may be full or may not offer relaying; try another relay, or ask its "
        "owner to turn on relaying for others."
    )


class FeedError(LndeskError):
    """A web feed (RSS, Atom or JSON Feed) could not be fetched or read."""

    default_hint = (
        "Check the address in a browser; lndesk tries the web feed again at its next refresh."
    )
