"""The libraries of Qt's xcb platform are checked before Qt loads, and the missing ones named."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

from lndesk.cli.main import main
from lndesk.ui import startup_notice, syslibs
from lndesk.ui.syslibs import (
    XCB_LIBRARIES,
    SystemLibrariesError,
    check_qt_libraries,
    distribution_family,
    platform_will_be_xcb,
)

DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n'
UBUNTU = "ID=ubuntu\nID_LIKE=debian\n"
FEDORA = 'NAME="Fedora Linux"\nID=fedora\n'
ARCH = 'NAME="Arch Linux"\nID=arch\n'
X11 = {"DISPLAY": ":0"}


def lacking(*sonames: str) -> syslibs.LibraryFinder:
    """A library finder that finds everything but ``sonames``."""
    known = {library.soname for library in XCB_LIBRARIES}
    assert set(sonames) <= known
    return lambda soname: soname not in sonames


def refusal(os_release: str, *sonames: str) -> str:
    with pytest.raises(SystemLibrariesError) as caught:
        check_qt_libraries(X11, lacking(*sonames), os_release)
    return caught.value.describe()


def test_exactly_the_missing_libraries_are_named_with_apt() -> None:
    text = refusal(DEBIAN, "libxcb-icccm.so.4", "libxcb-keysyms.so.1")
    assert "missing: libxcb-icccm.so.4, libxcb-keysyms.so.1\n" in text
    assert text.endswith("Install them with: sudo apt-get install libxcb-icccm4 libxcb-keysyms1")
    assert "cursor" not in text


def test_ubuntu_is_told_apt() -> None:
    assert "sudo apt-get install libegl1" in refusal(UBUNTU, "libEGL.so.1")


def test_fedora_is_told_dnf_once_per_package() -> None:
    text = refusal(FEDORA, "libxcb-randr.so.0", "libxcb-xkb.so.1", "libxcb-cursor.so.0")
    assert text.endswith("Install them with: sudo dnf install xcb-util-cursor libxcb")


def test_arch_is_told_pacman() -> None:
    text = refusal(ARCH, "libxkbcommon-x11.so.0")
    assert text.endswith("Install them with: sudo pacman -S --needed libxkbcommon-x11")


def test_an_unknown_distribution_gets_the_package_names() -> None:
    text = refusal("ID=plan9\n", "libxcb-image.so.0")
    assert "missing: libxcb-image.so.0" in text
    assert "package manager" in text and "libxcb-image0" in text


def test_nothing_missing_passes() -> None:
    check_qt_libraries(X11, lambda soname: True, DEBIAN)


def test_no_check_when_qt_will_not_use_xcb() -> None:
    def never(soname: str) -> bool:
        raise AssertionError("looked for a library")

    for env in (
        {"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":0"},
        {"QT_QPA_PLATFORM": "wayland;xcb", "DISPLAY": ":0"},
        {"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"},
        {},
    ):
        check_qt_libraries(env, never, DEBIAN)
    assert platform_will_be_xcb({"QT_QPA_PLATFORM": "xcb"})
    assert platform_will_be_xcb({"DISPLAY": ":1", "XDG_SESSION_TYPE": "x11"})


def test_distribution_families() -> None:
    assert distribution_family(DEBIAN) == "debian"
    assert distribution_family('ID="linuxmint"\nID_LIKE="ubuntu debian"\n') == "debian"
    assert distribution_family('ID="rocky"\nID_LIKE="rhel centos fedora"\n') == "fedora"
    assert distribution_family("ID=manjaro\nID_LIKE=arch\n") == "arch"
    assert distribution_family("") is None


def test_the_app_command_refuses_before_qt_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setattr(syslibs, "can_load", lacking("libxcb-icccm.so.4"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setattr(startup_notice, "run_quietly", lambda _command: True)
    data_dir = tmp_path / "new"
    assert main(["--data-dir", str(data_dir), "app"]) == 1
    err = capsys.readouterr().err
    assert "these system libraries are missing: libxcb-icccm.so.4\n" in err
    assert "libxcb-icccm4" in err or "xcb-util-wm" in err or "package manager" in err
    assert not data_dir.exists()


def test_the_real_finder_loads_a_present_library_and_not_an_absent_one() -> None:
    assert syslibs.can_load("libc.so.6")
    assert not syslibs.can_load("libno-such-library-lndesk.so.9")


# Libraries every Linux system has (the C runtime) or that the wheel carries itself.
_BASE = {
    "ld-linux-x86-64.so.2",
    "ld-linux-aarch64.so.1",
    "libc.so.6",
    "libm.so.6",
    "libdl.so.2",
    "librt.so.1",
    "libpthread.so.0",
    "libstdc++.so.6",
    "libgcc_s.so.1",
    "libz.so.1",
    "libzstd.so.1",
    "libgthread-2.0.so.0",  # part of glib, as libglib-2.0.so.0
}


@pytest.mark.skipif(shutil.which("readelf") is None, reason="needs readelf (binutils)")
def test_the_list_covers_every_library_the_installed_xcb_plugin_links() -> None:
    spec = importlib.util.find_spec("PySide6")
    assert spec is not None and spec.origin is not None
    qt = Path(spec.origin).parent / "Qt"
    files = [qt / "plugins" / "platforms" / "libqxcb.so"]
    files += [qt / "lib" / name for name in ("libQt6XcbQpa.so.6", "libQt6Gui.so.6")]
    needed: set[str] = set()
    for path in files:
        out = subprocess.run(
            ["readelf", "-d", str(path)], capture_output=True, text=True, check=True
        ).stdout
        needed.update(
            line.split("[", 1)[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line
        )
    bundled = {path.name for path in (qt / "lib").iterdir()}
    system = {n for n in needed if n not in bundled and not n.startswith("libQt6")} - _BASE
    assert system <= {library.soname for library in XCB_LIBRARIES}
    assert "libxcb-icccm.so.4" in system and "libxcb-keysyms.so.1" in system


def test_the_readme_lists_every_library_for_each_distribution() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for family, tool in (
        ("debian", "sudo apt-get install"),
        ("fedora", "sudo dnf install"),
        ("arch", "sudo pacman -S --needed"),
    ):
        line = next(line for line in readme.splitlines() if f"`{tool} libxcb" in line)
        listed = set(line.split(tool, 1)[1].split("`", 1)[0].split())
        assert {getattr(library, family) for library in XCB_LIBRARIES} == listed
