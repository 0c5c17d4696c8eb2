#!/usr/bin/env sh
# Make lndesk a desktop application for the current user: menu entry, icons, and the
# handler for lndesk:// share links. Run it from a source checkout after installing lndesk
# (scripts/install.sh). Undo by deleting the files it lists.
set -eu

here="$(cd "$(dirname "$0")/.." && pwd)"
resources="$here/resources"
data_home="${XDG_DATA_HOME:-$HOME/.local/share}"
applications="$data_home/applications"
icons="$data_home/icons/hicolor"

# The menu starts lndesk by its full path: a desktop session's PATH often lacks
# ~/.local/bin, where scripts/install.sh puts the command.
lndesk="$(command -v lndesk 2>/dev/null || true)"
if [ -z "$lndesk" ] && [ -x "$HOME/.local/bin/lndesk" ]; then
    lndesk="$HOME/.local/bin/lndesk"
fi

mkdir -p "$applications"
if [ -n "$lndesk" ]; then
    sed "s|^Exec=lndesk |Exec=$lndesk |" "$resources/lndesk.desktop" >"$applications/lndesk.desktop"
else
    echo "warning: the lndesk command was not found; install it first (sh scripts/install.sh)," \
        "or the menu entry will not start" >&2
    cp "$resources/lndesk.desktop" "$applications/lndesk.desktop"
fi
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
