#!/usr/bin/env bash
# Install lndesk with its test tools into .venv (with uv, from wheels only: no compiler is
# needed) and run the test suite. Arguments go to pytest.
# Exits non-zero if any test fails or if no test ran at all.
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
. scripts/find-uv.sh
find_uv
$uv sync --quiet --extra test
status=0
.venv/bin/python -m pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "error: pytest collected no tests" >&2
fi
exit "$status"
