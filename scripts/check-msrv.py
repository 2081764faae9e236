#!/usr/bin/env python3
"""Checks that Cargo.toml's `rust-version` is the real minimum: no locked dependency
built for the Lambda targets (x86-64 and arm64 Linux), dev-dependencies included,
declares a higher one.

Usage: scripts/check-msrv.py   (runs `cargo metadata --locked`; exits 1 on a mismatch)
"""
import json
import subprocess
import sys

TARGETS = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"]


def version_key(text):
    """1.88 and 1.88.0 are the same version."""
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def metadata(target):
    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked", "--filter-platform", target],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def main():
    needs = {}
    declared = None
    for target in TARGETS:
        data = metadata(target)
        used = {node["id"] for node in data["resolve"]["nodes"]}
        root = data["resolve"]["root"]
        for package in data["packages"]:
            if package["id"] == root:
                declared = package.get("rust_version")
            elif package["id"] in used and package.get("rust_version"):
                needs[f'{package["name"]} {package["version"]}'] = package["rust_version"]
    if declared is None:
        print("Cargo.toml declares no rust-version")
        return 1
    highest = max(needs.values(), key=version_key)
    culprits = sorted(name for name, version in needs.items() if version == highest)
    print(f"declared rust-version {declared}; highest among locked dependencies {highest} "
          f"({', '.join(culprits[:5])}{', ...' if len(culprits) > 5 else ''})")
    if version_key(declared) < version_key(highest):
        print(f"rust-version is too low: raise it to {highest}")
        return 1
    if version_key(declared) > version_key(highest):
        print(f"rust-version is higher than any dependency needs: lower it to {highest}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
