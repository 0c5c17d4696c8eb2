#!/usr/bin/env sh
# Install lndesk for the current user and open it: `sh scripts/install.sh`.
# No C compiler is needed: uv installs every dependency from a wheel (overrides.txt lifts
# libp2p's pin of a source-only fastecdsa). The `lndesk` command goes into uv's tool
# directory (~/.local/bin), which is added to your shell's PATH. Running the script again
# updates the installation from this checkout.
#   --no-start   install only, do not open the app
set -eu
here="$(cd "$(dirname "$0")/.." && pwd)"
. "$here/scripts/find-uv.sh"
find_uv

echo "installing lndesk from $here (the first time, uv downloads about 150 MB)"
$uv tool install --quiet --force --reinstall-package lndesk --overrides "$here/overrides.txt" \
    "$here"
bin="$($uv tool dir --bin)"
case ":$PATH:" in
*":$bin:"*) ;;
*)
    $uv tool update-shell >/dev/null 2>&1 || true
    echo "lndesk is in $bin, now on the PATH of every new terminal" \
        "(for this one: export PATH=\"$bin:\$PATH\")"
    ;;
esac

if [ "${1:-}" = "--no-start" ]; then
    exit 0
fi
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
    echo "No display here: make an identity with 'lndesk init --name NAME'," \
        "then 'lndesk serve' runs an always-on node."
    exit 0
fi
exec "$bin/lndesk"
