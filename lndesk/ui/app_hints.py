"""What to do about an error, in the app's terms.

An error's own hint speaks to someone at a terminal ("run lndesk reindex"). In the app the
same error gets advice about the app: a screen and its button, or what the app does by
itself.
"""

from __future__ import annotations

from lndesk.errors import (
    AddressError,
    BackupFileError,
    IdentityExistsError,
    IndexDamagedError,
    KeyFileError,
    ListenError,
    LndeskError,
    NodeNotRunningError,
    NoIdentityError,
    RequestUnsettledError,
    StoreCorruptError,
    StoreLockedError,
    UnknownEntryError,
)

__all__ = ["APP_HINTS", "app_hint"]

APP_HINTS: dict[type[LndeskError], str] = {
    RequestUnsettledError: (
        "Look at your newest posts under My posts before you try again: it may have gone out."
    ),
    NodeNotRunningError: "Quit the app and open it again.",
    ListenError: (
        "Stop the other program, or open Network > Settings, choose another listening port "
        "(0 picks any free port) and press Apply and restart the network."
    ),
    AddressError: (
        "A peer address looks like /ip4/192.0.2.7/tcp/4747/p2p/12D3KooW...; ask the other "
        "person to press Copy address on their Network screen and send you what it copied."
    ),
    BackupFileError: (
        "Choose a file saved with Save backup file… on the Identity screen (Key backup)."
    ),
    UnknownEntryError: "The post may have been deleted; find it again with Search.",
    IndexDamagedError: "Press Repair and open to rebuild it from your log (nothing is lost).",
    StoreCorruptError: (
        "Your data was not modified. Press Repair and open: it keeps every valid record, "
        "moves the damaged bytes into a file beside the log and says what was lost."
    ),
    StoreLockedError: "Close the app's other window first.",
    KeyFileError: (
        "Move the damaged key file (the file named key) out of your data folder and open "
        "the app again: it then offers to restore your key from your backup words."
    ),
    NoIdentityError: "Open the app again: it walks you through making or restoring one.",
    IdentityExistsError: (
        "Move the existing key file (the file named key) out of the data folder only if you "
        "are sure you have a backup of it."
    ),
}
"""Advice in the app's terms, by error class (a subclass takes its nearest ancestor's)."""


def app_hint(error: LndeskError) -> str:
    """The advice the app gives for ``error``: the app's advice for its kind (or its
    nearest ancestor's), else the error's own hint (which then names no command: the
    app's tests read every error's hint for commands)."""
    for cls in type(error).__mro__:
        if cls in APP_HINTS:
            return APP_HINTS[cls]
    return error.hint
