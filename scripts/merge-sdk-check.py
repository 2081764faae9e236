"""Checks the tests' fake Merge API against Merge's own Python SDK (MergePythonClient).

1. The SDK reads the fake's pages as Merge's: every page parses into the SDK's models,
   `next` is followed to the end, and every employee comes back once.
2. For the same query, the function's request (through its own Merge client, by
   `cargo run --example fake-merge -- --probe`) has the same path, the same query and
   the same two credential headers as the SDK's. Both are captured by the fake's
   request log.

Usage: merge-sdk-check.py (run from the checkout, with MergePythonClient installed).
Starts the fake as `cargo run --example fake-merge` in its own process group on a free
loopback port, and stops it. Exits non-zero on any difference.
"""

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from merge import Merge

API_KEY = "SENTINEL-MERGE-API-KEY-7d1f"
ACCOUNT_TOKEN = "fake-account-token"
EMPLOYEES = 250
WATERMARK = dt.datetime(2026, 11, 27, 11, 0, 0, tzinfo=dt.timezone.utc)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def requests_log(base: str) -> list:
    root = base.rsplit("/api", 1)[0]
    with urllib.request.urlopen(f"{root}/__requests", timeout=5) as answer:
        return json.load(answer)


def sdk_read_all(client: Merge, modified_after) -> list:
    employees, cursor = [], None
    while True:
        page = client.hris.employees.list(
            cursor=cursor,
            include_deleted_data=True,
            modified_after=modified_after,
            page_size=100,
        )
        employees.extend(page.results or [])
        if not page.next:
            return employees
        cursor = page.next


def function_read_all(base: str, modified_after) -> None:
    command = ["cargo", "run", "--locked", "--quiet", "--example", "fake-merge", "--",
               "--probe", base]
    if modified_after is not None:
        command += ["--modified-after", modified_after.strftime("%Y-%m-%dT%H:%M:%SZ")]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def comparable(request: dict) -> tuple:
    headers = request["headers"]
    return (
        request["path"],
        request["raw_query"],
        headers.get("authorization"),
        headers.get("x-account-token"),
    )


def main() -> int:
    port = free_port()
    base = f"http://127.0.0.1:{port}/api"
    fake = subprocess.Popen(
        ["cargo", "run", "--locked", "--quiet", "--example", "fake-merge", "--",
         "--port", str(port), "--employees", str(EMPLOYEES)],
        start_new_session=True,
    )
    failures = 0
    try:
        for _ in range(600):
            try:
                requests_log(base)
                break
            except OSError:
                if fake.poll() is not None:
                    print("FAIL  the fake did not start")
                    return 1
                time.sleep(0.5)
        client = Merge(api_key=API_KEY, account_token=ACCOUNT_TOKEN, base_url=base)

        # 1. The SDK reads the fake's pages as Merge's.
        everyone = sdk_read_all(client, None)
        ids = [e.id for e in everyone]
        if len(ids) == EMPLOYEES and len(set(ids)) == EMPLOYEES:
            print(f"ok    the SDK read {len(ids)} employees, each once, over every page")
        else:
            print(f"FAIL  the SDK read {len(ids)} employees ({len(set(ids))} distinct), "
                  f"expected {EMPLOYEES}")
            failures += 1
        statuses = {str(e.employment_status) for e in everyone}
        print(f"ok    the SDK parsed employment_status values {sorted(statuses)}")
        changed = sdk_read_all(client, WATERMARK)
        if 0 < len(changed) < EMPLOYEES:
            print(f"ok    modified_after narrowed the SDK's read to {len(changed)} employees")
        else:
            print(f"FAIL  modified_after gave {len(changed)} employees")
            failures += 1
        refused = Merge(api_key="wrong", account_token=ACCOUNT_TOKEN, base_url=base)
        try:
            refused.hris.employees.list(page_size=100)
            print("FAIL  a wrong API key was not refused")
            failures += 1
        except Exception as error:  # the SDK raises its own 401 error type
            print(f"ok    a wrong API key is refused ({type(error).__name__})")

        # 2. The function's requests equal the SDK's, query for query.
        for modified_after in (None, WATERMARK):
            before = len(requests_log(base))
            sdk_read_all(client, modified_after)
            middle = len(requests_log(base))
            function_read_all(base, modified_after)
            log = requests_log(base)
            sdk, ours = log[before:middle], log[middle:]
            label = "full read" if modified_after is None else "from a watermark"
            if len(sdk) != len(ours):
                print(f"FAIL  {label}: the SDK sent {len(sdk)} requests, the function {len(ours)}")
                failures += 1
                continue
            for index, (theirs, mine) in enumerate(zip(sdk, ours)):
                if comparable(theirs) == comparable(mine):
                    print(f"ok    {label}, page {index + 1}: {mine['path']}?{mine['raw_query']}")
                else:
                    print(f"FAIL  {label}, page {index + 1}:\n"
                          f"      SDK      {comparable(theirs)[:2]}\n"
                          f"      function {comparable(mine)[:2]}")
                    failures += 1
    finally:
        os.killpg(fake.pid, signal.SIGTERM)
        fake.wait()
    print(f"{'FAILED' if failures else 'passed'}: {failures} differences")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
