"""The desktop resources: the .desktop entry, the icons, their copy inside the package,
and the script that installs them for the user."""

from __future__ import annotations

import configparser
import os
import shutil
import struct
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
RESOURCES = ROOT / "resources"
PACKAGE_RESOURCES = ROOT / "lndesk" / "ui" / "resources"
SIZES = (16, 32, 48, 64, 128, 256)


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG file"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def desktop_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"))
    return dict(parser["Desktop Entry"])


def test_desktop_entry_opens_lndesk_links() -> None:
    entry = desktop_entry(RESOURCES / "lndesk.desktop")
    assert entry["Type"] == "Application"
    assert entry["Name"] == "lndesk"
    assert entry["Comment"]
    assert entry["Exec"].split() == ["lndesk", "%u"]
    assert entry["Icon"] == "lndesk"
    assert entry["Terminal"] == "false"
    assert entry["StartupWMClass"] == "lndesk"
    assert "x-scheme-handler/lndesk" in entry["MimeType"].split(";")
    categories = entry["Categories"]
    assert categories.endswith(";")
    assert {"Network", "Education"} <= set(categories.split(";"))


@pytest.mark.parametrize("size", SIZES)
def test_icon_exists_at_every_size(size: int) -> None:
    path = RESOURCES / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "lndesk.png"
    assert png_size(path) == (size, size)


def test_package_holds_the_same_files() -> None:
    """The installed package carries the icons and the .desktop entry (importlib.resources
    finds them there); scripts/render_icons.py copies them from resources/."""
    source = sorted(p.relative_to(RESOURCES) for p in RESOURCES.rglob("*") if p.is_file())
    copied = sorted(
        p.relative_to(PACKAGE_RESOURCES) for p in PACKAGE_RESOURCES.rglob("*") if p.is_file()
    )
    assert source == copied
    for relative in source:
        same = (RESOURCES / relative).read_bytes() == (PACKAGE_RESOURCES / relative).read_bytes()
        assert same, f"{relative} differs: run scripts/render_icons.py"


def test_packaging_installs_the_resources() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["lndesk.ui"]
    assert "resources/**/*" in patterns


def test_svg_renders(qapp: Any) -> None:
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(RESOURCES / "icons" / "lndesk.svg"))
    assert renderer.isValid()
    assert renderer.defaultSize().width() == 256


def test_app_icon_is_found_in_the_package(qapp: Any) -> None:
    from lndesk.ui.icons import app_icon, icon_file

    assert icon_file(64).is_file()
    icon = app_icon()
    assert not icon.isNull()
    sizes = {(s.width(), s.height()) for s in icon.availableSizes()}
    assert {(size, size) for size in SIZES} <= sizes
    image = icon.pixmap(64, 64).toImage()
    assert image.pixelColor(32, 32).alpha() == 255  # the background square, not a blank


def test_install_script_installs_for_the_user(tmp_path: Path) -> None:
    home = tmp_path / "home"
    command = home / ".local" / "bin" / "lndesk"  # where scripts/install.sh puts it
    command.parent.mkdir(parents=True)
    command.write_text("#!/bin/sh\n")
    command.chmod(0o755)
    path = ":".join(
        d
        for d in os.environ.get("PATH", "/usr/bin:/bin").split(":")
        if d and not (Path(d) / "lndesk").exists()
    )
    env = {
        "PATH": path,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
    }
    script = ROOT / "scripts" / "install-desktop-entry.sh"
    sh = shutil.which("sh")
    assert sh is not None
    result = subprocess.run(
        [sh, str(script)], check=False, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    data = home / "data"
    installed = data / "applications" / "lndesk.desktop"
    # the menu starts the command by its full path (a session's PATH may lack ~/.local/bin)
    expected = (
        (RESOURCES / "lndesk.desktop")
        .read_text()
        .replace("\nExec=lndesk %u", f"\nExec={command} %u")
    )
    assert f"\nExec={command} %u\n" in expected
    assert installed.read_text() == expected
    for size in SIZES:
        assert (data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "lndesk.png").is_file()
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / "lndesk.svg").is_file()
