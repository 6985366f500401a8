#!/usr/bin/env python3
"""The closing report of scripts/test.sh, from meson's testlog.json files.

usage: test-report.py [--ci] [--allowlist FILE] [LABEL=]TESTLOG.json...

Prints each skipped test with its reason, then the closing line
"N passed, N failed, N skipped" alone on a line (CI parses it). A test that
skips exits 77 after printing "skip: REASON" on a line of its own (stderr or
stdout); the last such line is its reason, else its last line of output.

With --ci a skip is a failure unless the allow-list has a line for it: the
test's name (as meson prints it after the suite, for example "run") and an
extended regular expression that the reason must match, separated by
whitespace; '#' starts a comment. Exit status: 0, or 1 when --ci finds a
skip that is not allowed.
"""

import json
import re
import sys


def read_allowlist(path):
    """[(test name, compiled reason pattern, line number)] from FILE."""
    entries = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            parts = text.split(None, 1)
            if len(parts) != 2:
                raise SystemExit(f"{path}:{number}: want a test name and a reason pattern")
            try:
                entries.append((parts[0], re.compile(parts[1]), number))
            except re.error as e:
                raise SystemExit(f"{path}:{number}: bad reason pattern: {e}") from None
    return entries


def short_name(name):
    """"vmi-launcher:integration / run" -> "run"."""
    return name.rsplit(" / ", 1)[-1]


def skip_reason(record):
    lines = []
    for stream in ("stderr", "stdout"):
        lines += [l.strip() for l in (record.get(stream) or "").splitlines() if l.strip()]
    marked = [l for l in lines if l.lower().startswith("skip: ")]
    if marked:
        return marked[-1][len("skip: "):].strip()
    return lines[-1] if lines else "(no output)"


def main(argv):
    ci = False
    allowlist = None
    logs = []
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "--ci":
            ci = True
        elif a == "--allowlist":
            if not args:
                raise SystemExit("--allowlist needs a file")
            allowlist = args.pop(0)
        elif a.startswith("-"):
            raise SystemExit(f"unknown option {a}\n{__doc__}")
        else:
            label, _, path = a.rpartition("=")
            logs.append((label, path))
    if not logs:
        raise SystemExit(__doc__)
    allowed = read_allowlist(allowlist) if allowlist else []

    passed = failed = skipped = 0
    unexpected = 0
    for label, path in logs:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                record = json.loads(line)
                result = record.get("result")
                if result in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif result == "SKIP":
                    skipped += 1
                    name = short_name(record.get("name", "?"))
                    shown = f"{label}/{name}" if label else name
                    reason = skip_reason(record)
                    note = ""
                    if ci:
                        rule = next((n for t, p, n in allowed if t == name and p.search(reason)), None)
                        if rule is None:
                            unexpected += 1
                            note = " [not allowed under CI: no matching line in the allow-list]"
                        else:
                            note = f" [allowed: {allowlist}:{rule}]"
                    print(f"skipped: {shown}: {reason}{note}")
                else:
                    failed += 1
    if unexpected:
        print(f"{unexpected} skip(s) not on the allow-list: under CI a skip is a failure")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
