#!/usr/bin/env bash
# Installs cargo-lambda, zig, the SAM CLI, cfn-lint and matplotlib (for the dashboard's
# picture) from PyPI into a virtualenv (default: .venv in the checkout, which git
# ignores), at the versions pinned in scripts/tools-requirements.txt: the ones CI tested.
# Safe to run again: it reuses a venv that already has exactly those pins. Prints the
# venv's bin directory on the last line.
#
# With --checks, also the emulators and SDK of CI's checks (moto, scim2-server, Merge's
# Python SDK), pinned in scripts/check-requirements.txt; with --checks-only, those alone.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${TOOLS_VENV:-$PWD/.venv}
pip_version=26.3

# install REQUIREMENTS: pip-installs the file into the venv unless the venv already holds
# exactly that file's pins.
install() {
    local requirements=$1 stamp
    stamp="$venv/.installed-$(basename "$requirements")"
    if [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$stamp"; then
        return
    fi
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install --quiet --disable-pip-version-check "pip==$pip_version" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
    cp "$requirements" "$stamp"
}

case "${1:-}" in
    "") install scripts/tools-requirements.txt ;;
    --checks) install scripts/tools-requirements.txt; install scripts/check-requirements.txt ;;
    --checks-only) install scripts/check-requirements.txt ;;
    *) echo "usage: scripts/install-tools.sh [--checks | --checks-only]" >&2; exit 2 ;;
esac
if [ "${1:-}" != --checks-only ]; then
    "$venv/bin/cargo-lambda" lambda --version >&2
    "$venv/bin/sam" --version >&2
    "$venv/bin/cfn-lint" --version >&2
fi
echo "$venv/bin"
