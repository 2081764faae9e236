#!/usr/bin/env bash
# Fuzzes the whole request path (fuzz/fuzz_targets/request_path.rs) for a bounded time,
# seeded from events/ and the typical Employee. Fails on any finding; crashing inputs are
# left in fuzz/artifacts/request_path/ to be turned into regression tests.
# Usage: scripts/fuzz.sh [SECONDS]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}

# cargo-fuzz drives libFuzzer through nightly-only compiler flags; the stable toolchain
# accepts them with RUSTC_BOOTSTRAP.
export RUSTC_BOOTSTRAP=1
# The version CI tested; another one already installed is replaced.
cargo_fuzz_version=0.13.2
if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $cargo_fuzz_version" ]; then
    cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked --quiet
fi

corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
n=0
for event in events/*.json; do
    # The manifest, and the --env-vars file for sam local invoke, are not events.
    case "$(basename "$event")" in manifest.json | sam-local-env.json) continue ;; esac
    { printf '\000'; cat "$event"; } > "$corpus/event-$n"
    n=$((n + 1))
done
{ printf '\001'; cat tests/fixtures/employee-changed.json; } > "$corpus/body-text"
{ printf '\002'; cat tests/fixtures/employee-changed.json; } > "$corpus/body-base64"
{ printf '\001'; printf '{"hook":{"event":"LinkedAccount.synced"},"data":{}}'; } > "$corpus/body-ignored"

cargo fuzz run request_path "$corpus" -- -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536
