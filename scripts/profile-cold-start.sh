#!/usr/bin/env bash
# Where a cold start's instructions go: builds the function and the bare lambda_http
# function with the release profile and their symbols, runs each under callgrind for one
# invocation (an event that makes no AWS call) through a one-shot Runtime API on
# loopback, and prints the totals and the dynamic loader's share. Needs valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
target=target/profile
CARGO_PROFILE_RELEASE_STRIP=false CARGO_TARGET_DIR=$target \
    cargo build --release --locked --quiet --bin merge-deprovision --example bare-function
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
profile() {
    local name=$1 binary=$2
    shift 2
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    python3 scripts/one-shot-runtime-api.py "$port" events/linked-account-synced.json 2>/dev/null &
    local api=$!
    sleep 0.3
    env -i PATH="$PATH" AWS_LAMBDA_RUNTIME_API="127.0.0.1:$port" AWS_LAMBDA_FUNCTION_NAME=f \
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 AWS_LAMBDA_FUNCTION_VERSION=1 \
        AWS_LAMBDA_LOG_FORMAT=JSON "$@" \
        valgrind --tool=callgrind --callgrind-out-file="$work/$name.cg" "$binary" \
        >/dev/null 2>&1 || true
    kill "$api" 2>/dev/null || true
    wait "$api" 2>/dev/null || true
    echo "== $name"
    callgrind_annotate --inclusive=yes "$work/$name.cg" \
        | grep -E 'PROGRAM TOTALS|rtld.c:_dl_start |dl-reloc.c:_dl_relocate_object|\?\?\?:main ' || true
}
profile bare "$target/release/examples/bare-function"
profile merge-deprovision "$target/release/merge-deprovision" \
    MERGE_WEBHOOK_SIGNATURE_KEY=merge-deprovision-local-test-key \
    EMPLOYEE_LEDGER_TABLE=ledger TERMINATION_SCHEDULE_GROUP=g \
    TERMINATION_SCHEDULE_ROLE_ARN=arn:aws:iam::123456789012:role/scheduler AWS_REGION=eu-west-1
