# Sourced by install.sh and test.sh: sets $uv to a command that runs uv, installing uv for
# the current user if it is missing. uv installs lndesk from wheels only (see overrides.txt).
# shellcheck shell=sh

find_uv() {
    python="${PYTHON:-python3}"
    if command -v uv >/dev/null 2>&1; then
        uv="uv"
        return 0
    fi
    if "$python" -m uv --version >/dev/null 2>&1; then
        uv="$python -m uv"
        return 0
    fi
    # uv's own environment, kept apart from the system's Python packages.
    uv_home="${XDG_DATA_HOME:-$HOME/.local/share}/lndesk/uv"
    if [ -x "$uv_home/bin/uv" ]; then
        uv="$uv_home/bin/uv"
        return 0
    fi
    echo "installing uv (the installer lndesk uses) into $uv_home" >&2
    if "$python" -m venv "$uv_home" >/dev/null 2>&1 &&
        "$uv_home/bin/python" -m pip install --quiet uv; then
        uv="$uv_home/bin/uv"
        return 0
    fi
    rm -rf "$uv_home"
    cat >&2 <<'MSG'
error: cannot install uv: this Python has no working venv module.
  On Debian or Ubuntu: sudo apt-get install python3-venv   (then run this command again)
  Or install uv by its own installer (https://docs.astral.sh/uv/) and run this command again.
MSG
    return 1
}
