"""The system libraries Qt's X11 (xcb) platform plugin loads, checked before Qt starts.

When one of them is missing, Qt aborts the whole process with a message that names at most
one library, and not always a missing one. lndesk looks for every library the plugin links
(the list Qt documents for its xcb platform, as linked by the PySide6 wheels) before it loads
Qt, and names exactly the missing ones with the command that installs them on the user's
distribution. Pure Python: importing this module loads no part of Qt.
"""

from __future__ import annotations

import ctypes
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lndesk.errors import LndeskError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SystemLibrary:
    """One shared library (by its soname) and the package that holds it on each family."""

    soname: str
    debian: str
    fedora: str
    arch: str


# Every library the xcb platform plugin (libqxcb.so, libQt6XcbQpa, libQt6Gui) needs from
# the system, with the package providing it on Debian/Ubuntu, Fedora and Arch.
XCB_LIBRARIES: tuple[SystemLibrary, ...] = (
    SystemLibrary("libxcb.so.1", "libxcb1", "libxcb", "libxcb"),
    SystemLibrary("libX11.so.6", "libx11-6", "libX11", "libx11"),
    SystemLibrary("libX11-xcb.so.1", "libx11-xcb1", "libX11-xcb", "libx11"),
    SystemLibrary("libxcb-cursor.so.0", "libxcb-cursor0", "xcb-util-cursor", "xcb-util-cursor"),
    SystemLibrary("libxcb-icccm.so.4", "libxcb-icccm4", "xcb-util-wm", "xcb-util-wm"),
    SystemLibrary("libxcb-image.so.0", "libxcb-image0", "xcb-util-image", "xcb-util-image"),
    SystemLibrary("libxcb-keysyms.so.1", "libxcb-keysyms1", "xcb-util-keysyms", "xcb-util-keysyms"),
    SystemLibrary(
        "libxcb-render-util.so.0",
        "libxcb-render-util0",
        "xcb-util-renderutil",
        "xcb-util-renderutil",
    ),
    SystemLibrary("libxcb-util.so.1", "libxcb-util1", "xcb-util", "xcb-util"),
    SystemLibrary("libxcb-randr.so.0", "libxcb-randr0", "libxcb", "libxcb"),
    SystemLibrary("libxcb-render.so.0", "libxcb-render0", "libxcb", "libxcb"),
    SystemLibrary("libxcb-shape.so.0", "libxcb-shape0", "libxcb", "libxcb"),
    SystemLibrary("libxcb-shm.so.0", "libxcb-shm0", "libxcb", "libxcb"),
    SystemLibrary("libxcb-sync.so.1", "libxcb-sync1", "libxcb", "libxcb"),
    SystemLibrary("libxcb-xfixes.so.0", "libxcb-xfixes0", "libxcb", "libxcb"),
    SystemLibrary("libxcb-xkb.so.1", "libxcb-xkb1", "libxcb", "libxcb"),
    SystemLibrary("libxkbcommon.so.0", "libxkbcommon0", "libxkbcommon", "libxkbcommon"),
    SystemLibrary(
        "libxkbcommon-x11.so.0", "libxkbcommon-x11-0", "libxkbcommon-x11", "libxkbcommon-x11"
    ),
    SystemLibrary("libEGL.so.1", "libegl1", "libglvnd-egl", "libglvnd"),
    SystemLibrary("libGL.so.1", "libgl1", "libglvnd-glx", "libglvnd"),
    SystemLibrary("libfontconfig.so.1", "libfontconfig1", "fontconfig", "fontconfig"),
    SystemLibrary("libfreetype.so.6", "libfreetype6", "freetype", "freetype2"),
    SystemLibrary("libdbus-1.so.3", "libdbus-1-3", "dbus-libs", "dbus"),
    SystemLibrary("libglib-2.0.so.0", "libglib2.0-0", "glib2", "glib2"),
)

LibraryFinder = Callable[[str], bool]
"""Whether the library with this soname can be loaded."""


class SystemLibrariesError(LndeskError):
    """The desktop app cannot start: system libraries Qt needs are not installed."""


def can_load(soname: str) -> bool:
    """Whether the dynamic loader finds ``soname`` (it is loaded, as Qt would load it)."""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def platform_will_be_xcb(env: Mapping[str, str]) -> bool:
    """Whether Qt will load its xcb plugin, read from the same variables Qt reads."""
    chosen = env.get("QT_QPA_PLATFORM", "")
    if chosen:
        # "xcb", or a list such as "wayland;xcb" whose first choice is tried first
        return chosen.split(";")[0].split(":")[0] == "xcb"
    if not env.get("DISPLAY"):
        return False
    on_wayland = bool(env.get("WAYLAND_DISPLAY")) and env.get("XDG_SESSION_TYPE") == "wayland"
    return not on_wayland


def missing_libraries(finder: LibraryFinder | None = None) -> list[SystemLibrary]:
    found = finder or can_load
    return [library for library in XCB_LIBRARIES if not found(library.soname)]


def distribution_family(os_release: str) -> str | None:
    """The family ("debian", "fedora" or "arch") from the text of /etc/os-release, else None."""
    fields: dict[str, str] = {}
    for line in os_release.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip().strip("\"'")
    ids = [fields.get("ID", ""), *fields.get("ID_LIKE", "").split()]
    for family, names in (
        ("debian", {"debian", "ubuntu"}),
        ("fedora", {"fedora", "rhel", "centos"}),
        ("arch", {"arch", "archlinux"}),
    ):
        if names.intersection(ids):
            return family
    return None


def install_command(family: str | None, missing: list[SystemLibrary]) -> str | None:
    """The one command that installs ``missing`` on ``family``, or None when unknown."""
    if family is None:
        return None
    packages = list(dict.fromkeys(getattr(library, family) for library in missing))
    tool = {
        "debian": "sudo apt-get install",
        "fedora": "sudo dnf install",
        "arch": "sudo pacman -S --needed",
    }[family]
    return f"{tool} {' '.join(packages)}"


def _read_os_release() -> str:
    for path in (Path("/etc/os-release"), Path("/usr/lib/os-release")):
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
    return ""


def check_qt_libraries(
    env: Mapping[str, str] | None = None,
    finder: LibraryFinder | None = None,
    os_release: str | None = None,
) -> None:
    """Raise SystemLibrariesError naming every missing library, before Qt would abort."""
    env = os.environ if env is None else env
    if not platform_will_be_xcb(env):
        return
    missing = missing_libraries(finder)
    if not missing:
        return
    names = ", ".join(library.soname for library in missing)
    logger.info("libraries missing for Qt's xcb platform: %s", names)
    family = distribution_family(_read_os_release() if os_release is None else os_release)
    command = install_command(family, missing)
    if command is not None:
        hint = f"Install them with: {command}"
    else:
        packages = ", ".join(dict.fromkeys(library.debian for library in missing))
        hint = (
            "Install them with your distribution's package manager "
            f"(on Debian and Ubuntu the packages are: {packages})."
        )
    raise SystemLibrariesError(
        f"the desktop app cannot start: these system libraries are missing: {names}", hint
    )
