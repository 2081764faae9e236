#!/usr/bin/env bash
# The real AWS SDK against an AWS emulator: installs moto's server from PyPI into the
# tools venv (at the version in scripts/check-requirements.txt), starts it on a free
# loopback port, and runs the tests that drive the built binary against it
# (tests/aws_emulator.rs, a reconciliation sweep among them), then stops it. Then checks
# the tests' fake Merge API against Merge's own Python SDK (MergePythonClient from PyPI,
# scripts/merge-sdk-check.py).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(scripts/install-tools.sh --checks | tail -n 1)
venv=$(dirname "$bin")

work=$(mktemp -d)
moto_pid=
cleanup() {
    if [ -n "$moto_pid" ]; then
        kill -TERM -- "-$moto_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
setsid "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" > "$work/moto.log" 2>&1 &
moto_pid=$!
for attempt in $(seq 1 60); do
    if curl -sf -o /dev/null "http://127.0.0.1:$port/moto-api/"; then
        break
    fi
    if [ "$attempt" = 60 ]; then
        echo "moto did not start"; cat "$work/moto.log"; exit 1
    fi
    sleep 0.5
done
echo "moto $("$venv/bin/pip" show moto | sed -n 's/^Version: //p') on port $port"

AWS_EMULATOR_ENDPOINT="http://127.0.0.1:$port" \
    cargo test --locked --test aws_emulator -- --ignored --nocapture

echo "MergePythonClient $("$venv/bin/pip" show MergePythonClient | sed -n 's/^Version: //p') against the fake Merge API"
"$venv/bin/python" scripts/merge-sdk-check.py
