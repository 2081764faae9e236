"""Checks the function's answers to the sample events against events/manifest.json.

Usage: check-manifest.py MANIFEST RESPONSES_DIR
RESPONSES_DIR holds one file per event, named like the event, with the raw JSON that
`cargo lambda invoke` printed. Exits non-zero on any difference or missing answer.
"""

import json
import pathlib
import sys


def main() -> int:
    manifest = json.loads(pathlib.Path(sys.argv[1]).read_text())
    responses = pathlib.Path(sys.argv[2])
    failures = 0
    for entry in manifest["events"]:
        path = responses / entry["file"]
        if entry.get("needs_ledger"):
            # A timer, sent to a function running log-only (as `cargo lambda watch` runs
            # it): the invocation must fail, naming the variable that would turn the
            # ledger on, so that Lambda retries it and then keeps it.
            printed = ""
            for suffix in ("", ".stderr"):
                extra = responses / (entry["file"] + suffix)
                if extra.exists():
                    printed += extra.read_text()
            failed = (responses / (entry["file"] + ".failed")).exists() or "errorType" in printed
            if failed and "EMPLOYEE_LEDGER_TABLE" in printed:
                print(f"ok    {entry['file']:<34} refused without the ledger")
            else:
                print(f"FAIL  {entry['file']}: a timer without the ledger must fail naming "
                      f"EMPLOYEE_LEDGER_TABLE; got {printed.strip()[:200]!r}")
                failures += 1
            continue
        try:
            response = json.loads(path.read_text())
            if "statusCode" in response:
                status = response["statusCode"]
                body = json.loads(response["body"])
            else:
                # An event that is not a function URL request (a fired schedule): the
                # invocation's result is the answer itself, and succeeding is its 200.
                status, body = 200, response
        except (OSError, ValueError, KeyError, TypeError) as error:
            print(f"FAIL  {entry['file']}: no usable response ({error})")
            failures += 1
            continue
        expected = (entry["status"], entry.get("decision"), entry.get("error"))
        got = (status, body.get("decision"), body.get("error"))
        if got == expected:
            print(f"ok    {entry['file']:<34} {status} {body.get('decision') or body.get('error')}")
        else:
            print(f"FAIL  {entry['file']}: expected {expected}, got {got}")
            failures += 1
    print(f"{len(manifest['events']) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
