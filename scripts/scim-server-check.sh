#!/usr/bin/env bash
# SCIM deprovisioning against a real SCIM 2.0 server: installs scim2-server and moto's
# server from PyPI into the tools venv (at the versions in
# scripts/check-requirements.txt), starts both on free loopback ports (the SCIM server
# with a bearer token), and runs the tests that drive the built binary against them
# (tests/scim_server.rs), then stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(dirname "$(scripts/install-tools.sh --checks-only | tail -n 1)")

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_for() {
    local url=$1 log=$2
    for attempt in $(seq 1 60); do
        if curl -s -o /dev/null "$url"; then
            return 0
        fi
        sleep 0.5
    done
    echo "no answer from $url"; cat "$log"; exit 1
}

moto_port=$(free_port)
setsid "$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" > "$work/moto.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$moto_port/moto-api/" "$work/moto.log"

scim_port=$(free_port)
# A token of this run only: the tests check it never reaches any output.
token=$(python3 -c 'import secrets; print("scim-" + secrets.token_hex(16))')
setsid "$venv/bin/scim2-server" --hostname 127.0.0.1 --port "$scim_port" --bearer-token "$token" \
    > "$work/scim.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$scim_port/v2/ServiceProviderConfig" "$work/scim.log"
echo "moto $("$venv/bin/pip" show moto | sed -n 's/^Version: //p') on port $moto_port," \
    "scim2-server $("$venv/bin/pip" show scim2-server | sed -n 's/^Version: //p') on port $scim_port"

AWS_EMULATOR_ENDPOINT="http://127.0.0.1:$moto_port" \
SCIM_SERVER_URL="http://127.0.0.1:$scim_port/v2" \
SCIM_SERVER_TOKEN="$token" \
SCIM_SERVER_BIN="$venv/bin/scim2-server" \
    cargo test --locked --test scim_server -- --ignored --test-threads 2
