#!/usr/bin/env sh
# Make lndesk a desktop application for the current user: menu entry, icons, and the
# handler for lndesk:// share links. Run it from a source checkout after installing lndesk
# (the `lndesk` command must be on PATH). Undo by deleting the files it lists.
set -eu

here="$(cd "$(dirname "$0")/.." && pwd)"
resources="$here/resources"
data_home="${XDG_DATA_HOME:-$HOME/.local/share}"
applications="$data_home/applications"
icons="$data_home/icons/hicolor"

if ! command -v lndesk >/dev/null 2>&1; then
    echo "warning: the lndesk command is not on PATH; the menu entry will not start until it is" >&2
fi

mkdir -p "$applications"
cp "$resources/lndesk.desktop" "$applications/lndesk.desktop"
echo "installed $applications/lndesk.desktop"

for size_dir in "$resources"/icons/hicolor/*x*; do
    size="$(basename "$size_dir")"
    mkdir -p "$icons/$size/apps"
    cp "$size_dir/apps/lndesk.png" "$icons/$size/apps/lndesk.png"
    echo "installed $icons/$size/apps/lndesk.png"
done
mkdir -p "$icons/scalable/apps"
cp "$resources/icons/lndesk.svg" "$icons/scalable/apps/lndesk.svg"
echo "installed $icons/scalable/apps/lndesk.svg"

if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database "$applications" || true
fi
if command -v gtk-update-icon-cache >/dev/null 2>&1; then
    gtk-update-icon-cache --quiet "$icons" 2>/dev/null || true
fi
if command -v xdg-mime >/dev/null 2>&1; then
    xdg-mime default lndesk.desktop x-scheme-handler/lndesk
    echo "lndesk:// links now open lndesk"
else
    echo "xdg-mime not found: lndesk:// links were not registered" >&2
fi
