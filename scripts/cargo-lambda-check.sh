#!/usr/bin/env bash
# The function as users run it with cargo-lambda:
#  1. `cargo lambda build --release --arm64`, and check the artifact is an arm64 bootstrap;
#  2. `cargo lambda watch` on a free port, with the local test key from Cargo.toml;
#  3. `cargo lambda invoke` for every event in events/, checked against the manifest;
#  4. one signed delivery POSTed with curl to the emulated function URL, signed as the
#     README shows;
#  5. a configuration error under `watch` reaches `invoke` instead of hanging it.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(scripts/install-tools.sh | tail -n 1)
export PATH="$bin:$PATH"

work=$(mktemp -d)
watch_pid=
stop_watch() {
    if [ -n "$watch_pid" ]; then
        kill -TERM -- "-$watch_pid" 2>/dev/null || true
        sleep 1
        kill -KILL -- "-$watch_pid" 2>/dev/null || true
        watch_pid=
    fi
}
cleanup() {
    stop_watch
    rm -rf "$work"
}
trap cleanup EXIT

echo "--- cargo lambda build --release --arm64"
cargo lambda build --release --arm64 --bin merge-deprovision
artifact=target/lambda/merge-deprovision/bootstrap
python3 scripts/elf-arch.py "$artifact" aarch64
echo "arm64 bootstrap: $(stat -c %s "$artifact") bytes"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "--- cargo lambda watch on port $port"
# Its own process group, so the whole tree stops with it; logs outside the tree, and
# --ignore-changes, so nothing written here triggers a rebuild.
setsid cargo lambda watch --ignore-changes --invoke-port "$port" > "$work/watch.log" 2>&1 &
watch_pid=$!

mkdir -p "$work/responses"
invoke() {
    cargo lambda invoke merge-deprovision --invoke-port "$port" --data-file "$1"
}
# The first invoke waits for watch to compile and start the function.
for attempt in $(seq 1 90); do
    if invoke events/employee-active.json > /dev/null 2>&1; then
        break
    fi
    if [ "$attempt" = 90 ]; then
        echo "cargo lambda watch did not come up"; cat "$work/watch.log"; exit 1
    fi
    sleep 2
done

echo "--- cargo lambda invoke, every event"
for event in events/*.json; do
    name=$(basename "$event")
    # The manifest, and the --env-vars file for sam local invoke, are not events.
    [ "$name" = manifest.json ] || [ "$name" = sam-local-env.json ] && continue
    # A timer fails its invocation under watch, which runs log-only: keep what the
    # invoke printed, and let the manifest check judge it.
    if ! invoke "$event" > "$work/responses/$name" 2> "$work/responses/$name.stderr"; then
        touch "$work/responses/$name.failed"
    fi
done
python3 scripts/check-manifest.py events/manifest.json "$work/responses"

echo "--- curl to the emulated function URL"
body='{"hook":{"event":"Employee.removed"},"data":{"id":"e-curl","remote_id":"r-curl"}}'
signature=$(printf '%s' "$body" | openssl dgst -sha256 -hmac merge-deprovision-local-test-key -binary \
    | openssl base64 -A | tr '+/' '-_' | tr -d '=')
answer=$(curl -sS -w '\n%{http_code}' -X POST "http://127.0.0.1:$port/lambda-url/merge-deprovision/" \
    -H 'content-type: application/json' -H "x-merge-webhook-signature: $signature" --data-binary "$body")
echo "$answer"
status=$(echo "$answer" | tail -n 1)
if [ "$status" != 200 ] || ! echo "$answer" | grep -q '"decision":"terminated"'; then
    echo "the function URL did not answer 200 terminated"; cat "$work/watch.log"; exit 1
fi
unsigned=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/lambda-url/merge-deprovision/" \
    -H 'content-type: application/json' --data-binary "$body")
if [ "$unsigned" != 401 ]; then
    echo "an unsigned POST to the function URL got $unsigned, not 401"; exit 1
fi
echo "function URL: signed 200 terminated, unsigned 401"

echo "--- a configuration error under watch is the answer to invoke"
stop_watch
setsid cargo lambda watch --ignore-changes --invoke-port "$port" \
    --env-var TERMINATION_OFFSET_HOURS=500 > "$work/watch-bad.log" 2>&1 &
watch_pid=$!
sleep 2
answer=$(timeout 120 cargo lambda invoke merge-deprovision --invoke-port "$port" \
    --data-file events/employee-active.json 2>&1 || true)
echo "$answer" | head -n 5
if ! echo "$answer" | grep -q "TERMINATION_OFFSET_HOURS must be"; then
    echo "invoke did not show the configuration error"; cat "$work/watch-bad.log"; exit 1
fi
echo "init error: shown by invoke"
