#!/usr/bin/env bash
# Installs cargo-lambda, zig, the SAM CLI, cfn-lint and matplotlib (for the dashboard's
# picture) from PyPI into a virtualenv
# (default: .venv in the checkout, which git ignores). Safe to run again: it reuses a
# venv that already has the tools. Prints the venv's bin directory on the last line.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${TOOLS_VENV:-$PWD/.venv}

if [ ! -x "$venv/bin/cargo-lambda" ] || [ ! -x "$venv/bin/sam" ] || [ ! -x "$venv/bin/cfn-lint" ] \
    || ! "$venv/bin/python" -c 'import matplotlib' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet cargo-lambda ziglang aws-sam-cli cfn-lint cfn-lint-serverless \
        matplotlib
fi
"$venv/bin/cargo-lambda" lambda --version >&2
"$venv/bin/sam" --version >&2
"$venv/bin/cfn-lint" --version >&2
echo "$venv/bin"
